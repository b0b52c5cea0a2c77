/**
 * Gateway sessions: one per downstream connection (stdio), per `Mcp-Session-Id` (legacy HTTP),
 * per SSE stream, or per credential for 2026-07-28 clients, whose protocol has no sessions.
 * A session holds what per-session policy needs: who it is, how many calls it made per rule, the
 * calls it made (bounded), and its accumulated risk. What policy keeps per identity (`scope:
 * identity`) lives in one IdentityState that every session of the identity on this process shares,
 * and outlives them: a new session does not start the identity's history or risk afresh.
 */
import { randomUUID } from 'node:crypto';
import type { Identity } from '../auth/index.js';
import type { CallRecordView } from '../policy/index.js';

export type DownstreamTransport = 'stdio' | 'http' | 'sse';

/** How many earlier calls a session remembers for history conditions. */
export const HISTORY_LIMIT = 1000;

/** What every session of one identity shares: its calls across sessions and its risk. */
interface IdentityState {
  /** Who: the key identity-scoped budgets are kept under (identityScopeKey). */
  readonly key: string;
  /** Admitted calls of every session of the identity, oldest first, at most HISTORY_LIMIT. */
  readonly history: CallRecordView[];
  /** Accumulated risk as of `riskAt`, when `policy.risk.scope` is `identity`. */
  risk: number;
  riskAt: number;
}

/**
 * The identity an identity-scoped budget belongs to: every session and every credential of the
 * same caller (its authentication method and id), as rate limits per identity count.
 */
export function identityScopeKey(identity: Pick<Identity, 'method' | 'id'>): string {
  return `i:${identity.method}:${identity.id}`;
}

export function createIdentityState(key: string, now = Date.now()): IdentityState {
  return { key, history: [], risk: 0, riskAt: now };
}

/** Identities remembered at most; past it the least recently used is forgotten. */
const MAX_IDENTITIES = 100_000;

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
  /** What this session shares with every other session of its identity. */
  readonly shared: IdentityState;
  /** Close its connection from outside, set by a transport that can (an admin ends the session). */
  end?: () => void;
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
  // Kept after their sessions close: a new session of the identity finds its history and risk.
  const identities = new Map<string, IdentityState>();
  const sharedOf = (identity: Identity, now: number): IdentityState => {
    const key = identityScopeKey(identity);
    const found = identities.get(key);
    if (found) {
      // Most recently used last: the oldest entry is the one to forget.
      identities.delete(key);
      identities.set(key, found);
      return found;
    }
    if (identities.size >= MAX_IDENTITIES) identities.delete(identities.keys().next().value!);
    const fresh = createIdentityState(key, now);
    identities.set(key, fresh);
    return fresh;
  };
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
        riskAt: now,
        shared: sharedOf(identity, now)
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

/** Remember an admitted call in the history of the session's identity. */
export function recordIdentityCall(shared: IdentityState, call: CallRecordView): void {
  shared.history.push(call);
  while (shared.history.length > HISTORY_LIMIT) shared.history.shift();
}
