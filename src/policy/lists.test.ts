/**
 * Rules naming a list of globs (`tool: [read_*, list_*]`, and the same for `prompt` and
 * `resource`): a list matches a name when any one of its globs matches it, whole-name; the rest of
 * the rule is unchanged. The rule index files a list of literal names under each name, and a list
 * with a wildcard with the wildcard rules; either way a rule is found once, in rule order.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RuleConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { compileGlobList } from './glob.js';
import { compilePolicy, ruleIssues, type PolicyInput } from './index.js';
import { runPolicyTestFile } from './testing.js';

const call = (over: Partial<PolicyInput> = {}): PolicyInput => ({
  roles: ['a'],
  server: 'files',
  tool: 't',
  args: {},
  now: Date.UTC(2026, 2, 18, 12),
  ...over
});

const effectOf = (rules: RuleConfig[], over: Partial<PolicyInput>) => {
  const d = compilePolicy(rules).decide(call(over));
  return d.code ?? d.effect;
};

describe('compileGlobList', () => {
  it('one glob or a list: the globs as written, and the literal names once each', () => {
    expect(compileGlobList('read_file', false)).toMatchObject({
      sources: ['read_file'],
      literals: ['read_file']
    });
    expect(compileGlobList(['b', 'a', 'b'], false)).toMatchObject({
      sources: ['b', 'a', 'b'],
      literals: ['b', 'a']
    });
    expect(compileGlobList(['a', 'b*'], false).literals).toBeUndefined();
    expect(compileGlobList(['a?', 'b'], false).literals).toBeUndefined();
    expect(compileGlobList('*', false).literals).toBeUndefined();
  });

  it('matches a name any one glob matches, and nothing else', () => {
    const g = compileGlobList(['read_?ile', 'stat', 'list_*'], false);
    for (const name of ['read_file', 'read_pile', 'stat', 'list_', 'list_dir'])
      expect(g.test(name), name).toBe(true);
    for (const name of ['read_file_and_delete', 'xread_file', 'stat_all', 'xstat', 'sta', 'list', 'xlist_a'])
      expect(g.test(name), name).toBe(false);
  });

  it('an empty list matches nothing', () => {
    const g = compileGlobList([], false);
    expect(g.test('')).toBe(false);
    expect(g.test('a')).toBe(false);
  });

  it('over URIs, each glob stops `*` at `/` and lets `**` cross it', () => {
    const g = compileGlobList(['file:///docs/**', 'file:///notes/*'], true);
    expect(g.test('file:///docs/a/b.md')).toBe(true);
    expect(g.test('file:///notes/a.md')).toBe(true);
    expect(g.test('file:///notes/private/a.md')).toBe(false);
    expect(g.test('file:///other/a.md')).toBe(false);
    // Names are not URIs: there `*` crosses `/`.
    expect(compileGlobList(['notes/*'], false).test('notes/private/a.md')).toBe(true);
  });
});

describe('deciding with a list', () => {
  it('allows every listed tool and refuses any other with no_rule', () => {
    const rules: RuleConfig[] = [{ tool: ['read_*', 'list_*'], allowed_roles: ['a'] }];
    expect(effectOf(rules, { tool: 'read_file' })).toBe('allow');
    expect(effectOf(rules, { tool: 'list_dir' })).toBe('allow');
    expect(effectOf(rules, { tool: 'write_file' })).toBe('no_rule');
    expect(effectOf(rules, { tool: 'read_file', roles: ['b'] })).toBe('role_not_allowed');
  });

  it('anchors hold for every glob of the list, first, middle and last', () => {
    const rules: RuleConfig[] = [{ tool: ['read_?ile', 'stat', 'open'], allowed_roles: ['a'] }];
    for (const tool of ['read_file', 'stat', 'open']) expect(effectOf(rules, { tool }), tool).toBe('allow');
    for (const tool of [
      'read_file_and_delete',
      'xread_file',
      'stat_and_delete',
      'xstat',
      'open_and_delete',
      'xopen',
      'read_file,stat',
      'stat|open'
    ])
      expect(effectOf(rules, { tool }), tool).toBe('no_rule');
  });

  it('glob characters of one element never reach another, and regex characters are literal', () => {
    const rules: RuleConfig[] = [{ tool: ['a.b', 'c*'], allowed_roles: ['a'] }];
    expect(effectOf(rules, { tool: 'a.b' })).toBe('allow');
    expect(effectOf(rules, { tool: 'axb' })).toBe('no_rule');
    expect(effectOf(rules, { tool: 'a.bc' })).toBe('no_rule');
    expect(effectOf(rules, { tool: 'cab' })).toBe('allow');
  });

  it('tool and prompt lists are name globs, where `*` crosses `/`; resource lists are URI globs', () => {
    const rules: RuleConfig[] = [
      { tool: ['notes_*', 'x'], allowed_roles: ['a'] },
      { prompt: ['notes_*', 'x'], allowed_roles: ['a'] },
      { resource: ['notes_*', 'x'], allowed_roles: ['a'] }
    ];
    expect(effectOf(rules, { tool: 'notes_a/b' })).toBe('allow');
    expect(effectOf(rules, { kind: 'prompt', tool: 'notes_a/b' })).toBe('allow');
    expect(effectOf(rules, { kind: 'resource', tool: 'notes_a' })).toBe('allow');
    expect(effectOf(rules, { kind: 'resource', tool: 'notes_a/b' })).toBe('no_rule');
  });

  it('a deny rule with a list denies every listed tool, and only those', () => {
    const rules: RuleConfig[] = [
      { tool: '*', allowed_roles: ['a'] },
      { id: 'no-writes', tool: ['write_file', 'delete_*'], deny: true }
    ];
    const p = compilePolicy(rules);
    for (const tool of ['write_file', 'delete_file', 'delete_']) {
      expect(p.decide(call({ tool })), tool).toMatchObject({
        effect: 'deny',
        code: 'policy_denied',
        rules: ['no-writes']
      });
      expect(p.visible(['a'], 'files', tool), tool).toBe(false);
    }
    for (const tool of ['write_files', 'read_file', 'undelete_x']) {
      expect(p.decide(call({ tool })).effect, tool).toBe('allow');
      expect(p.visible(['a'], 'files', tool), tool).toBe(true);
    }
  });

  it('a deny list of literals with roles denies those roles each listed tool', () => {
    const p = compilePolicy([
      { tool: '*', allowed_roles: ['a', 'b'] },
      { tool: ['x', 'y'], deny: true, allowed_roles: ['b'] }
    ]);
    expect(p.decide(call({ tool: 'x', roles: ['b'] })).effect).toBe('deny');
    expect(p.decide(call({ tool: 'y', roles: ['b'] })).effect).toBe('deny');
    expect(p.decide(call({ tool: 'z', roles: ['b'] })).effect).toBe('allow');
    expect(p.decide(call({ tool: 'x', roles: ['a'] })).effect).toBe('allow');
  });

  it('the rest of the rule applies to each listed tool: server, constraints, approval, caps, risk', () => {
    const p = compilePolicy([
      {
        id: 'writes',
        tool: ['write_file', 'append_file'],
        server: 'files',
        allowed_roles: ['a'],
        require_approval: true,
        max_calls_per_session: 2,
        risk: 3,
        parameter_constraints: { path: { prefix: '/srv/' } }
      }
    ]);
    for (const tool of ['write_file', 'append_file']) {
      expect(p.decide(call({ tool, args: { path: '/srv/x' } })), tool).toMatchObject({
        effect: 'approval',
        rules: ['writes'],
        risk: 3,
        counters: [{ kind: 'session', key: 'writes', max: 2 }]
      });
      expect(p.decide(call({ tool, args: { path: '/etc/x' } })).code, tool).toBe('constraint_failed');
      expect(p.decide(call({ tool, server: 'db', args: { path: '/srv/x' } })).code, tool).toBe('no_rule');
      // The cap is the rule's: calls to either listed tool count towards it.
      expect(
        p.decide(call({ tool, args: { path: '/srv/x' }, sessionCount: (k) => (k === 'writes' ? 2 : 0) }))
          .code,
        tool
      ).toBe('call_limit');
    }
  });

  it('prompt and resource rules take lists too, each decided by its own kind', () => {
    const rules: RuleConfig[] = [
      { prompt: ['summarise', 'review_*'], allowed_roles: ['a'] },
      { resource: ['file:///docs/**', 'file:///notes/*'], allowed_roles: ['a'] }
    ];
    expect(effectOf(rules, { kind: 'prompt', tool: 'summarise' })).toBe('allow');
    expect(effectOf(rules, { kind: 'prompt', tool: 'review_code' })).toBe('allow');
    expect(effectOf(rules, { kind: 'prompt', tool: 'summarise_all' })).toBe('no_rule');
    expect(effectOf(rules, { kind: 'tool', tool: 'summarise' })).toBe('no_rule');
    expect(effectOf(rules, { kind: 'resource', tool: 'file:///docs/a/b.md' })).toBe('allow');
    expect(effectOf(rules, { kind: 'resource', tool: 'file:///notes/a.md' })).toBe('allow');
    expect(effectOf(rules, { kind: 'resource', tool: 'file:///notes/private/a.md' })).toBe('no_rule');
    expect(
      compilePolicy(rules).decide(call({ kind: 'resource', tool: 'file:///docs/../etc/passwd' })).effect
    ).toBe('deny');
  });

  it('lists in observe mode record what they would refuse', () => {
    const p = compilePolicy([{ tool: ['a', 'b'], deny: true, mode: 'observe' }]);
    expect(p.decide(call({ tool: 'b' })).observed).toMatchObject({ effect: 'deny', code: 'policy_denied' });
  });
});

describe('the rule index with lists', () => {
  const p = compilePolicy([
    { id: 'lit', tool: ['read', 'list'], allowed_roles: ['a'] },
    { id: 'one', tool: 'read', allowed_roles: ['a'] },
    { id: 'mixed', tool: ['read', 'stat_*'], allowed_roles: ['a'] },
    { id: 'twice', tool: ['list', 'list'], allowed_roles: ['a'] },
    { id: 'overlap', tool: ['re*', 'r*d'], allowed_roles: ['a'] },
    { id: 'other', tool: ['write', 'stat_x'], server: 'db', allowed_roles: ['a'] }
  ]);
  const found = (tool: string, server = 'files') => p.decide(call({ tool, server })).rules;

  it('finds each rule once, in rule order, under every name it lists', () => {
    expect(found('read')).toEqual(['lit', 'one', 'mixed', 'overlap']);
    expect(found('list')).toEqual(['lit', 'twice']);
    expect(found('stat_x')).toEqual(['mixed']);
    expect(found('stat_x', 'db')).toEqual(['mixed', 'other']);
    expect(found('rend')).toEqual(['overlap']);
  });

  it('never files a listed rule under a name it does not list', () => {
    expect(p.decide(call({ tool: 'write' })).code).toBe('no_rule');
    expect(found('write', 'db')).toEqual(['other']);
    for (const tool of ['listx', 'lis', 'list,read', 'List', 'stat', 'xread'])
      expect(p.decide(call({ tool })).code, tool).toBe('no_rule');
    expect(p.visible(['a'], 'files', 'list')).toBe(true);
    expect(p.visible(['a'], 'files', 'write')).toBe(false);
    expect(p.visible(['a'], 'db', 'write')).toBe(true);
  });

  it('a list of literal prompts or resources is filed under each, by its kind only', () => {
    const q = compilePolicy([
      { id: 'p', prompt: ['summarise', 'draft'], allowed_roles: ['a'] },
      { id: 'r', resource: ['file:///a', 'file:///b'], allowed_roles: ['a'] }
    ]);
    expect(q.decide(call({ kind: 'prompt', tool: 'draft' })).rules).toEqual(['p']);
    expect(q.decide(call({ kind: 'resource', tool: 'file:///b' })).rules).toEqual(['r']);
    expect(q.decide(call({ kind: 'tool', tool: 'draft' })).code).toBe('no_rule');
    expect(q.decide(call({ kind: 'resource', tool: 'file:///c' })).code).toBe('no_rule');
    expect(q.visible(['a'], 'files', 'file:///a', 'resource')).toBe(true);
    expect(q.visible(['a'], 'files', 'summarise', 'resource')).toBe(false);
  });
});

describe('explain with a list', () => {
  it('says which globs a name did not match', () => {
    const p = compilePolicy([
      { id: 'list', tool: ['read_*', 'list_*'], allowed_roles: ['a'] },
      { id: 'one', tool: ['stat'], allowed_roles: ['a'] },
      { id: 'res', resource: ['file:///a/*', 'file:///b'], allowed_roles: ['a'] }
    ]);
    expect(p.explain(call({ tool: 'write' })).trace.map((t) => t.notes)).toEqual([
      ['tool "write" does not match any of "read_*", "list_*"'],
      ['tool "write" does not match "stat"'],
      ['names a resource, not a tool']
    ]);
    expect(p.explain(call({ kind: 'resource', tool: 'file:///c' })).trace[2]!.notes).toEqual([
      'resource "file:///c" does not match any of "file:///a/*", "file:///b"'
    ]);
    expect(p.explain(call({ tool: 'list_dir' })).trace[0]).toMatchObject({ matched: true });
  });
});

describe('ruleIssues on lists', () => {
  const issuesOf = (rule: RuleConfig) =>
    ruleIssues([rule], [], false).map((i) => `${i.path.map(String).join('.')}: ${i.message}`);

  it('accepts a list of non-empty globs of each kind', () => {
    expect(issuesOf({ tool: ['a', 'b*'] })).toEqual([]);
    expect(issuesOf({ prompt: ['a', 'b__c'] })).toEqual([]);
    expect(issuesOf({ resource: ['file:///a', 'file:///b/**'] })).toEqual([]);
  });

  it('refuses an empty list, and names an element that is empty or not a string', () => {
    expect(issuesOf({ tool: [] })).toEqual(['tool: expected at least one tool name or glob']);
    expect(issuesOf({ resource: [] })).toEqual(['resource: expected at least one resource name or glob']);
    expect(issuesOf({ prompt: ['a', ''] })).toEqual(['prompt.1: expected a non-empty prompt name or glob']);
    expect(issuesOf({ tool: [5, 'ok', null] as unknown as string[] })).toEqual([
      'tool.0: expected a string',
      'tool.2: expected a string'
    ]);
    // A single glob is named at the key itself, as before.
    expect(issuesOf({ tool: '' })).toEqual(['tool: expected a non-empty tool name or glob']);
  });

  it('points each `server__tool` element at server and tool; a glob or a prompt may have `__`', () => {
    expect(issuesOf({ tool: ['ok', 'files__read', 'files__*'] })).toEqual([
      `tool.1: "tool" is the upstream's own tool name; use server: "files" and tool: "read"`
    ]);
    expect(issuesOf({ tool: 'files__read' })).toEqual([
      `tool: "tool" is the upstream's own tool name; use server: "files" and tool: "read"`
    ]);
  });

  it('a rule naming two kinds is refused, and what is wrong in each is said too', () => {
    expect(issuesOf({ tool: ['files__read'], prompt: [] })).toEqual([
      'prompt: a rule names exactly one of "tool", "prompt" or "resource"; this one names tool and prompt',
      `tool.0: "tool" is the upstream's own tool name; use server: "files" and tool: "read"`,
      'prompt: expected at least one prompt name or glob'
    ]);
  });

  it('refuses a list with tool-only fields on a prompt rule, as for one glob', () => {
    expect(issuesOf({ prompt: ['a', 'b'], risk: 1 })).toEqual([
      'risk: "risk" applies to tool rules only, not to a prompt rule'
    ]);
  });
});

describe('policy test files with lists', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-lists-'));
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('runs cases against inline rules with lists', () => {
    const file = write(
      'lists.test.yaml',
      `rules:
  - { id: reads, tool: [read_file, list_dir], allowed_roles: [a] }
tests:
  - { roles: [a], tool: s__read_file, expect: allow, rule: reads }
  - { roles: [a], tool: s__list_dir, expect: allow, rule: reads }
  - { roles: [a], tool: s__write_file, expect: deny, code: no_rule }
`
    );
    expect(runPolicyTestFile(file).map((r) => r.passed)).toEqual([true, true, true]);
  });

  it('refuses inline rules with a bad element, naming it', () => {
    const file = write(
      'bad.test.yaml',
      `rules:
  - { tool: [read_file, ""], allowed_roles: [a] }
tests:
  - { roles: [a], tool: s__read_file, expect: allow }
`
    );
    expect(() => runPolicyTestFile(file)).toThrow(ConfigError);
    try {
      runPolicyTestFile(file);
    } catch (err) {
      expect((err as ConfigError).issues.map((i) => `${i.line}:${i.col} ${i.path}: ${i.message}`)).toEqual([
        '2:25 rules[0].tool[1]: expected a non-empty tool name or glob'
      ]);
    }
  });
});
