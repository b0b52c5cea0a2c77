/** The policy stage: decide the call against the current policy; a denial stops the pipeline. */
import type { CallContext, Stage } from '../core/pipeline.js';
import { GatewayError } from '../errors.js';
import type { Session } from '../core/session.js';
import type { Policy, PolicyInput } from './index.js';

/** What the policy needs to know about a call, apart from time, risk and counts. */
export function policyInputOf(ctx: CallContext): Omit<PolicyInput, 'now' | 'risk' | 'sessionCount'> {
  const identity = ctx.session.identity;
  return {
    roles: identity.roles,
    server: ctx.server!,
    tool: ctx.tool!,
    args: ctx.args,
    identity: {
      id: identity.id,
      method: identity.method,
      ...(identity.agent ? { agent: identity.agent } : {}),
      ...(identity.claims ? { claims: identity.claims } : {})
    },
    history: ctx.session.history
  };
}

export function policyStage(
  current: () => { policy: Policy; version: string },
  risk: (session: Session, now: number) => number,
  sync?: (session: Session) => void | Promise<void>
): Stage {
  const decide = (ctx: CallContext) => {
    // The policy a call starts with decides it, even if a reload swaps it meanwhile.
    const { policy, version } = current();
    ctx.policyVersion = version;
    const session = ctx.session;
    const now = Date.now();
    // The input object is fresh: completing it costs nothing, where `{ ...policyInputOf(ctx), now }`
    // makes V8 build a new hidden class on every call.
    const input = policyInputOf(ctx) as PolicyInput;
    input.now = now;
    input.risk = risk(session, now);
    input.sessionCount = (key) => session.counts.get(key) ?? 0;
    const decision = policy.decide(input);
    ctx.decision = decision;
    if (decision.effect === 'deny') throw new GatewayError(decision.code ?? 'policy_denied', decision.reason);
  };
  return {
    name: 'policy',
    run(ctx) {
      // Shared state first: the counts, risk and history the decision reads.
      const pending = sync?.(ctx.session);
      if (pending) return pending.then(() => decide(ctx));
      return decide(ctx);
    }
  };
}
