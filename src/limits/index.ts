/**
 * Budgets, checked and consumed in one synchronous step so concurrent calls can never both take
 * the last slot: per-rule session caps (`max_calls_per_session`), per-rule rate limits scoped to
 * the identity, the session or everyone, and the session's risk.
 */
import type { Identity } from '../auth/index.js';
import type { Stage } from '../core/pipeline.js';
import { GatewayError } from '../errors.js';
import type { RiskModel } from './risk.js';

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

function scopeKey(
  scope: 'identity' | 'session' | 'global' | undefined,
  identity: Identity,
  sessionId: string
): string {
  if (scope === 'global') return '*';
  if (scope === 'session') return `s:${sessionId}`;
  // Per identity: every session and every credential of the same caller share one budget.
  return `i:${identity.method}:${identity.id}`;
}

export function limitsStage(rates: RateStore, risk: RiskModel): Stage {
  return {
    name: 'limits',
    run(ctx) {
      const decision = ctx.decision;
      if (!decision) return;
      const now = Date.now();
      const counts = ctx.session.counts;
      const identity = ctx.session.identity;
      // Check every budget first, then consume them all: no await in between.
      for (const c of decision.counters) {
        if (c.kind === 'session') {
          if ((counts.get(c.key) ?? 0) >= c.max) {
            throw new GatewayError('call_limit', `rule ${c.key}: max_calls_per_session ${c.max} reached`);
          }
        } else if (
          !rates.peek(`${c.key}|${scopeKey(c.scope, identity, ctx.session.id)}`, c.max, c.window_ms!, now)
        ) {
          throw new GatewayError(
            'rate_limited',
            `rule ${c.key}: rate limit ${c.max} per ${c.window_ms} ms (${c.scope}) reached`
          );
        }
      }
      for (const c of decision.counters) {
        if (c.kind === 'session') counts.set(c.key, (counts.get(c.key) ?? 0) + 1);
        else rates.take(`${c.key}|${scopeKey(c.scope, identity, ctx.session.id)}`, c.max, c.window_ms!, now);
      }
      if (decision.risk > 0) risk.add(ctx.session, decision.risk, now);
    }
  };
}
