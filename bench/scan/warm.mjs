// scanText on the bench's 1 MB mixed text in a warm process: 20 untimed calls, then the best of 20
// timed ones, in elapsed and in this process's CPU time. What a gateway that has been serving for a
// while spends per MB (bench/scan/run.mjs times the first few calls of each size).
//
//   npm run build && node bench/scan/warm.mjs [dist]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MB, mixedText } from './inputs.mjs';

const dist = process.argv[2] ?? 'dist';
const { scanText } = await import(pathToFileURL(resolve(dist, 'scan/index.js')).href);
const text = mixedText(MB);
for (let i = 0; i < 20; i++) scanText(text);
let wall = Infinity;
let cpu = Infinity;
for (let i = 0; i < 20; i++) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  scanText(text);
  wall = Math.min(wall, Number(process.hrtime.bigint() - t0) / 1e6);
  const c = process.cpuUsage(c0);
  cpu = Math.min(cpu, (c.user + c.system) / 1000);
}
const mbps = (ms) => (1000 / ms).toFixed(1);
console.log(
  `${dist}: scanText, 1 MB, warm: ${wall.toFixed(0)} ms (${mbps(wall)} MB/s) elapsed, ${cpu.toFixed(0)} ms (${mbps(cpu)} MB/s) CPU`
);
