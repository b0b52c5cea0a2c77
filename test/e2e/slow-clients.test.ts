/**
 * Slow clients: an agent that sends calls and never reads the answers cannot make the gateway
 * hold more than a bounded amount, and other agents are served meanwhile. Over HTTP the bound is
 * `limits.max_requests_per_identity` (an unread response keeps its request open); over stdio it
 * is the requests in flight and a paused stdin. Memory is read from the gateway process after
 * garbage collection (bench/support/memory-probe.mjs); the assertions are on amounts, not time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  ANALYST_TOKEN,
  CLI,
  FIXTURES,
  NODE,
  ROOT,
  connect,
  freePort,
  readAudit,
  tempDir,
  tryCall,
  waitFor
} from '../helpers.js';

const PROBE = join(ROOT, 'bench/support/memory-probe.mjs');
const FAULTY = join(FIXTURES, 'faulty-server.mjs');
const MiB = 1024 * 1024;
/** Each call echoes this much text back. */
const ANSWER_BYTES = 512 * 1024;
/** Calls the slow agent sends without reading. */
const FLOOD = 60;

interface Memory {
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}
/** What the gateway holds in JavaScript: the heap, and buffers outside it. */
const held = (m: Memory) => m.heapUsed + m.external;

const children: ChildProcess[] = [];
const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** Start the gateway CLI with the memory probe; `memory()` asks it for a sample after GC. */
function startMeasured(args: string[], cwd: string, stdio: 'pipe' | 'ignore' = 'ignore') {
  const probeFile = join(cwd, 'memory.jsonl');
  const child = spawn(NODE, ['--expose-gc', '--import', PROBE, CLI, ...args], {
    cwd,
    env: { ...process.env, MEMORY_PROBE_FILE: probeFile },
    stdio: [stdio, stdio, 'pipe']
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
  const samples = () =>
    existsSync(probeFile) ? readFileSync(probeFile, 'utf8').split('\n').filter(Boolean) : [];
  const memory = async (): Promise<Memory> => {
    const before = samples().length;
    child.kill('SIGUSR2');
    await waitFor(() => samples().length > before, 10_000, 'a memory sample');
    return JSON.parse(samples().at(-1)!) as Memory;
  };
  return { child, memory, stderr: () => stderr };
}

/** Sample memory until `settled()` holds; the largest amount held at any sample. */
async function peakWhile(memory: () => Promise<Memory>, settled: () => boolean): Promise<number> {
  let peak = 0;
  let calm = 0;
  for (let i = 0; i < 120 && calm < 3; i++) {
    peak = Math.max(peak, held(await memory()));
    calm = settled() ? calm + 1 : 0;
    await new Promise((r) => setTimeout(r, 500));
  }
  return peak;
}

const echoCall = (id: number) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'f__echo', arguments: { text: 'x'.repeat(ANSWER_BYTES) } }
  });

describe('an HTTP agent that sends calls and never reads the answers', () => {
  it('with max_requests_per_identity, takes on at most half of the calls and a bounded amount of memory, and serves other agents meanwhile', async () => {
    const dir = tempDir();
    const file = join(dir, 'portcullis.yaml');
    const cap = 4;
    writeFileSync(
      file,
      `servers:
  f: { command: ${NODE}, args: ["${FAULTY}"] }
auth:
  tokens:
    - { id: slow, identity: slow, roles: [user], token: ${ADMIN_TOKEN} }
    - { id: other, identity: other, roles: [user], token: ${ANALYST_TOKEN} }
audit: { path: ./audit.jsonl }
limits: { max_requests_per_identity: ${cap} }
rules:
  - { tool: "*", allowed_roles: [user] }
`,
      { mode: 0o600 }
    );
    const port = await freePort();
    const gw = startMeasured(['serve', '--config', file, '--port', String(port)], dir);
    await waitFor(() => gw.stderr().includes('"msg":"serving"'), 20_000, 'serving');
    const url = `http://127.0.0.1:${port}/mcp`;

    // The slow agent opens its session properly, then stops reading.
    const slow = await connect(url, ADMIN_TOKEN, 'legacy');
    expect((await tryCall(slow, 'f__echo', { text: 'warm' })).ok).toBe(true);
    const session = (slow as unknown as { transport: { sessionId: string } }).transport.sessionId;
    const other = await connect(url, ANALYST_TOKEN, 'legacy');
    expect((await tryCall(other, 'f__echo', { text: 'warm' })).ok).toBe(true);
    const base = held(await gw.memory());

    for (let i = 0; i < FLOOD; i++) {
      const body = echoCall(100 + i);
      const socket = tcpConnect(port, '127.0.0.1');
      socket.pause(); // never reads a byte
      sockets.push(socket);
      socket.write(
        `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\n` +
          `Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n` +
          `Mcp-Session-Id: ${session}\r\nMcp-Protocol-Version: 2025-11-25\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
      );
    }
    const calls = () => readAudit(join(dir, 'audit.jsonl')).filter((r) => r.identity === 'slow').length;
    let last = -1;
    const peak = await peakWhile(gw.memory, () => {
      const n = calls();
      const same = n === last;
      last = n;
      return same;
    });

    // Bounded: the gateway took on only what the cap allows while the agent did not read (each
    // open request, plus the answers the kernel's socket buffers absorb, which release their slot),
    // and refused the rest; not the whole flood (measured: all 60 calls and ~130 MiB without the
    // cap, ~14 calls and ~12 MiB with it).
    expect(calls()).toBeGreaterThanOrEqual(cap);
    expect(calls()).toBeLessThanOrEqual(FLOOD / 2);
    expect(peak - base).toBeLessThan(cap * ANSWER_BYTES * 24);
    // Another agent is unaffected.
    const r = await tryCall(other, 'f__echo', { text: 'still served' });
    expect(r.ok && r.result.content?.[0]?.text).toBe('still served');
    // Once its connections go, the slow agent is served again.
    for (const s of sockets.splice(0)) s.destroy();
    await waitFor(async () => (await tryCall(slow, 'f__echo', { text: 'back' })).ok, 20_000, 'slots freed');
    await Promise.all([slow.close(), other.close()]);
  }, 120_000);
});

describe('a stdio agent that sends calls and never reads stdout', () => {
  it('stops taking more than it can answer, then answers every call once the agent reads', async () => {
    const dir = tempDir();
    const file = join(dir, 'portcullis.yaml');
    writeFileSync(
      file,
      `servers:
  f: { command: ${NODE}, args: ["${FAULTY}"] }
auth:
  stdio: { identity: local, roles: [user] }
audit: { path: ./audit.jsonl }
rules:
  - { tool: "*", allowed_roles: [user] }
`,
      { mode: 0o600 }
    );
    const gw = startMeasured(['stdio', '--config', file], dir, 'pipe');
    const { stdin, stdout } = gw.child as ChildProcess & {
      stdin: NodeJS.WritableStream;
      stdout: NodeJS.ReadableStream;
    };
    let out = '';
    const onData = (d: Buffer) => (out += d.toString());
    stdout.on('data', onData);
    const send = (line: string) => stdin.write(`${line}\n`);
    send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-11-25',
          capabilities: {},
          clientInfo: { name: 'slow', version: '1' }
        }
      })
    );
    await waitFor(() => out.includes('"id":1'), 20_000, 'initialize');
    send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'f__echo', arguments: { text: 'warm' } }
      })
    );
    await waitFor(() => out.includes('"id":2'), 20_000, 'warm-up call');
    const base = held(await gw.memory());

    // Stop reading, and write calls for as long as the gateway takes them.
    stdout.off('data', onData);
    stdout.pause();
    const total = 120;
    let written = 0;
    const writer = (async () => {
      for (let i = 0; i < total; i++) {
        if (!send(echoCall(100 + i))) await new Promise((r) => stdin.once('drain', r));
        written++;
      }
    })();
    let last = -1;
    const peak = await peakWhile(gw.memory, () => {
      const same = written === last;
      last = written;
      return same;
    });
    // Bounded: stdin was not read on while answers waited, so the writer is stuck part-way
    // (measured: 7 of 120 calls taken, ~10 MiB held; before, all 120 and growing with each).
    expect(written).toBeLessThan(total);
    expect(peak - base).toBeLessThan(96 * MiB);

    // The agent reads again: every call is answered, none lost.
    let answered = 0;
    let tail = '';
    stdout.on('data', (d: Buffer) => {
      const text = tail + d.toString();
      const lines = text.split('\n');
      tail = lines.pop() ?? '';
      answered += lines.filter((l) => l.includes('"result"')).length;
    });
    stdout.resume();
    await writer;
    await waitFor(() => answered === total, 60_000, 'every answer');
    stdin.end();
  }, 120_000);
});
