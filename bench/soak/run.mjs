#!/usr/bin/env node
/**
 * Soak: constant load through one `portcullis serve` process for a while, and whether its memory
 * stays flat. Clients (official SDK, half 2025-era sessions, half 2026-07-28 requests) call the
 * echo tool in a closed loop, list tools, and end their session and open a new one every
 * `--calls-per-session` calls, so sessions churn as well as calls. Every `--sample-seconds` the
 * gateway is asked for its memory after garbage collection (bench/support/memory-probe.mjs).
 * After the warm-up (30% of the run, at most 2 minutes) the heap and RSS samples are fitted with a
 * least-squares line; the run fails (exit 1) when the fitted growth over the measured window, or
 * the heap's spread, exceeds the thresholds.
 *
 *   npm run build && node bench/soak/run.mjs                 # 10 minutes
 *   node bench/soak/run.mjs --minutes 1                       # a quick look
 *
 * Options: --minutes (10), --clients (8), --calls-per-session (50), --sample-seconds (5),
 * --upstream stdio|http (stdio), --max-heap-growth-mib (8), --max-rss-growth-mib (48),
 * --json FILE (write the samples and the verdict).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import {
  CLI,
  ECHO_HTTP,
  ECHO_STDIO,
  NODE,
  MiB,
  args,
  freePort,
  machine,
  mib,
  probe,
  regression,
  start,
  startMeasured,
  stop,
  waitForOutput,
  workDir
} from '../support/processes.mjs';

const opts = args({
  minutes: 10,
  clients: 8,
  'calls-per-session': 50,
  'sample-seconds': 5,
  upstream: 'stdio',
  'max-heap-growth-mib': 8,
  'max-rss-growth-mib': 48,
  json: ''
});
const TOKEN = 'soak-token-0123456789abcdef';
const durationMs = opts.minutes * 60_000;
const warmupMs = Math.min(120_000, durationMs * 0.3);

async function startGateway() {
  let upstream;
  let server;
  if (opts.upstream === 'http') {
    upstream = start(NODE, [ECHO_HTTP, '0']);
    const [, port] = await waitForOutput(upstream, /^(\d+)\s*$/m, 'echo-http');
    server = `    url: http://127.0.0.1:${port}/mcp`;
  } else {
    server = `    command: ${JSON.stringify(NODE)}\n    args: [${JSON.stringify(ECHO_STDIO)}]`;
  }
  const dir = workDir();
  const file = join(dir, 'soak.yaml');
  // Every check on, as a deployment would run it: token auth, a rule with a constraint, schema
  // validation, scanning at its defaults, the audit file.
  writeFileSync(
    file,
    `servers:
  echo:
${server}
auth:
  tokens:
    - { id: soak, identity: soak, roles: [bench], token: ${TOKEN} }
audit: { path: ./soak-audit.jsonl }
rules:
  - id: echo
    tool: echo
    allowed_roles: [bench]
    parameter_constraints:
      text: { maxLength: 1000 }
`,
    { mode: 0o600 }
  );
  const port = await freePort();
  const gateway = startMeasured(CLI, ['serve', '--config', file, '--port', String(port)], {
    cwd: dir,
    env: { PORTCULLIS_LOG_LEVEL: 'info' }
  });
  await waitForOutput(gateway, /"msg":"serving"/, 'portcullis serve');
  return { gateway, upstream, url: `http://127.0.0.1:${port}/mcp` };
}

const stats = { calls: 0, errors: 0, sessions: 0, lastError: '' };

async function worker(url, index, until) {
  const mode = index % 2 === 0 ? 'legacy' : 'auto';
  let n = 0;
  while (Date.now() < until) {
    const client = new Client({ name: `soak-${index}`, version: '1.0.0' }, { versionNegotiation: { mode } });
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } }
    });
    try {
      await client.connect(transport);
      stats.sessions++;
      await client.listTools();
      for (let i = 0; i < opts['calls-per-session'] && Date.now() < until; i++) {
        const r = await client.callTool({ name: 'echo__echo', arguments: { text: `soak ${index} ${n++}` } });
        if (r.isError) throw new Error(JSON.stringify(r.content));
        stats.calls++;
      }
      // A well-behaved client ends its session (DELETE) before it goes.
      if (transport.sessionId) await transport.terminateSession();
    } catch (err) {
      stats.errors++;
      stats.lastError = err instanceof Error ? err.message : String(err);
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      await client.close().catch(() => undefined);
    }
  }
}

async function main() {
  console.log(`soak: ${opts.minutes} min, ${opts.clients} clients, ${opts.upstream} upstream`);
  console.log(`machine: ${machine()}`);
  const { gateway, upstream, url } = await startGateway();
  const started = Date.now();
  const until = started + durationMs;
  const samples = [];
  const first = await probe(gateway);
  samples.push({ s: 0, calls: 0, rss: first.rss, heapUsed: first.heapUsed });
  console.log(`start: rss ${mib(first.rss)} MiB, heap ${mib(first.heapUsed)} MiB (after GC)`);
  const workers = Array.from({ length: opts.clients }, (_, i) => worker(url, i, until));
  let lastCalls = 0;
  let lastAt = started;
  const sampler = (async () => {
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, opts['sample-seconds'] * 1000));
      const m = await probe(gateway);
      const now = Date.now();
      const rate = ((stats.calls - lastCalls) * 1000) / (now - lastAt);
      lastCalls = stats.calls;
      lastAt = now;
      const s = (now - started) / 1000;
      samples.push({ s, calls: stats.calls, rss: m.rss, heapUsed: m.heapUsed });
      console.log(
        `${s.toFixed(0).padStart(5)} s  rss ${mib(m.rss).padStart(6)} MiB  heap ${mib(m.heapUsed).padStart(6)} MiB  ` +
          `${rate.toFixed(0).padStart(5)} calls/s  ${stats.calls} calls  ${stats.sessions} sessions  ${stats.errors} errors`
      );
    }
  })();
  await Promise.all([...workers, sampler]);
  const last = await probe(gateway);
  await stop(gateway);
  await stop(upstream);

  const measured = samples.filter((x) => x.s * 1000 >= warmupMs);
  const minutes = measured.map((x) => x.s / 60);
  const windowMin = (measured.at(-1).s - measured[0].s) / 60;
  const verdict = {};
  for (const [key, limit] of [
    ['heapUsed', opts['max-heap-growth-mib']],
    ['rss', opts['max-rss-growth-mib']]
  ]) {
    const ys = measured.map((x) => x[key] / MiB);
    const { slope } = regression(minutes, ys);
    const growth = slope * windowMin;
    const spread = Math.max(...ys) - Math.min(...ys);
    verdict[key] = {
      slopeMiBPerMin: slope,
      growthMiB: growth,
      spreadMiB: spread,
      limitMiB: limit,
      ok: growth <= limit
    };
  }
  // The heap's spread must stay within the limit too: a saw-tooth that keeps rising is growth.
  verdict.heapUsed.ok &&= verdict.heapUsed.spreadMiB <= opts['max-heap-growth-mib'] * 2;
  const ok = verdict.heapUsed.ok && verdict.rss.ok && stats.errors === 0;
  const line = (name, v) =>
    `${name.padEnd(5)} slope ${v.slopeMiBPerMin >= 0 ? '+' : ''}${v.slopeMiBPerMin.toFixed(3)} MiB/min, ` +
    `fitted growth ${v.growthMiB.toFixed(2)} MiB over ${windowMin.toFixed(1)} min (limit ${v.limitMiB}), ` +
    `max-min ${v.spreadMiB.toFixed(2)} MiB: ${v.ok ? 'flat' : 'GROWING'}`;
  console.log('');
  console.log(
    `${stats.calls} calls (${((stats.calls * 1000) / durationMs).toFixed(0)}/s), ${stats.sessions} sessions, ${stats.errors} errors` +
      (stats.errors ? ` (last: ${stats.lastError})` : '')
  );
  console.log(`warm-up ${(warmupMs / 1000).toFixed(0)} s excluded; ${measured.length} samples after it`);
  console.log(line('heap', verdict.heapUsed));
  console.log(line('rss', verdict.rss));
  console.log(`end: rss ${mib(last.rss)} MiB, heap ${mib(last.heapUsed)} MiB (after GC)`);
  console.log(ok ? 'PASS: memory is flat under constant load' : 'FAIL: memory grew, or calls failed');
  if (opts.json) {
    writeFileSync(
      opts.json,
      JSON.stringify({ opts, machine: machine(), stats, samples, verdict, ok }, null, 2)
    );
  }
  process.exit(ok ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
