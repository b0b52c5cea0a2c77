// scanText throughput of one build in a process of its own, on the realistic mixed text of
// bench/scan/run.mjs, in elapsed time and in the process's CPU time (which a busy machine inflates
// less). Run it for two builds alternately to compare them: side-by-side.mjs loads both builds into
// one process, where they share V8's budget for optimised pattern code (see compileAhead in
// src/scan/util.ts), so each slows the other.
//
//   node bench/scan/one-build.mjs <dist>
//
// Same warm-up as run.mjs; best of 3 runs at 1 MB, of 2 at 10 MB.
import os from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { best, MB, mixedText } from './inputs.mjs';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node bench/scan/one-build.mjs <dist>');
  process.exit(2);
}
const { scanText } = await import(pathToFileURL(resolve(dir, 'scan/index.js')).href);

for (let i = 0; i < 5; i++) {
  scanText(mixedText(64 * 1024));
  scanText(mixedText(64 * 1024), { mode: 'definition' });
}

/** The least CPU time (user and system, all threads) of `runs` runs of `fn`, in milliseconds. */
function bestCpu(fn, runs) {
  let t = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = process.cpuUsage();
    fn();
    const used = process.cpuUsage(start);
    t = Math.min(t, (used.user + used.system) / 1000);
  }
  return t;
}

const mbps = (size, ms) => (size / MB / (ms / 1000)).toFixed(1);
const row = [];
for (const size of [MB, 10 * MB]) {
  const text = mixedText(size);
  const runs = size > MB ? 2 : 3;
  const wall = best(() => scanText(text), runs);
  const cpu = bestCpu(() => scanText(text), runs);
  row.push(`${size / MB} MB: ${mbps(size, wall)} MB/s (CPU time: ${mbps(size, cpu)} MB/s)`);
}
console.log(`${dir}: ${row.join(' | ')} | load ${os.loadavg()[0].toFixed(1)}`);
