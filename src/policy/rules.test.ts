/**
 * The engine's decisions at their edges: reasons and codes of each outcome, which rules a refusal
 * names, observe mode, risk thresholds, tools/list visibility, read-only marking, and the checks
 * `ruleIssues` makes on a rule set before it is loaded.
 */
import { describe, expect, it } from 'vitest';
import type { PolicySettings, RuleConfig } from '../config/types.js';
import { compilePolicy, DEFAULT_SETTINGS, ruleIssues, type PolicyInput } from './index.js';

const NOON = Date.UTC(2026, 2, 18, 12);

const call = (over: Partial<PolicyInput> = {}): PolicyInput => ({
  roles: ['analyst'],
  server: 'files',
  tool: 't',
  args: {},
  now: NOON,
  ...over
});

const settings = (over: Partial<PolicySettings> = {}): PolicySettings => ({
  mode: 'enforce',
  tool_risk: {},
  ...over
});

describe('outcomes: reasons, codes and deciding rules', () => {
  it('the default settings enforce, with no tool risk', () => {
    expect(DEFAULT_SETTINGS).toEqual({ mode: 'enforce', tool_risk: {} });
    const p = compilePolicy([{ tool: 't', allowed_roles: ['admin'] }]);
    expect(p.settings).toBe(DEFAULT_SETTINGS);
    expect(p.decide(call()).effect).toBe('deny');
    expect(p.visible(['analyst'], 'files', 't')).toBe(false);
  });

  it('default deny names the tool and server', () => {
    const d = compilePolicy([]).decide(call({ tool: 'wipe', server: 'db' }));
    expect(d).toEqual({
      effect: 'deny',
      code: 'no_rule',
      reason: 'no rule applies to tool "wipe" on server "db" (default deny)',
      rules: [],
      counters: [],
      risk: 0,
      observed: undefined
    });
  });

  it('a role no rule allows: the reason lists the roles and the refusal names every applicable rule', () => {
    const p = compilePolicy([
      { id: 'a', tool: 't', allowed_roles: ['admin'] },
      { id: 'b', tool: 't*', allowed_roles: ['ops'] }
    ]);
    expect(p.decide(call({ roles: ['analyst', 'intern'] }))).toMatchObject({
      effect: 'deny',
      code: 'role_not_allowed',
      reason: 'no applicable rule allows role(s) [analyst, intern] for tool "t"',
      rules: ['a', 'b']
    });
  });

  it('an allowed call names every granting rule', () => {
    const p = compilePolicy([
      { id: 'a', tool: 't', allowed_roles: ['analyst'] },
      { id: 'b', tool: '*', allowed_roles: ['*'] },
      { id: 'c', tool: 't', allowed_roles: ['admin'] }
    ]);
    expect(p.decide(call())).toMatchObject({ effect: 'allow', reason: 'allowed by a, b', rules: ['a', 'b'] });
  });

  it('a rule with no allowed_roles constrains but never grants', () => {
    const p = compilePolicy([{ id: 'c', tool: 't', parameter_constraints: { n: { max: 1 } } }]);
    expect(p.decide(call({ args: { n: 0 } }))).toMatchObject({ effect: 'deny', code: 'role_not_allowed' });
  });

  it('a caller with no roles is never allowed, even by "*"', () => {
    const p = compilePolicy([{ tool: 't', allowed_roles: ['*'] }]);
    expect(p.decide(call({ roles: [] }))).toMatchObject({ effect: 'deny', code: 'role_not_allowed' });
    expect(p.decide(call({ roles: ['anyone'] })).effect).toBe('allow');
  });

  it('approval: the requiring rule comes first among the deciding rules, then the granting ones', () => {
    const p = compilePolicy([
      { id: 'grant', tool: 't', allowed_roles: ['analyst'] },
      { id: 'hold', tool: 't', require_approval: true, allowed_roles: ['analyst'] }
    ]);
    expect(p.decide(call())).toMatchObject({
      effect: 'approval',
      code: 'approval_required',
      reason: 'rule hold requires approval',
      rules: ['hold', 'grant']
    });
  });

  it('a deny rule that also lists roles never grants them', () => {
    const p = compilePolicy([{ id: 'd', tool: 't', deny: true, allowed_roles: ['analyst'] }]);
    expect(p.decide(call())).toMatchObject({ effect: 'deny', code: 'policy_denied', rules: ['d'] });
    expect(p.decide(call({ roles: ['other'] }))).toMatchObject({ effect: 'deny', code: 'role_not_allowed' });
  });
});

describe('risk thresholds', () => {
  const rules: RuleConfig[] = [
    { id: 'safe', tool: 't', allowed_roles: ['analyst'] },
    { id: 'heavy', tool: 't', risk: 4 },
    { id: 'light', tool: 't*', risk: 1 }
  ];

  it('the budget refusal names the rules that add risk, and states the projected risk', () => {
    const p = compilePolicy(rules, settings({ risk: { budget: 10 } }));
    expect(p.decide(call({ risk: 5 })).effect).toBe('allow');
    expect(p.decide(call({ risk: 6 }))).toMatchObject({
      effect: 'deny',
      code: 'risk_budget',
      reason: 'session risk would reach 11, over the budget 10',
      rules: ['heavy', 'light']
    });
  });

  it('the approval threshold asks for approval above it, not at it', () => {
    const p = compilePolicy(rules, settings({ risk: { approval_at: 8 } }));
    expect(p.decide(call({ risk: 3 }))).toMatchObject({ effect: 'allow', risk: 5 });
    expect(p.decide(call({ risk: 4 }))).toMatchObject({
      effect: 'approval',
      code: 'approval_required',
      reason: 'session risk would reach 9, over the approval threshold 8',
      rules: ['safe']
    });
  });

  it('without a budget or threshold, any amount of risk is allowed', () => {
    const p = compilePolicy(rules, settings({ risk: {} }));
    expect(p.decide(call({ risk: 1e9 })).effect).toBe('allow');
    expect(compilePolicy(rules, settings()).decide(call({ risk: 1e9 })).effect).toBe('allow');
    expect(
      compilePolicy(rules, settings({ risk: { approval_at: 100 } })).decide(call({ risk: 1e9 })).effect
    ).toBe('approval');
    expect(compilePolicy(rules, settings({ risk: { budget: 100 } })).decide(call({ risk: 1e9 })).effect).toBe(
      'deny'
    );
  });

  it('in observe mode risk is on record only: the call goes through and the decision carries what would have happened', () => {
    const p = compilePolicy(rules, settings({ mode: 'observe', risk: { budget: 10, approval_at: 2 } }));
    const over = p.decide(call({ risk: 6 }));
    expect(over).toMatchObject({
      effect: 'allow',
      reason: 'allowed by safe',
      observed: { effect: 'deny', code: 'risk_budget', rules: ['heavy', 'light'] }
    });
    expect(p.decide(call({ risk: 0 })).observed).toMatchObject({
      effect: 'approval',
      code: 'approval_required'
    });
  });

  it('in observe mode, tool risk over the budget or threshold is on record only', () => {
    const p = compilePolicy(
      [{ id: 'g', tool: 't', allowed_roles: ['analyst'] }],
      settings({ mode: 'observe', tool_risk: { t: 5 }, risk: { budget: 10 } })
    );
    expect(p.decide(call({ risk: 6 }))).toMatchObject({
      effect: 'allow',
      risk: 5,
      observed: {
        effect: 'deny',
        code: 'risk_budget',
        reason: 'session risk would reach 11, over the budget 10'
      }
    });
    const q = compilePolicy(
      [{ id: 'g', tool: 't', allowed_roles: ['analyst'] }],
      settings({ mode: 'observe', tool_risk: { t: 5 }, risk: { approval_at: 3 } })
    );
    expect(q.decide(call())).toMatchObject({
      effect: 'allow',
      observed: { effect: 'approval', code: 'approval_required' }
    });
  });

  it('observe mode lets through a call no rule allows, and says so', () => {
    const p = compilePolicy([{ tool: 't', allowed_roles: ['admin'] }], settings({ mode: 'observe' }));
    expect(p.decide(call())).toMatchObject({
      effect: 'allow',
      reason: 'allowed (observe mode)',
      rules: [],
      observed: { effect: 'deny', code: 'role_not_allowed' }
    });
    expect(compilePolicy([], settings({ mode: 'observe' })).decide(call())).toMatchObject({
      effect: 'allow',
      observed: { effect: 'deny', code: 'no_rule' }
    });
  });

  it('an observed outcome is recorded only when it differs from the actual one', () => {
    // Observe-mode risk that changes nothing: no observed outcome.
    const p = compilePolicy([
      { id: 'g', tool: 't', allowed_roles: ['analyst'] },
      { id: 'o', tool: 't', mode: 'observe', risk: 1 }
    ]);
    const d = p.decide(call());
    expect(d.effect).toBe('allow');
    expect(d.observed).toBeUndefined();
    // Same effect, different code: recorded.
    const q = compilePolicy([
      { id: 'g', tool: 't', allowed_roles: ['analyst'], parameter_constraints: { n: { max: 1 } } },
      { id: 'o', tool: 't', mode: 'observe', deny: true }
    ]);
    expect(q.decide(call({ args: { n: 5 } }))).toMatchObject({
      effect: 'deny',
      code: 'constraint_failed',
      observed: { effect: 'deny', code: 'policy_denied', rules: ['o'] }
    });
    // Different effect: recorded.
    expect(q.decide(call({ args: { n: 0 } }))).toMatchObject({
      effect: 'allow',
      observed: { effect: 'deny', code: 'policy_denied' }
    });
  });

  it('an observe-mode approval rule on an enforcing policy: allowed, approval on record', () => {
    const p = compilePolicy([
      { id: 'g', tool: 't', allowed_roles: ['analyst'] },
      { id: 'o', tool: 't', mode: 'observe', require_approval: true }
    ]);
    expect(p.decide(call())).toMatchObject({
      effect: 'allow',
      observed: { effect: 'approval', code: 'approval_required', rules: ['o', 'g'] }
    });
  });
});

describe('visible (tools/list)', () => {
  it('depends on every role of the caller, not on how the role names join', () => {
    const p = compilePolicy([{ tool: 't', allowed_roles: ['a'] }]);
    expect(p.visible(['ab', 'c'], 'files', 't')).toBe(false);
    expect(p.visible(['a', 'bc'], 'files', 't')).toBe(true);
    expect(p.visible(['ab', 'c'], 'files', 't')).toBe(false);
    expect(p.visible(['a'], 'files', 't')).toBe(true);
    expect(p.visible([], 'files', 't')).toBe(false);
  });

  it('depends on the server and the tool', () => {
    const p = compilePolicy([{ tool: 't', server: 'files', allowed_roles: ['a'] }]);
    expect(p.visible(['a'], 'files', 't')).toBe(true);
    expect(p.visible(['a'], 'db', 't')).toBe(false);
    expect(p.visible(['a'], 'files', 'u')).toBe(false);
    expect(p.visible(['a'], 'files', 't')).toBe(true);
  });

  it('a tool a deny rule always refuses is hidden; one a conditional or observed deny may refuse stays listed', () => {
    const p = compilePolicy([
      { tool: '*', allowed_roles: ['a'] },
      { tool: 'gone', deny: true },
      { tool: 'late', deny: true, time: { hours: '18:00-23:00' } },
      { tool: 'trial', deny: true, mode: 'observe' }
    ]);
    expect(p.visible(['a'], 'files', 'gone')).toBe(false);
    expect(p.visible(['a'], 'files', 'late')).toBe(true);
    expect(p.visible(['a'], 'files', 'trial')).toBe(true);
    expect(p.visible(['a'], 'files', 'other')).toBe(true);
  });

  it('in observe mode every tool is listed', () => {
    const p = compilePolicy([{ tool: 'gone', deny: true }], settings({ mode: 'observe' }));
    expect(p.visible([], 'files', 'gone')).toBe(true);
  });
});

describe('marksReadOnly', () => {
  it('is true when some applicable rule marks the tool read-only', () => {
    const p = compilePolicy([
      { tool: 'read*', allowed_roles: ['a'] },
      { tool: 'read_file', server: 'files', read_only: true },
      { tool: 'write', allowed_roles: ['a'], read_only: false }
    ]);
    expect(p.marksReadOnly('files', 'read_file')).toBe(true);
    expect(p.marksReadOnly('db', 'read_file')).toBe(false);
    expect(p.marksReadOnly('files', 'read_dir')).toBe(false);
    expect(p.marksReadOnly('files', 'write')).toBe(false);
    expect(p.marksReadOnly('files', 'unknown')).toBe(false);
  });
});

describe('the rule index', () => {
  it('literal and wildcard rules for the same tool all apply, in rule order', () => {
    const p = compilePolicy([
      { id: 'w1', tool: 'rea*', allowed_roles: ['a'] },
      { id: 'l1', tool: 'read', allowed_roles: ['a'] },
      { id: 'w2', tool: '*', allowed_roles: ['a'] },
      { id: 'l2', tool: 'read', allowed_roles: ['a'] }
    ]);
    expect(p.decide(call({ roles: ['a'], tool: 'read' })).rules).toEqual(['w1', 'l1', 'w2', 'l2']);
    expect(p.decide(call({ roles: ['a'], tool: 'reap' })).rules).toEqual(['w1', 'w2']);
  });

  it('answers stay right for many tools on many servers', () => {
    const p = compilePolicy([
      { tool: 'keep_*', server: 's1', allowed_roles: ['a'] },
      { tool: 'keep_0', server: 's2', allowed_roles: ['a'] }
    ]);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 50; i++) {
        expect(p.decide(call({ roles: ['a'], server: 's1', tool: `keep_${i}` })).effect).toBe('allow');
        expect(p.decide(call({ roles: ['a'], server: 's2', tool: `keep_${i}` })).effect).toBe(
          i === 0 ? 'allow' : 'deny'
        );
        expect(p.decide(call({ roles: ['a'], server: 's1', tool: `drop_${i}` })).code).toBe('no_rule');
      }
    }
  });
});

describe('needs', () => {
  it('reads the session for caps, budgets and thresholds, and history for after and when', () => {
    expect(compilePolicy([{ tool: 't', allowed_roles: ['a'], rate_limit: '1/s' }]).needs).toEqual({
      session: false,
      history: false
    });
    expect(compilePolicy([{ tool: 't', max_calls_per_session: 1 }]).needs).toEqual({
      session: true,
      history: false
    });
    expect(compilePolicy([], settings({ risk: { budget: 1 } })).needs).toEqual({
      session: true,
      history: false
    });
    expect(compilePolicy([], settings({ risk: { approval_at: 1 } })).needs).toEqual({
      session: true,
      history: false
    });
    expect(compilePolicy([{ tool: 't', after: { tools: ['x'] } }]).needs).toEqual({
      session: true,
      history: true
    });
    expect(
      compilePolicy([
        { tool: 'u', allowed_roles: ['a'] },
        { tool: 't', max_calls_per_session: 1 }
      ]).needs
    ).toEqual({
      session: true,
      history: false
    });
    expect(compilePolicy([{ tool: 't', when: 'true' }]).needs).toEqual({ session: true, history: true });
  });
});

describe('ruleIssues', () => {
  const issues = (rules: RuleConfig[], servers: string[] = [], declared = false) =>
    ruleIssues(rules, servers, declared).map((i) => [i.index, i.path.join('.'), i.message]);

  it('a clean rule set has no issues', () => {
    expect(
      issues(
        [
          {
            id: 'a',
            tool: 't',
            server: 'files',
            allowed_roles: ['x'],
            parameter_constraints: { n: { min: 1, max: 1 } }
          },
          {
            id: 'b',
            tool: 'files__*',
            allowed_roles: ['x'],
            parameter_constraints: { p: { pattern: '^/a' } }
          },
          { tool: 'u', deny: true },
          { tool: 'v', require_approval: true }
        ],
        ['files'],
        true
      )
    ).toEqual([]);
  });

  it('duplicate ids, each repeat reported at its own index', () => {
    expect(
      issues([
        { id: 'a', tool: 't' },
        { id: 'b', tool: 't' },
        { id: 'a', tool: 'u' },
        { id: 'a', tool: 'v' }
      ])
    ).toEqual([
      [2, 'id', 'duplicate rule id "a"'],
      [3, 'id', 'duplicate rule id "a"']
    ]);
  });

  it('an empty tool name', () => {
    expect(issues([{ tool: '' }])).toEqual([[0, 'tool', 'expected a non-empty tool name or glob']]);
  });

  it('a tool written as server__tool is pointed at server and tool', () => {
    expect(issues([{ tool: 'files__read__all' }])).toEqual([
      [0, 'tool', `"tool" is the upstream's own tool name; use server: "files" and tool: "read__all"`]
    ]);
  });

  it('a server glob no configured server matches, when servers are declared', () => {
    const rules: RuleConfig[] = [
      { tool: 't', server: 'db*' },
      { tool: 't', server: 'files' }
    ];
    expect(issues(rules, ['files', 'web'], true)).toEqual([
      [0, 'server', 'no configured server matches "db*"']
    ]);
    expect(issues(rules, ['web', 'db2', 'files'], true)).toEqual([]);
    expect(issues(rules, ['web'], false)).toEqual([]);
  });

  it('a deny rule that also requires approval', () => {
    expect(issues([{ tool: 't', deny: true, require_approval: true }])).toEqual([
      [0, 'require_approval', 'a deny rule cannot also require approval']
    ]);
  });

  it('constraints: an invalid pattern, min above max, and a constraint without a check', () => {
    expect(
      issues([
        {
          tool: 't',
          parameter_constraints: {
            p: { pattern: '(' },
            n: { min: 2, max: 1 },
            e: {}
          }
        }
      ])
    ).toEqual([
      [0, 'parameter_constraints.p.pattern', expect.stringMatching(/.+/)],
      [0, 'parameter_constraints.n.min', 'min 2 is greater than max 1'],
      [
        0,
        'parameter_constraints.e',
        'constraint has no check (one of pattern, prefix, enum, min, max, maxLength)'
      ]
    ]);
  });

  it.each([
    [{ pattern: '^a' }],
    [{ prefix: '/a' }],
    [{ enum: ['x'] }],
    [{ min: 0 }],
    [{ max: 0 }],
    [{ maxLength: 3 }],
    [{ min: 5 }],
    [{ max: -5 }]
  ])('a constraint with one check (%j) is fine', (c) => {
    expect(issues([{ tool: 't', parameter_constraints: { p: c } }])).toEqual([]);
  });
});

describe('redecide', () => {
  it('a call decided without session counts is decided again without them', () => {
    const p = compilePolicy([{ id: 'cap', tool: 't', allowed_roles: ['analyst'], max_calls_per_session: 1 }]);
    const first = p.decide(call());
    expect(first.effect).toBe('allow');
    expect(p.redecide(call(), first).effect).toBe('allow');
  });

  it('only per-session caps the first decision counted are left out, not its rate limits', () => {
    // The first decision, under the old policy, counted rule x as a rate limit only.
    const before = compilePolicy([{ id: 'x', tool: 't', allowed_roles: ['analyst'], rate_limit: '5/min' }]);
    const first = before.decide(call());
    expect(first.counters).toEqual([
      { kind: 'rate', key: 'x', max: 5, window_ms: 60_000, scope: 'identity' }
    ]);
    // Now x caps the session at one call, and the session already made one.
    const now = compilePolicy([{ id: 'x', tool: 't', allowed_roles: ['analyst'], max_calls_per_session: 1 }]);
    expect(now.redecide(call({ sessionCount: () => 1 }), first)).toMatchObject({
      effect: 'deny',
      code: 'call_limit'
    });
  });
});
