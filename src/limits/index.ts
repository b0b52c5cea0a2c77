/**
 * Budgets: per-rule session caps (`max_calls_per_session`), per-rule rate limits scoped to the
 * identity, the session or everyone, and the session's risk budget. The in-memory rate table is in
 * ./rate-store.ts; the check-and-take itself is the shared state's (../state).
 */
import type { Resolved, Stage } from '../core/pipeline.js';
import type { RiskSettings, SharedState } from '../state/index.js';

export { createRateStore, type RateStore } from './rate-store.js';

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
