/**
 * Gateway sessions behind `/mcp`. 2026-07-28 clients have no protocol session, so their gateway
 * session is their credential: every request with one token shares one session. 2025-era clients
 * get a gateway session per `Mcp-Session-Id`, bound to the identity that opened it; with shared
 * state, a session opened on one replica can be resumed on another by the identity that opened it.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import type { Logger } from 'pino';
import { identityKey, type Identity } from '../auth/index.js';
import type { Gateway } from '../core/gateway.js';
import type { Session } from '../core/session.js';
import type { SessionMeta } from '../state/index.js';
import { markInitialized, restoreHandshake } from '../protocol/sdk-private.js';
import type { Admission } from './http-admission.js';
import { announceListChanges, createMcpServer } from './mcp-server.js';

const LEGACY_IDLE_MS = 30 * 60_000;

/** The session of a caller without a protocol session: one per credential. */
export function credentialSession(gateway: Gateway, identity: Identity): Session {
  const id = `cred:${identityKey(identity)}`;
  return gateway.sessions.get(id) ?? gateway.openSession(identity, 'http', id);
}

export interface LegacyEntry {
  transport: NodeStreamableHTTPServerTransport;
  /**
   * Ids of the session's requests whose POST is still open. The SDK's transport keys its answers by
   * request id alone, so a second request under an id still in flight would take the first one's
   * answer stream and leave both unanswered.
   */
  inFlight: Set<string | number>;
  /** Settles once the session's server is connected to the transport. */
  ready?: Promise<void>;
  owner: string;
  session?: Session;
  lastSeen: number;
}

export interface LegacySessions {
  readonly entries: Map<string, LegacyEntry>;
  /** A 2025-era session: a new one (id given at initialize), or one resumed from `resumed`. */
  open(identity: Identity, owner: string, resumed?: SessionMeta): Promise<LegacyEntry>;
  /** A session another replica opened: resumed here when the caller is the one who opened it. */
  resume(
    id: string,
    identity: Identity,
    res: ServerResponse
  ): Promise<LegacyEntry | 'foreign' | 'full' | undefined>;
  /** Close the sessions idle for longer than the idle bound. */
  sweep(): void;
}

export function createLegacySessions(
  gateway: Gateway,
  log: Logger,
  admission: Admission,
  entries: Map<string, LegacyEntry>
): LegacySessions {
  const share = (meta: SessionMeta) =>
    gateway.state
      .saveSession(meta)
      .catch((err: Error) =>
        log.warn(
          { session: meta.id, err: err.message },
          'session not shared: other replicas cannot resume it'
        )
      );

  const open = async (identity: Identity, owner: string, resumed?: SessionMeta): Promise<LegacyEntry> => {
    const resumeId = resumed?.id;
    const opened = (id: string) => {
      entries.set(id, entry);
      entry.session = gateway.openSession(identity, 'http', id);
      // Ended by an admin: the transport closes, and the next request under its id is refused.
      entry.session.end = () => void entry.transport.close();
    };
    const entry: LegacyEntry = {
      owner,
      lastSeen: Date.now(),
      inFlight: new Set(),
      transport: new NodeStreamableHTTPServerTransport({
        sessionIdGenerator: () => resumeId ?? randomUUID(),
        onsessioninitialized: async (id) => {
          opened(id);
          // Shared state: another replica behind the same load balancer can resume it.
          if (gateway.state.kind === 'memory') return;
          await share({ id, owner, identity, transport: 'http', createdAt: Date.now() });
        }
      })
    };
    let released = false;
    entry.transport.onclose = () => {
      const id = entry.transport.sessionId;
      if (id) entries.delete(id);
      if (entry.session) gateway.closeSession(entry.session);
      if (!released) admission.releaseSession(owner);
      released = true;
    };
    if (resumeId) {
      markInitialized(entry.transport, resumeId);
      opened(resumeId);
    }
    const server = createMcpServer(gateway, () => entry.session ?? credentialSession(gateway, identity), log);
    // Delivered on the session's standalone stream (GET /mcp), when the agent holds one open.
    announceListChanges(gateway, server);
    if (resumed) restoreHandshake(server, resumed);
    else if (gateway.state.kind !== 'memory') {
      // Once the handshake is done, what the agent declared goes with the session.
      server.oninitialized = () => {
        const id = entry.transport.sessionId;
        if (!id) return;
        const version = server.getNegotiatedProtocolVersion();
        const capabilities = server.getClientCapabilities();
        const info = server.getClientVersion();
        void share({
          id,
          owner,
          identity,
          transport: 'http',
          createdAt: Date.now(),
          ...(version ? { protocolVersion: version } : {}),
          client: {
            ...(capabilities ? { capabilities: capabilities as Record<string, unknown> } : {}),
            ...(info ? { info: info as unknown as Record<string, unknown> } : {})
          }
        });
      };
    }
    entry.ready = server.connect(entry.transport);
    await entry.ready;
    return entry;
  };

  return {
    entries,
    open,
    async resume(id, identity, res) {
      const meta = await gateway.state.findSession(id);
      if (!meta) return undefined;
      // No await from here until the entry is registered: concurrent requests resume it once.
      const owner = identityKey(identity);
      if (meta.owner !== owner) return 'foreign';
      const existing = entries.get(id);
      if (existing) return existing;
      if (!admission.admitSession(owner, res)) return 'full';
      return open(identity, owner, meta);
    },
    sweep() {
      const cutoff = Date.now() - LEGACY_IDLE_MS;
      for (const entry of entries.values()) {
        if (entry.lastSeen < cutoff) void entry.transport.close();
      }
    }
  };
}

/** The ids of the JSON-RPC requests (not notifications, not responses) in a message or a batch. */
function requestIds(body: unknown): Array<string | number> {
  const ids: Array<string | number> = [];
  for (const m of Array.isArray(body) ? (body as unknown[]) : [body]) {
    if (typeof m !== 'object' || m === null) continue;
    const { method, id } = m as { method?: unknown; id?: unknown };
    if (typeof method === 'string' && (typeof id === 'string' || typeof id === 'number')) ids.push(id);
  }
  return ids;
}

/**
 * Claim the request ids of a POST for as long as its HTTP response is open: the id that is already
 * in flight in the session (or repeated within the batch) is returned and nothing is claimed;
 * otherwise the ids are released when the response closes, answered or abandoned.
 */
export function claimRequestIds(
  entry: LegacyEntry,
  body: unknown,
  res: ServerResponse
): string | number | undefined {
  const ids = requestIds(body);
  const seen = new Set<string | number>();
  for (const id of ids) {
    if (entry.inFlight.has(id) || seen.has(id)) return id;
    seen.add(id);
  }
  if (ids.length === 0) return undefined;
  for (const id of ids) entry.inFlight.add(id);
  res.once('close', () => {
    for (const id of ids) entry.inFlight.delete(id);
  });
  return undefined;
}
