#!/usr/bin/env node
/**
 * Memory per idle session: open N 2025-era Streamable HTTP sessions (initialize, then
 * notifications/initialized, each with its own Mcp-Session-Id) against one `portcullis serve`
 * process and leave them idle; report the gateway's RSS and V8 heap (after garbage collection,
 * read through bench/support/memory-probe.mjs) before, with the sessions open, and after they are
 * all ended by DELETE. The baseline is the same sessions against the official SDK's documented
 * stateful server (sdk-server.mjs: one McpServer and transport per session), same echo tool.
 *
 *   npm run build && node bench/sessions/run.mjs            # 10,000 sessions, about 2-4 minutes
 *   node bench/sessions/run.mjs --sessions 1000 --streams   # also hold a GET SSE stream each
 *
 * Options: --sessions (10000), --concurrency (32), --streams (each session also holds its
 * standalone GET stream open, as SDK clients do), --only portcullis|sdk, --json FILE.
 * Target: 10,000 idle sessions in under 1 GiB of gateway RSS.
 */
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import {
  CLI,
  ECHO_STDIO,
  MiB,
  NODE,
  ROOT,
  args,
  freePort,
  machine,
  mib,
  probe,
  startMeasured,
  stop,
  waitForOutput,
  workDir
} from '../support/processes.mjs';

const opts = args({ sessions: 10_000, concurrency: 32, streams: false, only: '', json: '' });
const TOKEN = 'sessions-token-0123456789abcdef';
const PROTOCOL = '2025-11-25';
const TARGET_BYTES = 1024 * MiB;

async function startPortcullis() {
  const dir = workDir();
  const file = join(dir, 'sessions.yaml');
  // A deployment's config (token auth, a rule, audit file, scanning at its defaults), with the
  // session limits raised for the benchmark.
  writeFileSync(
    file,
    `servers:
  echo:
    command: ${JSON.stringify(NODE)}
    args: [${JSON.stringify(ECHO_STDIO)}]
auth:
  tokens:
    - { id: bench, identity: bench, roles: [bench], token: ${TOKEN} }
audit: { path: ./sessions-audit.jsonl }
limits: { max_sessions: ${opts.sessions + 100}, max_sessions_per_identity: ${opts.sessions + 100} }
rules:
  - { id: echo, tool: echo, allowed_roles: [bench] }
`,
    { mode: 0o600 }
  );
  const port = await freePort();
  const child = startMeasured(CLI, ['serve', '--config', file, '--port', String(port)], { cwd: dir });
  await waitForOutput(child, /"msg":"serving"/, 'portcullis serve');
  return { child, url: `http://127.0.0.1:${port}/mcp`, headers: { Authorization: `Bearer ${TOKEN}` } };
}

async function startSdk() {
  const child = startMeasured(join(ROOT, 'bench/sessions/sdk-server.mjs'), ['0']);
  const [, port] = await waitForOutput(child, /^(\d+)\s*$/m, 'sdk-server');
  return { child, url: `http://127.0.0.1:${port}/mcp`, headers: {} };
}

/** fetch, tried again once when a kept-alive connection was closed just as it was reused. */
async function request(url, init) {
  try {
    return await fetch(url, init);
  } catch (err) {
    if (err?.cause?.code !== 'UND_ERR_SOCKET') throw err;
    return fetch(url, init);
  }
}

const post = (target, body, sessionId) =>
  request(target.url, {
    method: 'POST',
    headers: {
      ...target.headers,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      ...(sessionId ? { 'Mcp-Session-Id': sessionId, 'Mcp-Protocol-Version': PROTOCOL } : {})
    },
    body: JSON.stringify(body)
  });

/** One idle session: initialize, initialized, and optionally the standalone GET stream. */
async function openSession(target, streams) {
  const init = await post(target, {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: {
      protocolVersion: PROTOCOL,
      capabilities: {},
      clientInfo: { name: 'bench-sessions', version: '1.0.0' }
    }
  });
  const id = init.headers.get('mcp-session-id');
  const text = await init.text();
  if (!init.ok || !id) throw new Error(`initialize: HTTP ${init.status} ${text.slice(0, 200)}`);
  const done = await post(target, { jsonrpc: '2.0', method: 'notifications/initialized' }, id);
  await done.text();
  if (!done.ok) throw new Error(`initialized: HTTP ${done.status}`);
  let stream;
  if (streams) stream = await openStream(target, id);
  return { id, stream };
}

/**
 * The standalone GET event stream of a session, on its own connection (node:http, no pool: a
 * pool that scans its busy connections for a free one would make the client, not the server,
 * the slow part at thousands of streams). Resolves once the stream is open; `destroy()` ends it.
 */
function openStream(target, id) {
  const url = new URL(target.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        agent: false,
        headers: {
          ...target.headers,
          Accept: 'text/event-stream',
          'Mcp-Session-Id': id,
          'Mcp-Protocol-Version': PROTOCOL
        }
      },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`GET stream: HTTP ${res.statusCode}`));
        // Keep reading so the stream stays flowing; nothing arrives while the session is idle.
        res.resume();
        res.on('error', () => undefined);
        resolve(req);
      }
    );
    req.on('error', reject);
    req.end();
  });
}

async function closeSession(target, session) {
  session.stream?.destroy();
  const res = await request(target.url, {
    method: 'DELETE',
    headers: { ...target.headers, 'Mcp-Session-Id': session.id, 'Mcp-Protocol-Version': PROTOCOL }
  });
  await res.text();
}

async function pool(items, concurrency, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    })
  );
}

async function measure(name, startTarget) {
  const target = await startTarget();
  try {
    // Warm up: the first session starts the upstream and loads everything a session touches.
    const warm = await openSession(target, opts.streams);
    const list = await post(target, { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }, warm.id);
    await list.text();
    await closeSession(target, warm);
    const before = await probe(target.child);
    const started = performance.now();
    const sessions = new Array(opts.sessions);
    let last = Date.now();
    await pool(sessions, opts.concurrency, async (_, i) => {
      sessions[i] = await openSession(target, opts.streams);
      if (Date.now() - last > 5000) {
        last = Date.now();
        process.stdout.write(`  ${name}: ${i + 1} sessions open\n`);
      }
    });
    const openSeconds = (performance.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 2000));
    const open = await probe(target.child, 30_000);
    await pool(sessions, opts.concurrency, (s) => closeSession(target, s));
    await new Promise((r) => setTimeout(r, 2000));
    const closed = await probe(target.child, 30_000);
    return { name, before, open, closed, openSeconds };
  } finally {
    await stop(target.child);
  }
}

async function main() {
  console.log(
    `sessions: ${opts.sessions} idle 2025-era sessions${opts.streams ? ', each holding a GET stream' : ''}`
  );
  console.log(`machine: ${machine()}`);
  const targets = [
    ['portcullis', startPortcullis],
    ['sdk-server', startSdk]
  ].filter(([name]) => !opts.only || name.startsWith(opts.only));
  const results = [];
  for (const [name, startTarget] of targets) {
    console.log(`${name}: opening ${opts.sessions} sessions`);
    results.push(await measure(name, startTarget));
  }
  const n = opts.sessions;
  const kib = (bytes) => (bytes / 1024).toFixed(1);
  console.log('');
  console.log(
    '| server     | sessions | RSS before MiB | RSS open MiB | RSS/session KiB | heap before MiB | heap open MiB | heap/session KiB | heap after DELETE MiB | open s |'
  );
  console.log(
    '| ---------- | -------: | -------------: | -----------: | --------------: | --------------: | ------------: | ---------------: | --------------------: | -----: |'
  );
  for (const r of results) {
    console.log(
      `| ${r.name.padEnd(10)} | ${String(n).padStart(8)} | ${mib(r.before.rss).padStart(14)} | ${mib(r.open.rss).padStart(12)} | ${kib((r.open.rss - r.before.rss) / n).padStart(15)} | ${mib(r.before.heapUsed).padStart(15)} | ${mib(r.open.heapUsed).padStart(13)} | ${kib((r.open.heapUsed - r.before.heapUsed) / n).padStart(16)} | ${mib(r.closed.heapUsed).padStart(21)} | ${r.openSeconds.toFixed(1).padStart(6)} |`
    );
  }
  const gw = results.find((r) => r.name === 'portcullis');
  let ok = true;
  if (gw) {
    const projected = gw.before.rss + ((gw.open.rss - gw.before.rss) / n) * 10_000;
    ok = projected < TARGET_BYTES;
    console.log('');
    console.log(
      `target: 10,000 idle sessions under 1 GiB of gateway RSS: ${ok ? 'MET' : 'NOT MET'} ` +
        `(${mib(projected)} MiB${n === 10_000 ? '' : ', extrapolated from ' + n})`
    );
    console.log(
      `after DELETE of every session the heap is ${mib(gw.closed.heapUsed)} MiB (${mib(gw.before.heapUsed)} before): ` +
        `${gw.closed.heapUsed - gw.before.heapUsed < 0.05 * (gw.open.heapUsed - gw.before.heapUsed) + 2 * MiB ? 'released' : 'NOT released'}`
    );
  }
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ opts, machine: machine(), results }, null, 2));
  process.exit(ok ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
