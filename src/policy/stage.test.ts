/**
 * The policy stage: it decides each call against the policy in force, with what the session knows
 * (who is calling, its counts, risk and history), records the decision and its policy version, and
 * refuses a denied call with the decision's code. Every call runs at a fixed instant.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Identity } from '../auth/index.js';
import type { PolicySettings, RuleConfig } from '../config/types.js';
import type { Decided, Resolved, Routed, StageInput } from '../core/pipeline.js';
import { createSessionStore, type Session } from '../core/session.js';
import { GatewayError } from '../errors.js';
import type { Upstream } from '../upstream/index.js';
import { compilePolicy, type Policy } from './index.js';
import { policyInputOf, policyStage, redecision, type CurrentPolicy } from './stage.js';

/** Wednesday 2026-03-18 12:00 UTC. */
const NOON = Date.UTC(2026, 2, 18, 12);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOON);
});
afterEach(() => {
  vi.useRealTimers();
});

const analyst: Identity = { id: 'ana', roles: ['analyst'], method: 'token' };

const sessionOf = (identity: Identity = analyst): Session => createSessionStore().open(identity, 'stdio');

const routed = (
  session: Session,
  tool = 't',
  args: Record<string, unknown> = {}
): StageInput<Routed, Decided> =>
  ({
    session,
    name: `files__${tool}`,
    args,
    risk: 0,
    server: 'files',
    tool,
    upstream: {} as Upstream
  }) as StageInput<Routed, Decided>;

const fixed = (rules: RuleConfig[], settings?: PolicySettings, version = 'v1'): CurrentPolicy => {
  const policy: Policy = compilePolicy(rules, settings);
  return () => ({ policy, version });
};

const noRisk = () => 0;

/** Runs the stage on a call; the GatewayError it refuses with, or undefined when it lets it on. */
const run = async (stage: ReturnType<typeof policyStage>, ctx: StageInput<Routed, Decided>) => {
  try {
    await stage.run(ctx);
    return undefined;
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
};

describe('policyStage', () => {
  it('an allowed call goes on, carrying its decision and the policy version that made it', async () => {
    const stage = policyStage(
      fixed([{ id: 'read', tool: 't', allowed_roles: ['analyst'] }], undefined, 'v7'),
      noRisk
    );
    expect(stage.name).toBe('policy');
    const ctx = routed(sessionOf());
    expect(await run(stage, ctx)).toBeUndefined();
    expect(ctx.policyVersion).toBe('v7');
    expect(ctx.decision).toMatchObject({ effect: 'allow', rules: ['read'] });
  });

  it('a denied call is refused with the decision code and its reason as the detail', async () => {
    const stage = policyStage(fixed([{ id: 'no', tool: 't', deny: true }]), noRisk);
    const ctx = routed(sessionOf());
    const err = await run(stage, ctx);
    expect(err?.code).toBe('policy_denied');
    expect(err?.detail).toBe('rule no denies tool "t"');
    expect(ctx.decision).toMatchObject({ effect: 'deny', code: 'policy_denied' });
    expect(ctx.policyVersion).toBe('v1');
  });

  it('a call no rule covers is refused as no_rule; a role no rule allows as role_not_allowed', async () => {
    const stage = policyStage(
      fixed([
        { tool: 'other', allowed_roles: ['analyst'] },
        { tool: 't', allowed_roles: ['admin'] }
      ]),
      noRisk
    );
    expect((await run(stage, routed(sessionOf(), 'nothing')))?.code).toBe('no_rule');
    expect((await run(stage, routed(sessionOf(), 't')))?.code).toBe('role_not_allowed');
  });

  it('a call that needs approval goes on to wait for it (the stage does not refuse it)', async () => {
    const stage = policyStage(
      fixed([{ tool: 't', allowed_roles: ['analyst'], require_approval: true }]),
      noRisk
    );
    const ctx = routed(sessionOf());
    expect(await run(stage, ctx)).toBeUndefined();
    expect(ctx.decision?.effect).toBe('approval');
  });

  it('decides with the caller roles, the call arguments and the current time', async () => {
    const stage = policyStage(
      fixed([
        {
          tool: 'read',
          allowed_roles: ['analyst'],
          time: { hours: '09:00-17:00' },
          parameter_constraints: { path: { prefix: '/data/' } }
        }
      ]),
      noRisk
    );
    expect(await run(stage, routed(sessionOf(), 'read', { path: '/data/x' }))).toBeUndefined();
    expect((await run(stage, routed(sessionOf(), 'read', { path: '/etc/passwd' })))?.code).toBe(
      'constraint_failed'
    );
    expect(
      (await run(stage, routed(sessionOf({ ...analyst, roles: ['guest'] }), 'read', { path: '/data/x' })))
        ?.code
    ).toBe('role_not_allowed');
    vi.setSystemTime(Date.UTC(2026, 2, 18, 20));
    expect((await run(stage, routed(sessionOf(), 'read', { path: '/data/x' })))?.code).toBe('no_rule');
  });

  it('principal conditions see the caller id, how it authenticated, its agent and its claims', async () => {
    const stage = policyStage(
      fixed([
        {
          tool: 't',
          allowed_roles: ['analyst'],
          principal: { users: ['ana'], auth: ['oauth'], agents: ['claude-*'], claims: { org: ['acme'] } }
        }
      ]),
      noRisk
    );
    const oauth: Identity = { ...analyst, method: 'oauth', agent: 'claude-desktop', claims: { org: 'acme' } };
    expect(await run(stage, routed(sessionOf(oauth)))).toBeUndefined();
    expect((await run(stage, routed(sessionOf({ ...oauth, id: 'bob' }))))?.code).toBe('no_rule');
    expect((await run(stage, routed(sessionOf({ ...oauth, method: 'token' }))))?.code).toBe('no_rule');
    expect((await run(stage, routed(sessionOf({ ...oauth, agent: 'cursor' }))))?.code).toBe('no_rule');
    const { agent: _agent, ...noAgent } = oauth;
    expect((await run(stage, routed(sessionOf(noAgent))))?.code).toBe('no_rule');
    expect((await run(stage, routed(sessionOf({ ...oauth, claims: { org: 'evil' } }))))?.code).toBe(
      'no_rule'
    );
    const { claims: _claims, ...noClaims } = oauth;
    expect((await run(stage, routed(sessionOf(noClaims))))?.code).toBe('no_rule');
  });

  it('policyInputOf leaves out an agent and claims the identity does not have', () => {
    const ctx = routed(sessionOf());
    expect(policyInputOf(ctx)).toEqual({
      roles: ['analyst'],
      server: 'files',
      tool: 't',
      args: {},
      identity: { id: 'ana', method: 'token' },
      history: [],
      identityHistory: []
    });
  });

  it('reads the session counts: the call past a per-session cap is refused', async () => {
    const stage = policyStage(
      fixed([{ id: 'cap', tool: 't', allowed_roles: ['analyst'], max_calls_per_session: 2 }]),
      noRisk
    );
    const session = sessionOf();
    const first = routed(session);
    expect(await run(stage, first)).toBeUndefined();
    expect(first.decision?.counters).toEqual([{ kind: 'session', key: 'cap', max: 2 }]);
    session.counts.set('cap', 1);
    expect(await run(stage, routed(session))).toBeUndefined();
    session.counts.set('cap', 2);
    const err = await run(stage, routed(session));
    expect(err?.code).toBe('call_limit');
    expect(err?.detail).toBe('rule cap: max_calls_per_session 2 reached');
  });

  it('reads the session risk at the time of the call, and refuses the call that would exceed the budget', async () => {
    const asked: number[] = [];
    const risk = (_s: Session, now: number) => {
      asked.push(now);
      return 8;
    };
    const stage = policyStage(
      fixed([{ tool: 't', allowed_roles: ['analyst'], risk: 3 }], {
        mode: 'enforce',
        tool_risk: {},
        risk: { budget: 10 }
      }),
      risk
    );
    const err = await run(stage, routed(sessionOf()));
    expect(err?.code).toBe('risk_budget');
    expect(asked).toEqual([NOON]);
    const cheap = policyStage(
      fixed([{ tool: 't', allowed_roles: ['analyst'], risk: 2 }], {
        mode: 'enforce',
        tool_risk: {},
        risk: { budget: 10 }
      }),
      risk
    );
    expect(await run(cheap, routed(sessionOf()))).toBeUndefined();
  });

  it('reads the session history: a rule on earlier calls applies once the session made them', async () => {
    const stage = policyStage(
      fixed([
        { tool: '*', allowed_roles: ['analyst'] },
        { id: 'exfil', tool: 'send', deny: true, after: { tools: ['read_secret'] } }
      ]),
      noRisk
    );
    const session = sessionOf();
    expect(await run(stage, routed(session, 'send'))).toBeUndefined();
    session.history.push({ server: 'vault', tool: 'read_secret', at: NOON - 1000 });
    expect((await run(stage, routed(session, 'send')))?.code).toBe('policy_denied');
  });

  it('brings the session up from shared state first, asking for history only when the policy reads it', async () => {
    const synced: Array<[string, boolean]> = [];
    const sync = (s: Session, history: boolean) => {
      synced.push([s.id, history]);
      s.counts.set('cap', 1);
    };
    const capped = policyStage(
      fixed([{ id: 'cap', tool: 't', allowed_roles: ['analyst'], max_calls_per_session: 1 }]),
      noRisk,
      sync
    );
    const session = sessionOf();
    expect((await run(capped, routed(session)))?.code).toBe('call_limit');
    expect(synced).toEqual([[session.id, false]]);

    synced.length = 0;
    const withHistory = policyStage(
      fixed([{ tool: 't', allowed_roles: ['analyst'], after: { tools: ['x'] } }]),
      noRisk,
      sync
    );
    await run(withHistory, routed(session));
    expect(synced).toEqual([[session.id, true]]);
  });

  it('does not sync when the policy reads nothing of the session', async () => {
    let synced = 0;
    const stage = policyStage(
      fixed([{ tool: 't', allowed_roles: ['analyst'], rate_limit: '5/s' }]),
      noRisk,
      () => {
        synced++;
      }
    );
    expect(await run(stage, routed(sessionOf()))).toBeUndefined();
    expect(synced).toBe(0);
  });

  it('waits for an asynchronous sync before deciding', async () => {
    const session = sessionOf();
    const stage = policyStage(
      fixed([{ id: 'cap', tool: 't', allowed_roles: ['analyst'], max_calls_per_session: 1 }]),
      noRisk,
      async (s) => {
        await Promise.resolve();
        s.counts.set('cap', 1);
      }
    );
    const ctx = routed(session);
    const pending = stage.run(ctx);
    expect(pending).toBeInstanceOf(Promise);
    expect(ctx.decision).toBeUndefined();
    await expect(pending).rejects.toMatchObject({ code: 'call_limit' });
    expect(ctx.decision?.effect).toBe('deny');
  });

  it('decides synchronously when there is nothing to wait for', () => {
    const stage = policyStage(fixed([{ tool: 't', allowed_roles: ['analyst'] }]), noRisk);
    const ctx = routed(sessionOf());
    expect(stage.run(ctx)).toBeUndefined();
    expect(ctx.decision?.effect).toBe('allow');
  });

  it('the policy in force when the call is decided decides it, and its version is the one recorded', async () => {
    let policy = compilePolicy([{ tool: 't', allowed_roles: ['analyst'] }]);
    let version = 'old';
    const current: CurrentPolicy = () => ({ policy, version });
    const stage = policyStage(current, noRisk, async () => {
      await Promise.resolve();
    });
    // The old policy reads the session (a cap), so the stage syncs before deciding.
    policy = compilePolicy([{ tool: 't', allowed_roles: ['analyst'], max_calls_per_session: 9 }]);
    const ctx = routed(sessionOf());
    const pending = stage.run(ctx);
    policy = compilePolicy([{ tool: 't', deny: true }]);
    version = 'new';
    // The decision reads the policy in force when it decides: the new one.
    await expect(pending).rejects.toMatchObject({ code: 'policy_denied' });
    expect(ctx.policyVersion).toBe('new');
  });
});

describe('redecision', () => {
  const rules: RuleConfig[] = [
    { id: 'cap', tool: 't', allowed_roles: ['analyst'], max_calls_per_session: 1, risk: 4 }
  ];
  const risky: PolicySettings = { mode: 'enforce', tool_risk: {}, risk: { budget: 10 } };

  it('decides again without counting what the first decision already counted', async () => {
    const session = sessionOf();
    const stage = policyStage(fixed(rules, risky), () => 6);
    const ctx = routed(session);
    expect(await run(stage, ctx)).toBeUndefined();
    // The call was counted and its risk added while it waited.
    session.counts.set('cap', 1);
    const again = redecision(fixed(rules, risky, 'v2'), () => 6 + 4)(ctx as unknown as Resolved);
    expect(again.version).toBe('v2');
    expect(again.decision).toMatchObject({ effect: 'allow', rules: ['cap'] });
  });

  it('under a policy that now refuses the call, the redecision refuses it', () => {
    const session = sessionOf();
    const ctx = {
      ...routed(session),
      decision: compilePolicy(rules).decide({ roles: ['analyst'], server: 'files', tool: 't', args: {} }),
      policyVersion: 'v1'
    };
    const again = redecision(
      fixed([{ id: 'stop', tool: 't', deny: true }], undefined, 'v3'),
      noRisk
    )(ctx as unknown as Resolved);
    expect(again).toMatchObject({
      version: 'v3',
      decision: { effect: 'deny', code: 'policy_denied', rules: ['stop'] }
    });
  });

  it('still counts calls the session made before this one, and the risk it had before', () => {
    const session = sessionOf();
    const first = compilePolicy(rules, risky).decide({
      roles: ['analyst'],
      server: 'files',
      tool: 't',
      args: {},
      risk: 0
    });
    const ctx = { ...routed(session), decision: first, policyVersion: 'v1' } as unknown as Resolved;
    // Another call took the cap meanwhile: this one and that one make two.
    session.counts.set('cap', 2);
    expect(redecision(fixed(rules, risky), noRisk)(ctx).decision.code).toBe('call_limit');
    session.counts.set('cap', 1);
    // Risk from elsewhere: 12 now, 4 of it this call's own, so 8 + 4 = 12 is over the budget of 10.
    expect(redecision(fixed(rules, risky), () => 12)(ctx).decision.code).toBe('risk_budget');
    expect(redecision(fixed(rules, risky), () => 10)(ctx).decision.effect).toBe('allow');
  });

  it('decides at the current time, as the caller', () => {
    const timed: RuleConfig[] = [
      { tool: 't', allowed_roles: ['analyst'], time: { hours: '09:00-17:00' }, principal: { users: ['ana'] } }
    ];
    const session = sessionOf();
    const first = compilePolicy(timed).decide({
      roles: ['analyst'],
      server: 'files',
      tool: 't',
      args: {},
      now: NOON,
      identity: { id: 'ana' }
    });
    expect(first.effect).toBe('allow');
    const ctx = { ...routed(session), decision: first, policyVersion: 'v1' } as unknown as Resolved;
    expect(redecision(fixed(timed), noRisk)(ctx).decision.effect).toBe('allow');
    vi.setSystemTime(Date.UTC(2026, 2, 18, 18));
    expect(redecision(fixed(timed), noRisk)(ctx).decision.code).toBe('no_rule');
    const bob = {
      ...routed(sessionOf({ ...analyst, id: 'bob' })),
      decision: first,
      policyVersion: 'v1'
    } as unknown as Resolved;
    vi.setSystemTime(NOON);
    expect(redecision(fixed(timed), noRisk)(bob).decision.code).toBe('no_rule');
  });
});
