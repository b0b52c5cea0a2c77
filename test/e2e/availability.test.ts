/**
 * A bad upstream never blocks the good ones: with one server that never answers and one whose
 * command does not exist, the first listing answers with the healthy server's tools within the
 * connect bound, /healthz names the servers that are down and why, calls to them fail with a clear
 * error that is audited, and a server that becomes available later is announced to every session
 * with `list_changed`, in both protocol eras and over legacy SSE.
 */
import type { ChildProcess } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, SSEClientTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  FIXTURES,
  connect,
  NODE,
  spawn,
  startGateway,
  tempDir,
  tokensYaml,
  tryCall,
  waitFor,
  type TestGateway
} from '../helpers.js';

let gw: TestGateway;
/** The healthy server: a Streamable HTTP MCP server, up before the gateway starts. */
let recorder: ChildProcess;
/** A command that does not exist until the test writes it. */
let lateCommand: string;

beforeAll(async () => {
  recorder = spawn(NODE, [join(FIXTURES, 'header-recording-server.mjs'), join(tempDir(), 'headers.jsonl')], {
    stdio: ['ignore', 'pipe', 'inherit']
  });
  let port = '';
  recorder.stdout!.on('data', (d: Buffer) => (port += d.toString()));
  await waitFor(() => port.includes('\n'), 20_000, 'the healthy upstream');
  // Warm: on a loaded machine a process's first listing (its first HTTP client, first scan, first
  // audit write) can take seconds alone. A throwaway gateway lists the healthy server first.
  const url = `http://127.0.0.1:${port.trim()}/mcp`;
  const warm = await startGateway(`
servers:
  recorder: { url: ${url} }
auth:${tokensYaml}
rules:
  - { tool: "*", allowed_roles: [admin] }
`);
  const warmClient = await connect(warm.mcp, ADMIN_TOKEN);
  await warmClient.listTools();
  await warmClient.close();
  await warm.close();
  lateCommand = join(tempDir(), 'late-server.sh');
  gw = await startGateway(`
servers:
  recorder:
    url: ${url}
    connect_timeout_ms: 2000
  silent:
    command: ${NODE}
    args: ["${join(FIXTURES, 'silent-server.mjs')}"]
    connect_timeout_ms: 1000
  missing:
    command: /nonexistent/portcullis-test-binary
    connect_timeout_ms: 1000
  late:
    command: ${lateCommand}
auth:${tokensYaml}
rules:
  - tool: "*"
    allowed_roles: [admin]
`);
}, 60_000);

afterAll(async () => {
  await gw?.close();
  recorder?.kill();
});

/** A client that counts the tool-list changes the gateway announces to it. */
async function announcedClient(mode: 'auto' | 'legacy' | 'sse') {
  const seen = { tools: 0 };
  const client = new Client(
    { name: 'availability-test', version: '1.0.0' },
    {
      versionNegotiation: { mode: mode === 'auto' ? 'auto' : 'legacy' },
      listChanged: { tools: { autoRefresh: false, debounceMs: 0, onChanged: () => void seen.tools++ } }
    }
  );
  const headers = { Authorization: `Bearer ${ADMIN_TOKEN}` };
  await client.connect(
    mode === 'sse'
      ? new SSEClientTransport(new URL(`${gw.url}/sse`), {
          requestInit: { headers },
          eventSourceInit: {
            fetch: (url, init) => fetch(url, { ...init, headers: { ...init?.headers, ...headers } })
          }
        })
      : new StreamableHTTPClientTransport(new URL(gw.mcp), { requestInit: { headers } })
  );
  return { client, seen };
}

const toolNames = async (client: Client, timeout?: number) =>
  (await client.listTools(undefined, timeout ? { timeout } : {})).tools.map((t) => t.name);

describe('a server that never answers and one that cannot start', () => {
  let modern: Awaited<ReturnType<typeof announcedClient>>;
  let legacy: Awaited<ReturnType<typeof announcedClient>>;
  let sse: Awaited<ReturnType<typeof announcedClient>>;

  it('do not hold up the first listing: the healthy server answers within the connect bound', async () => {
    modern = await announcedClient('auto');
    legacy = await announcedClient('legacy');
    sse = await announcedClient('sse');
    // The longest connect bound is 2000 ms: the list must come before a deadline one second later.
    const names = await toolNames(modern.client, 3000);
    expect(names).toContain('recorder__whoami');
    expect(names.some((n) => /^(silent|missing|late)__/.test(n))).toBe(false);
    const listed = gw.audit().find((r) => r.event === 'tools/list');
    expect(listed?.error).toMatch(/^unavailable: .*silent/);
    expect(listed?.error).toMatch(/missing/);
  });

  it('are named in /healthz as down, with why', async () => {
    type Health = {
      ok: boolean;
      upstreams: Record<string, { state: string; down: boolean; error?: string }>;
    };
    let health: Health | undefined;
    await waitFor(
      async () => {
        const res = await fetch(`${gw.url}/healthz`);
        health = (await res.json()) as Health;
        return res.status === 200 && health.upstreams.silent?.down === true;
      },
      10_000,
      '/healthz to report the silent server'
    );
    expect(health!.ok).toBe(true);
    expect(health!.upstreams.silent?.error).toMatch(/connect timed out after 1000 ms/);
    expect(health!.upstreams.missing).toMatchObject({ down: true });
    expect(health!.upstreams.missing?.error).toMatch(/command not found.*ENOENT/);
    expect(health!.upstreams.recorder).toMatchObject({ state: 'ready', down: false });
    expect(health!.upstreams.recorder?.error).toBeUndefined();
  });

  it('are named in the admin API as unavailable, with why', async () => {
    const res = await fetch(`${gw.url}/admin/api/tools`, {
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` }
    });
    expect(res.status).toBe(200);
    const { tools } = (await res.json()) as {
      tools: Array<{ server: string; name: string; status: string; error?: string }>;
    };
    const entry = (server: string) => tools.find((t) => t.server === server);
    expect(entry('silent')).toMatchObject({ name: '*', status: 'unavailable' });
    expect(entry('silent')?.error).toMatch(/connect timed out after 1000 ms/);
    expect(entry('missing')).toMatchObject({ name: '*', status: 'unavailable' });
    expect(entry('missing')?.error).toMatch(/command not found/);
    expect(entry('recorder')).toMatchObject({ name: 'whoami' });
  });

  it('a listing after the first skips them at once', async () => {
    // Within one connect bound even though silent is retried in the background.
    const names = await toolNames(legacy.client, 1500);
    expect(names).toContain('recorder__whoami');
  });

  it('calls to them fail with a clear error, and are audited as faults', async () => {
    for (const server of ['silent', 'missing']) {
      const r = await tryCall(modern.client, `${server}__anything`, {});
      expect(r.ok, server).toBe(false);
      if (!r.ok) {
        expect(r.code).toBe(-32056);
        expect(r.message).toBe('upstream server unavailable');
      }
    }
    const audited = (server: string) =>
      gw.audit().find((r) => r.event === 'tools/call' && r.server === server);
    expect(audited('silent')).toMatchObject({ outcome: 'error', code: 'upstream_unavailable' });
    expect(audited('silent')?.reason).toMatch(/connect timed out after 1000 ms/);
    expect(audited('missing')).toMatchObject({ outcome: 'error', code: 'upstream_unavailable' });
    expect(audited('missing')?.reason).toMatch(/command not found/);
    // The healthy server still serves.
    expect((await tryCall(modern.client, 'recorder__whoami', {})).ok).toBe(true);
  });

  it('a server that becomes available later is announced to every session', async () => {
    expect(await toolNames(modern.client)).not.toContain('late__pid');
    const before = { modern: modern.seen.tools, legacy: legacy.seen.tools, sse: sse.seen.tools };
    writeFileSync(lateCommand, `#!/bin/sh\nexec "${NODE}" "${join(FIXTURES, 'faulty-server.mjs')}"\n`);
    chmodSync(lateCommand, 0o755);
    await waitFor(
      () =>
        modern.seen.tools > before.modern && legacy.seen.tools > before.legacy && sse.seen.tools > before.sse,
      20_000,
      'list_changed on every session'
    );
    for (const { client } of [modern, legacy, sse]) expect(await toolNames(client)).toContain('late__pid');
    const health = gw.gateway.health().upstreams.late;
    expect(health).toMatchObject({ state: 'ready', down: false });
    expect(health?.error).toBeUndefined();
  });

  it('a server that crashes is left out while it restarts, and announced when it is back', async () => {
    const restarts = gw.gateway.upstreams.get('late')!.restarts;
    const crash = await tryCall(modern.client, 'late__crash', {});
    expect(crash.ok).toBe(false);
    const before = legacy.seen.tools;
    // The crash dropped the connection: the restart waits out its backoff, and this listing does not.
    expect(await toolNames(legacy.client, 1500)).not.toContain('late__pid');
    await waitFor(() => legacy.seen.tools > before, 20_000, 'list_changed after the restart');
    expect(await toolNames(legacy.client)).toContain('late__pid');
    expect(gw.gateway.upstreams.get('late')!.restarts).toBeGreaterThan(restarts);
    for (const { client } of [modern, legacy, sse]) await client.close();
  });
});
