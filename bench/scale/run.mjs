#!/usr/bin/env node
/**
 * What does shared state cost, and what does a second replica buy? One run, one Redis, the same
 * echo upstream (bench/overhead/echo-stdio.mjs, one per replica) and the same policy, whose rule
 * puts a per-session cap, a rate limit and a risk weight on every call, so every call checks and
 * takes budgets in the store:
 *
 *   memory      one `portcullis serve` replica, state in memory (the embedded default)
 *   redis x1    one replica, state in Redis
 *   redis x2    two replicas, state in the same Redis; clients spread round-robin over both
 *
 * For `tools/call` it measures median and p99 latency with one session (sequential calls after
 * warm-up; memory vs redis x1 is the cost the store adds per call) and throughput with 16 and 64
 * concurrent sessions (each its own client, a fixed time each). redis-server must be installed.
 *
 *   npm run build && node bench/scale/run.mjs
 *
 * Environment: BENCH_SECONDS (per throughput level, default 3), BENCH_CALLS (latency samples,
 * default 1000), BENCH_WARMUP (default 200), BENCH_SESSIONS (default 16,64).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import {
  CLI,
  ECHO_STDIO as ECHO,
  NODE,
  freePort,
  start,
  stop,
  waitForOutput,
  workDir
} from '../support/processes.mjs';

const TOKEN = 'bench-token-0123456789abcdef';
const num = (name, dflt) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : dflt;
};
const SECONDS = num('BENCH_SECONDS', 3);
const CALLS = num('BENCH_CALLS', 1000);
const WARMUP = num('BENCH_WARMUP', 200);
const SESSIONS = (process.env.BENCH_SESSIONS ?? '16,64').split(',').map(Number).filter(Boolean);

const config = (state) => `
servers:
  echo: { command: ${NODE}, args: ["${ECHO}"] }
auth:
  tokens: [{ id: bench, identity: bench, roles: [agent], token: ${TOKEN} }]
${state}
audit: { path: ./audit.jsonl }
policy:
  risk: { budget: 100000000 }
limits: { max_sessions_per_identity: 1000 }
rules:
  - tool: echo
    allowed_roles: [agent]
    max_calls_per_session: 100000000
    rate_limit: 100000000/min
    risk: 1
`;

/** Start a process and wait for the output that says it serves. */
async function started(command, args, ready, what) {
  const child = start(command, args);
  await waitForOutput(child, ready, what);
  return child;
}

async function replica(name, state) {
  const dir = join(workDir(), `${name}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(dir);
  const file = join(dir, 'portcullis.yaml');
  writeFileSync(file, config(state), { mode: 0o600 });
  const port = await freePort();
  const args = [CLI, 'serve', '--config', file, '--port', String(port)];
  const child = await started(NODE, args, /"msg":"serving"/, name);
  return { url: `http://127.0.0.1:${port}/mcp`, child };
}

async function client(url) {
  const c = new Client({ name: 'bench', version: '1.0.0' });
  await c.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } }
    })
  );
  return c;
}

async function call(c) {
  const r = await c.callTool({ name: 'echo__echo', arguments: { text: 'hello from the scale benchmark' } });
  if (r.isError) throw new Error(`tool error: ${JSON.stringify(r.content)}`);
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function latency(url) {
  const c = await client(url);
  for (let i = 0; i < WARMUP; i++) await call(c);
  const samples = [];
  for (let i = 0; i < CALLS; i++) {
    const t = process.hrtime.bigint();
    await call(c);
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  await c.close();
  samples.sort((a, b) => a - b);
  return { median: quantile(samples, 0.5), p99: quantile(samples, 0.99) };
}

async function throughput(urls, sessions) {
  const clients = await Promise.all(
    Array.from({ length: sessions }, (_, i) => client(urls[i % urls.length]))
  );
  for (const c of clients) await call(c);
  let calls = 0;
  let errors = 0;
  const until = Date.now() + SECONDS * 1000;
  await Promise.all(
    clients.map(async (c) => {
      while (Date.now() < until) {
        try {
          await call(c);
          calls++;
        } catch {
          errors++;
        }
      }
    })
  );
  await Promise.all(clients.map((c) => c.close()));
  if (errors > 0) throw new Error(`${errors} calls failed`);
  return calls / SECONDS;
}

const redisPort = await freePort();
await started(
  'redis-server',
  [
    '--port',
    String(redisPort),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    workDir()
  ],
  /Ready to accept connections/,
  'redis-server'
);
const redisState = (prefix) =>
  `state: { store: redis, url: "redis://127.0.0.1:${redisPort}", prefix: "${prefix}" }`;

const rows = [];
const setups = [
  { name: 'memory', replicas: 1, state: () => 'state: { store: memory }' },
  { name: 'redis x1', replicas: 1, state: () => redisState('x1:') },
  { name: 'redis x2', replicas: 2, state: () => redisState('x2:') }
];
for (const setup of setups) {
  const rs = [];
  for (let i = 0; i < setup.replicas; i++)
    rs.push(await replica(setup.name.replace(/\W+/g, '-'), setup.state()));
  const urls = rs.map((r) => r.url);
  const lat = await latency(urls[0]);
  const row = { setup: setup.name, median: lat.median, p99: lat.p99 };
  for (const n of SESSIONS) row[`@${n}`] = await throughput(urls, n);
  rows.push(row);
  await Promise.all(rs.map((r) => stop(r.child)));
  process.stderr.write(`${setup.name} done\n`);
}

const fmt = (n, d = 3) => n.toFixed(d);
const header = ['setup', 'median ms', 'p99 ms', ...SESSIONS.map((n) => `calls/s @${n}`)];
const lines = [
  `| ${header.join(' | ')} |`,
  `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
  ...rows.map(
    (r) =>
      `| ${[r.setup, fmt(r.median), fmt(r.p99), ...SESSIONS.map((n) => fmt(r[`@${n}`], 0))].join(' | ')} |`
  )
];
const mem = rows.find((r) => r.setup === 'memory');
const one = rows.find((r) => r.setup === 'redis x1');
const two = rows.find((r) => r.setup === 'redis x2');
console.log(
  `bench/scale, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`
);
console.log(lines.join('\n'));
console.log(
  `\nRedis adds ${fmt(one.median - mem.median)} ms to the median call (memory ${fmt(mem.median)} ms).`
);
for (const n of SESSIONS) {
  console.log(
    `@${n} sessions: two replicas give ${fmt(two[`@${n}`] / one[`@${n}`], 2)}x the throughput of one (same Redis).`
  );
}
process.exit(0);
