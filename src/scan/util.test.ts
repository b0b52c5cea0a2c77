// compileAhead runs patterns once so V8 compiles them at load; it must leave them exactly as they
// were for matching: lastIndex back at 0, the same matches as a copy that was never run.
import { describe, expect, it } from 'vitest';
import { compileAhead } from './util.js';

const TEXT = 'call 415-555-0132 or 415 555 0199, then   spaces\u2019 and more 415-555-0100';

function starts(re: RegExp, text: string): number[] {
  const out: number[] = [];
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    out.push(m.index);
    if (m[0].length === 0) re.lastIndex++;
  }
  return out;
}

describe('compileAhead', () => {
  it('leaves global, sticky and plain patterns at lastIndex 0, whatever they held', () => {
    const g = /[0-9]{3}-[0-9]{3}-[0-9]{4}/g;
    const y = /[0-9]{3}/y;
    const plain = /\s{2,}/;
    g.lastIndex = 12;
    y.lastIndex = 5;
    compileAhead([g, y, plain]);
    expect([g.lastIndex, y.lastIndex, plain.lastIndex]).toEqual([0, 0, 0]);
  });

  it('changes no match: the same starts as a copy never run, on one-byte and two-byte text', () => {
    const patterns = [/[0-9]{3}[ -][0-9]{3}[ -][0-9]{4}/g, / {2,4}/g, /\u2019/g, /(?:)/g];
    const copies = patterns.map((re) => new RegExp(re.source, re.flags));
    compileAhead(patterns);
    for (const text of [TEXT, TEXT.replace('\u2019', "'")]) {
      patterns.forEach((re, k) => expect(starts(re, text)).toEqual(starts(copies[k]!, text)));
    }
    expect(starts(patterns[0]!, TEXT)).toEqual([5, 21, 59]);
  });
});
