import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERRORS, GatewayError, isRefusal } from './errors.js';

describe('the error registry', () => {
  it('is documented in docs/errors.md, row for row', () => {
    const doc = readFileSync(join(__dirname, '..', 'docs', 'errors.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `([a-z_]+)` \| (-?\d+) \| ([^|]+) \| ([a-z]+) \|/gm)].map((m) => [
      m[1],
      Number(m[2]),
      m[3]!.trim(),
      m[4]
    ]);
    expect(rows).toEqual(Object.entries(ERRORS).map(([code, e]) => [code, e.rpc, e.message, e.kind]));
  });

  it('gives every code a kind: outages and failures are faults, never refusals', () => {
    for (const code of [
      'upstream_unavailable',
      'upstream_failed',
      'state_unavailable',
      'audit_unavailable',
      'internal'
    ] as const) {
      expect(new GatewayError(code).kind, code).toBe('fault');
      expect(isRefusal(new GatewayError(code)), code).toBe(false);
    }
    for (const code of [
      'policy_denied',
      'risk_budget',
      'rate_limited',
      'insufficient_scope',
      'argument_blocked'
    ] as const) {
      expect(isRefusal(new GatewayError(code)), code).toBe(true);
    }
    expect(isRefusal(new Error('policy_denied'))).toBe(false);
  });

  it('keeps gateway codes clear of the codes the SDK uses', () => {
    for (const [code, e] of Object.entries(ERRORS)) {
      if (code === 'invalid_arguments' || code === 'internal') continue;
      expect(e.rpc, code).toBeGreaterThanOrEqual(-32069);
      expect(e.rpc, code).toBeLessThanOrEqual(-32050);
    }
  });

  it('never puts the detail on the wire message', () => {
    const e = new GatewayError('constraint_failed', 'rule secret-rule: parameter "path" does not match ^/x/');
    expect(e.message).toBe('denied by policy: parameter constraint');
    expect(e.detail).toContain('secret-rule');
  });
});
