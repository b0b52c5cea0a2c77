/**
 * Upstream connectors: one MCP client per configured server, over a stdio child, Streamable HTTP
 * or SSE. A stdio server is started on first use and restarted with exponential backoff when it
 * dies; an HTTP server is reconnected the same way. Connecting and the handshake are bounded by
 * the server's `connect_timeout_ms`; a server that does not come up in time, or cannot be started
 * at all, is retried in the background with the same backoff. Each upstream is independent: one
 * failing never disturbs the others.
 *
 * What a server sends while it serves a request (log messages, sampling and elicitation requests)
 * is relayed to the agent whose request it serves, and to nobody else. Over Streamable HTTP the
 * request is known by the async context its response stream is read in. A message that arrives
 * uncorrelated (a stdio pipe, an HTTP server's standalone stream) goes to the one request the
 * server is serving, if there is exactly one: a server request always (that request waits for the
 * answer, so it cannot have finished), a notification only over stdio (where it is ordered before
 * the response it precedes). Anything else is dropped, or refused to the server.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  Client,
  LOG_LEVEL_META_KEY,
  ProtocolError,
  ProtocolErrorCode,
  SSEClientTransport,
  StreamableHTTPClientTransport,
  type Transport
} from '@modelcontextprotocol/client';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/types.js';
import { GatewayError, LocalError } from '../errors.js';
import { isModern } from '../protocol/index.js';
import { clientEnvelope } from '../protocol/sdk-private.js';
import { DirectCallError, DirectCalls, NeedsClient } from './direct.js';
import { createUpstreamFetch, type UpstreamFetch } from './http-fetch.js';
import type { ProcessBudget } from './processes.js';
import { ChildStdioTransport } from './stdio-transport.js';
import { VERSION } from '../version.js';

export interface UpstreamTool {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  [key: string]: unknown;
}

/** What a server lists beside its tools. */
type DefinitionKind = 'prompts' | 'resources' | 'resourceTemplates';
const DEFINITION_LISTS: Record<DefinitionKind, { method: string; key: string }> = {
  prompts: { method: 'prompts/list', key: 'prompts' },
  resources: { method: 'resources/list', key: 'resources' },
  resourceTemplates: { method: 'resources/templates/list', key: 'resourceTemplates' }
};

type UpstreamState = 'idle' | 'starting' | 'ready' | 'backoff' | 'closed';

/** The agent's side of one request: where the server's messages about it go. */
export interface Relay {
  notify(method: string, params: Record<string, unknown> | undefined): void;
  request(
    method: string,
    params: Record<string, unknown> | undefined,
    options?: { signal?: AbortSignal; timeout?: number }
  ): Promise<unknown>;
}

/** Server-to-client requests the gateway relays; it offers no `roots` (the agent's paths stay its own). */
const RELAYED_REQUESTS = ['sampling/createMessage', 'elicitation/create'] as const;

const relays = new AsyncLocalStorage<Relay>();

interface CallOptions {
  signal?: AbortSignal;
  onprogress?: (progress: { progress: number; total?: number; message?: string }) => void;
  relay?: Relay;
}

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 30_000;
/** A connection that stays up this long resets the backoff. */
const STABLE_MS = 10_000;

export interface UpstreamEvents {
  /** The server connected (first start, or back after a failure), on this connection. */
  onReady?: (server: string, up: Upstream) => void;
  onToolsChanged?: (server: string) => void;
  /** The server said its prompts, or its resources (and templates), changed. */
  onDefinitionsChanged?: (server: string, kind: 'prompts' | 'resources') => void;
  onNotification?: (server: string, method: string, params: unknown) => void;
  /** No process was started: `limits.max_upstream_processes` is reached (isolated servers). */
  onRefused?: (server: string, error: GatewayError) => void;
}

/**
 * What one connection to a server is for. The default is a server's one shared connection. An
 * `isolation: session` server has one per agent session (`owner` names it), and one without a
 * session for the console and the pins; those are stopped after `idle_timeout` without a request,
 * are restarted on their next use rather than in the background, and are refused a process past
 * `limits.max_upstream_processes`.
 */
interface UpstreamOptions {
  /** Counts this upstream's processes (stdio). */
  budget?: ProcessBudget;
  /** The session this connection belongs to, or `catalog` (isolated servers only). */
  owner?: string;
  /** Told when the connection has been idle for `idle_timeout` (isolated servers only). */
  onIdle?: (up: Upstream) => void;
  /** Tool lists seen by every connection of the server: what the others last listed. */
  memo?: ToolsMemo;
}

/** The last tool list any connection of an isolated server returned, kept while its content is the same. */
export class ToolsMemo {
  private text = '';
  tools: UpstreamTool[] | undefined;

  note(tools: UpstreamTool[]): void {
    const text = JSON.stringify(tools);
    if (text === this.text) return;
    this.text = text;
    this.tools = tools;
  }
}

/** Connecting or the handshake took longer than the server's `connect_timeout_ms`. */
class ConnectTimeout extends LocalError {
  constructor(ms: number) {
    super('connect_timeout', `connect timed out after ${ms} ms`);
  }
}

export class Upstream {
  state: UpstreamState = 'idle';
  lastError: string | undefined;
  restarts = 0;
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private attempts = 0;
  private retryAt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private connectedAt = 0;
  private tools: UpstreamTool[] | undefined;
  private toolsLoading: Promise<UpstreamTool[]> | undefined;
  /** Prompts, resources and resource templates as last listed, and how often they were dropped. */
  private definitions = new Map<DefinitionKind, Array<Record<string, unknown>>>();
  private definitionsDropped = 0;
  private transport: Transport | undefined;
  /** Requests in flight, and those of them that carry a relay. */
  private inflight = 0;
  private readonly relaying = new Set<Relay>();
  /** HTTP upstreams: one keep-alive connection pool, kept across reconnects. */
  private http: UpstreamFetch | undefined;
  /** Tool calls sent beside the SDK client on the current connection (see direct.ts). */
  private direct: DirectCalls | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    readonly config: ServerConfig,
    private readonly log: Logger,
    private readonly events: UpstreamEvents = {},
    private readonly options: UpstreamOptions = {}
  ) {}

  /** One connection per session (or the catalog's own), rather than the server's shared one. */
  get isolated(): boolean {
    return this.options.owner !== undefined;
  }

  /** What a subscription or a cache is keyed by: the server, and the session for an isolated one. */
  get key(): string {
    return upstreamKey(this.name, this.options.owner);
  }

  /**
   * Known to be down: its last start failed or it was lost, and it has not connected since (a
   * retry may be under way). Listings skip such a server instead of waiting for it.
   */
  get down(): boolean {
    if (this.state === 'closed') return true;
    // An isolated connection is not retried in the background: past its backoff, the next use starts it.
    if (this.state === 'backoff') return !this.isolated || Date.now() < this.retryAt;
    return this.state === 'starting' && this.lastError !== undefined;
  }

  /** Fail at once if the server is down, saying why (for what should not wait for a retry). */
  assertUp(): void {
    if (!this.down) return;
    throw new GatewayError('upstream_unavailable', `${this.name}: ${this.lastError ?? 'unavailable'}`);
  }

  /** The connected client, starting or restarting the server if needed. */
  async connect(): Promise<Client> {
    if (this.state === 'closed')
      throw new GatewayError('upstream_unavailable', `${this.name}: gateway is stopping`);
    if (this.client) return this.client;
    if (this.connecting) return this.connecting;
    if (this.state === 'backoff' && Date.now() < this.retryAt) {
      throw new GatewayError(
        'upstream_unavailable',
        `${this.name}: ${this.lastError ?? 'unavailable'}; retrying in ${this.retryAt - Date.now()} ms`
      );
    }
    // The connection outlives the request that opened it: none of its traffic may inherit that
    // request's relay.
    this.connecting = relays
      .exit(() => this.open())
      .finally(() => {
        this.connecting = undefined;
      });
    return this.connecting;
  }

  private async open(): Promise<Client> {
    // Refused past the process bound before anything starts; nothing is retried then.
    let release: (() => void) | undefined;
    try {
      if (this.config.kind === 'stdio') release = this.options.budget?.take(this.name, !this.isolated);
    } catch (err) {
      if (err instanceof GatewayError) this.events.onRefused?.(this.name, err);
      throw err;
    }
    this.state = 'starting';
    clearTimeout(this.retryTimer);
    const transport = this.makeTransport();
    if (release) (transport as ChildStdioTransport).onexit = release;
    this.transport = transport;
    const client = new Client(
      { name: 'portcullis', version: VERSION },
      {
        capabilities: { sampling: {}, elicitation: { form: {} } },
        versionNegotiation: { mode: 'auto' },
        // List changes arrive as notifications (2025 era) or on a listen stream (2026-07-28); either
        // way the cache is dropped and the next listing (or lookup) is vetted again.
        listChanged: {
          tools: {
            autoRefresh: false,
            debounceMs: 0,
            onChanged: () => {
              this.tools = undefined;
              this.events.onToolsChanged?.(this.name);
            }
          },
          prompts: {
            autoRefresh: false,
            debounceMs: 0,
            onChanged: () => {
              this.dropDefinitions(['prompts']);
              this.events.onDefinitionsChanged?.(this.name, 'prompts');
            }
          },
          resources: {
            autoRefresh: false,
            debounceMs: 0,
            onChanged: () => {
              this.dropDefinitions(['resources', 'resourceTemplates']);
              this.events.onDefinitionsChanged?.(this.name, 'resources');
            }
          }
        }
      }
    );
    client.onerror = (err) => this.log.debug({ err: err.message }, 'upstream transport error');
    client.fallbackNotificationHandler = async (n) => {
      this.events.onNotification?.(this.name, n.method, n.params);
    };
    client.setNotificationHandler('notifications/message', (n) => {
      this.relayFor('notification')?.notify(n.method, n.params as Record<string, unknown>);
    });
    for (const method of RELAYED_REQUESTS) {
      client.setRequestHandler(method, async (req) => {
        const relay = this.relayFor('request');
        if (!relay) {
          throw new ProtocolError(
            ProtocolErrorCode.InvalidRequest,
            `${method} cannot be attributed to a request in progress`
          );
        }
        return (await relay.request(method, req.params as Record<string, unknown>)) as never;
      });
    }
    let settled = false;
    client.onclose = () => {
      if (!settled) return;
      if (this.client === client) this.lost(transport);
    };
    try {
      await this.handshake(client, transport);
    } catch (err) {
      settled = true;
      // Described before closing: the exit a close causes is not why it failed.
      const reason = this.describeFailure(transport, err);
      await client.close().catch(() => undefined);
      await transport.close().catch(() => undefined);
      this.log.warn({ reason }, 'upstream not connected; retrying with backoff');
      this.scheduleRetry(reason);
      throw new GatewayError('upstream_unavailable', `${this.name}: ${reason}`, { cause: err });
    }
    settled = true;
    this.client = client;
    this.direct = directCalls(client, transport);
    this.state = 'ready';
    this.connectedAt = Date.now();
    this.lastError = undefined;
    this.log.info(
      {
        protocol: client.getNegotiatedProtocolVersion(),
        upstream_pid: (transport as ChildStdioTransport).pid
      },
      'upstream connected'
    );
    this.events.onReady?.(this.name, this);
    this.settle();
    return client;
  }

  /**
   * Start the transport and do the handshake, all of it within `connect_timeout_ms`. The SDK's own
   * timeout is per request, and version negotiation may send more than one; this bound is on the
   * whole, and the caller closes the transport when it is exceeded.
   */
  private async handshake(client: Client, transport: Transport): Promise<void> {
    const limit = this.config.connect_timeout_ms;
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(new ConnectTimeout(limit));
      }, limit);
    });
    const connecting = client.connect(transport, { timeout: limit, signal: abort.signal });
    // Settles after the deadline too (when the transport is closed): nobody waits for it then.
    connecting.catch(() => undefined);
    try {
      await Promise.race([connecting, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  private makeTransport(): Transport {
    const c = this.config;
    if (c.kind === 'stdio') {
      const t = new ChildStdioTransport(c, this.isolated);
      t.onstderr = (line) => this.log.debug({ stderr: line }, 'upstream stderr');
      return t;
    }
    const init = { headers: c.headers };
    this.http ??= createUpstreamFetch();
    const options = { requestInit: init, fetch: this.http.fetch };
    return c.transport === 'sse'
      ? new SSEClientTransport(new URL(c.url), options)
      : new StreamableHTTPClientTransport(new URL(c.url), options);
  }

  private describeFailure(transport: Transport, err: unknown): string {
    const message = describeError(err);
    if (transport instanceof ChildStdioTransport) {
      // Started through a util-linux wrapper (sandbox, or a session's own process), a command that
      // does not exist is the wrapper's failed exec rather than a failed spawn.
      if (
        transport.exitCode === 127 &&
        /failed to execute .*: No such file or directory/.test(transport.stderr)
      )
        return `command not found (${this.config.kind === 'stdio' ? this.config.command : ''})`;
      const exit =
        transport.exitCode !== null
          ? `exited with code ${transport.exitCode}`
          : transport.exitSignal
            ? `killed by ${transport.exitSignal}`
            : undefined;
      const stderr = transport.stderr.trim().split('\n').slice(-3).join(' | ');
      return [message, exit, stderr && `stderr: ${stderr}`].filter(Boolean).join('; ');
    }
    return message;
  }

  /** The connection dropped after it was up: forget it and restart with backoff. */
  private lost(transport: Transport): void {
    this.client = undefined;
    this.direct = undefined;
    this.tools = undefined;
    this.dropDefinitions();
    const reason = this.describeFailure(transport, new Error('connection closed'));
    if (Date.now() - this.connectedAt > STABLE_MS) this.attempts = 0;
    this.log.warn({ reason }, 'upstream lost; restarting with backoff');
    this.scheduleRetry(reason);
  }

  /**
   * Retry in the background after the backoff, so a server that failed or was lost is back (and
   * announced) before the next call needs it.
   */
  private scheduleRetry(reason: string): void {
    if (this.state === 'closed') return;
    this.lastError = reason;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempts);
    this.attempts++;
    this.state = 'backoff';
    this.retryAt = Date.now() + delay;
    clearTimeout(this.retryTimer);
    // A session's own process is started again when the session next needs it, not before.
    if (this.isolated) return;
    this.retryTimer = setTimeout(() => {
      if (this.state !== 'backoff') return;
      this.retryAt = 0;
      this.restarts++;
      this.connect().catch(() => undefined);
    }, delay);
    this.retryTimer.unref();
  }

  /** The upstream's tools, cached until it says they changed or reconnects. */
  async listTools(): Promise<UpstreamTool[]> {
    if (this.tools) return this.tools;
    if (this.toolsLoading) return this.toolsLoading;
    this.toolsLoading = (async () => {
      const client = await this.connect();
      const all: UpstreamTool[] = [];
      let cursor: string | undefined;
      do {
        this.inflight++;
        const page = (await client
          .request(
            { method: 'tools/list', params: cursor ? { cursor } : {} },
            { timeout: this.config.timeout_ms }
          )
          .finally(() => this.settle(-1))) as { tools: UpstreamTool[]; nextCursor?: string };
        all.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor);
      this.tools = all;
      this.options.memo?.note(all);
      return all;
    })().finally(() => {
      this.toolsLoading = undefined;
    });
    return this.toolsLoading;
  }

  /**
   * A server's prompts, resources or resource templates, every page, listed now. The list is kept
   * for `cachedDefinitions` until the server says that kind changed, or reconnects. A server that
   * does not implement the method offers none.
   */
  async listDefinitions(kind: DefinitionKind): Promise<Array<Record<string, unknown>>> {
    const dropped = this.definitionsDropped;
    const { method, key } = DEFINITION_LISTS[kind];
    const all: Array<Record<string, unknown>> = [];
    try {
      let cursor: string | undefined;
      do {
        const page = (await this.request(method, cursor ? { cursor } : {})) as Record<string, unknown>;
        const items = page[key];
        if (Array.isArray(items)) all.push(...(items as Array<Record<string, unknown>>));
        cursor = typeof page.nextCursor === 'string' ? page.nextCursor : undefined;
      } while (cursor);
    } catch (err) {
      if (!(err instanceof ProtocolError && err.code === ProtocolErrorCode.MethodNotFound)) throw err;
    }
    // A change announced while listing: the list may predate it, so it is not kept.
    if (dropped === this.definitionsDropped) this.definitions.set(kind, all);
    return all;
  }

  /** The prompts, resources or templates last listed (undefined when not listed since they changed). */
  cachedDefinitions(kind: DefinitionKind): ReadonlyArray<Record<string, unknown>> | undefined {
    return this.definitions.get(kind);
  }

  private dropDefinitions(kinds: readonly DefinitionKind[] = ['prompts', 'resources', 'resourceTemplates']) {
    this.definitionsDropped++;
    for (const kind of kinds) this.definitions.delete(kind);
  }

  /** The request a server message belongs to: by context, or the only one in flight. */
  private relayFor(kind: 'request' | 'notification'): Relay | undefined {
    const relay = relays.getStore();
    if (relay) return relay;
    if (this.inflight !== 1 || this.relaying.size !== 1) return undefined;
    if (kind === 'notification' && this.config.kind !== 'stdio') return undefined;
    return [...this.relaying][0];
  }

  /** Forward one request; connection failures become upstream errors, JSON-RPC errors pass through. */
  async request(
    method: string,
    params: Record<string, unknown> | undefined,
    options: CallOptions = {}
  ): Promise<unknown> {
    const client = await this.connect();
    const relay = options.relay;
    // A modern-era server logs for a request only when it names a level: ask for every level, and
    // let the agent's own level filter on the way down.
    const sent =
      relay && isModern(client.getNegotiatedProtocolVersion())
        ? { ...params, _meta: { [LOG_LEVEL_META_KEY]: 'debug', ...(params?._meta as object | undefined) } }
        : (params ?? {});
    const direct = method === 'tools/call' ? this.direct : undefined;
    const viaClient = () =>
      client.request(
        { method: method as 'tools/call', params: sent as never },
        {
          timeout: this.config.timeout_ms,
          resetTimeoutOnProgress: true,
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.onprogress ? { onprogress: options.onprogress } : {})
        }
      );
    this.inflight++;
    if (relay) this.relaying.add(relay);
    try {
      // Everything the client does for this request, reading its response stream included, runs
      // in the relay's context: that is how the server's messages about it find their way back.
      const send = direct
        ? () =>
            direct
              .call(sent, {
                timeoutMs: this.config.timeout_ms,
                ...(options.signal ? { signal: options.signal } : {}),
                ...(options.onprogress ? { onprogress: options.onprogress } : {})
              })
              .catch((err: unknown) => {
                if (err instanceof NeedsClient) return viaClient();
                if (err instanceof DirectCallError) throw new ProtocolError(err.code, err.message, err.data);
                throw err;
              })
        : viaClient;
      return await (relay ? relays.run(relay, send) : send());
    } catch (err) {
      throw upstreamFailure(this.name, err);
    } finally {
      if (relay) this.relaying.delete(relay);
      this.settle(-1);
    }
  }

  /**
   * The tools last listed, without asking the server again (undefined when not loaded); for an
   * isolated server, what any of its connections last listed.
   */
  cachedTools(): readonly UpstreamTool[] | undefined {
    return this.tools ?? this.options.memo?.tools;
  }

  /**
   * A request finished (`-1`) or the connection came up: once nothing is in flight, an isolated
   * connection is told it is idle after `idle_timeout` unless a request comes first.
   */
  private settle(done: 0 | -1 = 0): void {
    this.inflight += done;
    const { onIdle } = this.options;
    if (!onIdle || this.config.kind !== 'stdio') return;
    clearTimeout(this.idleTimer);
    if (this.inflight > 0) return;
    this.idleTimer = setTimeout(() => {
      if (this.inflight === 0 && this.client) onIdle(this);
    }, this.config.idle_timeout_ms);
    this.idleTimer.unref();
  }

  /** Stop the process (idle): the next use starts a new one. */
  async stop(): Promise<void> {
    if (this.state === 'closed') return;
    clearTimeout(this.idleTimer);
    clearTimeout(this.retryTimer);
    this.tools = undefined;
    this.dropDefinitions();
    const client = this.client;
    const transport = this.transport;
    this.client = undefined;
    this.transport = undefined;
    this.direct?.fail(new Error('upstream idle: stopped'));
    this.direct = undefined;
    this.state = 'idle';
    this.attempts = 0;
    this.log.info(
      { upstream_pid: (transport as ChildStdioTransport | undefined)?.pid },
      'upstream idle; stopped'
    );
    await client?.close().catch(() => undefined);
    await transport?.close().catch(() => undefined);
  }

  capabilities(): Record<string, unknown> | undefined {
    return this.client?.getServerCapabilities() as Record<string, unknown> | undefined;
  }

  pid(): number | undefined {
    return this.transport instanceof ChildStdioTransport ? this.transport.pid : undefined;
  }

  async close(): Promise<void> {
    this.state = 'closed';
    clearTimeout(this.retryTimer);
    clearTimeout(this.idleTimer);
    this.dropDefinitions();
    const client = this.client;
    this.client = undefined;
    this.direct?.fail(new Error('gateway is stopping'));
    this.direct = undefined;
    await client?.close().catch(() => undefined);
    await this.transport?.close().catch(() => undefined);
    this.http?.close();
  }
}

/** A connection's key: the server's name, with its owner when it is one of an isolated server's. */
export function upstreamKey(server: string, owner: string | undefined): string {
  return owner === undefined ? server : `${server}\n${owner}`;
}

/** Why a start failed, in words: a command that does not exist is named as such. */
function describeError(err: unknown): string {
  if (err instanceof ConnectTimeout) return err.message;
  const message = err instanceof Error ? err.message : String(err);
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT' && typeof e.syscall === 'string' && e.syscall.startsWith('spawn')) {
    return `command not found (${message})`;
  }
  return message;
}

/** JSON-RPC errors from the upstream are its answer and pass through; anything else is a failure. */
function upstreamFailure(server: string, err: unknown): unknown {
  if (err instanceof GatewayError) return err;
  if (err instanceof ProtocolError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new GatewayError('upstream_failed', `${server}: ${message}`, { cause: err });
}

/**
 * Direct tool calls for a connection, when the client's outbound envelope can be reproduced: every
 * era before the modern one needs none, and the modern era takes the client's own (not part of its
 * typed surface, so its absence falls back to the client for every call).
 */
function directCalls(client: Client, transport: Transport): DirectCalls | undefined {
  const version = client.getNegotiatedProtocolVersion();
  if (version === undefined) return undefined;
  const envelope = clientEnvelope(client);
  if (!envelope) return undefined;
  return new DirectCalls(transport, version, envelope);
}
