#!/usr/bin/env node
/**
 * Summarise a V8 .cpuprofile (from `BENCH_PROFILE=1 node bench/overhead/run.mjs`, which runs
 * `portcullis serve` with --cpu-prof): where the samples fall by package or file (self time), and
 * the functions with the most inclusive time (each sample counts a function once, however deep
 * the recursion).
 *
 *   node bench/overhead/profile-summary.mjs bench/overhead/profiles/portcullis-stdio/*.cpuprofile [top]
 *   node bench/overhead/profile-summary.mjs <file> 25 compile   # who calls functions matching "compile"
 */
import { readFileSync } from 'node:fs';

const [file, topArg, callersOf] = process.argv.slice(2);
if (!file) {
  console.error('usage: profile-summary.mjs <file.cpuprofile> [top]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const where = (n) => {
  const url = n.callFrame.url || '';
  if (!url) return n.callFrame.functionName ? `(native) ${n.callFrame.functionName}` : '(program/idle/gc)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (m) return `npm:${m[1]}`;
  const d = /\/dist\/(.+)$/.exec(url);
  if (d) return `portcullis:dist/${d[1]}`;
  if (url.startsWith('node:')) return url;
  return url.replace(/^file:\/\//, '');
};
const fnKey = (n) =>
  `${n.callFrame.functionName || '(anonymous)'} ${where(n)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;

// Sample weights: time deltas in µs.
const weight = new Map();
profile.samples.forEach((id, i) => weight.set(id, (weight.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
let total = 0;
for (const w of weight.values()) total += w;

const selfByPlace = new Map();
const inclusive = new Map();
for (const [id, w] of weight) {
  const n = byId.get(id);
  selfByPlace.set(where(n), (selfByPlace.get(where(n)) ?? 0) + w);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const key = fnKey(byId.get(cur));
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + w);
  }
}
const idle = [...weight]
  .filter(([id]) => byId.get(id).callFrame.functionName === '(idle)')
  .reduce((a, [, w]) => a + w, 0);
const busy = total - idle;
const pct = (w) => `${((100 * w) / busy).toFixed(1).padStart(5)}%`;

console.log(
  `${file}\nsampled ${(total / 1e6).toFixed(2)} s, busy ${(busy / 1e6).toFixed(2)} s (percentages of busy time)\n`
);
console.log('self time by package / file:');
for (const [k, w] of [...selfByPlace]
  .filter(([k]) => !k.includes('(idle)'))
  .sort((a, b) => b[1] - a[1])
  .slice(0, top))
  console.log(`  ${pct(w)}  ${k}`);
console.log('\ninclusive time by function:');
for (const [k, w] of [...inclusive]
  .filter(([k]) => !/^\((root|program|idle)\)/.test(k))
  .sort((a, b) => b[1] - a[1])
  .slice(0, top * 2))
  console.log(`  ${pct(w)}  ${k}`);

if (callersOf) {
  // The call paths (three frames up) that lead to the functions whose key contains `callersOf`.
  const paths = new Map();
  for (const [id, w] of weight) {
    const chain = [];
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) chain.push(byId.get(cur));
    const at = chain.findIndex((n) => fnKey(n).includes(callersOf));
    if (at === -1) continue;
    const key = chain
      .slice(at, at + 5)
      .map(fnKey)
      .join('  <-  ');
    paths.set(key, (paths.get(key) ?? 0) + w);
  }
  console.log(`\ncall paths into "${callersOf}":`);
  for (const [k, w] of [...paths].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(w)}  ${k}`);
}
