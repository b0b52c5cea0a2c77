/**
 * The security-critical modules under mutation testing, each with the tests that exercise it.
 * A group is judged on its own: `npm run test:mutation -- <group>` (all groups when none is named).
 * `break` is the score below which the group fails: the score it has reached, so it can only rise
 * (the goal for every group is 90%).
 */
export const GROUPS = {
  policy: {
    mutate: ['src/policy/*.ts', '!src/policy/*.test.ts', '!src/policy/testing.ts'],
    tests: ['src/policy/*.test.ts'],
    break: 91
  },
  audit: {
    mutate: ['src/audit/chain.ts', 'src/audit/canonical.ts', 'src/audit/verify.ts'],
    tests: ['src/audit/canonical.test.ts', 'src/audit/chain.test.ts', 'src/audit/verify.test.ts'],
    break: 93
  },
  approval: {
    mutate: ['src/approval/*.ts', '!src/approval/*.test.ts'],
    tests: ['src/approval/*.test.ts'],
    break: 95
  },
  security: {
    mutate: ['src/security/*.ts', '!src/security/*.test.ts'],
    tests: ['src/security/*.test.ts'],
    break: 95
  },
  auth: {
    mutate: ['src/auth/*.ts', '!src/auth/*.test.ts'],
    tests: ['src/auth/*.test.ts'],
    break: 57
  },
  budgets: {
    mutate: ['src/state/*.ts', '!src/state/*.test.ts', 'src/limits/*.ts', '!src/limits/*.test.ts'],
    tests: ['src/state/*.test.ts', 'src/limits/*.test.ts', 'src/policy/engine.test.ts', 'src/policy/identity.test.ts'],
    break: 92
  }
};
