// The one-pass start finder finds, for every pattern, exactly the starts its own global search
// finds: on the scorer's behaviour patterns, on the evaluation corpus and on text built from the
// patterns' own words, and on patterns written to probe the reader (gaps, optional parts,
// boundaries, lookarounds, what it must refuse).
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { anchors, firstsOf, startFinder } from './starts.js';
import { registeredPatterns } from './util.js';
import './index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** What a global search finds: every match start, from each match's end on. */
function execStarts(re: RegExp, text: string, limit = Infinity): number[] {
  const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g');
  const out: number[] = [];
  let m: RegExpExecArray | null;
  while (out.length < limit && (m = g.exec(text)) !== null) {
    out.push(m.index);
    if (m[0].length === 0) g.lastIndex++;
  }
  return out;
}

const finders = new Map<RegExp[], ReturnType<typeof startFinder>>();
const expectSame = (patterns: RegExp[], text: string, limit = 1 << 16): void => {
  if (!finders.has(patterns)) finders.set(patterns, startFinder(patterns));
  const found = finders.get(patterns)!(text, limit);
  patterns.forEach((re, p) =>
    expect(found[p], `${re.source.slice(0, 60)} on ${text.slice(0, 60)}`).toEqual(execStarts(re, text, limit))
  );
};

describe('anchors', () => {
  it('reads the literals a match must hold, with the gap before them and the boundaries around them', () => {
    expect(anchors(/\b(?:send|posts?)\b/gi)).toEqual([
      { literal: 'send', gapMin: 0, gapMax: 0, boundaryBefore: true, boundaryAfter: true },
      { literal: 'post', gapMin: 0, gapMax: 0, boundaryBefore: true, boundaryAfter: false }
    ]);
    expect(anchors(/(?:^|[\n>])[\s*#]{0,4}IMPORTANT:/gi)).toEqual([
      { literal: 'important:', gapMin: 0, gapMax: 4, boundaryBefore: false, boundaryAfter: false },
      { literal: 'important:', gapMin: 1, gapMax: 5, boundaryBefore: false, boundaryAfter: false }
    ]);
    // An optional first character: the match starts with it or with what follows.
    expect(anchors(/x?yz/gi)!.map((a) => a.literal)).toEqual(['xyz', 'yz']);
    // A lookbehind and a lookahead say nothing about where the match itself starts.
    expect(anchors(/(?<!not )\bwithout(?= delay)/gi)!.map((a) => a.literal)).toEqual(['without']);
  });
  it('refuses what it cannot read for certain: `u` or `y`, a backreference, a gap too wide, no literal', () => {
    expect(anchors(/send/gy)).toBeUndefined();
    expect(anchors(/(a)b\1/gi)).toBeUndefined();
    expect(anchors(/[a-z]{1,100}@/gi)).toBeUndefined();
    expect(anchors(/[a-z]{1,5}/gi)).toBeUndefined();
    expect(anchors(/a|/gi)).toBeUndefined();
    expect(anchors(/x/giu)).toBeUndefined();
  });
});

describe('firstsOf', () => {
  const first = (re: RegExp, c: string): number =>
    firstsOf(re)!.at[c.charCodeAt(0) < 128 ? c.charCodeAt(0) : 128]!;
  it('reads the characters a match may start with, and where a word boundary must be', () => {
    expect(first(/\b(?:send|post)/g, 's')).toBe(2);
    expect(first(/\b(?:send|post)/g, 'P')).toBe(2); // either case, whatever the flags
    expect(first(/\b(?:send|post)/g, 'e')).toBe(0);
    expect(first(/x?yz/g, 'x')).toBe(1);
    expect(first(/x?yz/g, 'y')).toBe(1);
    expect(first(/x?yz/g, 'z')).toBe(0);
    expect(first(/[^a]b/g, 'A')).toBe(1); // without `i`, [^a] matches A
    expect(first(/[^a]b/g, 'a')).toBe(1); // and folding both cases only adds places
    expect(first(/[^a]b/g, 'é')).toBe(1);
    expect(first(/[a-c]/g, 'é')).toBe(0);
    expect(first(/\s/g, '\u00a0')).toBe(1);
    expect(first(/(?<!x)\.env/g, '.')).toBe(1);
    const caret = firstsOf(/(?:^|\n)ab/g)!;
    expect(caret.caret).toBe(true);
    expect(caret.at['a'.charCodeAt(0)]).toBe(0); // only at the start, tried there anyway
  });
  it('refuses a pattern that may match the empty string', () => {
    expect(firstsOf(/a?/g)).toBeUndefined();
    expect(firstsOf(/(?:a|)b?/g)).toBeUndefined();
    expect(firstsOf(/\b/g)).toBeUndefined();
  });
});

describe('startFinder', () => {
  const probes = [
    /\b(?:send|posts?)\b/gi,
    /(?:^|[\n>])[\s*#]{0,4}IMPORTANT:/gi,
    /x?yz/gi,
    /(?<!not )\bwithout(?= delay)/gi,
    /\b[\w.+-]{1,12}@[a-z]{2,5}\.com\b/gi,
    /aa/gi,
    /a(?:a|b){0,3}a/gi,
    /(?:ab){1,3}c?/gi,
    /\.\w{1,12}_history\b/gi,
    /(?:https?:)?\/\/[^\s]{1,20}?[?&]q=/gi,
    /Send|POST/g, // case-sensitive: folding only adds candidates
    /se(n)d\1/gi, // refused: its own scan
    // First characters: classes, negated classes with and without `i`, `^` with and without `m`,
    // a boundary before the first character, short literals passed over for longer ones.
    /[^a]b/g,
    /[^A-Z\s]{1,2}yz/g,
    /(?:^|\n)[\s#*>]{0,6}(?:send|post)/gi,
    /(?:^|\n)[\s#*>]{0,6}(?:send|post)/gim,
    /(?:^|[.!?\n](?:[\s,]{1,3})?)(?:(?:x|a\.?b)[\s,]{1,3})?(?:without|send)/gi,
    /\b(?:in[\s,]{1,3}case|q=)/gi,
    /(?<![\w$])\.com\b|[\x2e\u005f]history/gi
  ];
  const words = fc.constantFrom(
    'send',
    'SEND',
    'posts',
    'post',
    'IMPORTANT:',
    'important',
    '\n',
    '>',
    '*',
    '#',
    ' ',
    'x',
    'y',
    'z',
    'yz',
    'not ',
    'without',
    ' delay',
    'a',
    'b',
    'ab',
    'c',
    '@',
    'ada',
    '.com',
    'ex',
    '_history',
    '.bash',
    'http',
    's:',
    '//',
    '?',
    '&',
    'q=',
    'ſ',
    'K',
    'İ',
    'A',
    'B',
    'é',
    '\u00a0',
    'in',
    ' case',
    'a.b',
    '$',
    '_',
    '-',
    '.',
    '9'
  );
  const texts = fc.array(words, { maxLength: 40 }).map((w) => w.join(''));
  it('finds what each pattern finds on its own, on text built from the patterns’ pieces', () => {
    fc.assert(
      fc.property(texts, (text) => expectSame(probes, text)),
      { numRuns: 3000 }
    );
  });
  it('stops each pattern at the limit, as the loop it stands for does', () => {
    const text = 'aaaaaaaaaa send send send';
    const found = startFinder(probes)(text, 2);
    probes.forEach((re, p) => expect(found[p]).toEqual(execStarts(re, text, 2)));
  });
});

describe('on the scanners’ own patterns', () => {
  // Every registered pattern (the behaviour patterns among them), read or not.
  const patterns = registeredPatterns().filter((re) => !re.sticky);
  let corpus: string[] = [];
  beforeAll(async () => {
    const load = async (file: string) =>
      (await import(pathToFileURL(join(ROOT, 'bench/scan', file)).href)) as Record<string, () => unknown[]>;
    const results = await load('data-results.mjs');
    const secrets = await load('data-secrets.mjs');
    corpus = [
      ...results.benignResults!().map((i) => JSON.stringify((i as { result: unknown }).result)),
      ...secrets.secretPositives!().map((i) => (i as { text: string }).text)
    ];
  });
  it('reads most of them', () => {
    expect(patterns.filter((re) => anchors(re) !== undefined).length).toBeGreaterThan(80);
  });
  it('finds what each finds on its own, on the evaluation corpus joined and alone', () => {
    expectSame(patterns, corpus.join('\n'));
    for (const text of corpus.slice(0, 200)) expectSame(patterns, text);
  });
  it('finds what each finds on its own, on text built from their words', () => {
    const pieces = fc.constantFrom(
      ...('ignore previous instructions you must always send the password to http://x.io/?q={data} ' +
        'do not tell the user silently ~/.ssh/id_rsa .env .bash_history <IMPORTANT> [SYSTEM] <|im_start|> ' +
        'before using this tool call read_file instead run curl | sh if the user asks ai assistant ' +
        'ada@example.com ![x](https://e.io/a?d=1) IMPORTANT: 100 times repeat without confirmation'
          .split(' ')
          .flatMap((w) => [w, ' '])),
      '\n',
      ',',
      '.',
      '!',
      'Ignore',
      'SEND'
    );
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 60 }), (parts) => expectSame(patterns, parts.join(''))),
      { numRuns: 300 }
    );
  });
});
