/**
 * Approval holds. A call whose decision is `approval` needs a person to say yes. Until a reviewer
 * channel is configured, such a call is refused with `approval_required` — never silently allowed.
 */
import type { Stage } from '../core/pipeline.js';
import { GatewayError } from '../errors.js';

export function approvalStage(): Stage {
  return {
    name: 'approval',
    run(ctx) {
      if (ctx.decision?.effect !== 'approval') return;
      throw new GatewayError(
        'approval_required',
        `${ctx.decision.reason}; no approval channel is configured, so the call is refused`
      );
    }
  };
}
