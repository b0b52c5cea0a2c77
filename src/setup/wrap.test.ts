// Tests of wrap and unwrap on the client config fixtures of every format: round trips, what the
// client and portcullis.yaml hold afterwards, dry runs, backups, and the refusals.
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  writeFileSync
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../config/index.js';
import type { ServerConfig } from '../config/types.js';
import { CLIENTS, type ClientFormat } from './clients.js';
import { SetupError, unwrap, wrap, type WrapResult } from './index.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/clients');

const FIXTURE: Record<ClientFormat, string> = {
  'claude-desktop': 'claude-desktop/claude_desktop_config.json',
  cursor: 'cursor/.cursor/mcp.json',
  vscode: 'vscode/.vscode/mcp.json',
  'claude-code': 'claude-code/.mcp.json'
};

type Entry = {
  type?: string;
  command?: string;
  args?: string[];
  env?: Record<string, string>;
  url?: string;
  headers?: Record<string, string>;
};

function temp(): string {
  return realpathSync(mkdtempSync(join(tmpdir(), 'portcullis-wrap-')));
}

/** A copy of a fixture in a fresh folder, under its own name (so its format shows). */
function copyFixture(format: ClientFormat): { dir: string; client: string; yaml: string } {
  const dir = temp();
  cpSync(FIXTURES, dir, { recursive: true });
  return { dir, client: join(dir, FIXTURE[format]), yaml: join(dir, 'portcullis.yaml') };
}

function json(text: string): Record<string, unknown> {
  // The fixtures are JSON, except VS Code's comment line.
  return JSON.parse(text.replace(/^\s*\/\/.*$/gm, '')) as Record<string, unknown>;
}

function serversOf(format: ClientFormat, text: string): Record<string, Entry> {
  return json(text)[CLIENTS[format].serversKey] as Record<string, Entry>;
}

/** Every file under a folder with its contents. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, name);
    if (statSync(path).isFile()) out[name] = readFileSync(path, 'utf8');
  }
  return out;
}

// What the client's environment holds when it starts a server (API_BASE_URL is unset).
const CLIENT_ENV: Record<string, string> = {
  SUPABASE_ACCESS_TOKEN: 'sbp_from_env',
  HOME: '/home/alice',
  AIRTABLE_API_KEY: 'pat_from_env',
  INTERNAL_API_TOKEN: 'internal_from_env',
  DATABASE_DSN: 'postgres://db.internal:5432/prod'
};

/** A client's own expansion of `${...}` in a server entry, as each client documents it. */
function expandLikeClient(format: ClientFormat, text: string): string {
  if (format === 'claude-desktop') return text;
  if (format === 'claude-code') {
    return text.replace(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
      (_m, name: string, fallback?: string) => CLIENT_ENV[name] ?? fallback ?? ''
    );
  }
  return text.replace(/\$\{([^}]*)\}/g, (_m, expr: string) =>
    expr.startsWith('env:') ? (CLIENT_ENV[expr.slice(4)] ?? '') : `<${expr} as the client sees it>`
  );
}

function expandAll(format: ClientFormat, map: Record<string, string> = {}): Record<string, string> {
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, expandLikeClient(format, v)]));
}

/** Load portcullis.yaml in the environment the client would give the portcullis entry. */
function loadAsGateway(format: ClientFormat, result: WrapResult) {
  const env = { ...CLIENT_ENV, ...expandAll(format, result.passedEnv) };
  return loadConfig(result.portcullisPath, { env });
}

function expectSameServer(format: ClientFormat, original: Entry, loaded: ServerConfig | undefined): void {
  const x = (text: string) => expandLikeClient(format, text);
  if (original.command !== undefined) {
    expect(loaded).toMatchObject({
      kind: 'stdio',
      command: x(original.command),
      args: (original.args ?? []).map(x),
      env: expandAll(format, original.env)
    });
  } else {
    const sse = original.type === 'sse' || (original.type === undefined && /\/sse$/.test(original.url!));
    expect(loaded).toMatchObject({
      kind: 'http',
      url: x(original.url!),
      transport: sse ? 'sse' : 'streamable-http',
      headers: expandAll(format, original.headers)
    });
  }
}

describe.each(Object.keys(FIXTURE) as ClientFormat[])('wrap and unwrap: %s', (format) => {
  it('moves every server into portcullis.yaml and leaves the client one portcullis entry', () => {
    const { client, yaml } = copyFixture(format);
    const before = readFileSync(client, 'utf8');
    const result = wrap(client, { portcullisConfig: yaml });
    expect(result.format).toBe(format);
    expect(result.changed).toBe(true);

    // The client: one entry that runs portcullis stdio --config <abs path>, in the format's shape.
    const after = readFileSync(client, 'utf8');
    expect(after).toBe(result.clientAfter);
    const servers = serversOf(format, after);
    expect(Object.keys(servers)).toEqual(['portcullis']);
    expect(servers.portcullis).toMatchObject({
      command: 'npx',
      args: ['-y', 'portcullis', 'stdio', '--config', yaml]
    });
    expect(servers.portcullis!.type).toBe(CLIENTS[format].stdioType ? 'stdio' : undefined);
    // Every other key is untouched, down to the bytes before the servers.
    const { [CLIENTS[format].serversKey]: _old, ...rest } = json(before);
    const { [CLIENTS[format].serversKey]: _new, ...restAfter } = json(after);
    expect(restAfter).toEqual(rest);
    const key = `"${CLIENTS[format].serversKey}"`;
    expect(after.slice(0, after.indexOf(key))).toBe(before.slice(0, before.indexOf(key)));

    // portcullis.yaml: loads, and holds every original server as the client would have run it.
    const config = loadAsGateway(format, result);
    const original = serversOf(format, before);
    expect(result.moved.map((m) => m.from)).toEqual(Object.keys(original));
    for (const moved of result.moved)
      expectSameServer(format, original[moved.from]!, config.servers[moved.to]);
    expect(Object.keys(config.servers)).toHaveLength(Object.keys(original).length);
    expect(statSync(yaml).mode & 0o777).toBe(0o600);

    // The backup is the original, byte for byte; the diff covers both files.
    expect(result.backup).toBe(`${client}.portcullis-backup`);
    expect(readFileSync(result.backup!, 'utf8')).toBe(before);
    expect(result.diff).toContain(`--- ${client}\n+++ ${client}\n@@ `);
    expect(result.diff).toContain(`--- /dev/null\n+++ ${yaml}\n@@ -0,0 +1,`);

    // unwrap gives back the original, byte for byte, and says which backup it used.
    const undone = unwrap(client);
    expect(undone.restored).toBe(result.backup);
    expect(undone.message).toContain(result.backup!);
    expect(readFileSync(client, 'utf8')).toBe(before);
  });

  it('writes nothing on a dry run', () => {
    const { dir, client, yaml } = copyFixture(format);
    const files = snapshot(dir);
    const result = wrap(client, { portcullisConfig: yaml, dryRun: true });
    expect(snapshot(dir)).toEqual(files);
    expect(result.backup).toBeUndefined();
    expect(result.clientAfter).not.toBe(result.clientBefore);
    expect(result.portcullisAfter).toContain('servers:');
    expect(result.diff).toContain('+++ ');
  });

  it('leaves an already wrapped config alone', () => {
    const { dir, client, yaml } = copyFixture(format);
    wrap(client, { portcullisConfig: yaml });
    const files = snapshot(dir);
    const again = wrap(client, { portcullisConfig: yaml });
    expect(again.changed).toBe(false);
    expect(again.message).toMatch(/is already wrapped: its only server is "portcullis"/);
    expect(again.diff).toBe('');
    expect(snapshot(dir)).toEqual(files);
  });
});

describe('wrap: what moves and how', () => {
  it('renames servers whose names Portcullis cannot use, and says so', () => {
    const { client, yaml } = copyFixture('claude-desktop');
    const result = wrap(client, { portcullisConfig: yaml });
    expect(result.moved.find((m) => m.from === 'brave.search')?.to).toBe('brave-search');
    expect(result.warnings.join('\n')).toContain('server "brave.search" is "brave-search"');
    const vscode = copyFixture('vscode');
    const moved = wrap(vscode.client, { portcullisConfig: vscode.yaml }).moved;
    expect(moved.find((m) => m.from === 'local__tools')?.to).toBe('local_tools');
  });

  it('gives a renamed server a free name: valid names keep theirs', () => {
    const dir = temp();
    const client = join(dir, 'claude_desktop_config.json');
    const yaml = join(dir, 'portcullis.yaml');
    writeFileSync(yaml, 'servers:\n  x-y:\n    command: taken\n');
    const mcpServers = { 'a.b': { command: 'one' }, 'a-b': { command: 'two' }, 'x.y': { command: 'three' } };
    writeFileSync(client, JSON.stringify({ mcpServers }));
    const result = wrap(client, { portcullisConfig: yaml });
    expect(result.moved.map((m) => [m.from, m.to])).toEqual([
      ['a.b', 'a-b-2'],
      ['a-b', 'a-b'],
      ['x.y', 'x-y-2']
    ]);
    expect(loadConfig(yaml).servers['a-b-2']).toMatchObject({ command: 'one' });
  });

  it('moves secrets in clear as they are, and warns about each', () => {
    const { client, yaml } = copyFixture('claude-desktop');
    const result = wrap(client, { portcullisConfig: yaml });
    expect(result.secrets).toEqual([
      { server: 'github', name: 'GITHUB_PERSONAL_ACCESS_TOKEN', in: 'env' },
      { server: 'brave-search', name: 'BRAVE_API_KEY', in: 'env' }
    ]);
    const servers = (parse(readFileSync(yaml, 'utf8')) as { servers: Record<string, Entry> }).servers;
    expect(servers.github!.env).toEqual({
      GITHUB_PERSONAL_ACCESS_TOKEN: 'ghp_fixture0000000000000000000000000000'
    });
    expect(servers.postgres!.env!.DATABASE_URI).toBe(
      'postgresql://reader:fixture-password@localhost:5432/analytics'
    );
    const warning = result.warnings.find((w) => w.includes('GITHUB_PERSONAL_ACCESS_TOKEN'));
    expect(warning).toContain('GITHUB_PERSONAL_ACCESS_TOKEN: "${GITHUB_PERSONAL_ACCESS_TOKEN}"');
    // A header holding a key is a secret too; a reference to the environment is not.
    const cursor = copyFixture('cursor');
    expect(wrap(cursor.client, { portcullisConfig: cursor.yaml }).secrets).toEqual([
      { server: 'context7', name: 'CONTEXT7_API_KEY', in: 'headers' }
    ]);
  });

  it("passes variables only the client can expand through the portcullis entry's env", () => {
    const { client, yaml } = copyFixture('vscode');
    const result = wrap(client, { portcullisConfig: yaml });
    expect(result.passedEnv).toEqual({
      PORTCULLIS_VAR_INPUT_GITHUB_TOKEN: '${input:github_token}',
      PORTCULLIS_VAR_INPUT_PERPLEXITY_KEY: '${input:perplexity-key}',
      PORTCULLIS_VAR_WORKSPACEFOLDER: '${workspaceFolder}'
    });
    expect(serversOf('vscode', result.clientAfter).portcullis!.env).toEqual(result.passedEnv);
    const servers = (parse(result.portcullisAfter) as { servers: Record<string, Entry> }).servers;
    expect(servers.github!.headers).toEqual({ Authorization: 'Bearer ${PORTCULLIS_VAR_INPUT_GITHUB_TOKEN}' });
    expect(servers.local_tools!.env).toEqual({ TOOLS_HOME: '${HOME}/.tools' });
    // Secrets behind an input are not in clear anywhere.
    expect(result.secrets).toEqual([]);
    expect(result.warnings.join('\n')).toContain(
      'the portcullis entry passes it in as PORTCULLIS_VAR_INPUT_GITHUB_TOKEN'
    );
  });

  it('keeps a literal ${...} literal for a client that expands nothing', () => {
    const dir = temp();
    const client = join(dir, 'claude_desktop_config.json');
    writeFileSync(
      client,
      JSON.stringify({ mcpServers: { t: { command: 'tool', args: ['--fmt=${name}', '$${x}'] } } }, null, 2)
    );
    const result = wrap(client, { portcullisConfig: join(dir, 'portcullis.yaml') });
    const config = loadConfig(result.portcullisPath, { env: {} });
    expect(config.servers.t).toMatchObject({ args: ['--fmt=${name}', '$${x}'] });
  });

  it('moves only the servers asked for, and keeps the others in the client', () => {
    const { client, yaml } = copyFixture('cursor');
    const result = wrap(client, { portcullisConfig: yaml, only: ['context7', 'linear'] });
    expect(Object.keys(serversOf('cursor', result.clientAfter))).toEqual([
      'portcullis',
      'playwright',
      'supabase',
      'workspace-files'
    ]);
    expect(Object.keys((parse(result.portcullisAfter) as { servers: object }).servers)).toEqual([
      'context7',
      'linear'
    ]);
    // Later, the rest joins the same gateway entry.
    const rest = wrap(client, { portcullisConfig: yaml });
    expect(rest.moved.map((m) => m.from)).toEqual(['playwright', 'supabase', 'workspace-files']);
    expect(Object.keys(serversOf('cursor', rest.clientAfter))).toEqual(['portcullis']);
    expect(serversOf('cursor', rest.clientAfter).portcullis!.env).toEqual({
      PORTCULLIS_VAR_WORKSPACEFOLDER: '${workspaceFolder}'
    });
  });

  it('starts portcullis the way it is told to', () => {
    const { client, yaml } = copyFixture('claude-code');
    const command = {
      command: '/usr/bin/node',
      args: ['/opt/portcullis/dist/cli.js', 'stdio', '--config', yaml]
    };
    const result = wrap(client, { portcullisConfig: yaml, command });
    expect(serversOf('claude-code', result.clientAfter).portcullis).toMatchObject({
      type: 'stdio',
      ...command
    });
  });

  it('keeps the indentation and line endings of the client file', () => {
    const dir = temp();
    const original = JSON.parse(readFileSync(join(FIXTURES, FIXTURE.cursor), 'utf8')) as object;
    const yaml = join(dir, 'portcullis.yaml');
    for (const [name, text] of [
      ['tabs.json', JSON.stringify(original, null, '\t') + '\n'],
      ['four.json', JSON.stringify(original, null, 4)],
      ['crlf.json', JSON.stringify(original, null, 2).replace(/\n/g, '\r\n') + '\r\n'],
      ['one-line.json', JSON.stringify(original)]
    ] as const) {
      const file = join(dir, name);
      writeFileSync(file, text);
      const after = wrap(file, { portcullisConfig: join(dir, `${name}.yaml`), format: 'cursor' }).clientAfter;
      if (name === 'tabs.json')
        expect(after).toMatch(/^\{\n\t"mcpServers": \{\n\t\t"portcullis": \{\n\t\t\t"command"/);
      if (name === 'four.json')
        expect(after).toMatch(/^\{\n {4}"mcpServers": \{\n {8}"portcullis": \{\n {12}"command"/);
      if (name === 'crlf.json') expect(after.replace(/\r\n/g, '')).not.toContain('\n');
      if (name === 'one-line.json') expect(after).not.toContain('\n');
      expect(serversOf('cursor', after).portcullis?.command).toBe('npx');
    }
    expect(existsSync(yaml)).toBe(false);
  });

  it('merges into an existing portcullis.yaml and keeps its comments and lines', () => {
    const { client, yaml } = copyFixture('claude-code');
    const existing = [
      '# My gateway. Keep this comment.',
      'servers:',
      '  # The team wiki',
      '  wiki:',
      '    url: https://wiki.example.com/mcp # internal',
      '',
      'auth:',
      '  stdio: { identity: me, roles: [admin] }',
      'rules:',
      '  - tool: search # everyone searches',
      "    allowed_roles: ['*']",
      ''
    ].join('\n');
    writeFileSync(yaml, existing);
    const result = wrap(client, { portcullisConfig: yaml });
    const after = readFileSync(yaml, 'utf8');
    // Only lines were added: every original line is still there, in order.
    expect(result.diff.split(`+++ ${yaml}`)[1]).not.toMatch(/^-/m);
    expect(after.split('\n').filter((l) => existing.split('\n').includes(l))).toEqual(existing.split('\n'));
    const config = loadAsGateway('claude-code', result);
    expect(Object.keys(config.servers)).toEqual([
      'wiki',
      'sentry',
      'asana',
      'airtable',
      'dbhub',
      'internal-api'
    ]);
    expect(result.warnings.join('\n')).not.toContain('created from the starter');
  });

  it('warns when the gateway would refuse the existing portcullis.yaml for its permissions', () => {
    const { client, yaml } = copyFixture('cursor');
    writeFileSync(yaml, 'auth:\n  stdio: { identity: me, roles: [admin] }\n');
    chmodSync(yaml, 0o664);
    const result = wrap(client, { portcullisConfig: yaml, dryRun: true });
    expect(result.warnings.join('\n')).toContain(
      `the gateway will refuse to start until this is fixed: ${yaml}`
    );
  });

  it('adds a server that is already in portcullis.yaml with the same settings only once', () => {
    const { client, yaml } = copyFixture('claude-desktop');
    writeFileSync(
      yaml,
      'servers:\n  sqlite:\n    args: [mcp-server-sqlite, --db-path, /Users/alice/data/analytics.db]\n    command: uvx\n'
    );
    const result = wrap(client, { portcullisConfig: yaml });
    expect(result.moved.find((m) => m.from === 'sqlite')).toMatchObject({ to: 'sqlite', alreadyThere: true });
    expect(readFileSync(yaml, 'utf8').match(/^ {2}sqlite:/gm)).toHaveLength(1);
  });

  it('tells the format from the content when the name does not', () => {
    const dir = temp();
    const file = join(dir, 'servers.json');
    cpSync(join(FIXTURES, FIXTURE['claude-code']), file);
    const result = wrap(file, { portcullisConfig: join(dir, 'portcullis.yaml'), dryRun: true });
    expect(result.format).toBe('claude-code');
    expect(result.warnings[0]).toMatch(/read as a Claude Code config \(from its content\)/);
  });
});

describe('wrap and unwrap: refusals', () => {
  it('refuses an unknown format', () => {
    const { client, yaml } = copyFixture('cursor');
    expect(() => wrap(client, { portcullisConfig: yaml, format: 'zed' as ClientFormat })).toThrow(
      /unknown client format "zed"; expected one of claude-desktop, cursor, vscode, claude-code/
    );
    const dir = temp();
    const other = join(dir, 'settings.json');
    writeFileSync(other, '{ "editor.fontSize": 14 }\n');
    expect(() => wrap(other, { portcullisConfig: yaml })).toThrow(/cannot tell which MCP client/);
  });

  it('refuses malformed JSON with the file, line and column', () => {
    const dir = temp();
    const file = join(dir, 'claude_desktop_config.json');
    writeFileSync(file, '{\n  "mcpServers": {\n    "a": { "command": "x" }\n    "b": {}\n  }\n}\n');
    let error: unknown;
    try {
      wrap(file, { portcullisConfig: join(dir, 'portcullis.yaml') });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SetupError);
    expect((error as SetupError).message).toBe(`${file}:4:5: invalid JSON: expected ",", found "\\""`);
    expect((error as SetupError).file).toBe(file);
    expect(readdirSync(dir)).toEqual(['claude_desktop_config.json']);
  });

  it('refuses a server name that portcullis.yaml holds with other settings, and writes nothing', () => {
    const { dir, client, yaml } = copyFixture('claude-desktop');
    writeFileSync(yaml, 'servers:\n  github:\n    command: my-own-github-server\n');
    const files = snapshot(dir);
    expect(() => wrap(client, { portcullisConfig: yaml })).toThrow(
      /already has a different server named "github"; rename it there or in .*claude_desktop_config\.json/
    );
    expect(snapshot(dir)).toEqual(files);
  });

  it('refuses a servers entry portcullis.yaml would not load', () => {
    const dir = temp();
    const client = join(dir, '.mcp.json');
    writeFileSync(
      client,
      JSON.stringify({ mcpServers: { ws: { type: 'http', url: 'ws://localhost:9000' } } })
    );
    expect(() => wrap(client, { portcullisConfig: join(dir, 'portcullis.yaml') })).toThrow(
      /would not be a valid configuration:\n.*servers\.ws\.url: expected an http: or https: URL/
    );
  });

  it('refuses a client whose portcullis entry uses another config', () => {
    const { client, yaml } = copyFixture('cursor');
    wrap(client, { portcullisConfig: yaml, only: ['linear'] });
    expect(() => wrap(client, { portcullisConfig: join(dirname(yaml), 'other.yaml') })).toThrow(
      /already runs Portcullis with .*portcullis\.yaml; wrap into that file instead/
    );
  });

  it('refuses names in --only that the client does not have', () => {
    const { client, yaml } = copyFixture('cursor');
    expect(() => wrap(client, { portcullisConfig: yaml, only: ['nope'] })).toThrow(
      /no server "nope" to wrap \(servers: playwright, supabase, workspace-files, context7, linear\)/
    );
  });

  it('never overwrites a backup; unwrap restores the newest', () => {
    const { client, yaml } = copyFixture('vscode');
    const before = readFileSync(client, 'utf8');
    writeFileSync(`${client}.portcullis-backup`, 'an older backup\n');
    const result = wrap(client, { portcullisConfig: yaml });
    expect(result.backup).toBe(`${client}.portcullis-backup.2`);
    expect(readFileSync(`${client}.portcullis-backup`, 'utf8')).toBe('an older backup\n');
    expect(unwrap(client).restored).toBe(`${client}.portcullis-backup.2`);
    expect(readFileSync(client, 'utf8')).toBe(before);
  });

  it('unwrap refuses when there is no backup', () => {
    const dir = temp();
    const client = join(dir, '.cursor', 'mcp.json');
    mkdirSync(dirname(client));
    writeFileSync(client, '{ "mcpServers": {} }\n');
    expect(() => unwrap(client)).toThrow(/no backup of .*mcp\.json to restore/);
  });

  it('refuses a client config with no servers', () => {
    const dir = temp();
    const client = join(dir, '.mcp.json');
    writeFileSync(client, '{ "mcpServers": {} }\n');
    expect(() => wrap(client, { portcullisConfig: join(dir, 'p.yaml') })).toThrow(/no servers to wrap/);
    writeFileSync(client, '{ "projects": {} }\n');
    expect(() => wrap(client, { portcullisConfig: join(dir, 'p.yaml') })).toThrow(
      /no "mcpServers" in this Claude Code config/
    );
  });
});
