/** The policy stage: decide the call against the current policy; a denial stops the pipeline. */
import type { Stage } from '../core/pipeline.js';
import { GatewayError } from '../errors.js';
import type { Policy } from './index.js';

export function policyStage(current: () => { policy: Policy; version: string }): Stage {
  return {
    name: 'policy',
    run(ctx) {
      const { policy, version } = current();
      ctx.policyVersion = version;
      const counts = ctx.session.counts;
      const decision = policy.decide({
        roles: ctx.session.identity.roles,
        server: ctx.server!,
        tool: ctx.tool!,
        args: ctx.args,
        sessionCount: (key) => counts.get(key) ?? 0
      });
      ctx.decision = decision;
      if (decision.effect === 'deny')
        throw new GatewayError(decision.code ?? 'policy_denied', decision.reason);
    }
  };
}
