import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileGlob } from '../policy/glob.js';
import { queryGlob } from './glob.js';

describe('audit query globs', () => {
  it('match whole names with * and ?', () => {
    const g = queryGlob('srv__*');
    expect(g.literal).toBe(false);
    expect(g.test('srv__read')).toBe(true);
    expect(g.test('srv__')).toBe(true);
    expect(g.test('srv2__read')).toBe(false);
    expect(g.test('xsrv__read')).toBe(false);
    expect(queryGlob('c?rol').test('carol')).toBe(true);
    expect(queryGlob('c?rol').test('crol')).toBe(false);
    expect(queryGlob('*a*b').test('xxaxxbxb')).toBe(true);
    expect(queryGlob('*a*b').test('xxaxxbx')).toBe(false);
  });

  it('take a name without a wildcard as exactly that name', () => {
    const g = queryGlob('srv');
    expect(g.literal).toBe(true);
    expect(g.test('srv')).toBe(true);
    expect(g.test('srv2')).toBe(false);
  });

  it("agree with the policy's globs on any pattern and name", () => {
    const chars = fc.constantFrom('a', 'b', '_', '*', '?', '.', 'é');
    fc.assert(
      fc.property(
        fc.string({ unit: chars, maxLength: 8 }),
        fc.string({ unit: chars, maxLength: 10 }),
        (p, s) => {
          expect(queryGlob(p).test(s)).toBe(compileGlob(p).test(s));
        }
      ),
      { numRuns: 2000 }
    );
  });
});
