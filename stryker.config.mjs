// Mutation testing of the security-critical modules; run through `npm run test:mutation`
// (scripts/mutation/run.mjs), which picks the group. Mutants left alive on purpose are listed, with
// why, in scripts/mutation/equivalent.md.
import { GROUPS } from './scripts/mutation/groups.mjs';

const name = process.env.MUTATION_GROUP ?? 'policy';
const group = GROUPS[name];
if (!group) throw new Error(`no mutation group "${name}"; groups: ${Object.keys(GROUPS).join(', ')}`);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  mutate: group.mutate,
  coverageAnalysis: 'perTest',
  ignoreStatic: group.ignoreStatic ?? false,
  incremental: true,
  incrementalFile: `mutation/${name}.incremental.json`,
  reporters: ['html', 'json', 'clear-text'],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: true },
  concurrency: 2,
  // A mutant that loops forever costs the whole timeout and a restart of the runner; a group whose
  // loops many mutants make endless (canonical) sets a shorter one.
  timeoutMS: group.timeoutMS ?? 20_000,
  thresholds: { high: 95, low: 90, break: group.break },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always'
};
