/**
 * Rules for prompts and resources: a rule names exactly one of `tool`, `prompt` or `resource`, each
 * kind is decided only by its own rules (default deny for all three), resource globs stop `*` at
 * `/`, and explain, visibility, `policy test` and name resolution speak of the kind they decide.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RuleConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { compileGlob, compileUriGlob, hasDotSegment } from './glob.js';
import { compilePolicy, ruleIssues, type PolicyInput } from './index.js';
import { knownNames, resolveCall } from './names.js';
import { runPolicyTestFile } from './testing.js';
import { loadConfig } from '../config/index.js';

const DOC = 'file:///srv/docs/guide.md';

const input = (over: Partial<PolicyInput> = {}): PolicyInput => ({
  roles: ['analyst'],
  server: 'docs',
  tool: 'summarise',
  args: {},
  now: Date.UTC(2026, 2, 18, 12),
  ...over
});

describe('resource globs', () => {
  it('`*` stops at `/`, `**` crosses it', () => {
    const one = compileUriGlob('file:///srv/docs/*');
    expect(one.literal).toBe(false);
    expect(one.test('file:///srv/docs/guide.md')).toBe(true);
    expect(one.test('file:///srv/docs/')).toBe(true);
    expect(one.test('file:///srv/docs/secret/keys.txt')).toBe(false);
    expect(one.test('file:///srv/other/guide.md')).toBe(false);
    const all = compileUriGlob('file:///srv/docs/**');
    expect(all.test('file:///srv/docs/secret/keys.txt')).toBe(true);
    expect(all.test('file:///srv/docs/a/b/c')).toBe(true);
    expect(all.test('file:///srv/other/a')).toBe(false);
    expect(compileUriGlob('**').test('a://b/c/d')).toBe(true);
    expect(compileUriGlob('*').test('a://b')).toBe(false);
    expect(compileUriGlob('*').test('plain')).toBe(true);
  });

  it('`**` in the middle crosses any number of segments, `*` exactly within one', () => {
    const g = compileUriGlob('db://**/rows/*');
    expect(g.test('db://a/b/rows/1')).toBe(true);
    expect(g.test('db://a/rows/1')).toBe(true);
    expect(g.test('db://a/rows/1/2')).toBe(false);
    const star = compileUriGlob('db://*/rows');
    expect(star.test('db://a/rows')).toBe(true);
    expect(star.test('db://a/b/rows')).toBe(false);
  });

  it('`?` matches one character but not `/`', () => {
    const g = compileUriGlob('log://day-?');
    expect(g.test('log://day-1')).toBe(true);
    expect(g.test('log://day-12')).toBe(false);
    expect(compileUriGlob('a?b').test('a/b')).toBe(false);
    expect(compileUriGlob('a?b').test('a-b')).toBe(true);
  });

  it('a literal URI matches only itself; the dot and other regex characters are literal', () => {
    const g = compileUriGlob(DOC);
    expect(g.literal).toBe(true);
    expect(g.test(DOC)).toBe(true);
    expect(g.test(`${DOC}x`)).toBe(false);
    expect(compileUriGlob('file:///a.*').test('file:///abx')).toBe(false);
    expect(compileUriGlob('file:///a.*').test('file:///a.md')).toBe(true);
  });

  it('name globs are unchanged: `*` and `?` cross `/`', () => {
    expect(compileGlob('a*').test('a/b/c')).toBe(true);
    expect(compileGlob('a?b').test('a/b')).toBe(true);
    expect(compileGlob('a**').test('a/b')).toBe(true);
  });
});

describe('dot segments in resource URIs', () => {
  it('finds `.` and `..` segments, also percent-encoded or between backslashes', () => {
    for (const uri of [
      'file:///srv/public/../secret',
      'file:///srv/public/./x',
      'file:///srv/public/..',
      'file:///srv/public/.',
      '../x',
      './x',
      '..',
      'file:///srv/public/%2e%2e/secret',
      'file:///srv/public/%2E%2e/secret',
      'file:///srv/public/.%2e/secret',
      'file:///srv/public%2f..%2fsecret',
      'file:///srv/public%2F..%2Fsecret',
      'file:///srv/public\\..\\secret',
      'file:///srv/public%5c..%5csecret',
      'file:///srv/public%5C..%5Csecret',
      'file:///srv/public/..?x=1',
      'file:///srv/public/..#top'
    ])
      expect(hasDotSegment(uri), uri).toBe(true);
    for (const uri of [
      'file:///srv/public/a.txt',
      'file:///srv/public/..a',
      'file:///srv/public/a..',
      'file:///srv/public/...',
      'file:///srv/public/.hidden',
      'demo://resource/static/document/features.md',
      'x..y',
      'records://r-1001'
    ])
      expect(hasDotSegment(uri), uri).toBe(false);
  });

  it('refuses a resource with one whatever the rules allow, and never lists it', () => {
    const p = compilePolicy([{ id: 'all', resource: '**', allowed_roles: ['analyst'] }]);
    const uri = 'file:///srv/public/../secret';
    expect(p.decide(input({ kind: 'resource', tool: uri }))).toEqual({
      effect: 'deny',
      code: 'policy_denied',
      reason: `resource "${uri}" has a "." or ".." path segment, which its server may resolve elsewhere`,
      hint: undefined,
      rules: [],
      counters: [],
      risk: 0,
      observed: undefined
    });
    expect(p.decide(input({ kind: 'resource', tool: 'file:///srv/public/a' })).effect).toBe('allow');
    expect(p.visible(['analyst'], 'docs', uri, 'resource')).toBe(false);
    expect(p.visible(['analyst'], 'docs', 'file:///srv/public/a', 'resource')).toBe(true);
    // Only URIs: a prompt or tool named `..` is decided by its rules.
    const q = compilePolicy([
      { prompt: '*', allowed_roles: ['analyst'] },
      { tool: '*', allowed_roles: ['analyst'] }
    ]);
    expect(q.decide(input({ kind: 'prompt', tool: '..' })).effect).toBe('allow');
    expect(q.decide(input({ tool: '..' })).effect).toBe('allow');
    expect(q.visible(['analyst'], 'docs', '..', 'prompt')).toBe(true);
    expect(q.visible(['analyst'], 'docs', '..')).toBe(true);
  });
});

describe('exactly one of tool, prompt or resource', () => {
  const issues = (rule: Record<string, unknown>) => ruleIssues([rule as unknown as RuleConfig], [], false);

  it('accepts a rule naming one of them', () => {
    expect(issues({ tool: 'read', allowed_roles: ['a'] })).toEqual([]);
    expect(issues({ prompt: 'summarise', allowed_roles: ['a'] })).toEqual([]);
    expect(issues({ resource: 'file:///**', allowed_roles: ['a'] })).toEqual([]);
  });

  it('refuses a rule naming none, two or all three, and says which', () => {
    expect(issues({ allowed_roles: ['a'] })).toEqual([
      {
        index: 0,
        path: [],
        message: 'a rule names exactly one of "tool", "prompt" or "resource"; this one names none'
      }
    ]);
    expect(issues({ tool: 'x', prompt: 'y' })).toEqual([
      {
        index: 0,
        path: ['prompt'],
        message: 'a rule names exactly one of "tool", "prompt" or "resource"; this one names tool and prompt'
      }
    ]);
    expect(issues({ prompt: 'y', resource: 'z' })[0]).toMatchObject({
      path: ['resource'],
      message: expect.stringMatching(/names prompt and resource$/)
    });
    expect(issues({ tool: 'x', resource: 'z' })[0]!.message).toMatch(/names tool and resource$/);
    expect(issues({ tool: 'x', prompt: 'y', resource: 'z' })).toHaveLength(1);
    expect(issues({ tool: 'x', prompt: 'y', resource: 'z' })[0]!.message).toMatch(
      /names tool and prompt and resource$/
    );
  });

  it('refuses an empty name of each kind', () => {
    expect(issues({ tool: '' })).toEqual([
      { index: 0, path: ['tool'], message: 'expected a non-empty tool name or glob' }
    ]);
    expect(issues({ prompt: '' })).toEqual([
      { index: 0, path: ['prompt'], message: 'expected a non-empty prompt name or glob' }
    ]);
    expect(issues({ resource: '' })).toEqual([
      { index: 0, path: ['resource'], message: 'expected a non-empty resource name or glob' }
    ]);
  });

  it('refuses what counts tool calls on a prompt or resource rule, and constraints on a resource', () => {
    const toolOnly = {
      read_only: true,
      max_calls_per_session: 1,
      max_calls: { count: 1, per: 'identity', within: '1h' },
      rate_limit: '1/min',
      rate_scope: 'session',
      risk: 1
    };
    for (const kind of ['prompt', 'resource'] as const) {
      for (const [key, value] of Object.entries(toolOnly)) {
        const found = issues({
          [kind]: 'x',
          [key]: value,
          ...(key === 'rate_scope' ? { rate_limit: '1/min' } : {})
        });
        expect(found).toContainEqual({
          index: 0,
          path: [key],
          message: `"${key}" applies to tool rules only, not to a ${kind} rule`
        });
      }
    }
    // A tool rule may say all of it.
    expect(issues({ tool: 'x', ...toolOnly })).toEqual([]);
    const constrained = { parameter_constraints: { city: { enum: ['Paris'] } } };
    expect(issues({ prompt: 'x', ...constrained })).toEqual([]);
    expect(issues({ resource: 'x', ...constrained })).toEqual([
      {
        index: 0,
        path: ['parameter_constraints'],
        message: 'a resource has no arguments to constrain; constrain its URI with the "resource" glob'
      }
    ]);
  });

  it('checks `server__name` only on tools: a prompt may have `__` in its name', () => {
    expect(issues({ tool: 'docs__read' })[0]!.path).toEqual(['tool']);
    expect(issues({ prompt: 'docs__summarise' })).toEqual([]);
    expect(issues({ resource: 'x://a__b' })).toEqual([]);
  });
});

describe('deciding prompts and resources', () => {
  const rules: RuleConfig[] = [
    { id: 'tool-summarise', tool: 'summarise', allowed_roles: ['analyst'] },
    {
      id: 'prompt',
      prompt: 'summarise',
      allowed_roles: ['writer'],
      parameter_constraints: { length: { enum: ['short', 'long'] } }
    },
    { id: 'docs', server: 'docs', resource: 'file:///srv/docs/*', allowed_roles: ['analyst'] },
    { id: 'secrets', resource: 'file:///srv/docs/secret/**', deny: true },
    { id: 'held', prompt: 'draft', allowed_roles: ['writer'], require_approval: true }
  ];
  const p = compilePolicy(rules);

  it('a tool rule never decides a prompt of the same name, nor a prompt rule a tool', () => {
    expect(p.decide(input({ roles: ['analyst'], kind: 'prompt' }))).toMatchObject({
      effect: 'deny',
      code: 'role_not_allowed',
      reason: 'no applicable rule allows role(s) [analyst] for prompt "summarise"',
      rules: ['prompt']
    });
    expect(p.decide(input({ roles: ['writer'] }))).toMatchObject({
      effect: 'deny',
      code: 'role_not_allowed',
      rules: ['tool-summarise']
    });
    expect(p.decide(input({ roles: ['analyst'] }))).toMatchObject({
      effect: 'allow',
      rules: ['tool-summarise']
    });
    expect(p.decide(input({ roles: ['writer'], kind: 'prompt', args: { length: 'short' } }))).toMatchObject({
      effect: 'allow',
      rules: ['prompt'],
      reason: 'allowed by prompt'
    });
  });

  it('default deny: no rule for a prompt or resource refuses it, naming the kind', () => {
    expect(p.decide(input({ tool: 'other', kind: 'prompt' }))).toMatchObject({
      effect: 'deny',
      code: 'no_rule',
      reason: 'no rule applies to prompt "other" on server "docs" (default deny)',
      rules: []
    });
    expect(p.decide(input({ tool: 'file:///srv/other.md', kind: 'resource' }))).toMatchObject({
      code: 'no_rule',
      reason: 'no rule applies to resource "file:///srv/other.md" on server "docs" (default deny)'
    });
    expect(p.decide(input({ tool: 'nothing' }))).toMatchObject({
      reason: 'no rule applies to tool "nothing" on server "docs" (default deny)'
    });
  });

  it('a resource rule allows its URIs one level deep, on its server only', () => {
    expect(p.decide(input({ tool: DOC, kind: 'resource' }))).toMatchObject({
      effect: 'allow',
      rules: ['docs']
    });
    expect(p.decide(input({ tool: DOC, kind: 'resource', server: 'mail' })).code).toBe('no_rule');
    expect(p.decide(input({ tool: 'file:///srv/docs/a/b.md', kind: 'resource' })).code).toBe('no_rule');
    expect(p.decide(input({ tool: DOC, kind: 'resource', roles: ['writer'] })).code).toBe('role_not_allowed');
  });

  it('deny wins over an allowing rule, and says what it denied', () => {
    const denied = p.decide(input({ tool: 'file:///srv/docs/secret/keys.txt', kind: 'resource' }));
    expect(denied).toMatchObject({
      effect: 'deny',
      code: 'policy_denied',
      reason: 'rule secrets denies resource "file:///srv/docs/secret/keys.txt"',
      rules: ['secrets']
    });
    const tool = compilePolicy([{ id: 'no', tool: 't', deny: true }]).decide(input({ tool: 't' }));
    expect(tool.reason).toBe('rule no denies tool "t"');
  });

  it('constraints bind prompt arguments, and a completion is decided without them', () => {
    const writer = input({ roles: ['writer'], kind: 'prompt' });
    expect(p.decide({ ...writer, args: { length: 'epic' } })).toMatchObject({
      effect: 'deny',
      code: 'constraint_failed'
    });
    expect(p.decide({ ...writer, args: {} }).code).toBe('constraint_failed');
    expect(p.decide({ ...writer, args: {}, completing: true })).toMatchObject({ effect: 'allow' });
    expect(p.decide({ ...writer, args: { length: 'epic' }, completing: false }).code).toBe(
      'constraint_failed'
    );
    // A completion still needs a rule that allows the caller.
    expect(p.decide({ ...writer, roles: ['analyst'], completing: true }).code).toBe('role_not_allowed');
  });

  it('require_approval on a prompt asks for approval, like a tool', () => {
    expect(p.decide(input({ roles: ['writer'], kind: 'prompt', tool: 'draft' }))).toMatchObject({
      effect: 'approval',
      code: 'approval_required',
      rules: ['held']
    });
  });

  it('conditions and observe mode apply to prompts and resources', () => {
    const q = compilePolicy([
      { id: 'ana', prompt: '*', allowed_roles: ['*'], principal: { users: ['ana'] } },
      { id: 'watch', resource: '**', allowed_roles: ['analyst'] },
      { id: 'would-deny', resource: 'file:///srv/docs/*', deny: true, mode: 'observe' },
      { id: 'cel', prompt: 'p', allowed_roles: ['x'], when: 'args.n > 1' }
    ]);
    expect(q.decide(input({ kind: 'prompt', identity: { id: 'ana' } })).effect).toBe('allow');
    expect(q.decide(input({ kind: 'prompt', identity: { id: 'bob' } })).code).toBe('no_rule');
    const observed = q.decide(input({ kind: 'resource', tool: DOC }));
    expect(observed.effect).toBe('allow');
    expect(observed.observed).toMatchObject({ effect: 'deny', code: 'policy_denied', rules: ['would-deny'] });
    expect(q.decide(input({ kind: 'prompt', tool: 'p', roles: ['x'], args: { n: 2 } })).effect).toBe('allow');
    expect(q.decide(input({ kind: 'prompt', tool: 'p', roles: ['x'], args: { n: 0 } })).effect).toBe('deny');
  });

  it('a session already over the risk budget or approval threshold is refused prompts and resources', () => {
    const q = compilePolicy([{ prompt: '*', allowed_roles: ['analyst'] }], {
      mode: 'enforce',
      tool_risk: {},
      risk: { budget: 50, approval_at: 30 }
    });
    expect(q.decide(input({ kind: 'prompt', risk: 30 })).effect).toBe('allow');
    expect(q.decide(input({ kind: 'prompt', risk: 31 })).effect).toBe('approval');
    expect(q.decide(input({ kind: 'prompt', risk: 51 })).code).toBe('risk_budget');
  });

  it('a rule naming nothing (refused by config checks) compiles to one matching only the empty resource', () => {
    const q = compilePolicy([{ id: 'bare', allowed_roles: ['analyst'] } as unknown as RuleConfig]);
    expect(q.decide(input({ kind: 'resource', tool: '' })).rules).toEqual(['bare']);
    expect(q.decide(input({ kind: 'resource', tool: 'x' })).code).toBe('no_rule');
    expect(q.decide(input({ tool: '' })).code).toBe('no_rule');
  });

  it('tool_risk weighs tools only', () => {
    const q = compilePolicy(
      [
        { tool: 'summarise', allowed_roles: ['analyst'] },
        { prompt: 'summarise', allowed_roles: ['analyst'] }
      ],
      { mode: 'enforce', tool_risk: { summarise: 5 } }
    );
    expect(q.decide(input()).risk).toBe(5);
    expect(q.decide(input({ kind: 'prompt' })).risk).toBe(0);
  });

  it('literal and wildcard rules of each kind are found, in rule order', () => {
    const q = compilePolicy([
      { id: 'w', prompt: 's*', allowed_roles: ['analyst'] },
      { id: 'l', prompt: 'summarise', allowed_roles: ['analyst'] },
      { id: 'r', resource: DOC, allowed_roles: ['analyst'] },
      { id: 't', tool: 's*', allowed_roles: ['analyst'] }
    ]);
    expect(q.decide(input({ kind: 'prompt' })).rules).toEqual(['w', 'l']);
    expect(q.decide(input({ kind: 'prompt', tool: 'sx' })).rules).toEqual(['w']);
    expect(q.decide(input({ kind: 'resource', tool: DOC })).rules).toEqual(['r']);
    expect(q.decide(input()).rules).toEqual(['t']);
    // The same name asked again (cached) gets the same rules.
    expect(q.decide(input({ kind: 'prompt' })).rules).toEqual(['w', 'l']);
    expect(q.decide(input()).rules).toEqual(['t']);
  });
});

describe('visibility of prompts and resources', () => {
  it('lists only what some rule of that kind could allow the roles', () => {
    const p = compilePolicy([
      { tool: 'summarise', allowed_roles: ['analyst'] },
      { prompt: 'draft', allowed_roles: ['writer'] },
      { resource: 'file:///srv/docs/*', allowed_roles: ['analyst'] },
      { resource: 'file:///srv/docs/private.md', deny: true }
    ]);
    expect(p.visible(['analyst'], 'docs', 'summarise')).toBe(true);
    expect(p.visible(['analyst'], 'docs', 'summarise', 'tool')).toBe(true);
    // Same name, same roles, another kind: not the tool's answer from the cache.
    expect(p.visible(['analyst'], 'docs', 'summarise', 'prompt')).toBe(false);
    expect(p.visible(['writer'], 'docs', 'draft', 'prompt')).toBe(true);
    expect(p.visible(['writer'], 'docs', 'draft')).toBe(false);
    expect(p.visible(['analyst'], 'docs', DOC, 'resource')).toBe(true);
    expect(p.visible(['analyst'], 'docs', 'file:///srv/docs/a/b', 'resource')).toBe(false);
    expect(p.visible(['analyst'], 'docs', 'file:///srv/docs/private.md', 'resource')).toBe(false);
    expect(p.visible(['writer'], 'docs', DOC, 'resource')).toBe(false);
  });

  it('in observe mode everything is listed', () => {
    const p = compilePolicy([], { mode: 'observe', tool_risk: {} });
    expect(p.visible(['x'], 'docs', 'anything', 'prompt')).toBe(true);
  });
});

describe('explain on prompts and resources', () => {
  const p = compilePolicy([
    { id: 'tool', tool: 'summarise', allowed_roles: ['analyst'] },
    {
      id: 'prompt',
      prompt: 'summarise',
      allowed_roles: ['analyst'],
      parameter_constraints: { n: { max: 3 } }
    },
    { id: 'other-prompt', prompt: 'draft', allowed_roles: ['analyst'] },
    { id: 'docs', server: 'docs', resource: 'file:///srv/docs/*', allowed_roles: ['analyst'] },
    { id: 'mail', server: 'mail', resource: 'file:///srv/docs/*', allowed_roles: ['analyst'] }
  ]);

  it('traces a prompt: rules of other kinds and names do not apply, and say why', () => {
    const { decision, trace } = p.explain(input({ kind: 'prompt', args: { n: 2 } }));
    expect(decision).toMatchObject({ effect: 'allow', rules: ['prompt'] });
    expect(trace).toEqual([
      { rule: 'tool', index: 0, matched: false, notes: ['names a tool, not a prompt'] },
      {
        rule: 'prompt',
        index: 1,
        matched: true,
        notes: ['allows role(s) analyst', 'all parameter constraints pass']
      },
      {
        rule: 'other-prompt',
        index: 2,
        matched: false,
        notes: ['prompt "summarise" does not match "draft"']
      },
      { rule: 'docs', index: 3, matched: false, notes: ['names a resource, not a prompt'] },
      { rule: 'mail', index: 4, matched: false, notes: ['names a resource, not a prompt'] }
    ]);
  });

  it('traces a completion: its constraints are not checked', () => {
    const { decision, trace } = p.explain(input({ kind: 'prompt', args: { n: 9 }, completing: true }));
    expect(decision.effect).toBe('allow');
    expect(trace[1]!.notes).toEqual(['allows role(s) analyst', 'constraints not checked: a completion']);
    expect(p.explain(input({ kind: 'prompt', args: { n: 9 } })).trace[1]!.notes).toEqual([
      'allows role(s) analyst',
      'constraint fails: parameter "n" is above the maximum 3'
    ]);
  });

  it('traces a resource: the URI glob and the server glob', () => {
    const { decision, trace } = p.explain(input({ kind: 'resource', tool: DOC }));
    expect(decision).toMatchObject({ effect: 'allow', rules: ['docs'] });
    expect(trace.map((t) => [t.rule, t.matched, t.notes])).toEqual([
      ['tool', false, ['names a tool, not a resource']],
      ['prompt', false, ['names a prompt, not a resource']],
      ['other-prompt', false, ['names a prompt, not a resource']],
      ['docs', true, ['allows role(s) analyst']],
      ['mail', false, ['server "docs" does not match "mail"']]
    ]);
    expect(p.explain(input({ kind: 'resource', tool: 'file:///srv/x' })).trace[3]!.notes).toEqual([
      'resource "file:///srv/x" does not match "file:///srv/docs/*"'
    ]);
  });

  it('a tool is traced as before', () => {
    expect(p.explain(input()).trace[1]!.notes).toEqual(['names a prompt, not a tool']);
    expect(p.explain(input({ tool: 'x' })).trace[0]!.notes).toEqual(['tool "x" does not match "summarise"']);
  });
});

describe('policy test and name resolution for prompts and resources', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-kinds-'));
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const config = write(
    'portcullis.yaml',
    `servers:
  docs: { command: docs-mcp }
scanning:
  pins: { path: ./pins.json }
rules:
  - { id: summaries, prompt: summarise, allowed_roles: [writer] }
  - { id: guides, server: docs, resource: "file:///srv/docs/*", allowed_roles: [writer] }
`
  );
  write(
    'pins.json',
    JSON.stringify({
      version: 1,
      servers: {
        docs: {
          pinnedAt: '2026-01-01T00:00:00Z',
          approvedBy: 'test',
          tools: { search: { hash: '0'.repeat(64), hashVersion: 2 } }
        }
      }
    })
  );

  it('resolves a prompt as `server__prompt` and a resource by URI with its server, unchecked against pinned tools', () => {
    const known = knownNames(loadConfig(config, { env: {} }))!;
    expect(resolveCall(known, 'docs__summarise', undefined, 'prompt')).toEqual({
      server: 'docs',
      tool: 'summarise'
    });
    expect(resolveCall(known, 'docs__summarise').problem).toMatch(/has no tool "summarise"/);
    expect(resolveCall(known, DOC, 'docs', 'resource')).toEqual({ server: 'docs', tool: DOC });
    expect(resolveCall(known, `portcullis://docs/${DOC}`, undefined, 'resource')).toEqual({
      server: 'docs',
      tool: DOC
    });
    // A URI is not split at `__`.
    expect(resolveCall(known, 'docs__x://y', undefined, 'resource')).toMatchObject({
      server: '',
      tool: 'docs__x://y',
      problem: '"docs__x://y" names no server: add server: <server> (servers: docs)'
    });
    expect(resolveCall(known, 'summarise', undefined, 'prompt').problem).toBe(
      '"summarise" names no server: write <server>__<prompt> (servers: docs)'
    );
    expect(resolveCall(known, 'x', undefined).problem).toBe(
      '"x" names no server: write <server>__<tool> (servers: docs)'
    );
    expect(resolveCall(known, `portcullis://mail/${DOC}`, undefined, 'resource').problem).toMatch(
      /^unknown server "mail"/
    );
    // Without known names nothing is checked, and a resource without a server has none.
    expect(resolveCall(undefined, DOC, undefined, 'resource')).toEqual({ server: '', tool: DOC });
  });

  it('a lone server exposed under its own names routes a bare URI or prompt to itself', () => {
    const lone = write(
      'lone.yaml',
      `servers:
  docs: { command: docs-mcp, namespace: false }
rules:
  - { prompt: '*', allowed_roles: [a] }
`
    );
    const known = knownNames(loadConfig(lone, { env: {} }))!;
    expect(resolveCall(known, DOC, undefined, 'resource')).toEqual({ server: 'docs', tool: DOC });
    expect(resolveCall(known, 'summarise', undefined, 'prompt')).toEqual({
      server: 'docs',
      tool: 'summarise'
    });
  });

  it('runs cases on prompts and resources', () => {
    const file = write(
      'kinds.test.yaml',
      `config: ./portcullis.yaml
tests:
  - { name: writers get summaries, roles: [writer], prompt: docs__summarise, expect: allow, rule: summaries }
  - { name: analysts do not, roles: [analyst], prompt: docs__summarise, expect: deny, code: role_not_allowed }
  - { name: a tool of that name is not the prompt, roles: [writer], tool: docs__search, expect: deny, code: no_rule }
  - { name: guides are read, roles: [writer], server: docs, resource: "${DOC}", expect: allow, rule: guides }
  - { name: by the gateway URI, roles: [writer], resource: "portcullis://docs/${DOC}", expect: allow }
  - { name: not deeper, roles: [writer], server: docs, resource: "file:///srv/docs/a/b.md", expect: deny, code: no_rule }
  - { name: wrong expectation, roles: [writer], server: docs, resource: "${DOC}", expect: deny }
`
    );
    const results = runPolicyTestFile(file);
    expect(results.map((r) => [r.name, r.passed])).toEqual([
      ['writers get summaries', true],
      ['analysts do not', true],
      ['a tool of that name is not the prompt', true],
      ['guides are read', true],
      ['by the gateway URI', true],
      ['not deeper', true],
      ['wrong expectation', false]
    ]);
    expect(results[6]!.problems).toEqual(['expected deny, got allow']);
  });

  it('names a case by its prompt or resource when it has no name', () => {
    const file = write(
      'unnamed.test.yaml',
      `rules:
  - { prompt: p, allowed_roles: [a] }
tests:
  - { roles: [a], prompt: s__p, args: { x: 1 }, expect: allow }
  - { roles: [a], server: s, resource: "r://1", expect: deny }
`
    );
    expect(runPolicyTestFile(file).map((r) => [r.name, r.passed])).toEqual([
      ['s__p {"x":1}', true],
      ['r://1 {}', true]
    ]);
  });

  it('refuses a case naming none or two of tool, prompt and resource', () => {
    const none = write('none.test.yaml', 'rules: []\ntests:\n  - { roles: [a], expect: allow }\n');
    expect(() => runPolicyTestFile(none)).toThrow(ConfigError);
    const two = write(
      'two.test.yaml',
      'rules: []\ntests:\n  - { tool: s__t, prompt: s__p, expect: allow }\n'
    );
    expect(() => runPolicyTestFile(two)).toThrow(ConfigError);
  });
});
