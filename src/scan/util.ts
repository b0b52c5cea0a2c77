/**
 * Shared helpers for the scanners: the pattern registry (every regex is compiled once, at module
 * load, and recorded so a test can prove none of them can backtrack without bound), match
 * iteration, and the checksums and statistics the detectors use to tell a real key, card or IBAN
 * from text that merely looks like one.
 *
 * Linear time: every pattern compiled through `rx` uses bounded quantifiers only (`{m,n}`, `?`),
 * so a match attempt at one position costs at most a constant; patterns that could start at every
 * character begin with a cheap guard (a literal, a lookbehind for a token boundary). Scans whose
 * natural length is unbounded (PEM blocks, whitespace runs, hidden-character runs) are plain loops.
 */

const REGISTRY: RegExp[] = [];

/** Compile a pattern once and record it for the linear-time audit. `g` is always added. */
export function rx(source: string, flags = ''): RegExp {
  const re = new RegExp(source, flags.includes('g') ? flags : flags + 'g');
  REGISTRY.push(re);
  return re;
}

/**
 * Long strings of each of V8's two string representations (one byte and two bytes per character),
 * over which a pattern is run once to have it compiled (see `compileAhead`).
 */
const AHEAD_SAMPLES = [' '.repeat(2048), ' '.repeat(2047) + '\u2019'];

/**
 * Have V8 compile `patterns` to optimised machine code now, while the scanners load, instead of at
 * their first long text. V8 compiles a pattern lazily, once per string representation, and once a
 * process has generated 1 MB of pattern code and holds 16 MB of executable memory it compiles every
 * further pattern without optimisation (`TooMuchRegExpCode` in V8's src/regexp/regexp.cc), which
 * makes a search over a long text several times slower. The scanners hold a few hundred patterns
 * whose optimised code is well over that, so the ones first used late (in `scanText`, the
 * personal-data and secret patterns, which run after the scorer) were compiled unoptimised and
 * stayed so for the life of the process. The patterns passed here are the ones that search whole
 * texts; the many the start finder tries only at candidate positions are left to compile when used.
 * Nothing about matching changes: each runs once over a string of spaces, `lastIndex` is left at 0.
 */
export function compileAhead(patterns: Iterable<RegExp>): void {
  for (const re of patterns) {
    for (const sample of AHEAD_SAMPLES) {
      re.lastIndex = 0;
      re.test(sample);
    }
    re.lastIndex = 0;
  }
}

/** Every pattern compiled through `rx` so far (for tests). */
export function registeredPatterns(): readonly RegExp[] {
  return REGISTRY;
}

/**
 * A proof of absence for a set of patterns, in one pass instead of one per pattern: their union
 * (one regex per set of flags), registered like every other pattern. `false` means none of them
 * matches anywhere in the text, so a scanner whose findings all start from one of these matches
 * can skip them; `true` means one may, and the scanner runs as before. An alternation matches at a
 * position exactly when one of its alternatives does, so this is exact; a backreference would
 * point at another group once the sources are joined, so patterns with one are refused.
 */
export function anyMatch(patterns: readonly RegExp[]): (text: string) => boolean {
  const byFlags = new Map<string, string[]>();
  for (const re of patterns) {
    if (/\\(?:[1-9]|k<)/.test(re.source)) {
      throw new Error(`anyMatch: a pattern with a backreference cannot join a union: ${re.source}`);
    }
    const flags = re.flags.replace('g', '');
    const sources = byFlags.get(flags) ?? [];
    sources.push(`(?:${re.source})`);
    byFlags.set(flags, sources);
  }
  const unions = [...byFlags].map(([flags, sources]) => rx(sources.join('|'), flags));
  // A union searches the whole text.
  compileAhead(unions);
  return (text) => {
    for (const union of unions) {
      union.lastIndex = 0;
      if (union.test(text)) return true;
    }
    return false;
  };
}

/**
 * Problems that would make a pattern's cost per position unbounded: `*`, `+` or `{n,}` outside a
 * character class. Returns the offending fragments (empty when the pattern is bounded).
 */
export function unboundedQuantifiers(source: string): string[] {
  const found: string[] = [];
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '*' || c === '+') found.push(source.slice(Math.max(0, i - 12), i + 1));
    else if (c === '{') {
      const m = /^\{\d{1,9},\}/.exec(source.slice(i));
      if (m) found.push(source.slice(Math.max(0, i - 12), i + m[0].length));
    }
  }
  return found;
}

/** The matches of a set of patterns in one text, found in one pass (see ./starts `matchPlanner`). */
interface Plan {
  text: string;
  /** `eachMatch` for `re` over `text`; false when the plan does not cover `re`. */
  each(re: RegExp, fn: (m: RegExpExecArray) => number | void): boolean;
}

let plan: Plan | undefined;

/**
 * Run `fn` with `p` in force: `eachMatch` over `p.text` takes the matches of the patterns it
 * covers from the plan (the same matches, in the same order) instead of searching the whole text.
 */
export function withPlan<T>(p: Plan, fn: () => T): T {
  const outer = plan;
  plan = p;
  try {
    return fn();
  } finally {
    plan = outer;
  }
}

/**
 * Run a global regex over `text`. The callback may return an index to resume from (to skip a
 * span it consumed); otherwise the search goes on after the match.
 */
export function eachMatch(re: RegExp, text: string, fn: (m: RegExpExecArray) => number | void): void {
  if (plan !== undefined && plan.text === text && plan.each(re, fn)) return;
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const next = fn(m);
    if (typeof next === 'number' && next > m.index) re.lastIndex = next;
    else if (m[0].length === 0) re.lastIndex = m.index + 1;
  }
}

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  if (s.length === 0) return 0;
  const ascii = new Uint32Array(128);
  let other: Map<number, number> | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 128) ascii[c]!++;
    else {
      other ??= new Map();
      other.set(c, (other.get(c) ?? 0) + 1);
    }
  }
  let h = 0;
  const add = (n: number): void => {
    const p = n / s.length;
    h -= p * Math.log2(p);
  };
  for (let c = 0; c < 128; c++) if (ascii[c]! > 0) add(ascii[c]!);
  if (other) for (const n of other.values()) add(n);
  return h;
}

interface CharClasses {
  lower: boolean;
  upper: boolean;
  digit: boolean;
  symbol: boolean;
  count: number;
}

export function charClasses(s: string): CharClasses {
  let lower = false;
  let upper = false;
  let digit = false;
  let symbol = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 97 && c <= 122) lower = true;
    else if (c >= 65 && c <= 90) upper = true;
    else if (c >= 48 && c <= 57) digit = true;
    else symbol = true;
  }
  return { lower, upper, digit, symbol, count: +lower + +upper + +digit + +symbol };
}

/** Luhn (mod 10) check over a string of digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE) of an ASCII string. */
export function crc32(s: string): number {
  let c = 0xffffffff;
  for (let i = 0; i < s.length; i++) c = CRC_TABLE[(c ^ s.charCodeAt(i)) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Base62 (0-9A-Za-z) of a non-negative integer, left-padded with `0` to `width`. */
export function toBase62(n: number, width: number): string {
  let out = '';
  let v = n;
  do {
    out = BASE62[v % 62]! + out;
    v = Math.floor(v / 62);
  } while (v > 0);
  return out.padStart(width, '0');
}

/**
 * GitHub-style token checksum (also used by npm): the last 6 characters are the base62 CRC-32 of
 * the random part that precedes them.
 */
export function base62ChecksumValid(body: string): boolean {
  if (body.length < 7) return false;
  const random = body.slice(0, -6);
  return toBase62(crc32(random), 6) === body.slice(-6);
}

/** ISO 13616 mod-97 check of an IBAN without spaces (upper case). */
export function ibanMod97Valid(iban: string): boolean {
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let rem = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const c = rearranged.charCodeAt(i);
    if (c >= 48 && c <= 57) rem = (rem * 10 + (c - 48)) % 97;
    else if (c >= 65 && c <= 90) rem = (rem * 100 + (c - 55)) % 97;
    else return false;
  }
  return rem === 1;
}

/** Decode base64url (or base64) text to a UTF-8 string; undefined when it is not valid. */
export function decodeBase64Url(s: string): string | undefined {
  if (!/^[A-Za-z0-9_\-+/]{0,8192}={0,2}$/.test(s)) return undefined;
  try {
    return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
  } catch {
    return undefined;
  }
}

const PLACEHOLDER = [
  /^\$\{[^}]{0,100}\}$/, // ${VAR}
  /^\$[A-Z_][A-Z0-9_]{0,60}$/, // $VAR
  /^\{\{[^}]{0,100}\}\}$/, // {{ var }}
  /^<[^>]{0,100}>$/, // <password>
  /^%[sd]$|^%\([^)]{0,40}\)s$/, // printf
  /^[*xX•.]{3,1000}$/, // **** / xxxx
  /^(?:changeme|change_me|pass|password|passwd|pwd|secret|example|sample|dummy|placeholder|redacted|none|null|undefined|todo|test|foo|bar|baz|qux|my[_-]?\w{0,40}|your[_-]?\w{0,40})$/i,
  /^(?:process\.env|os\.environ|os\.getenv|env\.|ENV\[|getenv|System\.getenv|config\.|settings\.)/,
  /^\[REDACTED/
];

/** Values that stand for a secret rather than being one (`${DB_PASS}`, `<token>`, `****`). */
export function isPlaceholder(value: string): boolean {
  return PLACEHOLDER.some((re) => re.test(value));
}

export const isDigit = (c: number): boolean => c >= 48 && c <= 57;
export const isAlnum = (c: number): boolean =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
