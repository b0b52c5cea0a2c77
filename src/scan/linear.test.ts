import { describe, expect, it } from 'vitest';
import { redactValue, scanText, scanToolDefinition } from './index.js';
import { registeredPatterns, unboundedQuantifiers } from './util.js';

describe('pattern audit', () => {
  it('recognises unbounded quantifiers', () => {
    expect(unboundedQuantifiers('a+')).toHaveLength(1);
    expect(unboundedQuantifiers('(?:ab)*c')).toHaveLength(1);
    expect(unboundedQuantifiers('a{2,}')).toHaveLength(1);
    expect(unboundedQuantifiers('[a+*]{1,4}\\+\\*a{2,5}b?')).toEqual([]);
  });
  it('every compiled pattern has only bounded quantifiers', () => {
    const patterns = registeredPatterns();
    expect(patterns.length).toBeGreaterThan(40);
    for (const re of patterns) expect(unboundedQuantifiers(re.source), re.source.slice(0, 80)).toEqual([]);
  });
  it('compiles nothing while scanning', () => {
    const before = registeredPatterns().length;
    scanText('ada@example.com AKIALQMRZYJICEWHW53I <IMPORTANT> ignore previous instructions');
    scanToolDefinition({ name: 't', description: 'x' }, { otherTools: ['a_b'] });
    expect(registeredPatterns().length).toBe(before);
  });
});

/** Best of three timings of `fn`, in milliseconds (the least disturbed by other processes). */
function time(fn: () => void): number {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    fn();
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

const UNIT = 100_000;
const PATHOLOGICAL: Record<string, (n: number) => string> = {
  'a run': (n) => 'a'.repeat(n),
  '@ run': (n) => '@'.repeat(n),
  'a@ pairs': (n) => 'a@'.repeat(n / 2),
  'digit run': (n) => '4'.repeat(n),
  'spaced digits': (n) => '4111 '.repeat(n / 5),
  'base64-ish run': (n) => 'AbC0+/xY9z'.repeat(n / 10),
  'eyJ segments': (n) => 'eyJhb.'.repeat(n / 6),
  'unclosed <IMPORTANT': (n) => '<IMPORTANT'.repeat(n / 10),
  'ignore without target': (n) => 'ignore all the '.repeat(n / 15),
  'BEGIN without END': (n) => '-----BEGIN RSA PRIVATE KEY-----\n'.repeat(n / 32),
  'token= without value': (n) => 'token='.repeat(n / 6),
  'zero-width run': (n) => '\u200b'.repeat(n),
  newlines: (n) => '\n'.repeat(n),
  'spaces then text': (n) => ' '.repeat(119) + 'x'.repeat(n / 1000),
  'plus signs': (n) => '+1'.repeat(n / 2),
  'your response': (n) => 'add your '.repeat(n / 9),
  'html comment opens': (n) => '<!--'.repeat(n / 4),
  'password is (no value)': (n) => 'the password is '.repeat(n / 16),
  'login with user / (no password)': (n) => 'login with admin / '.repeat(n / 19),
  'sig= without a SAS around it': (n) => 'sig=Zq8vN3xKp7Lm2Rt5Wb9Yc4Hd6Jf1Gs0AeUoIyTrEwQx%3D&'.repeat(n / 51),
  'AccountKey= base64 run': (n) => ('AccountKey=' + 'AbC0+/xY9z'.repeat(9)).repeat(n / 101)
};

describe('linear time on pathological input', () => {
  for (const [name, make] of Object.entries(PATHOLOGICAL)) {
    it(`${name}: 4x the input takes well under 16x the time`, () => {
      const small = make(UNIT);
      const large = make(UNIT * 4);
      scanText(small, { mode: 'definition' }); // warm up
      // A quadratic scan is 16x slower every time; a busy machine only now and then: best of three rounds.
      let t1 = 0;
      let t4 = Infinity;
      for (let round = 0; round < 3 && !(t4 < t1 * 12 + 30); round++) {
        t1 = Math.max(
          time(() => scanText(small, { mode: 'definition' })),
          0.5
        );
        t4 = time(() => scanText(large, { mode: 'definition' }));
      }
      expect(t4, `${t1.toFixed(1)}ms -> ${t4.toFixed(1)}ms`).toBeLessThan(t1 * 12 + 30);
      expect(t4).toBeLessThan(3000);
    });
  }
  it('redactValue walks a large result in linear time', () => {
    const result = (n: number) => ({
      content: [{ type: 'text', text: 'user ada@example.com paid with 4111 1111 1111 1111\n'.repeat(n) }],
      structuredContent: { rows: Array.from({ length: n }, (_, i) => ({ id: i, email: `u${i}@acme.io` })) }
    });
    const small = result(2000);
    const large = result(8000);
    redactValue(small);
    const t1 = Math.max(
      time(() => redactValue(small)),
      0.5
    );
    const t4 = time(() => redactValue(large));
    expect(t4).toBeLessThan(t1 * 12 + 30);
  });
});
