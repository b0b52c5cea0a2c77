// Tests of unwrap after the client config changed since wrap: the moved servers come back as they
// were, servers added or edited since stay as they are now and are named, nothing else in the file
// is lost; and the refusals that keep a file unreadable to us from being overwritten.
import { cpSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyPatch } from 'diff';
import { describe, expect, it } from 'vitest';
import { parseJsonc, setValue, toValue } from './jsonc.js';
import { SetupError, unwrap, wrap } from './index.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/clients');

function setup(fixture: string): { client: string; yaml: string } {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'portcullis-unwrap-')));
  cpSync(FIXTURES, dir, { recursive: true });
  return { client: join(dir, fixture), yaml: join(dir, 'portcullis.yaml') };
}

const read = (file: string) =>
  toValue(parseJsonc(readFileSync(file, 'utf8'), file)) as Record<string, unknown>;
const edit = (file: string, path: string[], value: unknown) =>
  writeFileSync(file, setValue(readFileSync(file, 'utf8'), path, value));

const CURSOR = 'cursor/.cursor/mcp.json';

describe('unwrap after the client config changed', () => {
  it('puts moved servers back, keeps servers added or edited since, and says which', () => {
    const { client, yaml } = setup(CURSOR);
    const original = read(client).mcpServers as Record<string, unknown>;
    wrap(client, { portcullisConfig: yaml, only: ['playwright', 'supabase', 'context7'] });
    // Since wrap: a new server, an edit to one that stayed, and a setting outside the servers.
    const added = { command: 'uvx', args: ['mcp-server-git'] };
    const changed = { url: 'https://mcp.linear.app/mcp' };
    edit(client, ['mcpServers', 'git'], added);
    edit(client, ['mcpServers', 'linear'], changed);
    edit(client, ['someSetting'], true);

    const r = unwrap(client);
    const after = read(client);
    expect(after.someSetting).toBe(true);
    expect(after.mcpServers).toEqual({
      'workspace-files': original['workspace-files'],
      linear: changed,
      git: added,
      playwright: original.playwright,
      supabase: original.supabase,
      context7: original.context7
    });
    expect(r.returned.sort()).toEqual(['context7', 'playwright', 'supabase']);
    expect(r.added).toEqual(['git']);
    expect(r.edited).toEqual(['linear']);
    expect(r.notes).toEqual([
      `server "git" was added to ${client} after wrap; it stays as it is now`,
      `server "linear" was changed in ${client} after wrap; it stays as it is now, not as ${r.restored} has it`
    ]);
    expect(r.message).toContain('kept 2 server(s) added or changed since wrap');
    expect(readFileSync(client, 'utf8')).toBe(r.clientAfter);
  });

  it('keeps a server re-added since wrap under a moved name as it is now', () => {
    const { client, yaml } = setup(CURSOR);
    wrap(client, { portcullisConfig: yaml });
    const mine = { command: 'my-playwright' };
    edit(client, ['mcpServers', 'playwright'], mine);
    const r = unwrap(client);
    expect((read(client).mcpServers as Record<string, unknown>).playwright).toEqual(mine);
    expect(r.edited).toEqual(['playwright']);
    expect(r.returned).not.toContain('playwright');
    expect(Object.keys(read(client).mcpServers as object)).not.toContain('portcullis');
  });

  it('keeps comments and settings added to a JSONC config since wrap', () => {
    const { client, yaml } = setup('vscode/.vscode/mcp.json');
    const before = readFileSync(client, 'utf8');
    wrap(client, { portcullisConfig: yaml });
    const now = readFileSync(client, 'utf8').replace('{', '{\n  // mine, added after wrap');
    writeFileSync(client, now);
    edit(client, ['servers', 'extra'], { type: 'http', url: 'https://example.com/mcp' });
    unwrap(client);
    const text = readFileSync(client, 'utf8');
    expect(text).toContain('// mine, added after wrap');
    expect(text).toContain('// Values VS Code asks for once and keeps in its secret storage.');
    const original = toValue(parseJsonc(before, 'b')) as { servers: Record<string, unknown> };
    expect(read(client).servers).toEqual({
      ...original.servers,
      extra: { type: 'http', url: 'https://example.com/mcp' }
    });
  });

  it('puts the servers back when the servers key was removed since wrap', () => {
    const { client, yaml } = setup(CURSOR);
    const original = read(client);
    wrap(client, { portcullisConfig: yaml });
    writeFileSync(client, '{ "other": 1 }\n');
    unwrap(client);
    expect(read(client)).toEqual({ other: 1, mcpServers: original.mcpServers });
  });

  it('writes nothing on a dry run, and shows the diff', () => {
    const { client, yaml } = setup(CURSOR);
    wrap(client, { portcullisConfig: yaml });
    edit(client, ['mcpServers', 'git'], { command: 'uvx' });
    const now = readFileSync(client, 'utf8');
    const r = unwrap(client, { dryRun: true });
    expect(readFileSync(client, 'utf8')).toBe(now);
    expect(r.message).toMatch(/^would restore /);
    expect(r.diff).toContain('+      "command": "npx"');
    expect(applyPatch(now, r.diff)).toBe(r.clientAfter);
    expect(read(client).mcpServers).toHaveProperty('portcullis');
    expect(r.clientAfter).toContain('"git"');
  });

  it('refuses to overwrite a client config it cannot read, and leaves it as it is', () => {
    const { client, yaml } = setup(CURSOR);
    wrap(client, { portcullisConfig: yaml });
    writeFileSync(client, '{ "mcpServers": { "half": ');
    expect(() => unwrap(client)).toThrow(SetupError);
    expect(() => unwrap(client)).toThrow(/mcp\.json:1:\d+: invalid JSON/);
    expect(readFileSync(client, 'utf8')).toBe('{ "mcpServers": { "half": ');
  });
});
