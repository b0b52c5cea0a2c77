#!/usr/bin/env node
/**
 * What does Portcullis cost per tool call? One run, one upstream (bench/overhead/echo-*.mjs: the
 * official SDK, one `echo` tool), reached through real MCP clients in every way a user might:
 *
 *   direct          the client spawns the echo server (stdio) or talks to its HTTP endpoint
 *   portcullis      `portcullis serve` / `portcullis stdio` with every check on: bearer token,
 *                   a role rule with a maxLength constraint, schema validation, audit file, scanning
 *   portcullis-off  the same with every check the config can turn off turned off
 *   supergateway    stdio upstream served as Streamable HTTP (stateful sessions)
 *   mcp-proxy       stdio upstream served as Streamable HTTP
 *
 * For `tools/call` echo it measures median and p99 latency (sequential calls after warm-up),
 * throughput with 1, 16 and 64 concurrent sessions (each its own client, a fixed time each), and
 * the peak RSS of the proxy process (VmHWM). Then it checks the targets and says which are met.
 *
 * Side by side: every variant is started first, then each measurement visits all of them in rounds
 * whose order changes (mirrored pairs, see `rotated`), so load from elsewhere on the machine falls
 * on every variant alike. Every variant uses the same SDK client; the comparisons with the plain
 * proxies use the same protocol era on the client side (supergateway's sessions are 2025-era only,
 * so Portcullis is measured with a 2025-era client too).
 *
 *   npm run build && node bench/overhead/run.mjs
 *
 * Environment: BENCH_SECONDS (per throughput level and variant, default 2), BENCH_CALLS (latency
 * samples per variant, default 500), BENCH_WARMUP (default 100), BENCH_ROUNDS (latency rounds,
 * default 10), BENCH_THROUGHPUT_ROUNDS (slots per throughput level, default 4),
 * BENCH_THROUGHPUT_WARMUP_MS (default 500), BENCH_SESSIONS (HTTP, default 1,16,64),
 * BENCH_STDIO_SESSIONS (default 1,16: each stdio session is two processes), BENCH_ONLY
 * (comma-separated `transport:name:upstream[:legacy]` prefixes, e.g. `http:direct,http:portcullis:stdio`),
 * BENCH_PROFILE=1 (run the Portcullis processes with --cpu-prof; profiles land in bench/overhead/profiles),
 * BENCH_BASELINE (another build's dist/cli.js, whose Portcullis rows are measured in the same run).
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import {
  CLI,
  ECHO_HTTP,
  ECHO_STDIO,
  NODE,
  ROOT,
  freePort,
  start,
  stop,
  stopAll,
  waitForOutput,
  workDir
} from '../support/processes.mjs';
import { configFeatures, writeBenchConfig } from '../support/configs.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));

const SUPERGATEWAY = join(ROOT, 'node_modules/supergateway/dist/index.js');
const MCP_PROXY = join(ROOT, 'node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs');
const TOKEN = 'bench-token-0123456789abcdef';

const num = (name, dflt) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : dflt;
};
const list = (name, dflt) =>
  (process.env[name] ?? dflt)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const SECONDS = num('BENCH_SECONDS', 2);
const CALLS = num('BENCH_CALLS', 500);
const WARMUP = num('BENCH_WARMUP', 100);
// Latency samples are taken in this many rounds, and each throughput level in this many slots per
// variant, the order of the variants changing from one round to the next (see `rotated`).
const ROUNDS = num('BENCH_ROUNDS', 10);
const THROUGHPUT_ROUNDS = num('BENCH_THROUGHPUT_ROUNDS', 4);
// Closed-loop calls on freshly opened sessions before a throughput level is timed.
const THROUGHPUT_WARMUP_MS = num('BENCH_THROUGHPUT_WARMUP_MS', 500);
const SESSIONS = list('BENCH_SESSIONS', '1,16,64').map(Number);
// A stdio session is a gateway process and its upstream child: 64 of them is 128 Node processes.
const STDIO_SESSIONS = list('BENCH_STDIO_SESSIONS', '1,16').map(Number);
const ONLY = process.env.BENCH_ONLY ? list('BENCH_ONLY', '') : undefined;
const PROFILE = process.env.BENCH_PROFILE === '1';
// Another build's dist/cli.js (say, of the main branch) to measure next to this one, in the same run.
const BASELINE = process.env.BENCH_BASELINE ? resolve(process.env.BENCH_BASELINE) : undefined;
const PAYLOAD = { text: 'hello from the overhead benchmark' };

async function waitForPort(port, child, what, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what}: exited with ${child.exitCode}\n${child.output}`);
    const ok = await new Promise((r) => {
      const s = netConnect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: port ${port} not open after ${ms} ms\n${child.output.slice(-2000)}`);
}

/** Peak resident set size of a process, in MiB (VmHWM), or undefined when it is gone. */
function peakRssMiB(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far, in ms, or undefined when it is gone. */
function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Portcullis configs

const work = workDir();

function portcullisConfig(name, { checks, upstream, features }) {
  const dir = join(work, name);
  return { file: writeBenchConfig(dir, { checks, upstream, token: TOKEN, features }), dir };
}

// ---------------------------------------------------------------------------------------------
// Variants: how to start the proxy, how to open one client session, which pids are the proxy.

const LEGACY_ERA = 'legacy';

const httpClient = async (url, { token, mode = 'auto' } = {}) => {
  const client = new Client({ name: 'bench', version: '1.0.0' }, { versionNegotiation: { mode } });
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
};

const stdioClient = async (command, args) => {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  const transport = new StdioClientTransport({ command, args, cwd: ROOT, stderr: 'ignore' });
  await client.connect(transport);
  return { client, pid: transport.pid };
};

async function startEchoHttp() {
  const child = start(NODE, [ECHO_HTTP, '0']);
  const [, port] = await waitForOutput(child, /^(\d+)\s*$/m, 'echo-http');
  return { child, url: `http://127.0.0.1:${port}/mcp` };
}

/** One echo HTTP server for every variant that reaches the HTTP upstream: the same process for all. */
let sharedEcho;
async function echoHttp() {
  sharedEcho ??= startEchoHttp();
  return sharedEcho;
}

async function startPortcullisServe(name, checks, upstream, features, cli = CLI) {
  const { file, dir } = portcullisConfig(name, { checks, upstream, features });
  const port = await freePort();
  const profDir = join(HERE, 'profiles', name);
  const nodeArgs = PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  if (PROFILE) mkdirSync(profDir, { recursive: true });
  const child = start(NODE, [...nodeArgs, cli, 'serve', '--config', file, '--port', String(port)], {
    cwd: dir,
    env: { PORTCULLIS_LOG_LEVEL: process.env.PORTCULLIS_LOG_LEVEL ?? 'info' }
  });
  await waitForOutput(child, /"msg":"serving"/, `portcullis serve (${name})`);
  return { child, url: `http://127.0.0.1:${port}/mcp` };
}

/**
 * Each variant: `transport`, `name`, `upstream`, `era` ('auto' lets the SDK client negotiate, which
 * gives 2026-07-28 wherever the server offers it; 'legacy' is the 2025 handshake), `tool` (the name
 * the client calls), `setup()` returning { open(): Promise<{ client, pid? }>, proxyPids(), teardown() }.
 */
function variants(features) {
  const all = [];
  // --- Streamable HTTP ---
  all.push({
    transport: 'http',
    name: 'direct',
    upstream: 'http',
    era: 'auto',
    tool: 'echo',
    async setup() {
      const echo = await echoHttp();
      return {
        open: async () => ({ client: await httpClient(echo.url) }),
        proxyPids: () => [],
        teardown: async () => undefined
      };
    }
  });
  const builds = [{ cli: CLI }, ...(BASELINE ? [{ cli: BASELINE, build: 'baseline' }] : [])];
  for (const [name, checks, upstreamKind, era, build] of [
    ['portcullis', true, 'http', 'auto'],
    ['portcullis', true, 'stdio', 'auto'],
    ['portcullis', true, 'stdio', LEGACY_ERA],
    ['portcullis-off', false, 'http', 'auto'],
    ...(BASELINE
      ? [
          ['portcullis', true, 'http', 'auto', builds[1]],
          ['portcullis', true, 'stdio', 'auto', builds[1]]
        ]
      : [])
  ]) {
    all.push({
      transport: 'http',
      name,
      upstream: upstreamKind,
      era,
      build: build?.build,
      tool: 'echo__echo',
      async setup() {
        const echo = upstreamKind === 'http' ? await echoHttp() : undefined;
        const gw = await startPortcullisServe(
          `${name}-${upstreamKind}${era === LEGACY_ERA ? '-legacy' : ''}${build ? '-baseline' : ''}`,
          checks,
          echo ? { kind: 'http', url: echo.url } : { kind: 'stdio' },
          features,
          build?.cli
        );
        return {
          open: async () => ({ client: await httpClient(gw.url, { token: TOKEN, mode: era }) }),
          proxyPids: () => [gw.child.pid],
          teardown: () => stop(gw.child)
        };
      }
    });
  }
  all.push({
    transport: 'http',
    name: 'supergateway',
    upstream: 'stdio',
    era: LEGACY_ERA,
    tool: 'echo',
    note: 'stateful sessions, so 2025-era clients (in 2026-07-28 mode it spawns the stdio server per request); compared with Portcullis under 2025-era clients too',
    async setup() {
      const port = await freePort();
      const child = start(NODE, [
        SUPERGATEWAY,
        '--stdio',
        `${JSON.stringify(NODE)} ${JSON.stringify(ECHO_STDIO)}`,
        '--outputTransport',
        'streamableHttp',
        '--stateful',
        '--port',
        String(port),
        '--logLevel',
        'none'
      ]);
      await waitForPort(port, child, 'supergateway');
      const url = `http://127.0.0.1:${port}/mcp`;
      return {
        open: async () => ({ client: await httpClient(url, { mode: LEGACY_ERA }) }),
        proxyPids: () => [child.pid],
        teardown: () => stop(child)
      };
    }
  });
  all.push({
    transport: 'http',
    name: 'mcp-proxy',
    upstream: 'stdio',
    era: 'auto',
    tool: 'echo',
    async setup() {
      const port = await freePort();
      const child = start(NODE, [
        MCP_PROXY,
        '--port',
        String(port),
        '--server',
        'stream',
        '--',
        NODE,
        ECHO_STDIO
      ]);
      await waitForPort(port, child, 'mcp-proxy');
      const url = `http://127.0.0.1:${port}/mcp`;
      return {
        open: async () => ({ client: await httpClient(url) }),
        proxyPids: () => [child.pid],
        teardown: () => stop(child)
      };
    }
  });
  // --- stdio ---
  all.push({
    transport: 'stdio',
    name: 'direct',
    upstream: 'stdio',
    era: 'auto',
    tool: 'echo',
    async setup() {
      return {
        open: () => stdioClient(NODE, [ECHO_STDIO]),
        proxyPids: () => [],
        teardown: async () => undefined
      };
    }
  });
  for (const [name, checks, build] of [
    ['portcullis', true],
    ['portcullis-off', false],
    ...(BASELINE ? [['portcullis', true, builds[1]]] : [])
  ]) {
    all.push({
      transport: 'stdio',
      name,
      upstream: 'stdio',
      era: 'auto',
      build: build?.build,
      tool: 'echo__echo',
      async setup() {
        const { file } = portcullisConfig(`${name}-stdio-downstream${build ? '-baseline' : ''}`, {
          checks,
          upstream: { kind: 'stdio' },
          features
        });
        const pids = new Set();
        return {
          open: async () => {
            const profDir = join(HERE, 'profiles', `${name}-stdio-downstream`);
            if (PROFILE) mkdirSync(profDir, { recursive: true });
            const nodeArgs = PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
            const cli = build?.cli ?? CLI;
            const session = await stdioClient(NODE, [...nodeArgs, cli, 'stdio', '--config', file]);
            pids.add(session.pid);
            session.onClose = () => pids.delete(session.pid);
            return session;
          },
          proxyPids: () => [...pids],
          // Each session's client closes its own gateway process, which reaps its upstream.
          teardown: async () => undefined
        };
      }
    });
  }
  for (const t of ['stdio']) {
    for (const name of ['supergateway', 'mcp-proxy']) {
      all.push({
        transport: t,
        name,
        unavailable:
          name === 'supergateway'
            ? 'supergateway converts between transports; stdio in and stdio out is not one of its modes'
            : 'mcp-proxy serves a stdio server over HTTP/SSE; its CLI has no stdio downstream'
      });
    }
  }
  return all.filter(
    (v) =>
      !ONLY ||
      ONLY.some((o) =>
        `${v.transport}:${v.name}:${v.upstream ?? ''}${v.era === LEGACY_ERA ? ':legacy' : ''}${v.build ? ':baseline' : ''}`.startsWith(
          o
        )
      )
  );
}

// ---------------------------------------------------------------------------------------------
// Measurements. Every variant is set up first; then each measurement visits the variants in turn,
// in rounds whose order changes (see `rotated`), so that whatever else the machine does during the run falls on
// all of them alike instead of on whichever happened to run at that moment.

async function call(client, tool) {
  const r = await client.callTool({ name: tool, arguments: PAYLOAD });
  if (r.isError || r.content?.[0]?.text !== PAYLOAD.text) {
    throw new Error(`unexpected result: ${JSON.stringify(r).slice(0, 300)}`);
  }
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/**
 * The order of round `r`: rounds come in mirrored pairs (A B C, then C B A) so that a load that
 * rises or falls steadily during the run weighs on every variant alike, and each pair starts one
 * place further along the list so that every variant leads now and then.
 */
const rotated = (list, r) => {
  const shift = Math.floor(r / 2);
  const order = list.map((_, i) => list[(i + shift) % list.length]);
  return r % 2 === 0 ? order : order.reverse();
};

/** Run `fn` on a variant, recording a failure on its row instead of ending the run. */
async function guarded(row, fn) {
  if (row.failed) return;
  try {
    await fn();
  } catch (err) {
    row.failed = err.message.split('\n').slice(0, 6).join(' | ');
  }
}

async function measureLatency(live) {
  const samples = new Map(live.map((x) => [x, []]));
  for (const x of live) {
    await guarded(x.row, async () => {
      [x.first] = await openSessions(x.v, x.h, 1);
      x.row.protocol = x.first.client.getNegotiatedProtocolVersion?.() ?? '?';
      for (let i = 0; i < WARMUP; i++) await call(x.first.client, x.v.tool);
    });
  }
  const perRound = Math.max(1, Math.ceil(CALLS / ROUNDS));
  for (let r = 0; r < ROUNDS; r++) {
    for (const x of rotated(live, r)) {
      await guarded(x.row, async () => {
        const out = samples.get(x);
        for (let i = 0; i < perRound; i++) {
          const t0 = performance.now();
          await call(x.first.client, x.v.tool);
          out.push(performance.now() - t0);
        }
      });
    }
  }
  for (const x of live) {
    if (x.first) await closeSessions([x.first]);
    const s = samples.get(x).sort((a, b) => a - b);
    if (!x.row.failed && s.length) x.row.latency = { median: quantile(s, 0.5), p99: quantile(s, 0.99) };
  }
}

/** Closed-loop calls on every session of one variant for `ms`; calls done and proxy CPU used. */
async function closedLoop(sessions, tool, pids, ms) {
  const cpuBefore = pids.map(cpuMs);
  let done = 0;
  let errors = 0;
  let firstError;
  const started = performance.now();
  const end = started + ms;
  await Promise.all(
    sessions.map(async ({ client }) => {
      while (performance.now() < end) {
        try {
          await call(client, tool);
          done++;
        } catch (err) {
          errors++;
          firstError ??= err;
        }
      }
    })
  );
  const elapsed = performance.now() - started;
  const cpu = pids.reduce((sum, pid, i) => sum + ((cpuMs(pid) ?? 0) - (cpuBefore[i] ?? 0)), 0);
  return { calls: done, elapsed, cpu, errors, firstError };
}

async function measureThroughput(live, n) {
  // Every variant's sessions are open (and warm) before the first one is timed.
  for (const x of live) {
    await guarded(x.row, async () => {
      x.sessions = await openSessions(x.v, x.h, n);
      // A stdio session is a fresh process of its own (gateway and upstream): give each one the
      // same warm-up the latency client had, not just a share of a short window.
      if (x.v.transport === 'stdio') {
        await Promise.all(
          x.sessions.map(async ({ client }) => {
            for (let i = 0; i < WARMUP; i++) await call(client, x.v.tool);
          })
        );
      }
      await closedLoop(x.sessions, x.v.tool, [], THROUGHPUT_WARMUP_MS);
      x.level = { calls: 0, elapsed: 0 };
    });
  }
  const slot = (SECONDS * 1000) / THROUGHPUT_ROUNDS;
  for (let r = 0; r < THROUGHPUT_ROUNDS; r++) {
    for (const x of rotated(live, r)) {
      if (!x.sessions) continue;
      await guarded(x.row, async () => {
        const t = await closedLoop(x.sessions, x.v.tool, x.h.proxyPids(), slot);
        x.level.calls += t.calls;
        x.level.elapsed += t.elapsed;
        if (x.h.proxyPids().length) {
          x.row.cpu = { ms: (x.row.cpu?.ms ?? 0) + t.cpu, calls: (x.row.cpu?.calls ?? 0) + t.calls };
        }
        if (t.errors) x.row.errors = `${t.errors} failed calls at ${n} sessions: ${t.firstError?.message}`;
      });
    }
  }
  for (const x of live) {
    if (!x.sessions) continue;
    if (!x.row.failed) {
      x.row.throughput ??= {};
      x.row.throughput[n] = x.level.calls / (x.level.elapsed / 1000);
    }
    // Read the peak while the processes are alive.
    const rss = x.h
      .proxyPids()
      .map(peakRssMiB)
      .filter((v) => v !== undefined);
    if (rss.length) x.row.rss = Math.max(x.row.rss ?? 0, ...rss);
    if (rss.length > 1) x.row.rssNote = `per process, max of ${rss.length}`;
    await closeSessions(x.sessions);
    x.sessions = undefined;
  }
}

/** Open `n` sessions, a few at a time (stdio sessions each start processes). */
async function openSessions(v, h, n) {
  const out = [];
  const batch = v.transport === 'stdio' ? 4 : 16;
  for (let i = 0; i < n; i += batch) {
    const opened = await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => h.open()));
    for (const s of opened) {
      await call(s.client, v.tool); // every session is live before the clock starts
      out.push(s);
    }
  }
  return out;
}

async function closeSessions(sessions) {
  await Promise.all(
    sessions.map(async (s) => {
      await s.client.close().catch(() => undefined);
      s.onClose?.();
    })
  );
}

async function runAll(list) {
  const rows = [];
  const live = [];
  for (const v of list) {
    const row = {
      transport: v.transport,
      name: v.name,
      upstream: v.upstream,
      era: v.era,
      build: v.build,
      note: v.note
    };
    rows.push(row);
    if (v.unavailable) {
      row.unavailable = v.unavailable;
      continue;
    }
    process.stderr.write(`starting ${label(row)} over ${v.transport}...\n`);
    try {
      live.push({ v, row, h: await v.setup() });
    } catch (err) {
      row.failed = err.message.split('\n').slice(0, 6).join(' | ');
    }
  }
  try {
    for (const transport of ['http', 'stdio']) {
      const group = live.filter((x) => x.v.transport === transport);
      if (group.length === 0) continue;
      process.stderr.write(`${transport}: latency, ${group.length} variants in ${ROUNDS} rounds...\n`);
      await measureLatency(group);
      for (const n of transport === 'stdio' ? STDIO_SESSIONS : SESSIONS) {
        process.stderr.write(`${transport}: throughput with ${n} sessions each...\n`);
        await measureThroughput(group, n);
      }
    }
  } finally {
    for (const x of live) await x.h.teardown().catch(() => undefined);
    if (sharedEcho) await stop((await sharedEcho).child);
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Report

const f = (x, digits = 3) => (x === undefined ? '—' : x.toFixed(digits));
const int = (x) => (x === undefined ? '—' : Math.round(x).toLocaleString('en-US'));

function label(r) {
  const up = r.upstream && r.name !== 'direct' ? `${r.upstream} upstream` : '';
  const era = r.era === LEGACY_ERA && r.name.startsWith('portcullis') ? '2025-era client' : '';
  const detail = [up, era, r.build ? `${r.build} build` : ''].filter(Boolean).join(', ');
  return `${r.name}${detail ? ` (${detail})` : ''}`;
}

function table(rows) {
  const levels = [...new Set([...SESSIONS, ...STDIO_SESSIONS])].sort((a, b) => a - b);
  const head = [
    'transport',
    'path',
    'protocol',
    'median ms',
    'p99 ms',
    ...levels.map((n) => `calls/s @${n}`),
    'proxy CPU µs/call',
    'proxy peak RSS MiB'
  ];
  const out = [`| ${head.join(' | ')} |`, `| ${head.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`];
  for (const r of rows) {
    if (r.unavailable || r.failed) {
      const why = r.unavailable ? `n/a: ${r.unavailable}` : `failed: ${r.failed}`;
      out.push(`| ${r.transport} | ${label(r)} | | ${why} |${' |'.repeat(head.length - 4)}`);
      continue;
    }
    const rss = r.name === 'direct' ? 'no proxy' : `${f(r.rss, 1)}${r.rssNote ? ` (${r.rssNote})` : ''}`;
    const cpu =
      r.cpu && r.cpu.calls > 0 ? int((r.cpu.ms * 1000) / r.cpu.calls) : r.name === 'direct' ? '—' : '?';
    out.push(
      `| ${r.transport} | ${label(r)} | ${r.protocol ?? '?'} | ${f(r.latency?.median)} | ${f(r.latency?.p99)} | ${levels
        .map((n) => (r.throughput?.[n] === undefined ? 'not run' : int(r.throughput[n])))
        .join(' | ')} | ${cpu} | ${rss} |`
    );
  }
  return out.join('\n');
}

function targets(rows) {
  const find = (transport, name, upstream, era = 'auto') =>
    rows.find(
      (r) =>
        r.transport === transport &&
        r.name === name &&
        (upstream === undefined || r.upstream === upstream) &&
        r.era === era &&
        !r.build &&
        r.latency
    );
  const lines = [];
  const verdict = (ok) => (ok ? 'MET' : 'NOT MET');
  for (const transport of ['http', 'stdio']) {
    const direct = find(transport, 'direct');
    // Same upstream transport as direct: HTTP direct talks to the echo HTTP server.
    const pc = find(transport, 'portcullis', transport === 'http' ? 'http' : 'stdio');
    if (!direct || !pc) {
      lines.push(`- ${transport}: not enough data for the latency and throughput targets`);
      continue;
    }
    const added = pc.latency.median - direct.latency.median;
    lines.push(
      `- ${transport}: Portcullis (all checks) adds ${f(added)} ms to the median over direct ` +
        `(${f(pc.latency.median)} vs ${f(direct.latency.median)}); target < 0.5 ms: ${verdict(added < 0.5)}` +
        (added < 0.5 ? '' : ` (misses by ${f(added - 0.5)} ms)`)
    );
    const top = Math.max(...(transport === 'stdio' ? STDIO_SESSIONS : SESSIONS));
    const d = direct.throughput?.[top];
    const p = pc.throughput?.[top];
    if (d && p) {
      const share = p / d;
      lines.push(
        `- ${transport}: at ${top} sessions Portcullis (all checks) keeps ${(share * 100).toFixed(1)}% of direct ` +
          `throughput (${int(p)} vs ${int(d)} calls/s); target >= 70%: ${verdict(share >= 0.7)}` +
          (share >= 0.7 ? '' : ` (misses by ${((0.7 - share) * 100).toFixed(1)} points)`) +
          (top === 64 ? '' : ' [64 sessions not measured]')
      );
    }
  }
  // Faster than the plain proxies: same downstream (HTTP), the same upstream (stdio echo) and the
  // same protocol era on the client side (supergateway serves sessions to 2025-era clients only).
  for (const other of ['supergateway', 'mcp-proxy']) {
    const o = rows.find((r) => r.transport === 'http' && r.name === other && r.latency);
    const pcStdioUp = o && find('http', 'portcullis', 'stdio', o.era);
    if (!pcStdioUp || !o) {
      lines.push(`- http: no comparison with ${other} (missing data)`);
      continue;
    }
    const faster = pcStdioUp.latency.median < o.latency.median;
    const top = Math.max(...SESSIONS);
    const pt = pcStdioUp.throughput?.[top];
    const ot = o.throughput?.[top];
    lines.push(
      `- http: Portcullis (${label(pcStdioUp)
        .replace(/^portcullis \(/, 'all checks, ')
        .replace(/\)$/, '')}) median ` +
        `${f(pcStdioUp.latency.median)} ms vs ${other} ` +
        `${f(o.latency.median)} ms; faster: ${verdict(faster)}` +
        (faster ? '' : ` (slower by ${f(pcStdioUp.latency.median - o.latency.median)} ms)`) +
        (pt && ot
          ? `; at ${top} sessions ${int(pt)} vs ${int(ot)} calls/s (${pt >= ot ? 'faster' : 'slower'})`
          : '')
    );
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main() {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first');
  const features = await configFeatures(join(ROOT, 'dist'));
  const started = performance.now();
  console.log('# Portcullis overhead benchmark\n');
  console.log(`- date: ${new Date().toISOString()}`);
  console.log(
    `- machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB`
  );
  console.log(`- node: ${process.version} (${process.platform}/${process.arch})`);
  console.log(
    `- settings: ${CALLS} sequential calls per variant after ${WARMUP} warm-up for latency, in ${ROUNDS} rounds; ` +
      `${SECONDS} s per throughput level and variant, in ${THROUGHPUT_ROUNDS} slots after ${THROUGHPUT_WARMUP_MS} ms ` +
      `of warm-up; sessions ${SESSIONS.join('/')} (HTTP), ${STDIO_SESSIONS.join('/')} (stdio); ` +
      `payload ${JSON.stringify(PAYLOAD)}`
  );
  console.log(
    '- every variant is started before the first measurement; rounds visit them in turn, in mirrored pairs of orders, ' +
      'so load from elsewhere on the machine falls on all of them alike; one echo HTTP server serves every ' +
      'variant with an HTTP upstream'
  );
  console.log(
    `- Portcullis all checks: bearer token (HTTP) / stdio identity, rule with role + maxLength on text, ` +
      `argument schema validation, audit file` +
      (features.auditFlush
        ? ` (default flush mode; this build has flush: ${features.auditFlush.join('|')})`
        : '') +
      (features.scanning
        ? `, scanning at its defaults (this build has scanning: ${features.scanning.join(', ')})`
        : '; scanning: this build has no `scanning` config keys, so no scanning is on')
  );
  console.log(
    `- Portcullis checks off: validation.arguments false, audit.enabled false, one "*" allow rule without constraints` +
      (features.scanning ? ', scanning off' : '') +
      (features.metrics ? ', metrics off' : '') +
      '; bearer auth stays (it cannot be turned off for HTTP)'
  );
  if (BASELINE) console.log(`- baseline build (rows marked "baseline build"): ${BASELINE}`);
  console.log(
    `- the load generator (all clients) runs in this one process, on the same ${cpus().length} cores as the proxies; ` +
      `load average at start: ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}\n`
  );
  const rows = await runAll(variants(features));
  console.log(table(rows));
  const notes = rows.filter((r) => r.note || r.errors);
  if (notes.length) {
    console.log('');
    for (const r of notes) {
      if (r.note) console.log(`- ${r.transport} ${r.name}: ${r.note}`);
      if (r.errors) console.log(`- ${r.transport} ${r.name}: ${r.errors}`);
    }
  }
  console.log('\n## Targets\n');
  console.log(targets(rows));
  console.log(
    `\n(total ${((performance.now() - started) / 1000).toFixed(0)} s; load average at the end: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')})`
  );
}

try {
  await main();
} catch (err) {
  console.error(err.stack ?? String(err));
  process.exitCode = 1;
} finally {
  await stopAll();
  if (!PROFILE) rmSync(work, { recursive: true, force: true });
}
