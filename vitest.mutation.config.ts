import { defineConfig } from 'vitest/config';
import { GROUPS } from './scripts/mutation/groups.mjs';

// The tests of one mutation group (MUTATION_GROUP): they import the code under mutation from src/
// in this process, so every mutant is in the code they run.
const group = GROUPS[(process.env.MUTATION_GROUP ?? 'policy') as keyof typeof GROUPS];

export default defineConfig({
  test: {
    include: group.tests,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default']
  }
});
