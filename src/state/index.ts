/**
 * Shared state: what must hold across every replica of a gateway. A session's call counts per rule,
 * its history and its risk, what an identity keeps across its sessions (history, risk, caps), the
 * rate-limit windows, held approvals and revocations. Two stores:
 * memory (the embedded default, this process only) and Redis (./redis.ts), shared by replicas.
 *
 * The call pipeline uses the store at three points: `sync` before the policy decides (the counts,
 * risk and history the decision reads), `consume` once every other check has passed (every budget
 * checked and taken in one atomic step, so two replicas racing on the last allowed call let exactly
 * one through), and `record` just before the call goes upstream. A store that cannot answer throws
 * `state_unavailable`, and the call is refused and audited: the gateway fails closed.
 */
import type { Identity } from '../auth/index.js';
import type { DownstreamTransport, Session } from '../core/session.js';
import { identityScopeKey, recordCall, recordIdentityCall } from '../core/session.js';
import { GatewayError } from '../errors.js';
import { createCapStore, type CapStore } from '../limits/cap-store.js';
import { createRateStore, type RateStore } from '../limits/rate-store.js';
import type { CallRecordView, IdentityNeeds, SessionCounter } from '../policy/index.js';

/** How risk decays and where its budget lies, from the policy currently in force. */
export interface RiskSettings {
  halfLifeMs?: number;
  resetAfterMs?: number;
  /** Enforced budget (absent in observe mode or when none is set). */
  budget?: number;
  /** One risk score per identity, shared by its sessions (`policy.risk.scope: identity`). */
  perIdentity?: boolean;
}

/** Where a session's risk is kept: on the session, or on what its identity's sessions share. */
export function riskHolder(session: Session, settings: RiskSettings): { risk: number; riskAt: number } {
  return settings.perIdentity ? session.shared : session;
}

/** What another replica needs to resume a session it did not open. */
export interface SessionMeta {
  id: string;
  owner: string;
  identity: Identity;
  transport: DownstreamTransport;
  createdAt: number;
  protocolVersion?: string;
  /** What the agent said of itself at initialize: a replica resuming the session needs it too. */
  client?: { capabilities?: Record<string, unknown>; info?: Record<string, unknown> };
}

export interface SharedState {
  readonly kind: 'memory' | 'redis';
  /**
   * Bring the session's counts and risk, and its history when `history`, up to date; and what
   * `identity` names of what the identity's sessions share (their history, the identity's risk).
   */
  sync(session: Session, history: boolean, identity?: IdentityNeeds): void | Promise<void>;
  /**
   * Check every budget a call consumes (per-session caps, rate windows, identity caps, the risk
   * budget) and take them all, or none. Throws `call_limit`, `rate_limited` or `risk_budget` when
   * one is spent.
   */
  consume(
    session: Session,
    counters: readonly SessionCounter[],
    risk: number,
    now: number,
    settings: RiskSettings
  ): void | Promise<void>;
  /** Add risk outside a call's admission (scanner findings); returns the new risk. */
  addRisk(session: Session, amount: number, now: number, settings: RiskSettings): number | Promise<number>;
  /**
   * Remember an admitted call for history conditions: in the session's history, and in its
   * identity's when `identity` (some rule reads it; the memory store keeps it always).
   */
  record(session: Session, call: CallRecordView, identity?: boolean): void | Promise<void>;
  /** Publish a session so other replicas can resume it (Streamable HTTP behind a load balancer). */
  saveSession(meta: SessionMeta): Promise<void>;
  /** A session opened elsewhere, or undefined. */
  findSession(id: string): Promise<SessionMeta | undefined>;
  /** Revoke a credential (a gateway token id or a JWT `jti`) on every replica. */
  revoke(id: string, at?: Date): Promise<void>;
  /** Is this credential id revoked? Answers from a local mirror kept current by the store. */
  isRevoked(id: string): boolean;
  /**
   * Count an authentication failure from a source address on every replica: at `failures` within
   * `windowMs`, the source is locked out everywhere for `durationMs`. The memory store counts
   * nothing here (the authenticator's own count is the whole story on one process).
   */
  recordAuthFailure(source: string, lockout: LockoutSettings, now: number): Promise<void>;
  /** Until when a source is locked out by failures seen on any replica (a local mirror), if it is. */
  lockedUntil(source: string, now: number): number | undefined;
  /**
   * One request against a fixed window shared by every replica (`auth.rate_limit`, per identity):
   * true while the window has room. The window opens with its first request.
   */
  admitRequest(key: string, limit: number, windowMs: number, now: number): Promise<boolean>;
  /** Is the store reachable right now? */
  healthy(): boolean;
  close(): Promise<void>;
}

interface LockoutSettings {
  failures: number;
  windowMs: number;
  durationMs: number;
}

/** Risk decayed from `risk` at `riskAt` to `now`. */
export function decayedRisk(risk: number, riskAt: number, now: number, s: RiskSettings): number {
  if (risk === 0) return 0;
  const elapsed = Math.max(0, now - riskAt);
  if (s.resetAfterMs !== undefined && elapsed >= s.resetAfterMs) return 0;
  if (s.halfLifeMs !== undefined && s.halfLifeMs > 0) return risk * 0.5 ** (elapsed / s.halfLifeMs);
  return risk;
}

/** The key a rate window is kept under: the rule, and who shares it. */
export function rateKey(counter: SessionCounter, identity: Identity, sessionId: string): string {
  const scope = counter.scope;
  // Per identity: every session and every credential of the same caller share one budget.
  const who = scope === 'global' ? '*' : scope === 'session' ? `s:${sessionId}` : identityScopeKey(identity);
  return `${counter.key}|${who}`;
}

export function limitError(counter: SessionCounter): GatewayError {
  if (counter.kind === 'identity')
    return new GatewayError(
      'call_limit',
      `rule ${counter.key}: max_calls ${counter.max} per identity within ${counter.window_ms} ms reached`
    );
  return counter.kind === 'session'
    ? new GatewayError('call_limit', `rule ${counter.key}: max_calls_per_session ${counter.max} reached`)
    : new GatewayError(
        'rate_limited',
        `rule ${counter.key}: rate limit ${counter.max} per ${counter.window_ms} ms (${counter.scope}) reached`
      );
}

export function budgetError(
  current: number,
  amount: number,
  budget: number,
  perIdentity = false
): GatewayError {
  return new GatewayError(
    'risk_budget',
    `${perIdentity ? 'identity' : 'session'} risk would reach ${round(current + amount)}, over the budget ${budget}`
  );
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/**
 * This process only: counts and risk live on the session object (or on what the identity's
 * sessions share), rate windows and identity caps in bounded tables. Checking and taking happen in
 * one synchronous step, so concurrent calls cannot both take the last slot.
 */
export function createMemoryState(
  rates: RateStore = createRateStore(),
  caps: CapStore = createCapStore(),
  /**
   * Request windows per identity, for `on_unavailable: local` (the authenticator keeps its own):
   * full of live windows, it refuses a new identity rather than reset anyone's window.
   */
  requests: RateStore = createRateStore()
): SharedState {
  const revoked = new Map<string, string>();
  return {
    kind: 'memory',
    sync() {},
    consume(session, counters, risk, now, settings) {
      const counts = session.counts;
      for (const c of counters) {
        if (c.kind === 'session') {
          if ((counts.get(c.key) ?? 0) >= c.max) throw limitError(c);
        } else if (c.kind === 'identity') {
          if (!caps.peek(capKey(c, session), c.max, c.window_ms!, now)) throw limitError(c);
        } else if (!rates.peek(rateKey(c, session.identity, session.id), c.max, c.window_ms!, now)) {
          throw limitError(c);
        }
      }
      const holder = riskHolder(session, settings);
      if (risk > 0 && settings.budget !== undefined) {
        const current = decayedRisk(holder.risk, holder.riskAt, now, settings);
        if (current + risk > settings.budget)
          throw budgetError(current, risk, settings.budget, settings.perIdentity);
      }
      for (const c of counters) {
        if (c.kind === 'session') counts.set(c.key, (counts.get(c.key) ?? 0) + 1);
        else if (c.kind === 'identity') caps.take(capKey(c, session), c.window_ms!, now);
        else rates.take(rateKey(c, session.identity, session.id), c.max, c.window_ms!, now);
      }
      if (risk > 0) addLocalRisk(holder, risk, now, settings);
    },
    addRisk: (session, amount, now, settings) =>
      addLocalRisk(riskHolder(session, settings), amount, now, settings),
    record(session, call) {
      recordCall(session, call);
      // Kept whether or not a rule reads it now: a reload that adds one finds the calls before it.
      recordIdentityCall(session.shared, call);
    },
    saveSession: async () => {},
    findSession: async () => undefined,
    async revoke(id, at = new Date()) {
      revoked.set(id, at.toISOString());
    },
    isRevoked: (id) => revoked.has(id),
    recordAuthFailure: async () => {},
    lockedUntil: () => undefined,
    admitRequest: async (key, limit, windowMs, now) => requests.take(key, limit, windowMs, now),
    healthy: () => true,
    close: async () => {}
  };
}

/** The key an identity cap is kept under: the rule, and the identity. */
export function capKey(counter: SessionCounter, session: Session): string {
  return `${counter.key}|${session.shared.key}`;
}

/** Add risk to a session, or to what its identity's sessions share (riskHolder). */
export function addLocalRisk(
  holder: { risk: number; riskAt: number },
  amount: number,
  now: number,
  settings: RiskSettings
): number {
  holder.risk = decayedRisk(holder.risk, holder.riskAt, now, settings) + amount;
  holder.riskAt = now;
  return holder.risk;
}
