/**
 * Gateway sessions: one per downstream connection (stdio), per `Mcp-Session-Id` (legacy HTTP),
 * per SSE stream, or per credential for 2026-07-28 clients, whose protocol has no sessions.
 * A session holds what per-session policy needs: who it is, how many calls it made per rule, the
 * calls it made (bounded), and its accumulated risk.
 */
import { randomUUID } from 'node:crypto';
import type { Identity } from '../auth/index.js';
import type { CallRecordView } from '../policy/index.js';

export type DownstreamTransport = 'stdio' | 'http' | 'sse';

/** How many earlier calls a session remembers for history conditions. */
export const HISTORY_LIMIT = 1000;

export interface Session {
  readonly id: string;
  readonly identity: Identity;
  readonly transport: DownstreamTransport;
  readonly createdAt: number;
  lastSeen: number;
  /** Calls made under each rule with a per-session cap. */
  readonly counts: Map<string, number>;
  /** Admitted calls, oldest first, at most HISTORY_LIMIT. */
  readonly history: CallRecordView[];
  /** Accumulated risk as of `riskAt`. */
  risk: number;
  riskAt: number;
}

export interface SessionStore {
  open(identity: Identity, transport: DownstreamTransport, id?: string): Session;
  get(id: string): Session | undefined;
  close(id: string): void;
  size(): number;
  all(): IterableIterator<Session>;
}

export function createSessionStore(): SessionStore {
  const sessions = new Map<string, Session>();
  return {
    open(identity, transport, id = randomUUID()) {
      const existing = sessions.get(id);
      if (existing) return existing;
      const now = Date.now();
      const session: Session = {
        id,
        identity,
        transport,
        createdAt: now,
        lastSeen: now,
        counts: new Map(),
        history: [],
        risk: 0,
        riskAt: now
      };
      sessions.set(id, session);
      return session;
    },
    get: (id) => sessions.get(id),
    close: (id) => void sessions.delete(id),
    size: () => sessions.size,
    all: () => sessions.values()
  };
}

export function recordCall(session: Session, call: CallRecordView): void {
  session.history.push(call);
  // shift() drops the oldest in constant time; splice(0, n) would move the whole history every call.
  while (session.history.length > HISTORY_LIMIT) session.history.shift();
}
