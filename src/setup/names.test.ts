// Tests of server names: client names become valid, free Portcullis names.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { freeName, isValidServerName, sanitizeServerName } from './names.js';

describe('server names', () => {
  it('renames the way a person would expect', () => {
    expect(sanitizeServerName('my.server')).toBe('my-server');
    expect(sanitizeServerName('local__tools')).toBe('local_tools');
    expect(sanitizeServerName('@scope/pkg')).toBe('scope-pkg');
    expect(sanitizeServerName('_private_')).toBe('private');
    expect(sanitizeServerName('Brave Search (web)')).toBe('Brave-Search-web-');
    expect(sanitizeServerName('...')).toBe('server');
    expect(sanitizeServerName('0--')).toBe('0--');
    expect(sanitizeServerName('a--b.c')).toBe('a-b-c');
  });

  it('always gives a valid name, and keeps valid ones', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (name) => {
        const clean = sanitizeServerName(name);
        expect(isValidServerName(clean)).toBe(true);
        expect(clean.includes('__')).toBe(false);
        if (isValidServerName(name)) expect(clean).toBe(name);
      }),
      { numRuns: 1000 }
    );
  });

  it('finds a free name', () => {
    const taken = new Set(['a', 'a-2']);
    expect(freeName('a', (n) => taken.has(n))).toBe('a-3');
    expect(freeName('b', (n) => taken.has(n))).toBe('b');
  });
});
