/**
 * `isolation: session` through a running gateway (a `portcullis serve` process) with a real stdio
 * server that reports its own pid: each session its own process, never shared between sessions or
 * identities; processes stop when sessions end, idle out, or the gateway stops or dies; the
 * process bound refuses the next session cleanly, and says why in the audit log. Processes are
 * counted from /proc (children of the gateway), not from the gateway's own count.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  ANALYST_TOKEN,
  CLI,
  FIXTURES,
  NODE,
  freePort,
  readAudit,
  tempDir,
  tryCall,
  waitFor
} from '../helpers.js';

const SERVER = join(FIXTURES, 'pid-server.mjs');
/** The same tool in POSIX sh: hundreds of its processes start in no time. */
const SH_SERVER = join(FIXTURES, 'pid-server.sh');
const SH = `{ command: /bin/sh, args: ["${SH_SERVER}"], isolation: session`;
const PROCESSES_FULL = -32059;
const TOOL_BLOCKED = -32063;

interface Gateway {
  url: string;
  dir: string;
  child: ChildProcess;
  audit(): ReturnType<typeof readAudit>;
}

const started: Gateway[] = [];

async function startGateway(servers: string, limits = ''): Promise<Gateway> {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'tokens.yaml'),
    `tokens:
  - { id: alice, identity: alice, roles: [admin], token: ${ADMIN_TOKEN} }
  - { id: bob, identity: bob, roles: [analyst], token: ${ANALYST_TOKEN} }
`,
    { mode: 0o600 }
  );
  const file = join(dir, 'portcullis.yaml');
  writeFileSync(
    file,
    `servers:
${servers}
auth: { tokens: ./tokens.yaml }
audit: { path: ./audit.jsonl }
${limits}
rules:
  - { tool: "*", allowed_roles: [admin, analyst] }
`,
    { mode: 0o600 }
  );
  const port = await freePort();
  const child = spawn(NODE, [CLI, 'serve', '--config', file, '--port', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe']
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await waitFor(() => err.includes('"msg":"serving"'), 40_000, 'the gateway to serve');
  const gw = {
    url: `http://127.0.0.1:${port}/mcp`,
    dir,
    child,
    audit: () => readAudit(join(dir, 'audit.jsonl'))
  };
  started.push(gw);
  return gw;
}

afterAll(() => {
  for (const gw of started) if (gw.child.exitCode === null) gw.child.kill('SIGKILL');
});

/** Live (not zombie) processes whose parent is `ppid` and whose command line names a test server. */
function serverChildren(ppid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(parent) !== ppid || state === 'Z') continue;
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('pid-server.')) pids.push(Number(name));
    } catch {
      // Gone while we looked.
    }
  }
  return pids;
}

/** Is this process still running (not gone, not a zombie)? */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}

async function session(
  gw: Gateway,
  token: string
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client(
    { name: 'isolation-test', version: '1.0.0' },
    { versionNegotiation: { mode: 'legacy' } }
  );
  const transport = new StreamableHTTPClientTransport(new URL(gw.url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } }
  });
  await client.connect(transport);
  return { client, transport };
}

/** End a session as an agent does: DELETE it, then close the connection. */
async function end(s: { client: Client; transport: StreamableHTTPClientTransport }): Promise<void> {
  await s.transport.terminateSession();
  await s.client.close();
}

/**
 * A bare 2025-era session over HTTP, without a client library (hundreds of them cost the test
 * little): initialize, then `call` a tool, then `end` with DELETE.
 */
async function bareSession(gw: Gateway, token: string) {
  const headers: Record<string, string> = {
    Authorization: `Bearer ${token}`,
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream'
  };
  let id = 0;
  const post = async (body: Record<string, unknown>) => {
    const res = await fetch(gw.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', ...body })
    });
    const text = await res.text();
    if (!res.ok && res.status !== 202) throw new Error(`${res.status}: ${text}`);
    return { res, text };
  };
  const init = await post({
    id: ++id,
    method: 'initialize',
    params: {
      protocolVersion: '2025-11-25',
      capabilities: {},
      clientInfo: { name: 'bare', version: '1.0.0' }
    }
  });
  headers['Mcp-Session-Id'] = init.res.headers.get('mcp-session-id')!;
  headers['Mcp-Protocol-Version'] = '2025-11-25';
  await post({ method: 'notifications/initialized' });
  return {
    /** The pid the tool answers with. */
    async whoami(): Promise<number> {
      const { text } = await post({
        id: ++id,
        method: 'tools/call',
        params: { name: 'iso__whoami', arguments: {} }
      });
      // A JSON body, or an event stream whose data line is the response.
      const json = text.startsWith('{') ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? '');
      const answer = JSON.parse(json) as { result?: { content: Array<{ text: string }> }; error?: unknown };
      if (!answer.result) throw new Error(`iso__whoami: ${JSON.stringify(answer.error)}`);
      return Number(answer.result.content[0]!.text);
    },
    async end(): Promise<void> {
      const res = await fetch(gw.url, { method: 'DELETE', headers });
      await res.body?.cancel();
      expect(res.status).toBe(200);
    }
  };
}

async function whoami(client: Client, tool = 'iso__whoami'): Promise<number> {
  const r = await tryCall(client, tool, {});
  if (!r.ok) throw new Error(`${tool}: ${r.code} ${r.message}`);
  return Number(r.result.content?.[0]?.text);
}

describe.skipIf(process.platform !== 'linux')('isolation: session', () => {
  it('gives 200 sessions of two identities each its own process, and stops every one when its session ends', async () => {
    const gw = await startGateway(`  iso: ${SH} }`, 'limits: { max_upstream_processes: 20 }');
    const gateway = gw.child.pid!;
    const baseline = serverChildren(gateway).length;
    expect(baseline).toBe(0);
    const seen = new Map<number, string>();
    const BATCH = 10;
    for (let round = 0; round < 200 / BATCH; round++) {
      const batch = await Promise.all(
        Array.from({ length: BATCH }, async (_, i) => {
          const who = i % 2 === 0 ? 'alice' : 'bob';
          const s = await bareSession(gw, who === 'alice' ? ADMIN_TOKEN : ANALYST_TOKEN);
          const pid = await s.whoami();
          // A second call in the session reaches the same process.
          expect(await s.whoami()).toBe(pid);
          return { s, pid, who };
        })
      );
      // Open at once, the batch's sessions (five of each identity) see ten different processes,
      // each a child of the gateway.
      const pids = batch.map((b) => b.pid);
      expect(new Set(pids).size).toBe(BATCH);
      const children = serverChildren(gateway);
      for (const pid of pids) expect(children).toContain(pid);
      for (const { pid, who } of batch) {
        expect(seen.has(pid) && seen.get(pid) !== who, `pid ${pid} served both identities`).toBe(false);
        seen.set(pid, who);
      }
      await Promise.all(batch.map((b) => b.s.end()));
    }
    await waitFor(() => serverChildren(gateway).length === baseline, 20_000, 'every session process to stop');
    const opened = gw.audit().filter((r) => r.event === 'tools/call' && r.outcome === 'ok');
    expect(opened.length).toBe(400);
  }, 180_000);

  it('refuses the session past limits.max_upstream_processes cleanly, audits why, and admits it once a session ends', async () => {
    const gw = await startGateway(`  iso: ${SH} }`, 'limits: { max_upstream_processes: 3 }');
    const holders = await Promise.all([0, 1, 2].map(() => session(gw, ADMIN_TOKEN)));
    const pids = await Promise.all(holders.map((h) => whoami(h.client)));
    expect(new Set(pids).size).toBe(3);
    const next = await session(gw, ANALYST_TOKEN);
    const refused = await tryCall(next.client, 'iso__whoami', {});
    expect(refused).toMatchObject({ ok: false, code: PROCESSES_FULL });
    expect(refused.ok || refused.message).toMatch(/too many upstream processes/);
    expect(serverChildren(gw.child.pid!)).toHaveLength(3);
    const health = (await (await fetch(gw.url.replace(/\/mcp$/, '/healthz'))).json()) as {
      processes: unknown;
      upstreams: Record<string, unknown>;
    };
    expect(health.processes).toEqual({ running: 3, max: 3 });
    expect(health.upstreams.iso).toMatchObject({ session_processes: 3 });
    // The session's listing leaves the server out instead of failing.
    const listed = await next.client.request({ method: 'tools/list', params: {} });
    expect((listed as { tools: unknown[] }).tools).toEqual([]);
    await waitFor(
      () => gw.audit().some((r) => r.event === 'upstream/refused'),
      5000,
      'the refusal to be audited'
    );
    const record = gw.audit().find((r) => r.event === 'upstream/refused')!;
    expect(record).toMatchObject({
      identity: 'bob',
      server: 'iso',
      decision: 'deny',
      outcome: 'denied',
      code: 'upstream_processes_full'
    });
    expect(record.reason).toMatch(/max_upstream_processes \(3\)/);
    expect(gw.audit().find((r) => r.event === 'tools/call' && r.outcome === 'denied')).toMatchObject({
      identity: 'bob',
      code: 'upstream_processes_full'
    });
    // A session ends: its process stops, and the refused session gets one of its own.
    await end(holders[0]!);
    await waitFor(() => !alive(pids[0]!), 10_000, 'the ended session process to stop');
    // The gateway counts the process gone when it has seen it exit, which can come a moment after.
    await waitFor(
      async () => {
        const h = (await (await fetch(gw.url.replace(/\/mcp$/, '/healthz'))).json()) as {
          processes: { running: number };
        };
        return h.processes.running === 2;
      },
      10_000,
      'the gateway to count the ended process gone'
    );
    const own = await whoami(next.client);
    expect(pids).not.toContain(own);
    await Promise.all([...holders.slice(1), next].map(end));
  }, 60_000);

  it('stops a process idle for idle_timeout; the session’s next call starts a new one', async () => {
    const gw = await startGateway(`  iso: ${SH}, idle_timeout: 1s }`);
    const s = await session(gw, ADMIN_TOKEN);
    const first = await whoami(s.client);
    expect(alive(first)).toBe(true);
    await waitFor(() => !alive(first), 15_000, 'the idle process to stop');
    expect(serverChildren(gw.child.pid!)).toEqual([]);
    const second = await whoami(s.client);
    expect(second).not.toBe(first);
    await end(s);
  }, 60_000);

  it('names a command that does not exist as such', async () => {
    const gw = await startGateway(`  ghost: { command: /nonexistent/portcullis-ghost, isolation: session }`);
    const s = await session(gw, ADMIN_TOKEN);
    expect(await tryCall(s.client, 'ghost__x', {})).toMatchObject({ ok: false, code: -32056 });
    await waitFor(() => gw.audit().some((r) => r.event === 'tools/call'), 5000);
    expect(gw.audit().find((r) => r.event === 'tools/call')!.reason).toMatch(
      /command not found \(\/nonexistent\/portcullis-ghost\)/
    );
    await end(s);
  }, 60_000);

  it('withholds a tool a session’s process lists differently from the pinned one', async () => {
    const descriptionFile = join(tempDir(), 'description.txt');
    const gw = await startGateway(
      `  iso: { command: ${NODE}, args: ["${SERVER}"], isolation: session, env: { DESCRIBE_FILE: "${descriptionFile}" } }`
    );
    const first = await session(gw, ADMIN_TOKEN);
    const pinned = (await first.client.request({ method: 'tools/list', params: {} })) as {
      tools: Array<{ name: string }>;
    };
    expect(pinned.tools.map((t) => t.name)).toEqual(['iso__whoami']);
    // The next process describes its tool otherwise (harmless words: only the pin withholds it).
    writeFileSync(descriptionFile, 'Report the process id of the server.');
    const second = await session(gw, ADMIN_TOKEN);
    const listed = (await second.client.request({ method: 'tools/list', params: {} })) as {
      tools: unknown[];
    };
    expect(listed.tools).toEqual([]);
    const refused = await tryCall(second.client, 'iso__whoami', {});
    expect(refused).toMatchObject({ ok: false, code: TOOL_BLOCKED });
    await waitFor(() => gw.audit().some((r) => r.event === 'tools/call' && r.code === 'tool_blocked'), 5000);
    const record = gw.audit().find((r) => r.event === 'tools/call' && r.code === 'tool_blocked')!;
    expect(record.reason).toMatch(/changed|pin/i);
    // The first session's own process still lists what was pinned.
    expect(await whoami(first.client)).toBeGreaterThan(0);
    await Promise.all([first, second].map(end));
  }, 60_000);

  it('leaves no process behind when the gateway stops', async () => {
    const gw = await startGateway(`  iso: { command: ${NODE}, args: ["${SERVER}"], isolation: session }`);
    const sessions = await Promise.all([ADMIN_TOKEN, ANALYST_TOKEN, ADMIN_TOKEN].map((t) => session(gw, t)));
    const pids = await Promise.all(sessions.map((s) => whoami(s.client)));
    expect(pids.every(alive)).toBe(true);
    const exited = new Promise((resolve) => gw.child.once('exit', resolve));
    gw.child.kill('SIGTERM');
    await exited;
    await waitFor(() => !pids.some(alive), 10_000, 'every session process to be gone');
  }, 60_000);

  it.skipIf(!existsSync('/usr/bin/setpriv') && !existsSync('/bin/setpriv'))(
    'leaves no process behind when the gateway is killed, even one that ignores its stdin closing',
    async () => {
      const gw = await startGateway(
        `  iso: { command: ${NODE}, args: ["${SERVER}"], isolation: session, env: { LINGER: "1" } }`
      );
      const sessions = await Promise.all([ADMIN_TOKEN, ANALYST_TOKEN].map((t) => session(gw, t)));
      const pids = await Promise.all(sessions.map((s) => whoami(s.client)));
      expect(pids.every(alive)).toBe(true);
      const exited = new Promise((resolve) => gw.child.once('exit', resolve));
      gw.child.kill('SIGKILL');
      await exited;
      await waitFor(() => !pids.some(alive), 10_000, 'every session process to be gone');
    },
    60_000
  );
});
