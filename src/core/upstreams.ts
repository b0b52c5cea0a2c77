/**
 * The gateway's upstream connections: one shared connection per server, or, for a stdio server
 * with `isolation: session`, one per agent session (../upstream/isolation.ts). `resolve` gives a
 * session the connection it is to use; `servers` holds one per server for what has no session
 * (the console's inventory, approving pins, health, and the tool names a description could shadow).
 */
import type { Logger } from 'pino';
import type { AuditInput } from '../audit/index.js';
import type { GatewayConfig, StdioServerConfig } from '../config/types.js';
import { Upstream, type UpstreamEvents } from '../upstream/index.js';
import { SessionUpstreams } from '../upstream/isolation.js';
import { ProcessBudget } from '../upstream/processes.js';
import type { GatewayError } from '../errors.js';
import { sessionFields } from './audit-log.js';
import { identityScopeKey, type Session } from './session.js';

export interface Upstreams {
  /** One per server: the shared connection, or an isolated server's connection without a session. */
  readonly servers: ReadonlyMap<string, Upstream>;
  /** The connection the session uses for this server (undefined: no such server). */
  resolve(session: Session, server: string): Upstream | undefined;
  /** Upstream processes running now, and the bound. */
  readonly budget: ProcessBudget;
  /** For health: an isolated server's processes running now (undefined for a shared server). */
  sessionProcesses(server: string): number | undefined;
  /** The session ended: stop its own processes. */
  closeSession(session: Session): Promise<void>;
  close(): Promise<void>;
}

/**
 * What the gateway does with the events of a server's connection: the shared one (no owner), a
 * session's (its id), or an isolated server's connection without a session (`catalog`).
 */
type UpstreamEventsFor = (owner: string | undefined) => UpstreamEvents;

/** The audit record of a session refused its own process (`limits.max_upstream_processes`). */
export function refusalRecord(session: Session | undefined, server: string, error: GatewayError): AuditInput {
  return {
    event: 'upstream/refused',
    ...(session ? sessionFields(session) : {}),
    server,
    decision: 'deny',
    outcome: 'denied',
    code: error.code,
    reason: error.detail
  };
}

export function createUpstreams(config: GatewayConfig, log: Logger, events: UpstreamEventsFor): Upstreams {
  const budget = new ProcessBudget(config.limits.max_upstream_processes);
  const isolated: Record<string, StdioServerConfig> = {};
  for (const [name, server] of Object.entries(config.servers)) {
    if (server.kind === 'stdio' && server.isolation === 'session') isolated[name] = server;
  }
  const pool = new SessionUpstreams(isolated, budget, log, events);
  const servers = new Map<string, Upstream>();
  const sharedEvents = events(undefined);
  for (const [name, server] of Object.entries(config.servers)) {
    const up =
      pool.catalog(name) ?? new Upstream(name, server, log.child({ server: name }), sharedEvents, { budget });
    servers.set(name, up);
  }
  return {
    servers,
    budget,
    resolve(session, server) {
      if (!servers.has(server)) return undefined;
      if (!pool.has(server)) return servers.get(server);
      return pool.for({ id: session.id, identity: identityScopeKey(session.identity) }, server);
    },
    sessionProcesses: (server) => (pool.has(server) ? pool.running(server) : undefined),
    closeSession: (session) => pool.release(session.id),
    async close() {
      await Promise.all([pool.close(), ...[...servers.values()].map((u) => u.close())]);
    }
  };
}
