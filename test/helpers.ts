/**
 * Shared helpers for end-to-end tests: real gateways on port 0, real MCP clients, real upstream
 * servers from npm, and readers for the audit log and the tee fixture's capture.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport, SSEClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { pino } from 'pino';
import { loadConfig } from '../src/config/index.js';
import { createGateway, type Gateway } from '../src/core/gateway.js';
import { serveHttp, type HttpHandle } from '../src/transports/http.js';
import { openSharedState } from '../src/state/open.js';
import type { AuditRecord } from '../src/audit/index.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(ROOT, 'dist', 'cli.js');
export const NODE = process.execPath;
export const FILESYSTEM = join(ROOT, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');
export const EVERYTHING = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
export const RECORDS = join(ROOT, 'dist/demo/records-server.js');
export const FIXTURES = join(ROOT, 'test/fixtures');
export const TEE = join(FIXTURES, 'tee-stdio.mjs');
export const INSPECTOR = join(ROOT, 'node_modules/@modelcontextprotocol/inspector-cli/build/cli.js');

export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
export const ANALYST_TOKEN = 'analyst-token-0123456789abcdef';
export const GUEST_TOKEN = 'guest-token-0123456789abcdef';

export function tempDir(prefix = 'portcullis-test-'): string {
  return realpathSync(mkdtempSync(join(tmpdir(), prefix)));
}

/** A data folder with public/ and private/ files, like the demo's. */
export function dataDir(): string {
  const dir = join(tempDir('portcullis-data-'), 'data');
  mkdirSync(join(dir, 'public'), { recursive: true });
  mkdirSync(join(dir, 'private'), { recursive: true });
  writeFileSync(join(dir, 'public', 'x.txt'), 'public contents\n');
  writeFileSync(join(dir, 'private', 'x.txt'), 'private contents\n');
  return dir;
}

export const tokensYaml = `
  tokens:
    - { id: admin, identity: alice, roles: [admin], token: ${ADMIN_TOKEN} }
    - { id: analyst, identity: bob, roles: [analyst], token: ${ANALYST_TOKEN} }
    - { id: guest, identity: gus, roles: [guest], token: ${GUEST_TOKEN} }
  stdio: { identity: local, roles: [analyst] }`;

export interface TestGateway {
  url: string;
  mcp: string;
  gateway: Gateway;
  http: HttpHandle;
  dir: string;
  auditPath: string;
  audit(): AuditRecord[];
  close(): Promise<void>;
}

/** Start a gateway in this process from YAML text, on a real socket on port 0. */
export async function startGateway(yaml: string, options: { port?: number } = {}): Promise<TestGateway> {
  const dir = tempDir();
  const file = join(dir, 'portcullis.yaml');
  writeFileSync(file, yaml);
  const config = loadConfig(file);
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  // The state the config names (memory, or Redis), opened as the CLI opens it.
  const gateway = createGateway({ config, log, state: await openSharedState(config.state, log) });
  const http = await serveHttp(gateway, log, { host: '127.0.0.1', port: options.port ?? 0 });
  return {
    url: http.url,
    mcp: `${http.url}/mcp`,
    gateway,
    http,
    dir,
    auditPath: config.audit.path,
    audit: () => readAudit(config.audit.path),
    async close() {
      await http.close();
      await gateway.close();
    }
  };
}

/**
 * The records of an audit file, read while the gateway may still be appending to it: a last line
 * without its newline is a record being written, left for the next read.
 */
export function readAudit(path: string): AuditRecord[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditRecord);
}

/** JSON-RPC requests a tee'd upstream received, by method. */
export function received(
  logFile: string,
  method?: string
): Array<{ method: string; params?: Record<string, unknown> }> {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { method: string; params?: Record<string, unknown> })
    .filter((m) => method === undefined || m.method === method);
}

export async function connect(
  mcp: string,
  token: string | undefined,
  mode: 'auto' | 'legacy' = 'auto'
): Promise<Client> {
  const client = new Client({ name: 'test-client', version: '1.0.0' }, { versionNegotiation: { mode } });
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  await client.connect(new StreamableHTTPClientTransport(new URL(mcp), { requestInit: { headers } }));
  return client;
}

/** A client transport that runs the built gateway as `portcullis stdio --config <file>`. */
export function stdioGateway(configFile: string, cwd?: string): StdioClientTransport {
  return new StdioClientTransport({
    command: NODE,
    args: [CLI, 'stdio', '--config', configFile],
    ...(cwd === undefined ? {} : { cwd }),
    stderr: 'pipe'
  });
}

export async function connectSse(base: string, token: string): Promise<Client> {
  const client = new Client({ name: 'test-sse-client', version: '1.0.0' });
  const headers = { Authorization: `Bearer ${token}` };
  await client.connect(
    new SSEClientTransport(new URL(`${base}/sse`), {
      requestInit: { headers },
      eventSourceInit: {
        fetch: (url, init) => fetch(url, { ...init, headers: { ...init?.headers, ...headers } })
      }
    })
  );
  return client;
}

/** Call a tool; resolve with the result, or with the JSON-RPC error it was refused with. */
export async function tryCall(
  client: Client,
  name: string,
  args: Record<string, unknown>
): Promise<
  | { ok: true; result: { content?: Array<{ text?: string }>; isError?: boolean } }
  | { ok: false; code: number; message: string; data?: unknown }
> {
  try {
    const result = (await client.request({ method: 'tools/call', params: { name, arguments: args } })) as {
      content?: Array<{ text?: string }>;
      isError?: boolean;
    };
    return { ok: true, result };
  } catch (err) {
    const e = err as { code: number; message: string; data?: unknown };
    return { ok: false, code: e.code, message: e.message, data: e.data };
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolvePort(port));
    });
  });
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}
): Promise<RunResult> {
  return new Promise((resolveRun) => {
    execFile(
      command,
      args,
      { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, timeout: options.timeout ?? 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolveRun({ code, stdout, stderr });
      }
    );
  });
}

/** The inspector CLI resolves its own package.json from the working directory's parent. */
export function inspector(args: string[]): Promise<RunResult> {
  return run(NODE, [INSPECTOR, '--cli', ...args], { cwd: join(ROOT, 'test') });
}

/** Wait until `check` returns true, polling; fails after `ms`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  ms = 10_000,
  what = 'condition'
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export { spawn };
