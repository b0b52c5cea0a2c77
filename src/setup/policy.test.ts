import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.js';
import type { GatewayConfig } from '../config/types.js';
import { compilePolicy } from '../policy/index.js';
import { classifyTool, globsFor, suggestPolicy, type Discovered } from './policy.js';
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
