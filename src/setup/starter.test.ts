// Tests of the starter portcullis.yaml: it loads, its rules do what its comments say, and
// writeStarterConfig never replaces a file unless forced.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.js';
import { compilePolicy } from '../policy/index.js';
import { LOCAL_SCHEMA_PATH, SetupError, starterConfig, writeStarterConfig } from './index.js';

function temp(): string {
  return mkdtempSync(join(tmpdir(), 'portcullis-starter-'));
}

function loadStarter(text = starterConfig()) {
  const file = join(temp(), 'portcullis.yaml');
  writeFileSync(file, text);
  return loadConfig(file);
}

describe('starterConfig', () => {
  it('starts with the schema line, by the path the installed package has it at', () => {
    const text = starterConfig();
    expect(text.split('\n')[0]).toBe(
      '# yaml-language-server: $schema=./node_modules/portcullis/schema/portcullis.schema.json'
    );
    expect(LOCAL_SCHEMA_PATH).toBe('./node_modules/portcullis/schema/portcullis.schema.json');
    // The package's own copy is at that path inside it, and npm puts it in the tarball.
    const root = join(__dirname, '../..');
    const inPackage = LOCAL_SCHEMA_PATH.replace('./node_modules/portcullis/', '');
    expect(statSync(join(root, inPackage)).isFile()).toBe(true);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain(inPackage.split('/')[0]);
    // No address anywhere that nobody serves.
    expect(text).not.toMatch(/https?:\/\//);
    expect(text).toMatch(/DENY BY DEFAULT/);
  });

  it('passes loadConfig with a stdio identity, an audit path and no servers', () => {
    const config = loadStarter();
    expect(config.auth.stdio).toMatchObject({ identity: 'local', roles: ['analyst'] });
    expect(config.audit.path).toMatch(/portcullis-audit\.jsonl$/);
    expect(config.servers).toEqual({});
    expect(config.rules.map((r) => r.id)).toEqual([
      'approve-destructive',
      'read-public-files',
      'prompts',
      'read-public-resources'
    ]);
  });

  it('has rules that do what its comments say', () => {
    const config = loadStarter();
    const policy = compilePolicy(config.rules, config.policy);
    const decide = (roles: string[], tool: string, args: Record<string, unknown> = {}) =>
      policy.decide({ roles, server: 'files', tool, args }).effect;
    // Destructive tools: admins need approval, everyone else is denied.
    for (const tool of ['delete_file', 'drop_table', 'write_file']) {
      expect(decide(['admin'], tool, { path: '/srv/data/public/x' })).toBe('approval');
      expect(decide(['analyst'], tool, { path: '/srv/data/public/x' })).toBe('deny');
    }
    // Deny by default: a tool no rule names is refused for every role.
    expect(decide(['admin'], 'frobnicate')).toBe('deny');
    expect(decide(['analyst'], 'run_shell', { command: 'ls' })).toBe('deny');
    // Reads: inside the folder yes, outside (or escaping with ..) or without a path no.
    expect(decide(['analyst'], 'read_file', { path: '/srv/data/public/report.txt' })).toBe('allow');
    expect(decide(['admin'], 'read_file', { path: '/srv/data/public/report.txt' })).toBe('allow');
    expect(decide(['analyst'], 'read_file', { path: '/etc/passwd' })).toBe('deny');
    expect(decide(['analyst'], 'read_file', { path: '/srv/data/public/../secret' })).toBe('deny');
    expect(decide(['analyst'], 'read_file')).toBe('deny');
    expect(decide(['guest'], 'read_file', { path: '/srv/data/public/report.txt' })).toBe('deny');
  });

  it('has prompt and resource rules that do what their comments say', () => {
    const config = loadStarter();
    const policy = compilePolicy(config.rules, config.policy);
    const decide = (roles: string[], kind: 'prompt' | 'resource', name: string) =>
      policy.decide({ roles, server: 'files', tool: name, kind, args: {} }).effect;
    expect(decide(['analyst'], 'prompt', 'summarise')).toBe('allow');
    expect(decide(['admin'], 'prompt', 'summarise')).toBe('allow');
    expect(decide(['guest'], 'prompt', 'summarise')).toBe('deny');
    expect(decide(['analyst'], 'resource', 'file:///srv/data/public/a/report.txt')).toBe('allow');
    expect(decide(['admin'], 'resource', 'file:///srv/data/public/report.txt')).toBe('allow');
    expect(decide(['analyst'], 'resource', 'file:///srv/data/secret.txt')).toBe('deny');
    expect(decide(['analyst'], 'resource', 'file:///etc/passwd')).toBe('deny');
    expect(decide(['guest'], 'resource', 'file:///srv/data/public/report.txt')).toBe('deny');
    // The prompt rule is not a tool rule: a tool named like a prompt stays refused.
    expect(policy.decide({ roles: ['analyst'], server: 'files', tool: 'summarise', args: {} }).effect).toBe(
      'deny'
    );
  });

  it('holds the servers it is given, and still loads', () => {
    const text = starterConfig({
      servers: {
        files: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/srv/data'] },
        docs: { url: 'https://mcp.example.com/mcp', transport: 'streamable-http', headers: { 'X-Team': 'a' } }
      }
    });
    const config = loadStarter(text);
    expect(config.servers.files).toMatchObject({
      kind: 'stdio',
      command: 'npx',
      args: ['-y', '@modelcontextprotocol/server-filesystem', '/srv/data']
    });
    expect(config.servers.docs).toMatchObject({ kind: 'http', url: 'https://mcp.example.com/mcp' });
    // The comments around the servers stay.
    expect(text).toContain('# The MCP servers behind the gateway');
  });

  it('written by wrap, asks the local identity at its client to approve, and nobody else there', () => {
    const text = starterConfig({ policy: { rules: 'rules: []\n', visible: [] } });
    const config = loadStarter(text);
    expect(config.auth.stdio).toMatchObject({ identity: 'local', roles: ['local'] });
    expect(config.approvals.ask_client_roles).toEqual(['local']);
    expect(config.approvals.approver_roles).toEqual(['admin']);
    // The generic template leaves it off.
    expect(loadStarter().approvals.ask_client_roles).toEqual([]);
  });
});

describe('writeStarterConfig', () => {
  it('writes the starter, private to the user', () => {
    const file = join(temp(), 'portcullis.yaml');
    expect(writeStarterConfig(file)).toBe(file);
    expect(readFileSync(file, 'utf8')).toBe(starterConfig());
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('refuses to replace an existing file unless forced', () => {
    const file = join(temp(), 'portcullis.yaml');
    writeFileSync(file, 'rules: []\n');
    expect(() => writeStarterConfig(file)).toThrow(SetupError);
    expect(() => writeStarterConfig(file)).toThrow(/already exists; use --force/);
    expect(readFileSync(file, 'utf8')).toBe('rules: []\n');
    writeStarterConfig(file, { force: true });
    expect(readFileSync(file, 'utf8')).toBe(starterConfig());
  });
});
