/**
 * `explain`: the decision plus one trace entry per rule, in rule order, saying why the rule applied
 * or not and what it contributed. This is what `portcullis policy explain` prints, so each note is
 * part of the contract: a person reads it to learn why a call was allowed or refused.
 */
import { describe, expect, it } from 'vitest';
import type { RuleConfig } from '../config/types.js';
import { compilePolicy, type PolicyInput } from './index.js';

/** Wednesday 2026-03-18 12:00 UTC (13:00 in Paris). */
const NOON = Date.UTC(2026, 2, 18, 12);

const call = (over: Partial<PolicyInput> = {}): PolicyInput => ({
  roles: ['analyst', 'intern'],
  server: 'files',
  tool: 't',
  args: {},
  now: NOON,
  ...over
});

describe('explain', () => {
  const rules: RuleConfig[] = [
    { id: 'other-tool', tool: 'write', allowed_roles: ['analyst'] },
    { id: 'other-server', server: 'db', tool: 't', allowed_roles: ['analyst'] },
    {
      id: 'read',
      tool: 't',
      allowed_roles: ['analyst', 'admin'],
      parameter_constraints: { path: { prefix: '/data/' } },
      max_calls_per_session: 3,
      rate_limit: '10/min',
      risk: 2,
      time: {
        hours: '09:00-17:00',
        days: ['mon', 'wed'],
        from: '2026-01-01',
        until: '2026-12-31',
        timezone: 'Europe/Paris'
      }
    },
    { id: 'audit', tool: 't', require_approval: true, mode: 'observe', risk: 1 },
    {
      id: 'gone',
      tool: 't',
      deny: true,
      after: { tools: ['vault__read_secret'], within: '10m', within_calls: 5, min_count: 2 }
    },
    { id: 'blocked', tool: 't*', allowed_roles: ['guest'] },
    { id: 'cel', tool: 't', allowed_roles: ['analyst'], when: 'args.n > 1' },
    {
      id: 'where',
      tool: 't',
      allowed_roles: ['analyst'],
      where: [
        { arg: 'path', op: 'ne', value: '/x' },
        { arg: 'a', op: 'eq', arg2: 'b' }
      ]
    },
    { id: 'who', tool: 't', allowed_roles: ['*'], principal: { users: ['ana'] } }
  ];

  it('traces every rule: why it did not apply, or what it contributed', () => {
    const { decision, trace } = compilePolicy(rules).explain(
      call({
        args: { path: '/data/f', a: 1, b: 1 },
        identity: { id: 'ana' },
        sessionCount: () => 1,
        history: [{ server: 'vault', tool: 'read_secret', at: NOON - 60_000 }]
      })
    );
    expect(decision).toEqual({
      effect: 'allow',
      reason: 'allowed by read, where, who',
      rules: ['read', 'where', 'who'],
      counters: [
        { kind: 'session', key: 'read', max: 3 },
        { kind: 'rate', key: 'read', max: 10, window_ms: 60_000, scope: 'identity' }
      ],
      risk: 2,
      observed: {
        effect: 'approval',
        code: 'approval_required',
        reason: 'rule audit requires approval',
        rules: ['audit', 'read', 'where', 'who']
      }
    });
    expect(trace).toEqual([
      { rule: 'other-tool', index: 0, matched: false, notes: ['tool "t" does not match "write"'] },
      { rule: 'other-server', index: 1, matched: false, notes: ['server "files" does not match "db"'] },
      {
        rule: 'read',
        index: 2,
        matched: true,
        notes: [
          'condition time mon,wed 09:00-17:00 from 2026-01-01 until 2026-12-31 Europe/Paris holds',
          'allows role(s) analyst',
          'all parameter constraints pass',
          'session calls 1/3',
          'rate limit 10/min per identity',
          'adds risk 2'
        ]
      },
      {
        rule: 'audit',
        index: 3,
        matched: true,
        notes: [
          'observe mode: restricts on record only',
          'allows no role (no allowed_roles): constrains only',
          'requires approval',
          'adds risk 1 (observe mode: on record only)'
        ]
      },
      {
        rule: 'gone',
        index: 4,
        matched: false,
        notes: ['condition after vault__read_secret within 5 calls within 10m at least 2 times does not hold']
      },
      { rule: 'blocked', index: 5, matched: true, notes: ['does not allow role(s) analyst, intern'] },
      {
        rule: 'cel',
        index: 6,
        matched: true,
        notes: [
          expect.stringMatching(
            /^condition when args\.n > 1 could not be evaluated \(No such key: n[\s\S]*\): grants nothing, still restricts$/
          ),
          'grants nothing: a condition could not be evaluated'
        ]
      },
      {
        rule: 'where',
        index: 7,
        matched: true,
        notes: [
          'condition where path ne "/x" holds',
          'condition where a eq args.b holds',
          'allows role(s) analyst'
        ]
      },
      {
        rule: 'who',
        index: 8,
        matched: true,
        notes: ['condition principal {"users":["ana"]} holds', 'allows role(s) analyst, intern']
      }
    ]);
  });

  it('explain decides exactly as decide does', () => {
    const p = compilePolicy(rules);
    const input = call({
      args: { path: '/data/f', a: 1, b: 1 },
      identity: { id: 'ana' },
      sessionCount: () => 1
    });
    expect(p.explain(input).decision).toEqual(p.decide(input));
    const refused = call({ args: { path: '/etc/passwd', a: 1, b: 2 } });
    expect(p.explain(refused).decision).toEqual(p.decide(refused));
  });

  it('traces denials, failing constraints, a reached cap, observe-mode risk and a caller without roles', () => {
    const p = compilePolicy([
      { id: 'stop', tool: 't', deny: true },
      {
        id: 'cap',
        tool: 't',
        allowed_roles: ['analyst'],
        max_calls_per_session: 2,
        parameter_constraints: { n: { max: 5 }, m: { min: 1 } }
      },
      { id: 'obs', tool: 't', mode: 'observe', risk: 3, deny: true }
    ]);
    const { decision, trace } = p.explain(call({ roles: [], args: { n: 9, m: 0 }, sessionCount: () => 2 }));
    expect(decision).toEqual({
      effect: 'deny',
      code: 'policy_denied',
      reason: 'rule stop denies tool "t"',
      rules: ['stop'],
      counters: [],
      risk: 0,
      observed: undefined
    });
    expect(trace).toEqual([
      { rule: 'stop', index: 0, matched: true, notes: ['denies the call (deny: true)'] },
      {
        rule: 'cap',
        index: 1,
        matched: true,
        notes: [
          'does not allow role(s) (none)',
          'constraint fails: parameter "n" is above the maximum 5',
          'constraint fails: parameter "m" is below the minimum 1',
          'session limit reached (2/2)'
        ]
      },
      {
        rule: 'obs',
        index: 2,
        matched: true,
        notes: [
          'observe mode: restricts on record only',
          'denies the call (deny: true)',
          'adds risk 3 (observe mode: on record only)'
        ]
      }
    ]);
  });

  it('a rule whose constraints pass but not all: only the failing ones are noted', () => {
    const p = compilePolicy([
      {
        id: 'c',
        tool: 't',
        allowed_roles: ['analyst'],
        parameter_constraints: { n: { max: 5 }, m: { min: 1 } }
      }
    ]);
    const { decision, trace } = p.explain(call({ args: { n: 1, m: 0 } }));
    expect(decision).toMatchObject({
      effect: 'deny',
      code: 'constraint_failed',
      reason: 'rule c: parameter "m" is below the minimum 1',
      rules: ['c']
    });
    expect(trace[0]!.notes).toEqual([
      'allows role(s) analyst',
      'constraint fails: parameter "m" is below the minimum 1'
    ]);
    expect(p.explain(call({ args: { n: 1, m: 1 } })).trace[0]!.notes).toEqual([
      'allows role(s) analyst',
      'all parameter constraints pass'
    ]);
  });

  it('a rule without constraints, caps, limits or risk notes only what it allows', () => {
    const p = compilePolicy([{ id: 'plain', tool: 't', allowed_roles: ['analyst'], risk: 0 }]);
    expect(p.explain(call()).trace).toEqual([
      { rule: 'plain', index: 0, matched: true, notes: ['allows role(s) analyst'] }
    ]);
  });

  it('a deny rule restricted to some roles: traced as denying only for them', () => {
    const p = compilePolicy([
      { tool: 't', allowed_roles: ['analyst', 'intern'] },
      { id: 'no-interns', tool: 't', deny: true, allowed_roles: ['intern'] }
    ]);
    expect(p.explain(call({ roles: ['analyst'] })).trace[1]).toEqual({
      rule: 'no-interns',
      index: 1,
      matched: true,
      notes: []
    });
    expect(p.explain(call({ roles: ['intern'] })).trace[1]!.notes).toEqual(['denies the call (deny: true)']);
  });

  it('the trace is in rule order, whether a rule applied or not', () => {
    const p = compilePolicy([
      { id: 'a', tool: 'x*', allowed_roles: ['analyst'] },
      { id: 'b', tool: 't', allowed_roles: ['analyst'] },
      { id: 'c', tool: '*', allowed_roles: ['analyst'], server: 'other' },
      { id: 'd', tool: 't*', allowed_roles: ['analyst'] },
      { id: 'e', tool: 'y', allowed_roles: ['analyst'] }
    ]);
    expect(p.explain(call()).trace.map((t) => [t.rule, t.index, t.matched])).toEqual([
      ['a', 0, false],
      ['b', 1, true],
      ['c', 2, false],
      ['d', 3, true],
      ['e', 4, false]
    ]);
  });

  it('a condition that does not hold stops the rule there, after the ones that held', () => {
    const p = compilePolicy([
      {
        id: 'w',
        tool: 't',
        allowed_roles: ['analyst'],
        where: [
          { arg: 'n', op: 'gt', value: 1 },
          { arg: 'n', op: 'lt', value: 5 },
          { arg: 'n', op: 'ne', value: 9 }
        ]
      }
    ]);
    expect(p.explain(call({ args: { n: 7 } })).trace).toEqual([
      {
        rule: 'w',
        index: 0,
        matched: false,
        notes: ['condition where n gt 1 holds', 'condition where n lt 5 does not hold']
      }
    ]);
  });
});
