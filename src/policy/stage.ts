/** The policy stage: decide the call against the current policy; a denial stops the pipeline. */
import type { Decided, Resolved, Routed, Stage, StageInput } from '../core/pipeline.js';
import { GatewayError } from '../errors.js';
import type { Session } from '../core/session.js';
import type { Decision, IdentityNeeds, Policy, PolicyInput } from './index.js';

/** The policy in force and its version; a reload swaps both at once. */
export type CurrentPolicy = () => { readonly policy: Policy; readonly version: string };

/** What the policy needs to know about a call, apart from time, risk and counts. */
export function policyInputOf(ctx: Routed): Omit<PolicyInput, 'now' | 'risk' | 'sessionCount'> {
  const identity = ctx.session.identity;
  return {
    roles: identity.roles,
    server: ctx.server,
    tool: ctx.tool,
    args: ctx.args,
    identity: {
      id: identity.id,
      method: identity.method,
      ...(identity.agent ? { agent: identity.agent } : {}),
      ...(identity.claims ? { claims: identity.claims } : {})
    },
    history: ctx.session.history,
    identityHistory: ctx.session.shared.history
  };
}

/**
 * `risk` is the session's risk now (decayed); `sync` brings a session up to date from shared
 * state, and is asked only for what the policy in force reads (its `needs`).
 */
export function policyStage(
  current: CurrentPolicy,
  risk: (session: Session, now: number) => number,
  sync?: (session: Session, history: boolean, identity: IdentityNeeds) => void | Promise<void>
): Stage<Routed, Decided> {
  const decide = (ctx: StageInput<Routed, Decided>) => {
    // The policy a call starts with decides it, even if a reload swaps it meanwhile.
    const { policy, version } = current();
    ctx.policyVersion = version;
    const decision = policy.decide(inputNow(ctx, risk));
    ctx.decision = decision;
    if (decision.effect === 'deny') {
      const hint = decision.hint !== undefined ? { hint: decision.hint } : undefined;
      throw new GatewayError(decision.code ?? 'policy_denied', decision.reason, hint);
    }
  };
  return {
    name: 'policy',
    run(ctx) {
      // Shared state first: the counts, risk and history the decision reads; none when it reads none.
      const { needs, identityNeeds } = current().policy;
      const pending = needs.session ? sync?.(ctx.session, needs.history, identityNeeds) : undefined;
      if (pending) return pending.then(() => decide(ctx));
      return decide(ctx);
    }
  };
}

/** The policy input of a call as of now: its session's risk and counts at this moment. */
function inputNow(ctx: Routed, risk: (session: Session, now: number) => number): PolicyInput {
  const session = ctx.session;
  const now = Date.now();
  // The input object is fresh: completing it costs nothing, where `{ ...policyInputOf(ctx), now }`
  // makes V8 build a new hidden class on every call.
  const input = policyInputOf(ctx) as PolicyInput;
  input.now = now;
  input.risk = risk(session, now);
  input.sessionCount = (key) => session.counts.get(key) ?? 0;
  return input;
}

/**
 * Decide a call again after it waited (for approval): under the policy in force now, leaving out
 * what the call's first decision already counted.
 */
export function redecision(
  current: CurrentPolicy,
  risk: (session: Session, now: number) => number
): (ctx: Resolved) => { decision: Decision; version: string } {
  return (ctx) => {
    const { policy, version } = current();
    return { decision: policy.redecide(inputNow(ctx, risk), ctx.decision), version };
  };
}
