// scanText throughput of two builds on the realistic mixed text of bench/scan/run.mjs, in one
// process, alternated round by round, so a busy machine slows both alike.
//
//   node bench/scan/side-by-side.mjs <old dist> <new dist> [rounds]
//
// Each round times both builds (best of 3 runs at 1 MB, of 2 at 10 MB); prints every round's MB/s
// and the medians, with the load average before and after.
import os from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { best, MB, mixedText } from './inputs.mjs';

const [oldDir, newDir, roundsArg] = process.argv.slice(2);
if (!oldDir || !newDir) {
  console.error('usage: node bench/scan/side-by-side.mjs <old dist> <new dist> [rounds]');
  process.exit(2);
}
const scan = {};
for (const [k, d] of [
  ['old', oldDir],
  ['new', newDir]
]) {
  scan[k] = (await import(pathToFileURL(resolve(d, 'scan/index.js')).href)).scanText;
}

for (const f of Object.values(scan)) {
  for (let i = 0; i < 5; i++) {
    f(mixedText(64 * 1024));
    f(mixedText(64 * 1024), { mode: 'definition' });
  }
}
const rounds = Number(roundsArg ?? 5);
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
console.log(`Node ${process.version}, ${os.cpus().length} cores, load before ${load()}`);
for (const size of [MB, 10 * MB]) {
  const text = mixedText(size);
  const res = { old: [], new: [] };
  for (let r = 0; r < rounds; r++) {
    for (const k of r % 2 ? ['new', 'old'] : ['old', 'new']) {
      res[k].push(best(() => scan[k](text), size > MB ? 2 : 3));
    }
  }
  const median = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
  const mbps = (ms) => (size / MB / (ms / 1000)).toFixed(1);
  const row = (k) => `${res[k].map(mbps).join(' ')} (median ${mbps(median(res[k]))} MB/s)`;
  console.log(`${size / MB} MB: old ${row('old')} | new ${row('new')}`);
}
console.log(`load after ${load()}`);
