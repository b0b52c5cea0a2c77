import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { asClientConfig, knownClientConfigs, loadClientTarget } from './targets.js';

function temp(): string {
  return realpathSync(mkdtempSync(join(tmpdir(), 'portcullis-targets-')));
}

function put(file: string, value: unknown): string {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, JSON.stringify(value));
  return file;
}

describe('knownClientConfigs', () => {
  it("finds each client's file under the given home and folder, per platform", () => {
    const home = temp();
    const cwd = temp();
    const servers = { mcpServers: { a: { command: 'x' } } };
    const desktop = put(join(home, '.config', 'Claude', 'claude_desktop_config.json'), servers);
    const mac = put(
      join(home, 'Library', 'Application Support', 'Claude', 'claude_desktop_config.json'),
      servers
    );
    const code = put(join(home, '.claude.json'), servers);
    const cursor = put(join(home, '.cursor', 'mcp.json'), servers);
    const vscode = put(join(cwd, '.vscode', 'mcp.json'), { servers: { a: { command: 'x' } } });
    const windsurf = put(join(home, '.codeium', 'windsurf', 'mcp_config.json'), servers);
    const linux = knownClientConfigs({ home, cwd, platform: 'linux', env: {} });
    expect(linux.map((c) => [c.client, c.path])).toEqual([
      ['Claude Desktop', desktop],
      ['Claude Code', code],
      ['Cursor', cursor],
      ['VS Code', vscode],
      ['Windsurf', windsurf]
    ]);
    expect(knownClientConfigs({ home, cwd, platform: 'darwin', env: {} })[0]!.path).toBe(mac);
    // $HOME is where it looks by default.
    expect(knownClientConfigs({ cwd, platform: 'linux', env: { HOME: home } }).length).toBe(5);
    expect(knownClientConfigs({ cwd, platform: 'linux', env: { HOME: temp() } }).map((c) => c.path)).toEqual([
      vscode
    ]);
  });
});

describe('asClientConfig', () => {
  it("tells a client's config from a portcullis config", () => {
    const dir = temp();
    expect(asClientConfig(put(join(dir, 'x.json'), { mcpServers: {} }))?.format).toBe('claude-desktop');
    expect(asClientConfig(put(join(dir, 'y.json'), { servers: {} }))?.format).toBe('vscode');
    expect(asClientConfig(put(join(dir, 'z.json'), { servers: {}, rules: [] }))).toBeUndefined();
    const yaml = join(dir, 'portcullis.yaml');
    writeFileSync(yaml, 'servers: {}\n');
    expect(asClientConfig(yaml)).toBeUndefined();
  });
});

describe('loadClientTarget', () => {
  it('reads servers as wrap does, follows a wrapped entry, and names entries it cannot read', () => {
    const dir = temp();
    const file = put(join(dir, '.cursor', 'mcp.json'), {
      mcpServers: {
        'my server': { command: 'node', args: ['a.js'], env: { KEY: '${env:UNSET_FOR_TEST}' } },
        remote: { serverUrl: 'https://example.com/mcp' },
        off: { command: 'node', disabled: true },
        bad: { command: 'node', url: 'https://example.com' },
        portcullis: { command: 'portcullis', args: ['stdio', '--config', 'portcullis.yaml'] }
      }
    });
    const t = loadClientTarget({ client: 'Cursor', path: file, format: 'cursor' }, join(dir, 'pins.json'));
    expect(Object.keys(t.config!.servers).sort()).toEqual(['my-server', 'remote']);
    expect(t.keys.get('my-server')).toBe('my server');
    expect(t.config!.servers.remote).toMatchObject({ kind: 'http', url: 'https://example.com/mcp' });
    expect(t.config!.rules).toEqual([]);
    expect(t.config!.scanning.pins.path).toBe(join(dir, 'pins.json'));
    expect(Object.keys(t.broken)).toEqual(['bad']);
    expect(t.gateways).toEqual([join(dir, '.cursor', 'portcullis.yaml')]);
  });

  it("reads Claude Code's user and per-project servers from ~/.claude.json", () => {
    const dir = temp();
    const file = put(join(dir, '.claude.json'), {
      numStartups: 3,
      mcpServers: { user: { type: 'stdio', command: 'node', args: ['u.js'] } },
      projects: {
        '/src/app': { mcpServers: { local: { type: 'stdio', command: 'node', args: ['l.js'] } } },
        '/src/other': { allowedTools: [] }
      }
    });
    const t = loadClientTarget(
      { client: 'Claude Code', path: file, format: 'claude-code' },
      join(dir, 'pins.json')
    );
    expect(Object.keys(t.config!.servers).sort()).toEqual(['local', 'user']);
    const empty = put(join(temp(), '.claude.json'), { numStartups: 1 });
    expect(() =>
      loadClientTarget({ client: 'Claude Code', path: empty, format: 'claude-code' }, join(dir, 'p.json'))
    ).toThrow(/no "mcpServers"/);
  });
});
