/**
 * `isolation: session`: each agent session its own process of a server, for servers that keep
 * per-user state or credentials. A session's connection is made when the session first needs the
 * server (a call, or a listing), its process started then, and stopped when the session ends or
 * after `idle_timeout` without a request (the session's next use starts a new one). A connection
 * belongs to one session, and a session to one identity: a session is never handed a connection
 * opened for another identity. Every process counts against `limits.max_upstream_processes`.
 */
import type { Logger } from 'pino';
import type { StdioServerConfig } from '../config/types.js';
import { GatewayError } from '../errors.js';
import { ToolsMemo, Upstream, type UpstreamEvents } from './index.js';
import type { ProcessBudget } from './processes.js';

/** Who a connection is for: a session's id and the key of its identity. */
interface SessionKey {
  id: string;
  identity: string;
}

export class SessionUpstreams {
  /** Per session: the identity it belongs to, and its connection to each isolated server. */
  private readonly sessions = new Map<string, { identity: string; ups: Map<string, Upstream> }>();
  /** Per server: what its connections listed last, and the connection the console and pins use. */
  private readonly servers = new Map<string, { memo: ToolsMemo; catalog: Upstream }>();
  private closing = false;

  constructor(
    configs: Record<string, StdioServerConfig>,
    private readonly budget: ProcessBudget,
    private readonly log: Logger,
    private readonly events: (owner: string) => UpstreamEvents
  ) {
    for (const [name, config] of Object.entries(configs)) {
      const memo = new ToolsMemo();
      const catalog = new Upstream(name, config, log.child({ server: name }), events('catalog'), {
        budget,
        owner: 'catalog',
        memo,
        onIdle: (up) => void up.stop()
      });
      this.servers.set(name, { memo, catalog });
    }
  }

  /** Is this server's process one per session? */
  has(server: string): boolean {
    return this.servers.has(server);
  }

  /**
   * The connection without a session (console inventory, approving pins): it keeps no session's
   * state, and is stopped after `idle_timeout` like the others.
   */
  catalog(server: string): Upstream | undefined {
    return this.servers.get(server)?.catalog;
  }

  /** The session's connection to the server, made (not yet started) on its first use. */
  for(session: SessionKey, server: string): Upstream {
    const shared = this.servers.get(server);
    if (!shared) throw new Error(`${server} is not session-isolated`);
    if (this.closing) throw new GatewayError('upstream_unavailable', `${server}: gateway is stopping`);
    let entry = this.sessions.get(session.id);
    if (!entry) {
      entry = { identity: session.identity, ups: new Map() };
      this.sessions.set(session.id, entry);
    } else if (entry.identity !== session.identity) {
      // Sessions are bound to one identity; a mismatch is a fault, and nothing is shared.
      this.log.error(
        { session: session.id, server },
        'session-isolated upstream asked for by another identity'
      );
      throw new GatewayError('internal', `${server}: session ${session.id} belongs to another identity`);
    }
    let up = entry.ups.get(server);
    if (!up) {
      const config = shared.catalog.config;
      up = new Upstream(
        server,
        config,
        this.log.child({ server, session: session.id }),
        this.events(session.id),
        { budget: this.budget, owner: session.id, memo: shared.memo, onIdle: (idle) => void idle.stop() }
      );
      entry.ups.set(server, up);
    }
    return up;
  }

  /** The session ended: stop its processes. */
  async release(sessionId: string): Promise<void> {
    const entry = this.sessions.get(sessionId);
    if (!entry) return;
    this.sessions.delete(sessionId);
    await Promise.all([...entry.ups.values()].map((up) => up.close()));
  }

  /** Connections with a process running (or starting) per server, for health. */
  running(server: string): number {
    let n = 0;
    for (const entry of this.sessions.values()) {
      const up = entry.ups.get(server);
      if (up && up.pid() !== undefined && (up.state === 'ready' || up.state === 'starting')) n++;
    }
    return n;
  }

  /** The gateway is stopping: no connection is made from now on, and every process is stopped. */
  async close(): Promise<void> {
    this.closing = true;
    const all = [...this.sessions.keys()].map((id) => this.release(id));
    all.push(...[...this.servers.values()].map((s) => s.catalog.close()));
    await Promise.all(all);
  }
}
