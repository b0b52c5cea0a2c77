/**
 * Session budgets: per-rule call caps, checked and consumed in one synchronous step so two
 * concurrent calls in a session can never both take the last allowed slot.
 */
import type { Stage } from '../core/pipeline.js';
import { GatewayError } from '../errors.js';

export function limitsStage(): Stage {
  return {
    name: 'limits',
    run(ctx) {
      const counters = ctx.decision?.counters ?? [];
      if (counters.length === 0) return;
      const counts = ctx.session.counts;
      // Check every counter first, then consume them all: no await in between.
      for (const c of counters) {
        const used = counts.get(c.key) ?? 0;
        if (used >= c.max) {
          throw new GatewayError('call_limit', `rule ${c.key}: max_calls_per_session ${c.max} reached`);
        }
      }
      for (const c of counters) counts.set(c.key, (counts.get(c.key) ?? 0) + 1);
    }
  };
}
