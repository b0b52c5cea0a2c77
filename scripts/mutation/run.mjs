#!/usr/bin/env node
/**
 * Mutation testing, one group at a time (scripts/mutation/groups.mjs):
 *   npm run test:mutation                 every group, incrementally (only changed code is re-judged),
 *                                         but those marked `ci: false` (run them by name)
 *   npm run test:mutation -- policy auth  those groups
 *   npm run test:mutation -- --force      every mutant again, ignoring the incremental files
 * Each group writes reports/mutation/<group>.html and .json and keeps mutation/<group>.incremental.json
 * (committed, so CI judges only what a change touched). A group under its threshold fails the run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GROUPS } from './groups.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const force = args.includes('--force');
const named = args.filter((a) => !a.startsWith('--'));
const unknown = named.filter((g) => !(g in GROUPS));
if (unknown.length > 0) {
  console.error(`unknown mutation group(s): ${unknown.join(', ')}; groups: ${Object.keys(GROUPS).join(', ')}`);
  process.exit(2);
}
// With no group named, every group that runs by default (not those marked `ci: false`).
const groups = named.length > 0 ? named : Object.keys(GROUPS).filter((g) => GROUPS[g].ci !== false);
const stryker = join(root, 'node_modules', '.bin', 'stryker');

/** Score of a JSON report: killed and timed-out mutants over all that were judged (as Stryker does). */
function score(file) {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  const rows = [];
  for (const [path, f] of Object.entries(report.files)) {
    const counts = {};
    for (const m of f.mutants) counts[m.status] = (counts[m.status] ?? 0) + 1;
    const detected = (counts.Killed ?? 0) + (counts.Timeout ?? 0);
    const valid = detected + (counts.Survived ?? 0) + (counts.NoCoverage ?? 0);
    rows.push({ path, detected, valid, survived: (counts.Survived ?? 0) + (counts.NoCoverage ?? 0) });
  }
  return rows;
}

const failed = [];
const summary = [];
for (const group of groups) {
  console.log(`\n== mutation group ${group}`);
  const r = spawnSync(stryker, ['run', ...(force ? ['--force'] : [])], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, MUTATION_GROUP: group }
  });
  if (r.status !== 0) failed.push(group);
  const report = join(root, 'reports', 'mutation', `${group}.json`);
  if (existsSync(report)) {
    const rows = score(report);
    const detected = rows.reduce((n, x) => n + x.detected, 0);
    const valid = rows.reduce((n, x) => n + x.valid, 0);
    summary.push({ group, detected, valid, survived: valid - detected });
  }
}
console.log('\ngroup        score   killed/valid  survived');
for (const s of summary) {
  const pct = s.valid === 0 ? 100 : (100 * s.detected) / s.valid;
  console.log(`${s.group.padEnd(12)} ${pct.toFixed(2).padStart(6)}%  ${`${s.detected}/${s.valid}`.padStart(12)}  ${String(s.survived).padStart(8)}`);
}
if (failed.length > 0) {
  console.error(`\nmutation testing failed for: ${failed.join(', ')}`);
  process.exit(1);
}
