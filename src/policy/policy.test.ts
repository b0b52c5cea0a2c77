import { beforeAll, describe, expect, it } from 'vitest';
import type { RuleConfig } from '../config/types.js';
import { compilePolicy, ruleIssues, type Policy, type PolicyInput } from './index.js';
import { normalizePath } from './constraints.js';
import { compileGlob } from './glob.js';

const call = (over: Partial<PolicyInput>): PolicyInput => ({
  roles: ['analyst'],
  server: 'files',
  tool: 'read_file',
  args: {},
  ...over
});

const seed: RuleConfig[] = [
  { tool: 'delete_record', require_approval: true, allowed_roles: ['admin'], max_calls_per_session: 5 },
  {
    tool: 'read_file',
    allowed_roles: ['admin', 'analyst'],
    parameter_constraints: { path: { pattern: '^/data/public/' } }
  }
];

describe('the seed rules, as written', () => {
  // Compiled before the tests, not while they are collected: a policy that fails to compile fails them.
  let policy: Policy;
  beforeAll(() => {
    policy = compilePolicy(seed);
  });

  it('allows an analyst to read /data/public/x', () => {
    const d = policy.decide(call({ args: { path: '/data/public/x' } }));
    expect(d).toMatchObject({ effect: 'allow', rules: ['rules[1]'] });
  });

  it.each([
    ['/data/private/x'],
    ['/data/public/../private/x'],
    ['/data/public/./../../etc/passwd'],
    ['/data/public/..'],
    ['/data//public/../private/x'],
    ['data/public/x'],
    ['/data/publicity/x'],
    ['/DATA/public/x'],
    ['/data/public/x\u0000.txt']
  ])('refuses %j', (path) => {
    const d = policy.decide(call({ args: { path } }));
    expect(d.effect).toBe('deny');
    expect(d.code).toBe('constraint_failed');
    // The agent is told which argument and what it must be; the value stays in the audit record.
    expect(d.hint).toMatch(/^argument "path" must (match the pattern the policy sets for it|be a string)$/);
  });

  it('refuses a call that omits the constrained parameter', () => {
    expect(policy.decide(call({ args: {} }))).toMatchObject({
      effect: 'deny',
      code: 'constraint_failed',
      hint: 'argument "path" is required'
    });
    expect(policy.decide(call({ args: { path: undefined } }))).toMatchObject({ effect: 'deny' });
  });

  it.each([[42], [null], [{ path: '/data/public/x' }], [['/data/public/x', '/data/private/y']], [true]])(
    'refuses a path of the wrong shape: %j',
    (path) => {
      expect(policy.decide(call({ args: { path } })).effect).toBe('deny');
    }
  );

  it('checks every element of a list argument', () => {
    expect(policy.decide(call({ args: { path: ['/data/public/a', '/data/public/b'] } })).effect).toBe(
      'allow'
    );
    expect(policy.decide(call({ args: { path: ['/data/public/a', '/data/public/../x'] } })).effect).toBe(
      'deny'
    );
  });

  it('refuses a role not in allowed_roles, and the default-denied unknown tool', () => {
    expect(policy.decide(call({ roles: ['guest'], args: { path: '/data/public/x' } }))).toMatchObject({
      effect: 'deny',
      code: 'role_not_allowed'
    });
    expect(policy.decide(call({ roles: [], args: { path: '/data/public/x' } })).effect).toBe('deny');
    expect(policy.decide(call({ tool: 'write_file', args: { path: '/data/public/x' } }))).toMatchObject({
      effect: 'deny',
      code: 'no_rule'
    });
  });

  it('requires approval for delete_record by an admin, and refuses others outright', () => {
    const d = policy.decide(call({ roles: ['admin'], server: 'records', tool: 'delete_record' }));
    expect(d).toMatchObject({ effect: 'approval', code: 'approval_required', rules: ['rules[0]'] });
    expect(d.counters).toEqual([{ kind: 'session', key: 'rules[0]', max: 5 }]);
    expect(policy.decide(call({ server: 'records', tool: 'delete_record' })).effect).toBe('deny');
  });

  it('refuses delete_record once the session used its five calls', () => {
    const d = policy.decide(
      call({ roles: ['admin'], server: 'records', tool: 'delete_record', sessionCount: () => 5 })
    );
    expect(d).toMatchObject({ effect: 'deny', code: 'call_limit' });
    const before = policy.decide(
      call({ roles: ['admin'], server: 'records', tool: 'delete_record', sessionCount: () => 4 })
    );
    expect(before.effect).toBe('approval');
  });
});

describe('how rules combine', () => {
  it('deny wins over any allow', () => {
    const p = compilePolicy([
      { tool: '*', allowed_roles: ['admin'] },
      { tool: 'drop_*', deny: true }
    ]);
    expect(p.decide(call({ roles: ['admin'], tool: 'drop_table' }))).toMatchObject({
      effect: 'deny',
      code: 'policy_denied'
    });
    expect(p.decide(call({ roles: ['admin'], tool: 'select' })).effect).toBe('allow');
  });

  it('a deny rule with allowed_roles denies only those roles', () => {
    const p = compilePolicy([
      { tool: 'export', allowed_roles: ['admin', 'analyst'] },
      { tool: 'export', deny: true, allowed_roles: ['analyst'] }
    ]);
    expect(p.decide(call({ roles: ['analyst'], tool: 'export' })).effect).toBe('deny');
    expect(p.decide(call({ roles: ['admin'], tool: 'export' })).effect).toBe('allow');
    expect(p.decide(call({ roles: ['admin', 'analyst'], tool: 'export' })).effect).toBe('deny');
  });

  it('a constraint in any applicable rule binds every caller, even one another rule allows', () => {
    const p = compilePolicy([
      { tool: '*', allowed_roles: ['admin'] },
      { tool: 'read_file', parameter_constraints: { path: { prefix: '/data/' } } }
    ]);
    expect(p.decide(call({ roles: ['admin'], args: { path: '/etc/passwd' } })).effect).toBe('deny');
    expect(p.decide(call({ roles: ['admin'], args: { path: '/data/x' } })).effect).toBe('allow');
  });

  it('a rule without allowed_roles grants nothing', () => {
    const p = compilePolicy([{ tool: 'read_file', parameter_constraints: { path: { prefix: '/' } } }]);
    expect(p.decide(call({ roles: ['admin'], args: { path: '/x' } }))).toMatchObject({
      effect: 'deny',
      code: 'role_not_allowed'
    });
  });

  it('"*" in allowed_roles means any role, but not no role at all', () => {
    const p = compilePolicy([{ tool: 'ping', allowed_roles: ['*'] }]);
    expect(p.decide(call({ roles: ['whoever'], tool: 'ping' })).effect).toBe('allow');
    expect(p.decide(call({ roles: [], tool: 'ping' })).effect).toBe('deny');
  });

  it('approval outranks allow', () => {
    const p = compilePolicy([
      { tool: 'send_*', allowed_roles: ['analyst'] },
      { tool: 'send_money', require_approval: true }
    ]);
    expect(p.decide(call({ tool: 'send_money' })).effect).toBe('approval');
    expect(p.decide(call({ tool: 'send_mail' })).effect).toBe('allow');
  });

  it('server narrows a rule to matching servers only', () => {
    const p = compilePolicy([{ tool: 'read_file', server: 'files', allowed_roles: ['analyst'] }]);
    expect(p.decide(call({ server: 'files' })).effect).toBe('allow');
    expect(p.decide(call({ server: 'evil' }))).toMatchObject({ effect: 'deny', code: 'no_rule' });
    const glob = compilePolicy([{ tool: 'read_file', server: 'files-*', allowed_roles: ['analyst'] }]);
    expect(glob.decide(call({ server: 'files-eu' })).effect).toBe('allow');
    expect(glob.decide(call({ server: 'files' })).effect).toBe('deny');
  });

  it('a per-session cap counts every tool its glob matches, and all caps must have room', () => {
    const p = compilePolicy([
      { id: 'writes', tool: 'write_*', allowed_roles: ['analyst'], max_calls_per_session: 3 },
      { id: 'hot', tool: 'write_file', max_calls_per_session: 1 }
    ]);
    const counts = new Map([['writes', 2]]);
    const d = p.decide(call({ tool: 'write_file', sessionCount: (k) => counts.get(k) ?? 0 }));
    expect(d.effect).toBe('allow');
    expect(d.counters).toEqual([
      { kind: 'session', key: 'writes', max: 3 },
      { kind: 'session', key: 'hot', max: 1 }
    ]);
    counts.set('hot', 1);
    expect(p.decide(call({ tool: 'write_file', sessionCount: (k) => counts.get(k) ?? 0 })).code).toBe(
      'call_limit'
    );
    expect(p.decide(call({ tool: 'write_dir', sessionCount: (k) => counts.get(k) ?? 0 })).effect).toBe(
      'allow'
    );
  });

  it('a cap of zero refuses every call', () => {
    const p = compilePolicy([{ tool: 'x', allowed_roles: ['analyst'], max_calls_per_session: 0 }]);
    expect(p.decide(call({ tool: 'x' })).code).toBe('call_limit');
  });
});

describe('parameter constraint operators', () => {
  const decide = (
    c: NonNullable<RuleConfig['parameter_constraints']>[string],
    value: unknown,
    present = true
  ) =>
    compilePolicy([{ tool: 't', allowed_roles: ['analyst'], parameter_constraints: { v: c } }]).decide(
      call({ tool: 't', args: present ? { v: value } : {} })
    ).effect;

  it('pattern: RE2 search on the normalised string', () => {
    expect(decide({ pattern: '^[a-z]+$' }, 'abc')).toBe('allow');
    expect(decide({ pattern: '^[a-z]+$' }, 'abc1')).toBe('deny');
    expect(decide({ pattern: 'safe' }, 'is safe here')).toBe('allow');
    expect(decide({ pattern: '^[a-z]+$' }, 5)).toBe('deny');
  });

  it('pattern on a long hostile input stays a plain match (no backtracking engine)', () => {
    const evil = `${'a'.repeat(50_000)}!`;
    expect(decide({ pattern: '^(a+)+$' }, evil)).toBe('deny');
    expect(decide({ pattern: '^(a|aa)+$' }, 'a'.repeat(50_000))).toBe('allow');
  });

  it('prefix: on the normalised path', () => {
    expect(decide({ prefix: '/srv/' }, '/srv/a')).toBe('allow');
    expect(decide({ prefix: '/srv/' }, '/srv/../etc')).toBe('deny');
    expect(decide({ prefix: '/srv/' }, '/srvx')).toBe('deny');
    expect(decide({ prefix: '/srv/', normalize_path: false }, '/srv/../etc')).toBe('allow');
  });

  it('enum: exact value equality', () => {
    expect(decide({ enum: ['a', 'b', 3] }, 'a')).toBe('allow');
    expect(decide({ enum: ['a', 'b', 3] }, 3)).toBe('allow');
    expect(decide({ enum: ['a', 'b', 3] }, '3')).toBe('deny');
    expect(decide({ enum: ['a', 'b', 3] }, 'A')).toBe('deny');
    expect(decide({ enum: ['a'] }, ['a'])).toBe('allow');
  });

  it('min / max: numbers only, bounds inclusive', () => {
    expect(decide({ min: 1, max: 10 }, 1)).toBe('allow');
    expect(decide({ min: 1, max: 10 }, 10)).toBe('allow');
    expect(decide({ min: 1, max: 10 }, 0)).toBe('deny');
    expect(decide({ min: 1, max: 10 }, 10.5)).toBe('deny');
    expect(decide({ max: 10 }, '5')).toBe('deny');
    expect(decide({ max: 10 }, Number.NaN)).toBe('deny');
    expect(decide({ min: 0 }, -0.0001)).toBe('deny');
  });

  it('maxLength: counts characters, not bytes', () => {
    expect(decide({ maxLength: 3 }, 'abc')).toBe('allow');
    expect(decide({ maxLength: 3 }, 'abcd')).toBe('deny');
    expect(decide({ maxLength: 2 }, '😀😀')).toBe('allow');
    expect(decide({ maxLength: 3 }, 123)).toBe('deny');
  });

  it('absent parameters fail unless the constraint says optional', () => {
    expect(decide({ maxLength: 3 }, undefined, false)).toBe('deny');
    expect(decide({ maxLength: 3, optional: true }, undefined, false)).toBe('allow');
    expect(decide({ maxLength: 3, optional: true }, 'toolong')).toBe('deny');
  });

  it('optional means absent, not null: a parameter present as null is still checked', () => {
    expect(decide({ prefix: '/data/', optional: true }, null)).toBe('deny');
    expect(decide({ maxLength: 3, optional: true }, null)).toBe('deny');
    expect(decide({ enum: ['a'], optional: true }, null)).toBe('deny');
    expect(decide({ min: 0, optional: true }, null)).toBe('deny');
    expect(decide({ prefix: '/data/', optional: true }, [null])).toBe('deny');
    expect(decide({ prefix: '/data/', optional: true }, undefined, false)).toBe('allow');
    expect(decide({ prefix: '/data/', optional: true }, '/data/x')).toBe('allow');
  });

  it('every check in a constraint must pass', () => {
    expect(decide({ prefix: '/a/', maxLength: 6 }, '/a/bc')).toBe('allow');
    expect(decide({ prefix: '/a/', maxLength: 6 }, '/a/bcdefg')).toBe('deny');
  });
});

describe('tools/list visibility', () => {
  let p: Policy;
  beforeAll(() => {
    p = compilePolicy([
      ...seed,
      { tool: 'secret_*', allowed_roles: ['analyst'] },
      { tool: 'secret_keys', deny: true }
    ]);
  });
  it('shows a tool only to roles some rule allows, and hides tools a deny rule always refuses', () => {
    expect(p.visible(['analyst'], 'files', 'read_file')).toBe(true);
    expect(p.visible(['guest'], 'files', 'read_file')).toBe(false);
    expect(p.visible(['analyst'], 'records', 'delete_record')).toBe(false);
    expect(p.visible(['admin'], 'records', 'delete_record')).toBe(true);
    expect(p.visible(['analyst'], 'x', 'secret_notes')).toBe(true);
    expect(p.visible(['analyst'], 'x', 'secret_keys')).toBe(false);
    expect(p.visible(['analyst'], 'x', 'unknown')).toBe(false);
  });

  it('keeps a tool visible when a deny rule refuses it only under a condition or only observes', () => {
    const q = compilePolicy([
      { tool: 'transfer', allowed_roles: ['analyst'] },
      { tool: 'transfer', deny: true, where: [{ arg: 'amount', op: 'gt', value: 1000 }] },
      { tool: 'report', allowed_roles: ['analyst'] },
      { tool: 'report', deny: true, time: { hours: '09:00-17:00' } },
      { tool: 'export', allowed_roles: ['analyst'] },
      { tool: 'export', deny: true, mode: 'observe' },
      { tool: 'wipe', allowed_roles: ['analyst'] },
      { tool: 'wipe', deny: true },
      { tool: 'purge', allowed_roles: ['analyst', 'admin'] },
      { tool: 'purge', deny: true, allowed_roles: ['analyst'] }
    ]);
    expect(q.visible(['analyst'], 'x', 'transfer')).toBe(true);
    expect(q.visible(['analyst'], 'x', 'report')).toBe(true);
    expect(q.visible(['analyst'], 'x', 'export')).toBe(true);
    expect(q.visible(['analyst'], 'x', 'wipe')).toBe(false);
    expect(q.visible(['analyst'], 'x', 'purge')).toBe(false);
    expect(q.visible(['admin'], 'x', 'purge')).toBe(true);
    // The condition is real: the hidden-or-not answer does not change what a call is decided.
    const big = q.decide(call({ tool: 'transfer', args: { amount: 5000 } }));
    expect(big.effect).toBe('deny');
    expect(q.decide(call({ tool: 'transfer', args: { amount: 10 } })).effect).toBe('allow');
  });
});

describe('explain', () => {
  it('traces every rule, matched or not, and why', () => {
    const p = compilePolicy(seed);
    const { decision, trace } = p.explain(call({ args: { path: '/data/public/../private/x' } }));
    expect(decision.effect).toBe('deny');
    expect(trace).toHaveLength(2);
    expect(trace[0]).toMatchObject({ rule: 'rules[0]', matched: false });
    expect(trace[0]?.notes[0]).toContain('does not match "delete_record"');
    expect(trace[1]).toMatchObject({ rule: 'rules[1]', matched: true });
    expect(trace[1]?.notes.join(' ')).toContain('constraint fails');
  });
});

describe('globs', () => {
  it.each([
    ['read_*', 'read_file', true],
    ['read_*', 'read_', true],
    ['read_*', 'xread_file', false],
    ['*_file', 'read_file', true],
    ['read_?ile', 'read_file', true],
    ['read_?ile', 'read_ffile', false],
    ['a.b', 'a.b', true],
    ['a.b', 'axb', false],
    ['(x)', '(x)', true],
    ['*', '', true],
    ['Read_file', 'read_file', false],
    // `?` is exactly one character: never none, never two.
    ['read_?ile', 'read_ile', false],
    ['read_?ile', 'read_xyile', false],
    ['?', '', false],
    ['??', 'a', false],
    ['??', 'ab', true],
    // The whole name must match: both ends are anchored.
    ['read_?ile', 'read_file_and_delete', false],
    ['read_?ile', 'xread_file', false],
    ['*_file', 'read_file_x', false],
    ['files-*', 'my-files-eu', false],
    // Case matters for wildcard globs as well as literal ones.
    ['read_*', 'Read_file', false],
    ['read_?ile', 'READ_FILE', false],
    ['files-*', 'FILES-eu', false],
    // Characters that mean something in a regular expression are themselves.
    ['a.*', 'a.b', true],
    ['a.*', 'axb', false],
    ['(?)', '(x)', true],
    ['(?)', 'x', false],
    ['[ab]*', 'a', false],
    ['[ab]*', '[ab]x', true],
    // A newline is a character like any other: a wildcard matches it, a literal does not.
    ['read_?ile', 'read_\nile', true],
    ['read_*', 'read_\nfile', true],
    ['read_file', 'read_file\n', false]
  ])('%j matches %j: %s', (glob, name, expected) => {
    expect(compileGlob(glob).test(name)).toBe(expected);
  });
});

describe('path normalisation', () => {
  it.each([
    ['/data/public/../secret', '/data/secret'],
    ['/data//public/./x', '/data/public/x'],
    ['/a/b/../../../etc', '/etc'],
    ['relative/../x', 'x'],
    ['https://host/a/../b', 'https://host/a/../b']
  ])('%j becomes %j', (input, output) => {
    expect(normalizePath(input)).toBe(output);
  });
  it('rejects NUL bytes', () => {
    expect(normalizePath('/data/public/x\u0000')).toBeUndefined();
  });
});

describe('rule checks beyond shape', () => {
  it('reports invalid RE2 patterns, bad bounds, unknown servers and namespaced tool names', () => {
    const issues = ruleIssues(
      [
        { tool: 'a', parameter_constraints: { p: { pattern: '(?=lookahead)' } } },
        { tool: 'b', parameter_constraints: { n: { min: 5, max: 1 } } },
        { tool: 'c', server: 'nope' },
        { tool: 'files__read_file' },
        { tool: 'd', parameter_constraints: { q: {} } },
        { tool: 'e', deny: true, require_approval: true }
      ],
      ['files'],
      true
    );
    const messages = issues.map((i) => `${i.index}:${i.path.join('.')}:${i.message}`);
    expect(messages[0]).toMatch(/^0:parameter_constraints\.p\.pattern:not a valid RE2 pattern/);
    expect(messages).toContainEqual(
      expect.stringMatching(/^1:parameter_constraints\.n\.min:min 5 is greater than max 1/)
    );
    expect(messages).toContainEqual(expect.stringMatching(/^2:server:no configured server matches "nope"/));
    expect(messages).toContainEqual(expect.stringMatching(/^3:tool:.*server: "files" and tool: "read_file"/));
    expect(messages).toContainEqual(
      expect.stringMatching(/^4:parameter_constraints\.q:constraint has no check/)
    );
    expect(messages).toContainEqual(expect.stringMatching(/^5:require_approval:/));
  });
});

describe('constraints see the string as sent as well as normalised', () => {
  let p: Policy;
  beforeAll(() => {
    p = compilePolicy([
      {
        tool: 'run',
        allowed_roles: ['analyst'],
        parameter_constraints: { command: { pattern: '^(ls|pwd)$' }, paths: { prefix: '/srv/' } }
      }
    ]);
  });
  const decide = (args: Record<string, unknown>) => p.decide(call({ tool: 'run', args })).effect;

  it('refuses a string whose normalised form alone would pass', () => {
    expect(decide({ command: 'ls', paths: ['/srv/a'] })).toBe('allow');
    expect(decide({ command: 'rm -rf ~ x/../ls', paths: ['/srv/a'] })).toBe('deny');
    expect(decide({ command: 'ls', paths: ['/srv/../etc/passwd'] })).toBe('deny');
  });

  it('treats an empty list as absent', () => {
    expect(decide({ command: 'ls', paths: [] })).toBe('deny');
  });
});

describe('what a policy reads beyond the call', () => {
  const mode = { mode: 'enforce' as const, tool_risk: {} };

  it('says whether it reads session counts, risk or history', () => {
    expect(compilePolicy([{ tool: 'a', allowed_roles: ['x'] }]).needs).toEqual({
      session: false,
      history: false
    });
    expect(compilePolicy([{ tool: 'a', allowed_roles: ['x'], rate_limit: '5/m' }]).needs).toEqual({
      session: false,
      history: false
    });
    expect(compilePolicy([{ tool: 'a', allowed_roles: ['x'], max_calls_per_session: 2 }]).needs).toEqual({
      session: true,
      history: false
    });
    expect(
      compilePolicy([{ tool: 'a', allowed_roles: ['x'] }], { ...mode, risk: { budget: 10 } }).needs
    ).toEqual({
      session: true,
      history: false
    });
    expect(
      compilePolicy([{ tool: 'a', allowed_roles: ['x'] }], { ...mode, risk: { approval_at: 10 } }).needs
    ).toEqual({ session: true, history: false });
    expect(compilePolicy([{ tool: 'http', deny: true, after: { tools: ['read_secret'] } }]).needs).toEqual({
      session: true,
      history: true
    });
    expect(compilePolicy([{ tool: 'a', allowed_roles: ['x'], when: 'true' }]).needs).toEqual({
      session: true,
      history: true
    });
  });

  it('decides again without counting what the first decision already took', () => {
    const policy = compilePolicy(
      [{ tool: 'read_file', allowed_roles: ['analyst'], max_calls_per_session: 1, risk: 6 }],
      {
        ...mode,
        risk: { budget: 10 }
      }
    );
    const first = policy.decide(call({ risk: 0, sessionCount: () => 0 }));
    expect(first).toMatchObject({ effect: 'allow', risk: 6 });
    // After the call was admitted its cap is taken and its risk added: deciding afresh refuses it...
    const taken = call({ risk: 6, sessionCount: () => 1 });
    expect(policy.decide(taken)).toMatchObject({ effect: 'deny', code: 'call_limit' });
    // ...deciding again leaves this call's own share out.
    expect(policy.redecide(taken, first)).toMatchObject({ effect: 'allow', risk: 6 });
    // What others took meanwhile still counts.
    expect(policy.redecide(call({ risk: 11, sessionCount: () => 1 }), first)).toMatchObject({
      effect: 'deny',
      code: 'risk_budget'
    });
  });
});
