/**
 * Budgets: per-rule session caps (`max_calls_per_session`), per-rule rate limits scoped to the
 * identity, the session or everyone, and the session's risk budget. The in-memory rate table lives
 * here; the check-and-take itself is the shared state's (../state).
 */
import type { Resolved, Stage } from '../core/pipeline.js';
import type { RiskSettings, SharedState } from '../state/index.js';

export interface RateStore {
  /** Take one from the window of `key`; false when it is full. */
  take(key: string, max: number, windowMs: number, now: number): boolean;
  /** Would `take` succeed? */
  peek(key: string, max: number, windowMs: number, now: number): boolean;
}

/**
 * Fixed windows in memory, bounded in size. When the table is full of live windows, a new key is
 * refused rather than anyone's window dropped: a flood of new keys must not reset other limits.
 */
export function createRateStore(maxKeys = 100_000): RateStore {
  const windows = new Map<string, { start: number; count: number; windowMs: number }>();
  const fresh = (key: string, windowMs: number, now: number) => {
    const w = windows.get(key);
    if (w && now - w.start < windowMs) return w;
    if (!w && windows.size >= maxKeys) {
      for (const [k, v] of windows) if (now - v.start >= v.windowMs) windows.delete(k);
      if (windows.size >= maxKeys) return undefined;
    }
    const next = { start: now, count: 0, windowMs };
    windows.set(key, next);
    return next;
  };
  return {
    peek: (key, max, windowMs, now) => (fresh(key, windowMs, now)?.count ?? max) < max,
    take(key, max, windowMs, now) {
      const w = fresh(key, windowMs, now);
      if (!w || w.count >= max) return false;
      w.count++;
      return true;
    }
  };
}

/**
 * Budgets, taken once every other check has passed: the store checks every per-session cap, rate
 * window and the risk budget of the call and takes them all in one atomic step, or none.
 */
export function limitsStage(state: SharedState, riskSettings: () => RiskSettings): Stage<Resolved> {
  return {
    name: 'limits',
    run(ctx) {
      const decision = ctx.decision;
      return state.consume(ctx.session, decision.counters, decision.risk, Date.now(), riskSettings());
    }
  };
}
