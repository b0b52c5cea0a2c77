import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERRORS, GatewayError } from './errors.js';

describe('the error registry', () => {
  it('is documented in docs/errors.md, row for row', () => {
    const doc = readFileSync(join(__dirname, '..', 'docs', 'errors.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `([a-z_]+)` \| (-?\d+) \| ([^|]+) \|/gm)].map((m) => [
      m[1],
      Number(m[2]),
      m[3]!.trim()
    ]);
    expect(rows).toEqual(Object.entries(ERRORS).map(([code, e]) => [code, e.rpc, e.message]));
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
