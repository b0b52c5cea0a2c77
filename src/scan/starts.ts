/**
 * Every match start of many patterns, found with one pass over the text instead of one per pattern,
 * and exactly the starts a `while (re.exec(text))` loop finds for each.
 *
 * A pattern with bounded quantifiers can only match where certain text begins: `\b(?:send|post)…`
 * only where `send` or `post` does, and `(?:^|[\n>])[\s*#]{0,4}(?:important|…)` only one to five
 * characters before `important`. These literals are read from each pattern's source (read, never
 * guessed: a construct the reader does not know makes the pattern fall back to its own scan), and
 * one Aho–Corasick automaton over all of them, ASCII letters folded to lower case (as an `i` flag
 * does; for a pattern without one, folding only adds places), lists every place a match may start,
 * less those where a word boundary the pattern asserts around the literal is missing. The pattern
 * is then tried there alone, with
 * a sticky copy of itself, in the order and from the positions its own global search would reach:
 * after a match, from the match's end. A global search tries every position in turn and finds the
 * first where the pattern matches; a position that is no candidate cannot be one, so the first
 * candidate where the sticky copy matches is that same position, with the same match.
 *
 * Leaving out what the reader does not understand is always safe: assertions (`^`, lookarounds,
 * a `\b` away from the literal) only narrow where a pattern matches, so the candidates are a
 * superset whatever they say; a character class counts as one character of any kind; a literal is
 * cut short where a quantifier or a group follows it.
 *
 * Linear: the automaton reads each character once; every candidate comes from one literal found and
 * a gap of bounded width before it, and the patterns (bounded quantifiers, see ./util) cost a
 * constant per try.
 */
import { compileAhead, rx } from './util.js';
import { LocalError } from '../errors.js';

/** A literal of a pattern: a match may start `gapMin`–`gapMax` characters before it. */
interface Anchor {
  literal: string;
  gapMin: number;
  gapMax: number;
  /** The pattern asserts a word boundary (`\b`) right before the literal, or right after it. */
  boundaryBefore: boolean;
  boundaryAfter: boolean;
}

type Term =
  | { k: 'lit'; c: number; min: number; max: number }
  | { k: 'any'; set: CharSet; min: number; max: number }
  | { k: 'zero'; b?: boolean; caret?: boolean }
  | { k: 'group'; alts: Term[][]; min: number; max: number };

/**
 * What one character term may match: `ascii[c]` for each ASCII character (both cases of a letter,
 * whatever the flags), `other` when it may match any character outside ASCII.
 */
interface CharSet {
  ascii: Uint8Array;
  other: boolean;
}

const ASCII_SPACE = [9, 10, 11, 12, 13, 32];
const isAsciiWord = (c: number): boolean =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;

/** The set of an escape class (`\d`, `\w`, `\s` and their negations). */
function escapeSet(e: string, set: CharSet): void {
  const lower = e.toLowerCase();
  const member = (c: number): boolean =>
    lower === 'd' ? c >= 48 && c <= 57 : lower === 'w' ? isAsciiWord(c) : ASCII_SPACE.includes(c);
  const negated = e !== lower;
  for (let c = 0; c < 128; c++) if (member(c) !== negated) set.ascii[c] = 1;
  // \s matches Unicode spaces; a negated class matches everything outside ASCII.
  if (negated || lower === 's') set.other = true;
}

/** Adds character `c` to a set (both cases of an ASCII letter). */
function addChar(set: CharSet, c: number): void {
  if (c >= 128) {
    set.other = true;
    return;
  }
  set.ascii[c] = 1;
  if (c >= 65 && c <= 90) set.ascii[c + 32] = 1;
  else if (c >= 97 && c <= 122) set.ascii[c - 32] = 1;
}

const newSet = (): CharSet => ({ ascii: new Uint8Array(128), other: false });

/** Widest gap of unknown characters before a literal; beyond it a pattern scans on its own. */
const MAX_GAP = 64;
/** Literals this short are passed over for longer ones further in (see `anchorsOf`). */
const SHORT_LITERAL = 2;
/** Most anchors one pattern may have. */
const MAX_ANCHORS = 4096;

class Unsupported extends LocalError {
  constructor(message?: string) {
    super('pattern_unsupported', message);
  }
}

/** The character of the `\x` or `\u` escape (letter `e`) whose digits start at `i`. */
function hexEscape(src: string, i: number, e: string): number {
  const digits = e === 'x' ? 2 : 4;
  const hex = src.slice(i, i + digits);
  if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(hex)) throw new Unsupported('an escape');
  return parseInt(hex, 16);
}

/** What the class whose members start at `from` (after its `[`) matches, and where it ends (after its `]`). */
function charClass(src: string, from: number): { set: CharSet; end: number } {
  let i = from;
  const set = newSet();
  const negated = src[i] === '^';
  if (negated) i++;
  /** One member: a character code, or -1 for an escape class (added to the set). */
  const member = (): number => {
    const ch = src[i];
    if (ch === undefined) throw new Unsupported('an unclosed class');
    if (ch !== '\\') {
      i++;
      return ch.charCodeAt(0);
    }
    const e = src[i + 1];
    if (e === undefined) throw new Unsupported('a trailing backslash');
    i += 2;
    if ('dDwWsS'.includes(e)) {
      escapeSet(e, set);
      return -1;
    }
    const control: Record<string, number> = { n: 10, t: 9, r: 13, f: 12, v: 11, b: 8, '0': 0 };
    if (control[e] !== undefined) return control[e];
    if (e === 'x' || e === 'u') {
      const c = hexEscape(src, i, e);
      i += e === 'x' ? 2 : 4;
      return c;
    }
    if (/[A-Za-z0-9]/.test(e)) throw new Unsupported(`\\${e} in a class`);
    return e.charCodeAt(0);
  };
  while (src[i] !== ']') {
    const from = member();
    if (from >= 0 && src[i] === '-' && src[i + 1] !== ']' && src[i + 1] !== undefined) {
      i++;
      const to = member();
      if (to < 0 || to < from) throw new Unsupported('a class range');
      for (let c = from; c <= Math.min(to, 127); c++) set.ascii[c] = 1;
      if (to >= 128) set.other = true;
    } else if (from >= 128) set.other = true;
    else if (from >= 0) set.ascii[from] = 1;
  }
  i++;
  const out = negated ? newSet() : set;
  if (negated) {
    for (let c = 0; c < 128; c++) if (set.ascii[c] === 0) out.ascii[c] = 1;
    out.other = true;
  }
  // Either case of a letter, whatever the flags: a superset of what the class matches.
  for (let c = 65; c <= 90; c++) {
    if (out.ascii[c] !== out.ascii[c + 32]) out.ascii[c] = out.ascii[c + 32] = 1;
  }
  return { set: out, end: i };
}

/** The source of a pattern as alternatives of terms; throws `Unsupported` on what it does not know. */
function parse(src: string): Term[][] {
  let i = 0;
  const alts = (): Term[][] => {
    const out: Term[][] = [[]];
    while (i < src.length && src[i] !== ')') {
      if (src[i] === '|') {
        i++;
        out.push([]);
        continue;
      }
      out[out.length - 1]!.push(term());
    }
    return out;
  };
  const quantified = (atom: Term): Term => {
    let min = 1;
    let max = 1;
    const q = src[i];
    if (q === '?' || q === '*' || q === '+') {
      min = q === '+' ? 1 : 0;
      max = q === '?' ? 1 : Infinity;
      i++;
    } else if (q === '{') {
      const m = /^\{(\d{1,9})(?:(,)(\d{0,9}))?\}/.exec(src.slice(i, i + 24));
      if (m === null) throw new Unsupported('a literal brace');
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      i += m[0].length;
    } else return atom;
    if (src[i] === '?') i++; // lazy: the same places
    if (atom.k === 'zero') return min === 0 ? { k: 'zero' } : atom;
    if (atom.k === 'lit' || atom.k === 'any' || atom.k === 'group') {
      if (atom.min !== 1 || atom.max !== 1) throw new Unsupported('a nested quantifier');
      return { ...atom, min, max };
    }
    return atom;
  };
  const term = (): Term => {
    const c = src[i]!;
    if (c === '(') {
      let zero = false;
      if (src.startsWith('(?:', i)) i += 3;
      else if (src.startsWith('(?=', i) || src.startsWith('(?!', i)) {
        zero = true;
        i += 3;
      } else if (src.startsWith('(?<=', i) || src.startsWith('(?<!', i)) {
        zero = true;
        i += 4;
      } else if (src.startsWith('(?<', i)) {
        const close = src.indexOf('>', i);
        if (close < 0) throw new Unsupported('a group name');
        i = close + 1;
      } else if (src.startsWith('(?', i)) throw new Unsupported('a group modifier');
      else i += 1;
      const inner = alts();
      if (src[i] !== ')') throw new Unsupported('an unclosed group');
      i++;
      return quantified(zero ? { k: 'zero' } : { k: 'group', alts: inner, min: 1, max: 1 });
    }
    if (c === '[') {
      const read = charClass(src, i + 1);
      i = read.end;
      return quantified({ k: 'any', set: read.set, min: 1, max: 1 });
    }
    if (c === '.') {
      i++;
      const set = newSet();
      set.ascii.fill(1);
      set.other = true;
      return quantified({ k: 'any', set, min: 1, max: 1 });
    }
    if (c === '^' || c === '$') {
      i++;
      return quantified({ k: 'zero', caret: c === '^' });
    }
    if (c === '*' || c === '+' || c === '?' || c === '{' || c === '}' || c === ']') {
      throw new Unsupported(`a stray ${c}`);
    }
    if (c === '\\') {
      const e = src[i + 1];
      if (e === undefined) throw new Unsupported('a trailing backslash');
      i += 2;
      if (e === 'b') return quantified({ k: 'zero', b: true });
      if (e === 'B') return quantified({ k: 'zero' });
      if ('dDwWsS'.includes(e)) {
        const set = newSet();
        escapeSet(e, set);
        return quantified({ k: 'any', set, min: 1, max: 1 });
      }
      const control: Record<string, number> = { n: 10, t: 9, r: 13, f: 12, v: 11 };
      if (control[e] !== undefined) return quantified({ k: 'lit', c: control[e], min: 1, max: 1 });
      if (e === 'x' || e === 'u') {
        const ch = hexEscape(src, i, e);
        i += e === 'x' ? 2 : 4;
        return quantified({ k: 'lit', c: ch, min: 1, max: 1 });
      }
      if (/[A-Za-z0-9]/.test(e)) throw new Unsupported(`\\${e}`);
      return quantified({ k: 'lit', c: e.charCodeAt(0), min: 1, max: 1 });
    }
    i++;
    return quantified({ k: 'lit', c: c.charCodeAt(0), min: 1, max: 1 });
  };
  const out = alts();
  if (i !== src.length) throw new Unsupported('an unmatched )');
  return out;
}

/** Folds ASCII capitals as a non-Unicode `i` pattern does (nothing else matches an ASCII letter). */
const fold = (c: number): number => (c >= 65 && c <= 90 ? c + 32 : c);

/** Where a literal is being read: the gap before it, what it has so far, the boundaries seen. */
interface Reading {
  gapMin: number;
  gapMax: number;
  lit: number[];
  /** A `\b` where the literal starts (nothing consumed since). */
  before: boolean;
  /** A `\b` after the literal's last character (nothing consumed since). */
  after: boolean;
}

/** The anchors of a sequence of terms, read on from `r`: every match has one of them. */
function anchorsOf(seq: readonly Term[], r: Reading): Anchor[] {
  const { lit } = r;
  let { gapMin, gapMax, before, after } = r;
  const anchor = (chars: number[], boundaryAfter: boolean): Anchor => ({
    literal: String.fromCharCode(...chars),
    gapMin,
    gapMax,
    boundaryBefore: before,
    boundaryAfter
  });
  const done = (): Anchor[] => {
    if (lit.length === 0) throw new Unsupported('no literal');
    return [anchor(lit, after)];
  };
  const fresh = (): Reading => ({ gapMin, gapMax, lit: [], before, after: false });
  /**
   * The literal ends before `seq[j]`. A literal of one or two characters (`\n`, `in`) is found
   * almost everywhere: when every literal read on from `seq[j]`, this one counted into the gap,
   * is longer, those are the anchors instead (fewer places to try, the same matches).
   */
  const cut = (j: number): Anchor[] => {
    if (lit.length <= SHORT_LITERAL) {
      try {
        const on = anchorsOf(seq.slice(j), {
          gapMin: gapMin + lit.length,
          gapMax: gapMax + lit.length,
          lit: [],
          before: false,
          after: false
        });
        if (on.every((a) => a.literal.length > lit.length)) return on;
      } catch (e) {
        if (!(e instanceof Unsupported)) throw e;
      }
    }
    return done();
  };
  for (let j = 0; j < seq.length; j++) {
    const t = seq[j]!;
    if (t.k === 'zero') {
      if (t.b === true) {
        if (lit.length === 0) before = true;
        else after = true;
      }
      continue;
    }
    if (t.k === 'lit' && t.c < 128) {
      const c = fold(t.c);
      if (lit.length > 0) {
        if (t.min === 0) return cut(j);
        lit.push(c);
        after = false;
        if (t.max === 1) continue;
        return done();
      }
      if (t.min === 1 && t.max === 1) {
        lit.push(c);
        continue;
      }
      if (t.min >= 1) return [anchor([c], false)];
      // Optional: the match starts with it, or with what follows.
      const present: Anchor[] =
        t.max === 1 ? anchorsOf(seq.slice(j + 1), { ...fresh(), lit: [c] }) : [anchor([c], false)];
      return [...present, ...anchorsOf(seq.slice(j + 1), fresh())];
    }
    if (t.k === 'lit' || t.k === 'any') {
      // A class, or a character outside ASCII (whose case the automaton does not fold): a gap.
      if (lit.length > 0) return cut(j);
      gapMin += t.min;
      gapMax += t.max;
      before = false;
      if (gapMax > MAX_GAP) throw new Unsupported('a wide gap');
      continue;
    }
    if (lit.length > 0) return cut(j);
    const rest = seq.slice(j + 1);
    const out: Anchor[] = [];
    for (const alt of t.alts) out.push(...anchorsOf(t.max === 1 ? [...alt, ...rest] : alt, fresh()));
    if (t.min === 0) out.push(...anchorsOf(rest, fresh()));
    if (out.length > MAX_ANCHORS) throw new Unsupported('too many anchors');
    return out;
  }
  return done();
}

/** The anchors of a pattern, or `undefined` when its source has something the reader does not know. */
export function anchors(re: RegExp): Anchor[] | undefined {
  // Folding more than a case-sensitive pattern does only adds candidates; but with `u` or `v`,
  // `i` folds characters outside ASCII onto ASCII letters (ſ onto s) and escapes read otherwise,
  // and a sticky pattern's own search does not move on.
  if (/[uvy]/.test(re.flags)) return undefined;
  try {
    const out: Anchor[] = [];
    for (const alt of parse(re.source)) {
      out.push(...anchorsOf(alt, { gapMin: 0, gapMax: 0, lit: [], before: false, after: false }));
    }
    const seen = new Set<string>();
    return out.filter((a) => {
      const key = `${a.gapMin},${a.gapMax},${+a.boundaryBefore},${+a.boundaryAfter},${a.literal}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
}

/**
 * What the first character of a match may be, read from the pattern like its anchors: per ASCII
 * character (and at 128, for any other) 1 when a match may start with it, 2 when it may only
 * where a word boundary (`\b`) is. A match consumes its first character with the first term that
 * consumes anything, so a position whose character is none of these cannot start one, and the
 * pattern need not be tried there. Zero-width terms (lookarounds, `\B`, `$`) only narrow where a
 * match starts and are passed over; `^` makes position 0 (with `m`, every line start) a place to try.
 */
interface Firsts {
  at: Uint8Array;
  caret: boolean;
  multiline: boolean;
}

/** Most paths read to find a pattern's first characters; beyond it, every position is tried. */
const MAX_FIRST_PATHS = 20000;

/** The first characters of a pattern, or `undefined` when it may match the empty string or cannot be read. */
export function firstsOf(re: RegExp): Firsts | undefined {
  if (/[uvy]/.test(re.flags)) return undefined;
  const at = new Uint8Array(129);
  let caret = false;
  let paths = 0;
  const add = (t: Term & { k: 'lit' | 'any' }, bit: number): void => {
    let set: CharSet;
    if (t.k === 'lit') {
      set = newSet();
      addChar(set, t.c);
    } else set = t.set;
    for (let c = 0; c < 128; c++) if (set.ascii[c] === 1) at[c] = at[c]! | bit;
    if (set.other) at[128] = at[128]! | bit;
  };
  /** Reads `terms` from `j`, then `rest`; whether the whole may match without consuming. */
  const seq = (
    terms: readonly Term[],
    j: number,
    bound: boolean,
    rest: (bound: boolean) => boolean
  ): boolean => {
    if (++paths > MAX_FIRST_PATHS) throw new Unsupported('too many paths');
    for (; j < terms.length; j++) {
      const t = terms[j]!;
      if (t.k === 'zero') {
        if (t.caret === true) {
          caret = true;
          return false;
        }
        if (t.b === true) bound = true;
        continue;
      }
      if (t.k === 'lit' || t.k === 'any') {
        add(t, bound ? 2 : 1);
        if (t.min > 0) return false;
        continue;
      }
      const after = (b: boolean): boolean => seq(terms, j + 1, b, rest);
      let empty = false;
      for (const alt of t.alts) {
        if (t.max === 1) empty = seq(alt, 0, bound, after) || empty;
        else if (seq(alt, 0, bound, () => true)) empty = after(bound) || empty;
      }
      if (t.min === 0) empty = after(bound) || empty;
      return empty;
    }
    return rest(bound);
  };
  try {
    let empty = false;
    for (const alt of parse(re.source)) empty = seq(alt, 0, false, () => true) || empty;
    if (empty) return undefined;
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
  return { at, caret, multiline: re.flags.includes('m') };
}

const isLineTerminator = (c: number): boolean => c === 10 || c === 13 || c === 0x2028 || c === 0x2029;

/** Whether a match may start at `at`, by its first character (see `Firsts`). */
function mayStart(f: Firsts, text: string, at: number): boolean {
  if (f.caret && (at === 0 || (f.multiline && isLineTerminator(text.charCodeAt(at - 1))))) return true;
  if (at >= text.length) return true;
  const c = text.charCodeAt(at);
  const v = f.at[c < 128 ? c : 128]!;
  if ((v & 1) !== 0) return true;
  if (v === 0) return false;
  return isWord(c) !== (at > 0 && isWord(text.charCodeAt(at - 1)));
}

/** The patterns' anchors by literal: each literal once, with the (pattern, anchor) pairs it serves. */
interface Keywords {
  /** Per pattern, its sticky copy; `undefined` for a pattern that scans on its own. */
  sticky: (RegExp | undefined)[];
  /** Per pattern with a sticky copy, its first characters, when they can be read. */
  firsts: (Firsts | undefined)[];
  literals: string[];
  /** For each literal (by id), the (pattern, gap, boundaries) it anchors. */
  targets: Array<Array<[number, Anchor]>>;
}

function keywordsOf(patterns: readonly RegExp[]): Keywords {
  const sticky: (RegExp | undefined)[] = [];
  const firsts: (Firsts | undefined)[] = [];
  // Keywords: literal -> id; for each id, the (pattern, gap, boundaries) it anchors.
  const ids = new Map<string, number>();
  const targets: Array<Array<[number, Anchor]>> = [];
  patterns.forEach((re, p) => {
    const found = anchors(re);
    if (found === undefined) {
      // It searches the whole text on its own.
      compileAhead([re]);
      sticky.push(undefined);
      firsts.push(undefined);
      return;
    }
    sticky.push(rx(re.source, re.flags.replace('g', '') + 'y'));
    firsts.push(firstsOf(re));
    for (const a of found) {
      let id = ids.get(a.literal);
      if (id === undefined) {
        id = targets.length;
        ids.set(a.literal, id);
        targets.push([]);
      }
      targets[id]!.push([p, a]);
    }
  });
  return { sticky, firsts, literals: [...ids.keys()], targets };
}

/** An Aho–Corasick automaton over the literals, ASCII letters folded, as flat tables. */
interface Automaton {
  /** Character (below 128) -> symbol; 0 for a character in no literal. */
  symbol: Uint8Array;
  symbols: number;
  /**
   * `delta[state * symbols + symbol]`: the next state's row (`next * symbols`, so the scan adds
   * the symbol without a multiplication) times two, plus one when that state ends a literal (so
   * the scan looks up outputs only there).
   */
  delta: Int32Array;
  /** The literal ids a state ends: `out[outStart[s]]` up to `out[outStart[s + 1]]`. */
  outStart: Int32Array;
  out: Int32Array;
}

/** A trie over the literals' characters, completed with failure links into a table. */
function automatonOf(literals: readonly string[]): Automaton {
  const SYMBOL = new Uint8Array(128);
  let symbols = 1; // 0: a character in no literal
  for (const l of literals) {
    for (let k = 0; k < l.length; k++) {
      const c = l.charCodeAt(k);
      if (SYMBOL[c] === 0) SYMBOL[c] = symbols++;
    }
  }
  for (let c = 65; c <= 90; c++) SYMBOL[c] = SYMBOL[c + 32]!;
  const gotoRows: number[][] = [new Array<number>(symbols).fill(-1)];
  const own: number[][] = [[]];
  literals.forEach((l, id) => {
    let s = 0;
    for (let k = 0; k < l.length; k++) {
      const sym = SYMBOL[l.charCodeAt(k)]!;
      let next = gotoRows[s]![sym]!;
      if (next < 0) {
        next = gotoRows.length;
        gotoRows.push(new Array<number>(symbols).fill(-1));
        own.push([]);
        gotoRows[s]![sym] = next;
      }
      s = next;
    }
    own[s]!.push(id);
  });
  const states = gotoRows.length;
  const delta = new Int32Array(states * symbols);
  const fail = new Int32Array(states);
  const outputs: number[][] = own.map((o) => [...o]);
  const queue: number[] = [];
  for (let sym = 0; sym < symbols; sym++) {
    const next = gotoRows[0]![sym]!;
    delta[sym] = next < 0 ? 0 : next;
    if (next > 0) queue.push(next);
  }
  for (let q = 0; q < queue.length; q++) {
    const s = queue[q]!;
    outputs[s]!.push(...outputs[fail[s]!]!);
    for (let sym = 0; sym < symbols; sym++) {
      const next = gotoRows[s]![sym]!;
      if (next < 0) delta[s * symbols + sym] = delta[fail[s]! * symbols + sym]!;
      else {
        fail[next] = delta[fail[s]! * symbols + sym]!;
        delta[s * symbols + sym] = next;
        queue.push(next);
      }
    }
  }
  const outStart = new Int32Array(states + 1);
  for (let s = 0; s < states; s++) outStart[s + 1] = outStart[s]! + outputs[s]!.length;
  for (let k = 0; k < delta.length; k++) {
    const next = delta[k]!;
    delta[k] = 2 * next * symbols + (outputs[next]!.length > 0 ? 1 : 0);
  }
  return { symbol: SYMBOL, symbols, delta, outStart, out: Int32Array.from(outputs.flat()) };
}

/**
 * Per literal, its targets: pattern, gap, and which side must be a word boundary (bit 1: the
 * character before the literal must differ in wordness from its first character; bit 2: the
 * character after it from its last).
 */
interface Targets {
  literalLength: Int32Array;
  /** A literal's targets are `targetStart[id]` up to `targetStart[id + 1]`. */
  targetStart: Int32Array;
  targetPattern: Int32Array;
  targetGapMin: Int32Array;
  targetWidth: Int32Array;
  targetBoundary: Int32Array;
  firstWord: Int32Array;
  lastWord: Int32Array;
}

function targetsOf(literals: readonly string[], targets: Array<Array<[number, Anchor]>>): Targets {
  const targetStart = new Int32Array(literals.length + 1);
  literals.forEach((_, id) => (targetStart[id + 1] = targetStart[id]! + targets[id]!.length));
  const flat = targets.flat();
  return {
    literalLength: Int32Array.from(literals.map((l) => l.length)),
    targetStart,
    targetPattern: Int32Array.from(flat.map(([p]) => p)),
    targetGapMin: Int32Array.from(flat.map(([, a]) => a.gapMin)),
    targetWidth: Int32Array.from(flat.map(([, a]) => a.gapMax - a.gapMin)),
    targetBoundary: Int32Array.from(flat.map(([, a]) => +a.boundaryBefore | (+a.boundaryAfter << 1))),
    firstWord: Int32Array.from(literals.map((l) => +isWord(l.charCodeAt(0)))),
    lastWord: Int32Array.from(literals.map((l) => +isWord(l.charCodeAt(l.length - 1))))
  };
}

/** Candidate intervals are kept as `start * WIDE + width`, so sorting them sorts by start. */
const WIDE = 128;

/**
 * One pass of the automaton over `text`: per pattern, the intervals where a match may start
 * (`start * WIDE + width`, in the order found), or `undefined` when no literal was found.
 */
function candidatesOf(
  text: string,
  count: number,
  automaton: Automaton,
  tables: Targets
): (number[] | undefined)[] | undefined {
  const { symbol: SYMBOL, symbols, delta } = automaton;
  const n = text.length;
  let candidates: (number[] | undefined)[] | undefined;
  // The current state's row in `delta`.
  let row = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    const d = delta[row + (c < 128 ? SYMBOL[c]! : 0)]!;
    row = d >> 1;
    // Most characters end no literal: the loop stays this small for them.
    if ((d & 1) !== 0) {
      candidates = literalsEndingAt(text, i, row / symbols, count, candidates, automaton, tables);
    }
  }
  return candidates;
}

/** The candidates of the literals that state `s` ends at `i`, added to `candidates`. */
function literalsEndingAt(
  text: string,
  i: number,
  s: number,
  count: number,
  candidates: (number[] | undefined)[] | undefined,
  automaton: Automaton,
  tables: Targets
): (number[] | undefined)[] {
  const { outStart, out } = automaton;
  const { literalLength, targetStart, targetPattern, targetGapMin, targetWidth, targetBoundary } = tables;
  const { firstWord, lastWord } = tables;
  const n = text.length;
  const found = candidates ?? new Array<undefined>(count);
  const o1 = outStart[s + 1]!;
  for (let o = outStart[s]!; o < o1; o++) {
    const id = out[o]!;
    const at = i + 1 - literalLength[id]!;
    // The boundaries the pattern asserts around the literal, if it does.
    const wordBefore = at - 1 >= 0 && isWord(text.charCodeAt(at - 1)) ? 1 : 0;
    const wordAfter = i + 1 < n && isWord(text.charCodeAt(i + 1)) ? 1 : 0;
    const before = wordBefore !== firstWord[id];
    const after = wordAfter !== lastWord[id];
    const t1 = targetStart[id + 1]!;
    for (let t = targetStart[id]!; t < t1; t++) {
      const boundary = targetBoundary[t]!;
      if (((boundary & 1) !== 0 && !before) || ((boundary & 2) !== 0 && !after)) continue;
      const last = at - targetGapMin[t]!;
      if (last < 0) continue;
      const first = Math.max(0, last - targetWidth[t]!);
      const list = (found[targetPattern[t]!] ??= []);
      // An interval that starts inside or right after the pattern's last one joins it (their
      // union is the same places), so a run of one literal (`@@@@`) does not pile up intervals.
      const previous = list.length > 0 ? list[list.length - 1]! : -1;
      const previousFirst = Math.floor(previous / WIDE);
      const previousLast = previousFirst + (previous % WIDE);
      if (previous >= 0 && first >= previousFirst && first <= previousLast + 1) {
        const end = Math.max(last, previousLast);
        if (end - previousFirst < WIDE) {
          list[list.length - 1] = previousFirst * WIDE + (end - previousFirst);
          continue;
        }
      }
      list.push(first * WIDE + (last - first));
    }
  }
  return found;
}

/**
 * A pattern's candidate intervals sorted by start (see `WIDE`), in place. They are found in the
 * order their literals end, which is mostly the order they start in: a list already in order is
 * used as it is, instead of sorting a copy.
 */
function inOrder(list: number[]): number[] {
  for (let k = 1; k < list.length; k++) {
    if (list[k]! < list[k - 1]!) {
      // A typed array sorts numbers natively, without a comparison function.
      const sorted = Float64Array.from(list).sort();
      for (let j = 0; j < sorted.length; j++) list[j] = sorted[j]!;
      return list;
    }
  }
  return list;
}

/** A pattern's own global search: the starts of its first `limit` matches. */
function ownStarts(re: RegExp, text: string, limit: number): number[] {
  const starts: number[] = [];
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while (starts.length < limit && (m = re.exec(text)) !== null) {
    starts.push(m.index);
    if (m[0].length === 0) re.lastIndex++;
  }
  return starts;
}

/** The sticky copy tried at each candidate position, as the pattern's own global search would. */
function stickyStarts(
  y: RegExp,
  f: Firsts | undefined,
  list: number[] | undefined,
  text: string,
  limit: number
): number[] {
  const starts: number[] = [];
  if (list !== undefined) {
    const sorted = inOrder(list);
    // Positions are tried in increasing order, each once, none before the last match's end.
    let next = 0;
    for (let k = 0; k < sorted.length && starts.length < limit; k++) {
      const key = sorted[k]!;
      const first = Math.floor(key / WIDE);
      const last = first + (key % WIDE);
      for (let at = first > next ? first : next; at <= last; at++) {
        if (f !== undefined && !mayStart(f, text, at)) {
          next = at + 1;
          continue;
        }
        y.lastIndex = at;
        if (y.test(text)) {
          starts.push(at);
          const end = y.lastIndex;
          next = end > at ? end : at + 1;
          if (starts.length >= limit) break;
          at = next - 1;
        } else next = at + 1;
      }
    }
  }
  return starts;
}

/**
 * A finder for `patterns` (global): `(text, limit)` gives, for each pattern, the
 * starts of its matches in order, at most `limit` of them, exactly those of
 * `re.lastIndex = 0; while ((m = re.exec(text))) { starts.push(m.index); if (!m[0]) re.lastIndex++; }`.
 * The sticky copies are compiled (and registered) here, once.
 */
export function startFinder(patterns: readonly RegExp[]): (text: string, limit: number) => number[][] {
  const count = patterns.length;
  const { sticky, firsts, literals, targets } = keywordsOf(patterns);
  const automaton = automatonOf(literals);
  const tables = targetsOf(literals, targets);
  return (text, limit) => {
    const candidates = candidatesOf(text, count, automaton, tables);
    const result: number[][] = [];
    for (let p = 0; p < count; p++) {
      const y = sticky[p];
      // A pattern the reader does not know does its own scan.
      result.push(
        y === undefined
          ? ownStarts(patterns[p]!, text, limit)
          : stickyStarts(y, firsts[p], candidates?.[p], text, limit)
      );
    }
    return result;
  };
}

/**
 * A plan for one text: every match of `patterns` (global) found from the candidates of one pass
 * (see `startFinder`). `each(re, fn)` runs like `eachMatch` in ./util (the same matches, the
 * same `RegExpExecArray`s, the callback's resume index honoured) and returns true, or returns
 * false for a pattern the plan does not cover, which then scans on its own.
 */
export function matchPlanner(patterns: readonly RegExp[]): (text: string) => MatchPlan {
  const count = patterns.length;
  const { sticky, firsts, literals, targets } = keywordsOf(patterns);
  const automaton = automatonOf(literals);
  const tables = targetsOf(literals, targets);
  const index = new Map<RegExp, number>();
  patterns.forEach((re, p) => {
    if (sticky[p] !== undefined) index.set(re, p);
  });
  return (text) => {
    const candidates = candidatesOf(text, count, automaton, tables);
    return {
      text,
      each(re, fn) {
        const p = index.get(re);
        if (p === undefined) return false;
        const list = candidates?.[p];
        if (list !== undefined) stickyEach(sticky[p]!, firsts[p], list, text, fn);
        return true;
      }
    };
  };
}

interface MatchPlan {
  text: string;
  each(re: RegExp, fn: (m: RegExpExecArray) => number | void): boolean;
}

/** `eachMatch` over candidate intervals: the sticky copy tried where the global search would be. */
function stickyEach(
  y: RegExp,
  f: Firsts | undefined,
  list: number[],
  text: string,
  fn: (m: RegExpExecArray) => number | void
): void {
  const sorted = inOrder(list);
  let next = 0;
  for (let k = 0; k < sorted.length; k++) {
    const key = sorted[k]!;
    const first = Math.floor(key / WIDE);
    const last = first + (key % WIDE);
    for (let at = first > next ? first : next; at <= last; at++) {
      if (f !== undefined && !mayStart(f, text, at)) {
        next = at + 1;
        continue;
      }
      y.lastIndex = at;
      const m = y.exec(text);
      if (m === null) {
        next = at + 1;
        continue;
      }
      const end = y.lastIndex;
      const resume = fn(m);
      next = typeof resume === 'number' && resume > at ? resume : end > at ? end : at + 1;
      at = next - 1;
    }
  }
}

const isWord = (c: number): boolean =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
