#!/usr/bin/env node
/**
 * What do the gateway's own checks cost per tool call, in process? Builds gateways from `dist/`
 * (no downstream transport, no MCP client) in front of the overhead benchmark's echo upstream
 * (bench/overhead/echo-stdio.mjs, one child process per gateway), and times `gateway.callTool`:
 *
 *   on    every check on, as bench/overhead's `portcullis` variant: a role rule with a maxLength
 *         constraint, schema validation, an audit file, scanning and pins at their defaults
 *   off   every check the config can turn off turned off, as bench/overhead's `portcullis-off`
 *
 * Each round times BENCH_CALLS sequential calls on every variant, visiting the variants in
 * mirrored orders (A B C D, then D C B A) so a steady change in machine load falls on all alike.
 * Per variant it reports the median over rounds of wall time per call and of this process's CPU
 * time per call (user + system; the echo upstream is another process, so its CPU is not in it),
 * and `checks` = on minus off, per round, then the median.
 *
 *   npm run build && node bench/checks/run.mjs
 *   BENCH_BASELINE_DIST=/path/to/other/dist node bench/checks/run.mjs   # another build side by side
 *
 * Environment: BENCH_CALLS (per round and variant, default 2000), BENCH_ROUNDS (default 10),
 * BENCH_WARMUP (calls per variant before timing, default 1000), BENCH_TEXT (the echo payload),
 * BENCH_UNIQUE=1 (end every call's text with a different run of letters, so that no string is
 * ever seen twice: what scanning costs when nothing repeats), BENCH_STUB=1 (answer tools/call in
 * this process: each gateway's echo upstream gets a `request` that echoes the text back the way
 * the echo server does, so the figures hold only the gateway's own work, without the pipe to the
 * child and the SDK client; the tool list still comes from the echo process). BENCH_INJECTION=off
 * turns the injection scorer off in `on` (results and arguments), to compare two builds' pipelines
 * when their scorers differ.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { configFeatures, writeBenchConfig } from '../support/configs.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');

const num = (name, dflt) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : dflt;
};
const CALLS = num('BENCH_CALLS', 2000);
const ROUNDS = num('BENCH_ROUNDS', 10);
const WARMUP = num('BENCH_WARMUP', 1000);
const TEXT = process.env.BENCH_TEXT ?? 'hello from the overhead benchmark';
const UNIQUE = process.env.BENCH_UNIQUE === '1';
const STUB = process.env.BENCH_STUB === '1';

/** Letters only (digits would wake the scanners that look for numbers): a, b, ..., z, ba, bb, ... */
const letters = (n) => {
  let out = '';
  do {
    out = String.fromCharCode(97 + (n % 26)) + out;
    n = Math.floor(n / 26);
  } while (n > 0);
  return out;
};
let serial = 0;
const BASELINE_DIST = process.env.BENCH_BASELINE_DIST ? resolve(process.env.BENCH_BASELINE_DIST) : undefined;

const work = mkdtempSync(join(tmpdir(), 'portcullis-checks-'));

async function openVariant(label, dist, checks) {
  const load = (p) => import(pathToFileURL(join(dist, p)).href);
  const [{ loadConfig }, { createGateway }, { createLogger }] = await Promise.all([
    load('config/index.js'),
    load('core/gateway.js'),
    load('log.js')
  ]);
  const name = label.replace(/[^\w-]/g, '_');
  // The overhead benchmark's two configs, each in a directory of its own (its audit and pins files).
  const file = writeBenchConfig(join(work, name), {
    checks,
    features: await configFeatures(dist),
    injection: process.env.BENCH_INJECTION !== 'off'
  });
  const gateway = createGateway({ config: loadConfig(file), log: createLogger('silent') });
  const who = gateway.auth.stdio();
  if (!who.ok) throw new Error(`${label}: ${who.reason}`);
  const session = gateway.openSession(who.identity, 'stdio');
  if (STUB) {
    const echo = gateway.upstreams.get('echo');
    await echo.listTools();
    echo.request = async (method, params) => {
      if (method !== 'tools/call') throw new Error(`stub upstream: ${method}`);
      return { content: [{ type: 'text', text: params.arguments.text }] };
    };
  }
  const call = () =>
    gateway.callTool(session, 'echo__echo', { text: UNIQUE ? `${TEXT} ${letters(serial++)}` : TEXT });
  const first = await call();
  if (!first?.content?.[0]?.text?.startsWith(TEXT)) {
    throw new Error(`${label}: unexpected reply ${JSON.stringify(first)}`);
  }
  return { label, gateway, session, call, wall: [], cpu: [], user: [] };
}

async function timed(v, n) {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await v.call();
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  const c = process.cpuUsage(cpu0);
  return { wall: wallUs / n, cpu: (c.user + c.system) / n, user: c.user / n };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const f = (x) => x.toFixed(1).padStart(8);

const dists = [{ tag: 'this', dist: join(ROOT, 'dist') }];
if (BASELINE_DIST) dists.push({ tag: 'baseline', dist: BASELINE_DIST });

const variants = [];
try {
  for (const { tag, dist } of dists) {
    variants.push(await openVariant(`${tag} on`, dist, true));
    variants.push(await openVariant(`${tag} off`, dist, false));
  }
  for (const v of variants) await timed(v, WARMUP);

  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) {
      const t = await timed(v, CALLS);
      v.wall.push(t.wall);
      v.cpu.push(t.cpu);
      v.user.push(t.user);
    }
  }

  console.log(
    `# gateway.callTool, echo upstream over stdio, payload ${JSON.stringify({ text: TEXT })}` +
      (UNIQUE ? ' + a different run of letters each call' : '') +
      (STUB ? '; tools/call answered in process (BENCH_STUB)' : '')
  );
  console.log(
    `# ${ROUNDS} rounds x ${CALLS} calls per variant, ${WARMUP} warm-up; node ${process.version}, ` +
      `${cpus().length} cpus, load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`
  );
  for (const { dist } of dists) console.log(`# ${dist}`);
  console.log('');
  console.log(
    'µs per call, medians over rounds; cpu and user: this process only (user: without system time)'
  );
  console.log('variant              wall       cpu      user');
  const row = (label, wall, cpu, user) =>
    console.log(`${label.padEnd(16)} ${f(wall)}  ${f(cpu)}  ${f(user)}`);
  for (const v of variants) row(v.label, median(v.wall), median(v.cpu), median(v.user));
  console.log('');
  console.log('checks (on - off, per round, median)');
  for (const { tag } of dists) {
    const on = variants.find((v) => v.label === `${tag} on`);
    const off = variants.find((v) => v.label === `${tag} off`);
    const wall = on.wall.map((w, i) => w - off.wall[i]);
    const cpu = on.cpu.map((c, i) => c - off.cpu[i]);
    const user = on.user.map((c, i) => c - off.user[i]);
    row(tag, median(wall), median(cpu), median(user));
  }
} finally {
  for (const v of variants) await v.gateway.close();
  rmSync(work, { recursive: true, force: true });
}
