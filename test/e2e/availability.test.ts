/**
 * A bad upstream never blocks the good ones: with one server that never answers and one whose
 * command does not exist, the first listing answers with the healthy server's tools within the
 * connect bound, /healthz names the servers that are down and why, calls to them fail with a clear
 * error that is audited, and a server that becomes available later is announced to every session
 * with `list_changed`, in both protocol eras.
 */
import type { ChildProcess } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  FIXTURES,
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
  // Warm: on a loaded machine a server's (and a client's) first exchange can take a second alone.
  const warm = new Client({ name: 'warm-up', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await warm.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port.trim()}/mcp`)));
  await warm.listTools();
  await warm.close();
  lateCommand = join(tempDir(), 'late-server.sh');
  gw = await startGateway(`
servers:
  recorder:
    url: http://127.0.0.1:${port.trim()}/mcp
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
async function announcedClient(mode: 'auto' | 'legacy') {
  const seen = { tools: 0 };
  const client = new Client(
    { name: 'availability-test', version: '1.0.0' },
    {
      versionNegotiation: { mode },
      listChanged: { tools: { autoRefresh: false, debounceMs: 0, onChanged: () => void seen.tools++ } }
    }
  );
  await client.connect(
    new StreamableHTTPClientTransport(new URL(gw.mcp), {
      requestInit: { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } }
    })
  );
  return { client, seen };
}

const toolNames = async (client: Client, timeout?: number) =>
  (await client.listTools(undefined, timeout ? { timeout } : {})).tools.map((t) => t.name);

describe('a server that never answers and one that cannot start', () => {
  let modern: Awaited<ReturnType<typeof announcedClient>>;
  let legacy: Awaited<ReturnType<typeof announcedClient>>;

  it('do not hold up the first listing: the healthy server answers within the connect bound', async () => {
    modern = await announcedClient('auto');
    legacy = await announcedClient('legacy');
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

  it('a server that becomes available later is announced to every session, in both eras', async () => {
    expect(await toolNames(modern.client)).not.toContain('late__pid');
    const before = { modern: modern.seen.tools, legacy: legacy.seen.tools };
    writeFileSync(lateCommand, `#!/bin/sh\nexec "${NODE}" "${join(FIXTURES, 'faulty-server.mjs')}"\n`);
    chmodSync(lateCommand, 0o755);
    await waitFor(
      () => modern.seen.tools > before.modern && legacy.seen.tools > before.legacy,
      20_000,
      'list_changed on both sessions'
    );
    expect(await toolNames(modern.client)).toContain('late__pid');
    expect(await toolNames(legacy.client)).toContain('late__pid');
    const health = gw.gateway.health().upstreams.late;
    expect(health).toMatchObject({ state: 'ready', down: false });
    expect(health?.error).toBeUndefined();
    await modern.client.close();
    await legacy.client.close();
  });
});
