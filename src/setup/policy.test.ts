import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.js';
import type { GatewayConfig } from '../config/types.js';
import { compilePolicy } from '../policy/index.js';
import { classifyTool, globsFor, suggestPolicy, type Discovered, type DiscoveredTool } from './policy.js';
import { starterConfig } from './starter.js';

const files: Discovered = {
  tools: [
    { name: 'read_file', annotations: { readOnlyHint: true } },
    { name: 'read_text_file', annotations: { readOnlyHint: true } },
    { name: 'list_directory', annotations: { readOnlyHint: true } },
    { name: 'write_file', annotations: { readOnlyHint: false, destructiveHint: true } },
    { name: 'create_directory', annotations: { readOnlyHint: false, destructiveHint: false } },
    // Says read-only, but its name says otherwise: the name wins, towards approval.
    { name: 'delete_all', annotations: { readOnlyHint: true } }
  ]
};

function configWith(servers: Record<string, Discovered>, strict = false) {
  const policy = suggestPolicy(servers, { strict });
  const entries = Object.fromEntries(Object.keys(servers).map((n) => [n, { command: 'node' }]));
  const text = starterConfig({ servers: entries, policy });
  return { policy, text, config: loadConfig('/tmp/portcullis.yaml', { text, env: {} }) };
}

const policyOf = (config: GatewayConfig) => compilePolicy(config.rules, config.policy);

describe('classifyTool', () => {
  it('reads annotations, and a destructive name outranks readOnlyHint', () => {
    expect(classifyTool({ name: 'read_file', annotations: { readOnlyHint: true } }).class).toBe('read');
    expect(
      classifyTool({ name: 'x', annotations: { destructiveHint: true, readOnlyHint: true } }).class
    ).toBe('destructive');
    expect(classifyTool({ name: 'drop_table' }).class).toBe('destructive');
    expect(classifyTool({ name: 'send_mail' }).class).toBe('other');
  });

  it('a tool that runs commands or reads the environment waits for approval, whatever its annotations', () => {
    const readOnly = { readOnlyHint: true, destructiveHint: false };
    expect(classifyTool({ name: 'get-env', annotations: readOnly })).toEqual({
      class: 'destructive',
      why: 'reads the environment'
    });
    expect(classifyTool({ name: 'print_environment' }).class).toBe('destructive');
    expect(
      classifyTool({
        name: 'query',
        annotations: readOnly,
        inputSchema: { type: 'object', properties: { command: { type: 'string' } } }
      })
    ).toEqual({ class: 'destructive', why: 'runs commands' });
    // Words that only look alike stay read-only.
    expect(classifyTool({ name: 'get_envelope', annotations: readOnly }).class).toBe('read');
  });
});

describe('globsFor', () => {
  it('uses a prefix glob only when no other tool shares the prefix', () => {
    const all = ['read_a', 'read_b', 'list_a', 'list_b', 'write_a'];
    expect(globsFor(['read_a', 'read_b', 'list_a'], all)).toEqual(['read_*', 'list_a']);
    expect(globsFor(['read_a'], ['read_a', 'read_b'])).toEqual(['read_a']);
    expect(globsFor(['read_a', 'read_b'], ['read_a', 'read_b', 'read_c'])).toEqual(['read_a', 'read_b']);
    expect(globsFor(['a', 'b'], ['a', 'b'])).toEqual(['*']);
  });
});

describe('suggestPolicy', () => {
  it('writes rules that load and decide as described', () => {
    const { config, policy, text } = configWith({ files });
    const decide = (tool: string) =>
      policyOf(config).decide({ server: 'files', tool, roles: ['local'], args: { path: '/x' } });
    expect(decide('read_text_file').effect).toBe('allow');
    expect(decide('list_directory').effect).toBe('allow');
    expect(decide('write_file').effect).toBe('approval');
    expect(decide('delete_all').effect).toBe('approval');
    const observed = decide('create_directory');
    expect(observed.effect).toBe('allow');
    expect(observed.observed?.effect).toBe('approval');
    // A tool the server did not list is denied.
    expect(decide('format_disk').effect).toBe('deny');
    // Other roles get nothing.
    expect(
      policyOf(config).decide({ server: 'files', tool: 'read_file', roles: ['guest'], args: {} }).effect
    ).toBe('deny');
    expect(policy.visible.find((v) => v.name === 'files__write_file')?.treatment).toBe('approval');
    // Each rule has a comment above it saying why.
    expect(text).toMatch(/# files: read-only by the server's own readOnlyHint: list_directory/);
  });

  it('comments out every rule with --strict, and the rules of a server that failed', () => {
    const { config, policy, text } = configWith({ files, slow: { error: 'no answer within 20 s' } }, true);
    expect(config.rules).toEqual([]);
    expect(policy.visible).toEqual([]);
    expect(text).toMatch(/# slow: not reached \(no answer within 20 s/);
    const { config: lenient } = configWith({ files, slow: { error: 'gone' } });
    expect(lenient.rules.some((r) => r.server === 'slow')).toBe(false);
  });

  it('gives no rule to a tool whose name would be a glob', () => {
    const { config, text } = configWith({
      odd: { tools: [{ name: '*', annotations: { readOnlyHint: true } }] }
    });
    expect(config.rules.filter((r) => r.tool !== undefined)).toEqual([]);
    expect(text).toMatch(/no rule for "\*"/);
  });
  it('allows each reached server its prompts and resources, scoped to it; --strict comments them out', () => {
    const { config } = configWith({ docs: { tools: [] }, down: { error: 'spawn ENOENT' } });
    expect(config.rules.map((r) => [r.server, r.prompt, r.resource, r.allowed_roles])).toEqual([
      ['docs', '*', undefined, ['local']],
      ['docs', undefined, '**', ['local']]
    ]);
    const strict = suggestPolicy({ docs: { tools: [] } }, { strict: true });
    expect(strict.rules).toMatch(/# - id: docs-prompts/);
    expect(strict.rules.startsWith('rules: []')).toBe(true);
  });
});

describe('suggestPolicy: one rule per treatment, its tools in a list', () => {
  const reads = (names: string[]): { tools: DiscoveredTool[] } => ({
    tools: names.map((name) => ({ name, annotations: { readOnlyHint: true } }))
  });

  it('groups the globs of each treatment into one rule, a list on one line while it fits', () => {
    const { config, text } = configWith({ files });
    expect(config.rules.filter((r) => r.tool !== undefined).map((r) => [r.id, r.tool])).toEqual([
      ['files-read', ['read_*', 'list_directory']],
      ['files-approve', ['delete_all', 'write_file']],
      ['files-observe', 'create_directory']
    ]);
    expect(text).toContain("    tool: ['read_*', 'list_directory']\n");
    // One glob stays one glob.
    expect(text).toContain("    tool: 'create_directory'\n");
  });

  it('writes a long list one glob a line, and it decides the same', () => {
    const names = Array.from({ length: 12 }, (_, i) => `tool_number_${i}_of_a_long_list`).concat('other');
    const many: Discovered = {
      tools: names.map((name, i) => ({ name, annotations: { readOnlyHint: i % 2 === 0 } }))
    };
    const { config, text } = configWith({ many });
    const read = names.filter((_, i) => i % 2 === 0);
    expect(config.rules.find((r) => r.id === 'many-read')?.tool).toEqual(read.slice().sort());
    expect(text).toContain(`    tool:\n      - '${read.slice().sort()[0]}'\n      - '`);
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
    const p = policyOf(config);
    for (const [i, tool] of names.entries()) {
      const d = p.decide({ server: 'many', tool, roles: ['local'], args: {} });
      expect([d.effect, d.observed?.effect], tool).toEqual(
        i % 2 === 0 ? ['allow', undefined] : ['allow', 'approval']
      );
    }
    expect(p.decide({ server: 'many', tool: 'tool_number_1', roles: ['local'], args: {} }).code).toBe(
      'no_rule'
    );
  });

  it('never gives a tool another treatment by grouping: each tool is decided by its own rule only', () => {
    const small: Discovered = { tools: [...reads(['a', 'b']).tools, { name: 'c' }] };
    const { config } = configWith({ files, small });
    const p = policyOf(config);
    const rulesOf = (server: string, tool: string) =>
      p.decide({ server, tool, roles: ['local'], args: {} }).rules;
    expect(rulesOf('files', 'read_file')).toEqual(['files-read']);
    expect(rulesOf('files', 'write_file')).toEqual(['files-approve']);
    expect(rulesOf('small', 'a')).toEqual(['small-read']);
    expect(rulesOf('small', 'c')).toEqual(['small-observe']);
    // Another server's rule never reaches a tool of the same name.
    expect(p.decide({ server: 'small', tool: 'read_file', roles: ['local'], args: {} }).code).toBe('no_rule');
  });

  it('--strict writes the same rules commented out, indented so that uncommenting them gives them back', () => {
    const long = reads(Array.from({ length: 12 }, (_, i) => `t${i}_long_tool_name`));
    const servers = { files, many: { tools: [...long.tools, { name: 'other' }] } };
    const strict = suggestPolicy(servers, { strict: true }).rules;
    expect(strict).toContain('  # - id: files-read\n  #   server: files\n');
    expect(strict).toContain("  #   tool:\n  #     - 't0_long_tool_name'\n");
    const uncommented = strict.replace('rules: []', 'rules:').replace(/^ {2}# (- id: .*| {2}.*)$/gm, '  $1');
    const entries = { files: { command: 'node' }, many: { command: 'node' } };
    const load = (rules: string) =>
      loadConfig('/tmp/portcullis.yaml', {
        text: starterConfig({ servers: entries, policy: { rules, visible: [] } }),
        env: {}
      }).rules;
    expect(load(uncommented)).toEqual(load(suggestPolicy(servers).rules));
    expect(load(uncommented).find((r) => r.id === 'many-read')?.tool).toHaveLength(12);
  });
});
