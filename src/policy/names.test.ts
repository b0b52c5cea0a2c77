// Tests of the names policy tests and explanations are checked against: unknown servers and tools
// are refused with a suggestion when the config lists servers, and nothing is checked when not.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.js';
import { knownNames, resolveCall } from './names.js';
import { runPolicyTestFile } from './testing.js';

const dir = mkdtempSync(join(tmpdir(), 'portcullis-names-'));
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const pins = (tools: string[]) =>
  JSON.stringify({
    version: 1,
    servers: {
      filesystem: {
        pinnedAt: '2026-01-01T00:00:00Z',
        approvedBy: 'test',
        tools: Object.fromEntries(tools.map((t) => [t, { hash: '0'.repeat(64), hashVersion: 2 }]))
      }
    }
  });

const config = write(
  'portcullis.yaml',
  `servers:
  filesystem: { command: npx }
  records: { command: records-mcp }
scanning:
  pins: { path: ./pins.json }
rules:
  - { id: read, tool: "*", allowed_roles: [analyst] }
`
);
write('pins.json', pins(['read_file', 'write_file', 'list_directory']));

describe('resolveCall', () => {
  const known = knownNames(loadConfig(config, { env: {} }))!;

  it('accepts a server and tool the config and its pins know', () => {
    expect(resolveCall(known, 'filesystem__read_file')).toEqual({ server: 'filesystem', tool: 'read_file' });
    expect(resolveCall(known, 'read_file', 'filesystem')).toEqual({
      server: 'filesystem',
      tool: 'read_file'
    });
    // A server with no pinned tools yet: its tools cannot be checked.
    expect(resolveCall(known, 'records__anything')).toEqual({ server: 'records', tool: 'anything' });
  });

  it('refuses an unknown server, suggesting the one meant', () => {
    expect(resolveCall(known, 'file__read_file').problem).toBe(
      'unknown server "file" (did you mean "filesystem"?); servers: filesystem, records'
    );
    expect(resolveCall(known, 'recods__get').problem).toMatch(
      /^unknown server "recods" \(did you mean "records"\?\)/
    );
    expect(resolveCall(known, 'zzz__x').problem).toBe('unknown server "zzz"; servers: filesystem, records');
    expect(resolveCall(known, 'read_file').problem).toMatch(
      /^"read_file" names no server: write <server>__<tool>/
    );
  });

  it('refuses a tool the server does not have, suggesting the one meant', () => {
    expect(resolveCall(known, 'filesystem__read_fiel').problem).toBe(
      'server "filesystem" has no tool "read_fiel" (did you mean "read_file"?); ' +
        'its tools as pinned: read_file, write_file, list_directory'
    );
  });

  it('checks nothing for a config that lists no servers', () => {
    const rulesOnly = loadConfig(write('rules.yaml', '- { tool: "*", allowed_roles: [a] }\n'), { env: {} });
    expect(knownNames(rulesOnly)).toBeUndefined();
    expect(resolveCall(undefined, 'file__read_file')).toEqual({ server: 'file', tool: 'read_file' });
  });

  it('reads the bare tool of a lone server exposed without a prefix as its own', () => {
    const lone = loadConfig(write('lone.yaml', 'servers:\n  fs: { command: x, namespace: false }\n'), {
      env: {}
    });
    expect(resolveCall(knownNames(lone), 'read_file')).toEqual({ server: 'fs', tool: 'read_file' });
  });
});

describe('policy test cases naming what does not exist', () => {
  it('fail, even where the decision is the one expected', () => {
    const file = write(
      'cases.yaml',
      `config: ./portcullis.yaml
tests:
  - { name: real, roles: [analyst], tool: filesystem__read_file, expect: allow }
  - { name: typo in the server, roles: [analyst], tool: file__read_file, expect: allow }
  - { name: typo in the tool, roles: [analyst], tool: filesystem__read_fiel, expect: allow }
  - name: typo in history
    roles: [analyst]
    tool: filesystem__read_file
    history: [filesytem__write_file]
    expect: allow
`
    );
    const results = runPolicyTestFile(file);
    expect(results.map((r) => [r.name, r.passed])).toEqual([
      ['real', true],
      ['typo in the server', false],
      ['typo in the tool', false],
      ['typo in history', false]
    ]);
    // The decision alone would have passed: the rule allows any tool.
    expect(results.every((r) => r.decision.effect === 'allow')).toBe(true);
    expect(results[1]!.problems).toEqual([
      'unknown server "file" (did you mean "filesystem"?); servers: filesystem, records'
    ]);
    expect(results[2]!.problems[0]).toMatch(/has no tool "read_fiel" \(did you mean "read_file"\?\)/);
    expect(results[3]!.problems[0]).toMatch(
      /^history\[0\]: unknown server "filesytem" \(did you mean "filesystem"\?\)/
    );
  });
});
