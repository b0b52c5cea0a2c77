/**
 * Running the official MCP conformance suite (@modelcontextprotocol/conformance) against an
 * upstream directly and through a real `portcullis serve` process, and reading its per-scenario
 * results. Used by conformance.test.ts; every process it starts is ended by `stop()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CLI, FIXTURES, NODE, ROOT, freePort, tempDir, waitFor } from '../helpers.js';

export const CONFORMANCE = join(ROOT, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
export const REFERENCE = join(FIXTURES, 'conformance-server.mjs');
export const TOKEN = 'conformance-token-0123456789abcdef';
export const GATEWAY_CLIENT = join(ROOT, 'test/conformance/gateway-client.mjs');
/** Client scenarios that apply to the gateway as a client of its upstreams (not its OAuth ones). */
export const CLIENT_SCENARIOS = [
  'initialize',
  'tools_call',
  'elicitation-sep1034-client-defaults',
  'sse-retry'
];

export type CheckStatus = 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';

export interface Check {
  id: string;
  name: string;
  status: CheckStatus;
  errorMessage?: string;
}

export interface ScenarioResult {
  scenario: string;
  /** True when the scenario has no failed check. */
  passed: boolean;
  checks: Check[];
}

const children = new Set<ChildProcess>();

function started(child: ChildProcess): ChildProcess & { output: () => string } {
  children.add(child);
  child.once('exit', () => children.delete(child));
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-32 * 1024));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return Object.assign(child, { output: () => out });
}

/** The reference upstream (test/fixtures/conformance-server.mjs) on a free port: its /mcp URL. */
export async function startReference(): Promise<string> {
  const child = started(spawn(NODE, [REFERENCE], { stdio: ['ignore', 'pipe', 'pipe'] }));
  await waitFor(() => /^\d+\n/.test(child.output()), 15_000, 'reference server');
  return `http://127.0.0.1:${Number(child.output().trim().split('\n')[0])}/mcp`;
}

/**
 * A `portcullis serve` process in front of `upstream`, with a policy that allows every tool to the
 * one token, and the upstream exposed under its own names. Returns its /mcp URL and the process.
 */
export async function startPortcullis(
  upstream: string,
  options: { namespace?: boolean; extra?: string } = {}
): Promise<{ url: string; dir: string; pid: number }> {
  const dir = tempDir('portcullis-conformance-');
  const file = join(dir, 'portcullis.yaml');
  writeFileSync(
    file,
    `servers:
  conformance:
    url: ${upstream}
${options.namespace === false ? '    namespace: false\n' : ''}auth:
  tokens:
    - { id: conformance, identity: conformance, roles: [tester], token: ${TOKEN} }
audit: { path: ./audit.jsonl }
rules:
  - { id: allow-all, tool: "*", allowed_roles: [tester] }
  - { id: all-prompts, prompt: "*", allowed_roles: [tester] }
  - { id: all-resources, resource: "**", allowed_roles: [tester] }
${options.extra ?? ''}`,
    { mode: 0o600 }
  );
  const port = await freePort();
  const child = started(
    spawn(NODE, [CLI, 'serve', '--config', file, '--port', String(port)], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe']
    })
  );
  await waitFor(() => child.output().includes('"msg":"serving"'), 20_000, 'portcullis serving').catch(
    (err: Error) => {
      throw new Error(`${err.message}\n${child.output()}`);
    }
  );
  return { url: `http://127.0.0.1:${port}/mcp`, dir, pid: child.pid! };
}

/**
 * The suite's client sends no credentials; this forwarder adds the gateway token to every request
 * and otherwise passes bytes through untouched, Host and Origin included, streams as they come.
 */
export async function startCredentialForwarder(target: string, token = TOKEN): Promise<string> {
  const to = new URL(target);
  const server: Server = createServer((req, res) => {
    const out = request(
      {
        host: to.hostname,
        port: to.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, authorization: `Bearer ${token}` }
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      }
    );
    out.on('error', () => res.destroy());
    res.on('close', () => out.destroy());
    req.pipe(out);
  });
  servers.add(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}${to.pathname}`;
}
const servers = new Set<Server>();

/** Run every server scenario (`--suite all`) against `url`; the checks of each scenario. */
export async function runSuite(url: string): Promise<Map<string, ScenarioResult>> {
  const out = tempDir('portcullis-conformance-results-');
  const child = started(
    spawn(NODE, [CONFORMANCE, 'server', '--url', url, '--suite', 'all', '-o', out], {
      cwd: out,
      stdio: ['ignore', 'pipe', 'pipe']
    })
  );
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const results = new Map<string, ScenarioResult>();
  for (const entry of readdirSync(out)) {
    // Result folders are server-<scenario>-<ISO timestamp>.
    const m = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(entry);
    if (!m) continue;
    const checks = JSON.parse(readFileSync(join(out, entry, 'checks.json'), 'utf8')) as Check[];
    results.set(m[1]!, {
      scenario: m[1]!,
      passed: !checks.some((c) => c.status === 'FAILURE'),
      checks
    });
  }
  if (results.size === 0) throw new Error(`conformance suite produced no results\n${child.output()}`);
  return results;
}

/**
 * Run one client scenario with the gateway as the client (gateway-client.mjs: Portcullis with the
 * scenario's server as its upstream, driven by an SDK client through it).
 */
export async function runClientScenario(scenario: string): Promise<ScenarioResult> {
  const out = tempDir('portcullis-conformance-client-');
  const child = started(
    spawn(
      NODE,
      [CONFORMANCE, 'client', '--command', `${NODE} ${GATEWAY_CLIENT}`, '--scenario', scenario, '-o', out],
      { cwd: out, stdio: ['ignore', 'pipe', 'pipe'] }
    )
  );
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const entry = readdirSync(out).find((e) => e.startsWith(`${scenario}-`));
  if (!entry) throw new Error(`client scenario ${scenario} produced no results\n${child.output()}`);
  const checks = JSON.parse(readFileSync(join(out, entry, 'checks.json'), 'utf8')) as Check[];
  return { scenario, passed: checks.length > 0 && !checks.some((c) => c.status === 'FAILURE'), checks };
}

/** The scenario names the installed suite knows (`conformance list --server`). */
export async function listScenarios(): Promise<string[]> {
  const child = started(
    spawn(NODE, [CONFORMANCE, 'list', '--server'], { stdio: ['ignore', 'pipe', 'pipe'] })
  );
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return child
    .output()
    .split('\n')
    .map((l) => /^\s+- (\S+)/.exec(l)?.[1])
    .filter((s): s is string => s !== undefined);
}

/** Failed checks of a scenario, as one line each. */
export function failures(result: ScenarioResult | undefined): string[] {
  return (result?.checks ?? [])
    .filter((c) => c.status === 'FAILURE')
    .map((c) => `${c.id}: ${c.errorMessage ?? c.name}`);
}

export async function stop(): Promise<void> {
  for (const server of servers) server.close();
  servers.clear();
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        })
    )
  );
}
