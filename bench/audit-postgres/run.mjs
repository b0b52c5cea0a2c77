#!/usr/bin/env node
/**
 * How many audit records per second one PostgreSQL chain takes, with one writer and with several
 * (each writer a separate process with its own sink, as gateway replicas are), in both flush modes.
 * Each writer keeps a number of writes in flight (like that many calls at once: 16 with flush: every,
 * where each reply waits for its commit; 512 with batch, where replies do not wait) for
 * BENCH_SECONDS; the run reports committed records/s and the write-to-commit latency (median, p99),
 * then verifies the whole chain.
 *
 *   npm run build && PG_URL=postgres://user@127.0.0.1:5432/db node bench/audit-postgres/run.mjs
 *
 * Each case writes to a fresh table (bench_<n>) and drops it after. Environment: PG_URL (required),
 * BENCH_SECONDS (default 3), BENCH_WRITERS (default 1,2,4), BENCH_MODES (default every,batch),
 * BENCH_IN_FLIGHT (overrides both defaults).
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const AUDIT = pathToFileURL(join(ROOT, 'dist', 'audit', 'index.js')).href;
const url = process.env.PG_URL;
const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const inFlight = (mode) => Number(process.env.BENCH_IN_FLIGHT ?? (mode === 'batch' ? 512 : 16));

const record = (i, w) => ({
  event: 'tools/call',
  identity: `writer-${w}`,
  roles: ['analyst'],
  session: `s-${w}-${i % 8}`,
  transport: 'http',
  server: 'files',
  tool: 'read_file',
  name: 'files__read_file',
  arguments: { path: `/data/public/report-${i}.txt` },
  decision: 'allow',
  rules: ['rules[1]'],
  reason: 'allowed by rules[1]',
  outcome: 'ok',
  latency_ms: 1.234,
  upstream_ms: 0.9
});

/** One writer process: write for `seconds`, print {count, latencies}. */
async function writer(table, mode, w) {
  const { createPostgresAuditSink } = await import(AUDIT);
  const sink = createPostgresAuditSink({ url, table, flush: mode, checkpointEvery: 1000 });
  await sink.ready();
  const latencies = [];
  let count = 0;
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: inFlight(mode) }, async () => {
      while (Date.now() < until) {
        const started = performance.now();
        await sink.write(record(count, w));
        latencies.push(performance.now() - started);
        count++;
      }
    })
  );
  await sink.close();
  process.stdout.write(JSON.stringify({ count, latencies }) + '\n');
}

function runWriter(table, mode, w) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [fileURLToPath(import.meta.url), 'writer', table, mode, String(w)],
      {
        stdio: ['ignore', 'pipe', 'inherit']
      }
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`writer exited ${code}`))
    );
  });
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

async function main() {
  if (!url) {
    console.error('set PG_URL to a database the benchmark may create tables in');
    process.exit(2);
  }
  const { verifyPostgresAudit, formatVerifyReport } = await import(AUDIT);
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const settings = await admin.query(
    "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'server_version')"
  );
  console.log(
    `PostgreSQL ${settings.rows.map((r) => `${r.name}=${r.setting}`).join(', ')}; ` +
      `${seconds} s per case; writes in flight per writer: every ${inFlight('every')}, batch ${inFlight('batch')}`
  );
  console.log('| flush | writers | records/s | median ms | p99 ms | chain |');
  console.log('| ----- | ------: | --------: | --------: | -----: | ----- |');
  let n = 0;
  for (const mode of (process.env.BENCH_MODES ?? 'every,batch').split(',')) {
    for (const writers of (process.env.BENCH_WRITERS ?? '1,2,4').split(',').map(Number)) {
      const table = `bench_${process.pid}_${++n}`;
      const started = Date.now();
      const results = await Promise.all(Array.from({ length: writers }, (_, w) => runWriter(table, mode, w)));
      const elapsed = (Date.now() - started) / 1000;
      const count = results.reduce((a, r) => a + r.count, 0);
      const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
      const report = await verifyPostgresAudit({ url, table });
      const chain = report.ok ? `ok (${report.records})` : formatVerifyReport(report);
      // Time spent writing, not starting processes: each writer writes for `seconds`.
      const rate = Math.round(count / seconds);
      console.log(
        `| ${mode} | ${writers} | ${rate} | ${pct(latencies, 0.5).toFixed(2)} | ${pct(latencies, 0.99).toFixed(2)} | ${chain} |`
      );
      if (elapsed > seconds * 10) console.log(`  (case took ${elapsed.toFixed(1)} s in all)`);
      for (const suffix of ['', '_head', '_checkpoints'])
        await admin.query(`DROP TABLE IF EXISTS ${table}${suffix}`);
    }
  }
  await admin.end();
}

if (process.argv[2] === 'writer') await writer(process.argv[3], process.argv[4], Number(process.argv[5]));
else await main();
