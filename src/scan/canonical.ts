/**
 * One canonical text for every detector: what a model reads once the tricks that hide text from a
 * person or from a pattern are undone. In order:
 *
 * 1. Invisible and format characters are removed and reported (`hidden`): every character of
 *    general category Cf except the visible prepended concatenation marks (U+0600–U+0605, U+06DD,
 *    U+070F, U+0890–U+0891, U+08E2, U+110BD, U+110CD), every other Default_Ignorable_Code_Point
 *    (combining grapheme joiner, Hangul fillers, Khmer inherent vowels, variation selectors), the
 *    line and paragraph separators (which become a newline), C0/C1 control characters other than
 *    tab, newline and carriage return, and ANSI escape sequences (dropped whole). Unicode tag
 *    characters are invisible ASCII, so the ASCII they spell takes their place. Legitimate uses
 *    stay out of the report: an emoji ZWJ sequence and ZWJ/ZWNJ between letters of a script that
 *    needs them are kept, as are subdivision flag tag sequences and conjoining Hangul fillers; a
 *    leading byte-order mark and emoji presentation selectors are removed without a report.
 * 2. NFKC: fullwidth forms, ligatures, mathematical alphanumerics, circled letters become ASCII.
 * 3. Confusables fold to ASCII: a non-ASCII character that Unicode's confusables data (UTS #39)
 *    maps to an ASCII prototype becomes that prototype (Cyrillic і о е, Greek ο ν, smart quotes,
 *    the minus sign...). ASCII itself is never folded (UTS #39 maps `m` to `rn`), and characters of
 *    scripts where the fold would only damage ordinary text (Arabic and Indic scripts, CJK, Hangul,
 *    emoji) are left alone. Steps 2 and 3 repeat until stable, so the result is a fixed point.
 * 4. Whitespace collapses: a run of blanks (space, tab, no-break and typographic spaces, ideographic
 *    space, Braille blank) becomes one space, CR LF and lone CR become LF, and a whitespace run with
 *    three or more line breaks becomes two.
 * 5. With `decode` (the default), text hidden in an encoding is decoded into the canonical text:
 *    HTML comments lose their markers (the content stays, in place), HTML entities and
 *    percent-encoding are decoded in place, and base64 and hex runs that decode to text are kept
 *    and followed by their decoded text (so a detector still sees a key or a token as it was
 *    written, and also what it says). Decoded text is canonicalised in turn, two levels deep at
 *    most, and the total decoded length is capped at twice the input length.
 *
 * Everything is linear in the input: character-code loops, no pattern that can backtrack. Plain
 * ASCII text with nothing to change costs one pass and comes back as the same string.
 *
 * Steps 1–4 are idempotent (`canonicalize(c.text, { decode: false }).text === c.text`). With
 * decoding the output is still canonical for steps 1–4, but a second call may decode more: text
 * encoded three times gives up one more layer each time.
 *
 * Offsets (`hidden`, `decoded`, `toOriginal`) are UTF-16 offsets into the original text. Text that
 * came out of a decoding maps to the whole encoded span it came from.
 *
 * The confusables data is the `unhomoglyph` package's copy of Unicode's confusables.txt (Unicode
 * 13.0), read once when this module loads into a table indexed by code point.
 */
import { createRequire } from 'node:module';

export type HiddenClass =
  | 'zero-width'
  | 'bidi'
  | 'soft-hyphen'
  | 'tag'
  | 'variation-selector'
  | 'filler'
  | 'separator'
  | 'control'
  | 'ansi'
  | 'format';

/** A run of adjacent invisible characters of one class, as found in the original text. */
export interface HiddenRun {
  cls: HiddenClass;
  /** Offsets in the original text (for a run inside decoded text: the encoded span). */
  start: number;
  end: number;
  /** Characters in the run (code points; ANSI: escape sequences). */
  count: number;
  /** Tag runs: the ASCII the tags spell (printable characters only). */
  decoded?: string;
  /** Set when the run was found inside text decoded from this encoding. */
  via?: DecodedKind;
}

export type DecodedKind = 'html-comment' | 'html-entity' | 'percent' | 'base64' | 'hex';

/** A span of the original text whose hidden content was decoded into the canonical text. */
export interface DecodedSpan {
  kind: DecodedKind;
  /** Offsets in the original text (depth 2: those of the enclosing depth-1 span). */
  start: number;
  end: number;
  /** The decoded text, canonicalised. */
  text: string;
  /** 1: found in the text itself; 2: found inside text decoded at depth 1. */
  depth: number;
}

export interface Canonical {
  text: string;
  hidden: HiddenRun[];
  decoded: DecodedSpan[];
  /** False when `text` is the input string itself. */
  changed: boolean;
  /** The span of the original text that `text.slice(start, end)` came from. */
  toOriginal(start: number, end: number): { start: number; end: number };
}

export interface CanonicalOptions {
  /** Decode HTML comments, entities, percent-encoding, base64 and hex (default true). */
  decode?: boolean;
}

/** How many levels of encoding are peeled (text decoded from text decoded from the input). */
const MAX_DEPTH = 2;
/** A base64 run shorter than this is never decoded (12 bytes). */
const MIN_ENCODED_RUN = 16;
/** Nor is a hex run shorter than this (12 bytes): 16-digit hex identifiers are common. */
const MIN_HEX_RUN = 24;

// ---------------------------------------------------------------------------------------------
// Classification of invisible characters (one table for the whole BMP; a few astral ranges).

const NONE = 0;
const ZW = 1;
const BIDI = 2;
const SHY = 3;
const TAG = 4;
const VS = 5;
const FILLER = 6;
const SEP = 7;
const CTL = 8;
const ESC = 9;
const FMT = 10;
/** A high surrogate whose code points include invisible ones. */
const ASTRAL = 11;

const CLASS_NAME: readonly HiddenClass[] = [
  'format', // unused (NONE)
  'zero-width',
  'bidi',
  'soft-hyphen',
  'tag',
  'variation-selector',
  'filler',
  'separator',
  'control',
  'ansi',
  'format'
];

const BMP = new Uint8Array(0x10000);
function mark(from: number, to: number, k: number): void {
  BMP.fill(k, from, to + 1);
}
mark(0x00, 0x08, CTL);
mark(0x0b, 0x0c, CTL);
mark(0x0e, 0x1f, CTL);
mark(0x1b, 0x1b, ESC);
mark(0x7f, 0x9f, CTL);
mark(0x9b, 0x9b, ESC);
mark(0xad, 0xad, SHY);
mark(0x34f, 0x34f, ZW); // combining grapheme joiner
mark(0x61c, 0x61c, BIDI); // Arabic letter mark
mark(0x115f, 0x1160, FILLER);
mark(0x17b4, 0x17b5, FILLER); // Khmer inherent vowels (invisible)
mark(0x180b, 0x180d, VS); // Mongolian free variation selectors
mark(0x180e, 0x180e, ZW); // Mongolian vowel separator
mark(0x180f, 0x180f, VS);
mark(0x200b, 0x200d, ZW);
mark(0x200e, 0x200f, BIDI);
mark(0x2028, 0x2029, SEP);
mark(0x202a, 0x202e, BIDI);
mark(0x2060, 0x2064, ZW);
mark(0x2065, 0x2065, FMT);
mark(0x2066, 0x2069, BIDI);
mark(0x206a, 0x206f, FMT); // deprecated shaping and swapping controls
mark(0x3164, 0x3164, FILLER);
mark(0xfe00, 0xfe0f, VS);
mark(0xfeff, 0xfeff, ZW);
mark(0xffa0, 0xffa0, FILLER);
mark(0xfff0, 0xfffb, FMT); // unassigned ignorables, interlinear annotation controls
for (const hi of [0xd80d, 0xd82f, 0xd834, 0xdb40, 0xdb41, 0xdb42, 0xdb43]) BMP[hi] = ASTRAL;

function astralClass(cp: number): number {
  if (cp >= 0xe0000 && cp <= 0xe0fff) {
    if (cp <= 0xe007f) return TAG;
    if (cp >= 0xe0100 && cp <= 0xe01ef) return VS;
    return FMT;
  }
  if (cp >= 0x13430 && cp <= 0x1343f) return FMT; // Egyptian hieroglyph format controls
  if (cp >= 0x1bca0 && cp <= 0x1bca3) return FMT; // shorthand format controls
  if (cp >= 0x1d173 && cp <= 0x1d17a) return FMT; // musical symbol format controls
  return NONE;
}

/**
 * The class of an invisible character by code point alone (no context: a legitimate joiner is
 * still `zero-width` here). `undefined` for a visible character (and for tab, newline and CR).
 */
export function hiddenClassOf(cp: number): HiddenClass | undefined {
  let k = cp < 0x10000 ? BMP[cp]! : astralClass(cp);
  if (k === ASTRAL) k = NONE; // a lone high surrogate
  return k === NONE ? undefined : CLASS_NAME[k];
}

// ---------------------------------------------------------------------------------------------
// Context: legitimate joiners, selectors, flags and fillers.

/** Scripts whose orthography uses ZWJ/ZWNJ between letters. */
const JOINER_SCRIPT =
  /[\p{scx=Arabic}\p{scx=Syriac}\p{scx=Thaana}\p{scx=Nko}\p{scx=Mandaic}\p{scx=Mongolian}\p{scx=Devanagari}\p{scx=Bengali}\p{scx=Gurmukhi}\p{scx=Gujarati}\p{scx=Oriya}\p{scx=Tamil}\p{scx=Telugu}\p{scx=Kannada}\p{scx=Malayalam}\p{scx=Sinhala}\p{scx=Tibetan}\p{scx=Myanmar}\p{scx=Khmer}\p{scx=Balinese}\p{scx=Javanese}\p{scx=Sundanese}]/u;
const LETTER_OR_MARK = /[\p{L}\p{M}]/u;
const PICTOGRAPHIC = /\p{Extended_Pictographic}/u;
const EMOJI = /\p{Emoji}/u;
const HAN = /\p{scx=Han}/u;
const MONGOLIAN = /\p{scx=Mongolian}/u;

function codePointBefore(text: string, i: number): string {
  if (i <= 0) return '';
  const lo = text.charCodeAt(i - 1);
  if (lo >= 0xdc00 && lo <= 0xdfff && i >= 2) {
    const hi = text.charCodeAt(i - 2);
    if (hi >= 0xd800 && hi <= 0xdbff) return text.slice(i - 2, i);
  }
  return text.slice(i - 1, i);
}

function codePointAt(text: string, i: number): string {
  const cp = text.codePointAt(i);
  return cp === undefined ? '' : String.fromCodePoint(cp);
}

const nfkcStable = (s: string): boolean => s.normalize('NFKC') === s;

const joinerLetter = (s: string): boolean =>
  s.length > 0 && LETTER_OR_MARK.test(s) && JOINER_SCRIPT.test(s) && nfkcStable(s);

/** An emoji element a ZWJ may follow: a pictograph, possibly with a presentation selector or skin tone. */
function emojiBefore(text: string, i: number): boolean {
  let at = i;
  let cp = codePointBefore(text, at);
  const c = cp.codePointAt(0) ?? 0;
  if (c === 0xfe0f || (c >= 0x1f3fb && c <= 0x1f3ff)) {
    at -= cp.length;
    cp = codePointBefore(text, at);
  }
  return cp.length > 0 && PICTOGRAPHIC.test(cp) && nfkcStable(cp);
}

/** ZWJ/ZWNJ inside an emoji sequence or between two letters of a script that needs them. */
function legitimateJoiner(text: string, i: number, c: number): boolean {
  const before = codePointBefore(text, i);
  const after = codePointAt(text, i + 1);
  if (c === 0x200d && emojiBefore(text, i) && PICTOGRAPHIC.test(after) && nfkcStable(after)) return true;
  return joinerLetter(before) && joinerLetter(after);
}

/** A Mongolian vowel separator between Mongolian letters. */
function legitimateMvs(text: string, i: number): boolean {
  const before = codePointBefore(text, i);
  const after = codePointAt(text, i + 1);
  return before !== '' && after !== '' && MONGOLIAN.test(before) && MONGOLIAN.test(after);
}

/**
 * A run of variation selectors that selects a glyph rather than carrying data: one or two emoji or
 * text presentation selectors after an emoji, or a single standardized or ideographic variation
 * selector after a character that has such variants.
 */
function legitimateSelectors(text: string, start: number, selectors: number[]): boolean {
  const base = codePointBefore(text, start);
  if (base === '') return false;
  const first = selectors[0]!;
  if (selectors.every((s) => s === 0xfe0e || s === 0xfe0f)) {
    return selectors.length <= 2 && EMOJI.test(base);
  }
  if (selectors.length !== 1) return false;
  if (first >= 0xe0100) return HAN.test(base);
  if (first >= 0x180b && first <= 0x180f) return MONGOLIAN.test(base);
  return base.charCodeAt(0) >= 0x80; // standardized variation sequences (math, CJK compatibility...)
}

/** Tags of a subdivision flag: U+1F3F4, 2–6 tag letters or digits, the cancel tag. */
function flagSequence(text: string, start: number, tags: number[]): boolean {
  if (text.charCodeAt(start - 2) !== 0xd83c || text.charCodeAt(start - 1) !== 0xdff4) return false;
  if (tags.length < 3 || tags.length > 7 || tags[tags.length - 1] !== 0xe007f) return false;
  for (let k = 0; k < tags.length - 1; k++) {
    const t = tags[k]! - 0xe0000;
    if (!((t >= 0x30 && t <= 0x39) || (t >= 0x61 && t <= 0x7a))) return false;
  }
  return true;
}

/** A Hangul filler inside a conjoining jamo sequence (old Hangul spelling). */
function legitimateFiller(text: string, i: number, c: number): boolean {
  if (c === 0x115f) {
    const next = text.charCodeAt(i + 1);
    return next >= 0x1161 && next <= 0x11a7;
  }
  if (c === 0x1160) {
    const prev = text.charCodeAt(i - 1);
    return prev >= 0x1100 && prev <= 0x115e;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// ANSI escape sequences.

/**
 * The end of the escape sequence that starts at `i` (ESC or the 8-bit CSI U+009B): CSI with its
 * parameters and final byte, OSC/DCS/APC/PM/SOS up to BEL or ST (4096 characters at most; an
 * unterminated one is just its introducer), a two-character escape, or ESC alone.
 */
export function ansiSequenceEnd(text: string, i: number): number {
  const n = text.length;
  let j: number;
  if (text.charCodeAt(i) === 0x9b) j = i + 1;
  else {
    const next = text.charCodeAt(i + 1);
    if (next === 0x5b) j = i + 2;
    else if (next === 0x5d || next === 0x50 || next === 0x58 || next === 0x5e || next === 0x5f) {
      const limit = Math.min(n, i + 4096);
      for (let k = i + 2; k < limit; k++) {
        const c = text.charCodeAt(k);
        if (c === 0x07) return k + 1;
        if (c === 0x1b) return text.charCodeAt(k + 1) === 0x5c ? k + 2 : k;
      }
      return i + 2;
    } else if (next >= 0x20 && next <= 0x2f) {
      let k = i + 1;
      while (k < n && k - i < 8 && text.charCodeAt(k) >= 0x20 && text.charCodeAt(k) <= 0x2f) k++;
      const f = text.charCodeAt(k);
      return f >= 0x30 && f <= 0x7e ? k + 1 : k;
    } else if (next >= 0x30 && next <= 0x7e) return i + 2;
    else return i + 1;
  }
  // CSI: parameter bytes, intermediate bytes, one final byte.
  const limit = Math.min(n, j + 64);
  while (j < limit && text.charCodeAt(j) >= 0x30 && text.charCodeAt(j) <= 0x3f) j++;
  while (j < limit && text.charCodeAt(j) >= 0x20 && text.charCodeAt(j) <= 0x2f) j++;
  const f = text.charCodeAt(j);
  return f >= 0x40 && f <= 0x7e ? j + 1 : j;
}

// ---------------------------------------------------------------------------------------------
// Step 1: find (and optionally remove) invisible characters.

/** One removal or replacement: `reported` false for a legitimate use removed silently. */
type Edit = (
  start: number,
  end: number,
  k: number,
  replacement: string,
  reported: boolean,
  count: number,
  decoded?: string
) => void;

function scanInvisible(text: string, edit: Edit): void {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f) {
      i++;
      continue;
    }
    let k = BMP[c]!;
    if (k === NONE) {
      i++;
      continue;
    }
    let w = 1;
    if (k === ASTRAL) {
      const cp = text.codePointAt(i)!;
      if (cp <= 0xffff) {
        i++;
        continue;
      }
      w = 2;
      k = astralClass(cp);
      if (k === NONE) {
        i += 2;
        continue;
      }
    }
    switch (k) {
      case ESC: {
        const end = ansiSequenceEnd(text, i);
        edit(i, end, ESC, '', true, 1);
        i = end;
        break;
      }
      case TAG: {
        const tags: number[] = [];
        let end = i;
        while (end < n) {
          const cp = text.codePointAt(end)!;
          if (cp < 0xe0000 || cp > 0xe007f) break;
          tags.push(cp);
          end += 2;
        }
        if (!flagSequence(text, i, tags)) {
          let ascii = '';
          for (const t of tags) if (t >= 0xe0020 && t <= 0xe007e) ascii += String.fromCharCode(t - 0xe0000);
          edit(i, end, TAG, ascii, true, tags.length, ascii);
        }
        i = end;
        break;
      }
      case VS: {
        const selectors: number[] = [];
        let end = i;
        while (end < n) {
          const cp = text.codePointAt(end)!;
          const isVs =
            (cp >= 0xfe00 && cp <= 0xfe0f) ||
            (cp >= 0x180b && cp <= 0x180d) ||
            cp === 0x180f ||
            (cp >= 0xe0100 && cp <= 0xe01ef);
          if (!isVs) break;
          selectors.push(cp);
          end += cp > 0xffff ? 2 : 1;
        }
        edit(i, end, VS, '', !legitimateSelectors(text, i, selectors), selectors.length);
        i = end;
        break;
      }
      case ZW:
        if (c === 0xfeff && i === 0) edit(0, 1, ZW, '', false, 1);
        else if ((c === 0x200c || c === 0x200d) && legitimateJoiner(text, i, c)) {
          // kept
        } else if (c === 0x180e && legitimateMvs(text, i)) {
          // kept
        } else edit(i, i + 1, ZW, '', true, 1);
        i++;
        break;
      case FILLER:
        if (!legitimateFiller(text, i, c)) edit(i, i + 1, FILLER, '', true, 1);
        i++;
        break;
      case SEP:
        edit(i, i + 1, SEP, '\n', true, 1);
        i++;
        break;
      case CTL:
        edit(i, i + 1, CTL, c === 0x85 ? '\n' : '', true, 1);
        i++;
        break;
      default:
        edit(i, i + w, k, '', true, 1);
        i += w;
    }
  }
}

/** Adds a reported edit to `runs`, merging it into the previous run when adjacent and of a class. */
function collect(runs: HiddenRun[]): Edit {
  return (start, end, k, _replacement, reported, count, decoded) => {
    if (!reported) return;
    const cls = CLASS_NAME[k]!;
    const last = runs[runs.length - 1];
    if (last !== undefined && last.cls === cls && last.end === start) {
      last.end = end;
      last.count += count;
      if (decoded !== undefined) last.decoded = (last.decoded ?? '') + decoded;
      return;
    }
    const run: HiddenRun = { cls, start, end, count };
    if (decoded !== undefined) run.decoded = decoded;
    runs.push(run);
  };
}

/**
 * The invisible characters of `text` as runs by class, legitimate uses left out: step 1's report
 * without building the canonical text.
 */
export function hiddenRuns(text: string): HiddenRun[] {
  const runs: HiddenRun[] = [];
  scanInvisible(text, collect(runs));
  return runs;
}

// ---------------------------------------------------------------------------------------------
// Offset maps: each pass records which span of its input every piece of its output came from.

class Layer {
  constructor(
    private readonly outStart: Int32Array,
    private readonly inStart: Int32Array,
    private readonly inEnd: Int32Array,
    /** 1: maps character by character (copied, or replaced by as many characters); 0: as a whole. */
    private readonly copy: Uint8Array,
    private readonly outLength: number,
    private readonly inLength: number
  ) {}

  /** The last segment whose output starts at or before `o` (`strict`: before). */
  private find(o: number, strict: boolean): number {
    let lo = 0;
    let hi = this.outStart.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.outStart[mid]!;
      if (strict ? s < o : s <= o) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  start(o: number): number {
    if (o >= this.outLength) return this.inLength;
    const k = this.find(o, false);
    if (k < 0) return 0;
    return this.copy[k] ? this.inStart[k]! + (o - this.outStart[k]!) : this.inStart[k]!;
  }

  end(o: number): number {
    if (o <= 0) return this.outStart.length > 0 && this.outStart[0] === 0 ? this.inStart[0]! : 0;
    const k = this.find(o, true);
    if (k < 0) return 0;
    return this.copy[k] ? this.inStart[k]! + (o - this.outStart[k]!) : this.inEnd[k]!;
  }
}

/**
 * Builds a pass's output from its input, recording the offset map as it goes. The output is
 * written as UTF-16 code units into one buffer and read back as one flat string at the end: a
 * string joined or appended from thousands of pieces costs more to build, or to flatten once read,
 * than the copy.
 */
class Builder {
  private out: Uint16Array;
  private length = 0;
  /** The input's code units, read when a long part of it is first copied. */
  private units: Uint16Array | undefined;
  /** Input copied (or consumed) up to here. */
  pos = 0;
  /** The offset map: segment `k` of the output starts at `outStart[k]` and came from the input's `[inStart[k], inEnd[k])`. */
  private segments = 0;
  private outStart = new Int32Array(16);
  private inStart = new Int32Array(16);
  private inEnd = new Int32Array(16);
  private copy = new Uint8Array(16);

  constructor(private readonly src: string) {
    this.out = new Uint16Array(src.length + (src.length >> 3) + 64);
  }

  private reserve(more: number): void {
    if (this.length + more <= this.out.length) return;
    const grown = new Uint16Array(Math.max(2 * this.out.length, this.length + more));
    grown.set(this.out.subarray(0, this.length));
    this.out = grown;
  }

  private record(inStart: number, inEnd: number, length: number, copy: number): void {
    // A replacement of the same length as what it replaces maps character by character too.
    const positional = copy || inEnd - inStart === length ? 1 : 0;
    const k = this.segments - 1;
    if (positional && k >= 0 && this.copy[k] && this.inEnd[k] === inStart) {
      this.inEnd[k] = inEnd;
      return;
    }
    if (this.segments === this.copy.length) {
      const grow = <T extends Int32Array | Uint8Array>(a: T, b: T): T => (b.set(a), b);
      const size = 2 * this.segments;
      this.outStart = grow(this.outStart, new Int32Array(size));
      this.inStart = grow(this.inStart, new Int32Array(size));
      this.inEnd = grow(this.inEnd, new Int32Array(size));
      this.copy = grow(this.copy, new Uint8Array(size));
    }
    this.outStart[this.segments] = this.length;
    this.inStart[this.segments] = inStart;
    this.inEnd[this.segments] = inEnd;
    this.copy[this.segments] = positional;
    this.segments++;
  }

  private segment(inStart: number, inEnd: number, text: string): void {
    if (text.length === 0) return;
    this.record(inStart, inEnd, text.length, 0);
    this.reserve(text.length);
    for (let i = 0; i < text.length; i++) this.out[this.length + i] = text.charCodeAt(i);
    this.length += text.length;
  }

  /** Copy the input up to `to` unchanged. */
  copyTo(to: number): void {
    const from = this.pos;
    if (to <= from) return;
    this.record(from, to, to - from, 1);
    this.reserve(to - from);
    if (to - from >= 4096) {
      this.units ??= codeUnits(this.src);
      this.out.set(this.units.subarray(from, to), this.length);
    } else {
      const out = this.out;
      const src = this.src;
      const shift = this.length - from;
      for (let i = from; i < to; i++) out[i + shift] = src.charCodeAt(i);
    }
    this.length += to - from;
    this.pos = to;
  }

  /** Replace the input `[from, to)` (at or after what was copied) by `text`. */
  replace(from: number, to: number, text: string): void {
    this.copyTo(from);
    this.segment(from, to, text);
    this.pos = to;
  }

  /** Add `text` at the current output position, attributed to the input `[from, to)`. */
  attribute(from: number, to: number, text: string): void {
    this.segment(from, to, text);
  }

  finish(): { text: string; layer: Layer } {
    this.copyTo(this.src.length);
    const k = this.segments;
    const layer = new Layer(
      this.outStart.subarray(0, k),
      this.inStart.subarray(0, k),
      this.inEnd.subarray(0, k),
      this.copy.subarray(0, k),
      this.length,
      this.src.length
    );
    return { text: stringOf(this.out.subarray(0, this.length)), layer };
  }
}

/** The UTF-16 code units of a string (lone surrogates included). */
function codeUnits(s: string): Uint16Array {
  const bytes = Buffer.from(s, 'utf16le');
  if (bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, s.length);
  const units = new Uint16Array(s.length);
  for (let i = 0; i < s.length; i++) units[i] = s.charCodeAt(i);
  return units;
}

/** The string of UTF-16 code units, one byte per character when they all fit (as V8 would store it). */
function stringOf(units: Uint16Array): string {
  // Narrowed by a loop as it is checked (converting the typed array whole costs several times more).
  const n = units.length;
  const narrow = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) {
    const u = units[i]!;
    if (u > 0xff) return Buffer.from(units.buffer, units.byteOffset, n * 2).toString('utf16le');
    narrow[i] = u;
  }
  return narrow.toString('latin1', 0, n);
}

function mapThrough(layers: readonly Layer[], start: number, end: number): { start: number; end: number } {
  let s = start;
  let e = end;
  for (let k = layers.length - 1; k >= 0; k--) {
    s = layers[k]!.start(s);
    e = layers[k]!.end(e);
  }
  return { start: s, end: Math.max(s, e) };
}

// ---------------------------------------------------------------------------------------------
// Steps 2 and 3: NFKC and the confusables fold.

interface ConfusablesData {
  [key: string]: string;
}

/** Scripts and characters never folded: the fold would only damage their ordinary text. */
const NO_FOLD =
  /[\p{M}\p{Extended_Pictographic}\p{Emoji}\p{Emoji_Component}\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Hangul}\p{scx=Bopomofo}\p{scx=Arabic}\p{scx=Syriac}\p{scx=Thaana}\p{scx=Nko}\p{scx=Mandaic}\p{scx=Mongolian}\p{scx=Devanagari}\p{scx=Bengali}\p{scx=Gurmukhi}\p{scx=Gujarati}\p{scx=Oriya}\p{scx=Tamil}\p{scx=Telugu}\p{scx=Kannada}\p{scx=Malayalam}\p{scx=Sinhala}\p{scx=Tibetan}\p{scx=Myanmar}\p{scx=Khmer}\p{scx=Balinese}\p{scx=Javanese}\p{scx=Sundanese}]/u;
const PRINTABLE_ASCII = /^[\x21-\x7e][\x20-\x7e]{0,7}$/;

/**
 * UTS #39 prototypes are chosen for comparing skeletons, not for reading: `I`, `1` and `|` all
 * have the prototype `l`, `0` has `O`, `"` is `''` and `m` is `rn`. Pick the ASCII character a
 * reader would see instead, by the folded character's own category.
 */
function readablePrototype(ch: string, proto: string): string {
  if (proto === 'rn') return 'm';
  if (proto === "''") return '"';
  if (proto.length === 2 && proto.includes("'") && /[A-Za-z]/.test(proto)) return proto.replace("'", '');
  if (proto === 'l' || proto === 'll') {
    const one = /[\p{Lu}\p{Lt}]/u.test(ch)
      ? 'I'
      : /\p{N}/u.test(ch)
        ? '1'
        : /[\p{P}\p{S}]/u.test(ch)
          ? '|'
          : 'l';
    return proto === 'l' ? one : one + one;
  }
  if (proto === 'O' && /\p{N}/u.test(ch)) return '0';
  return proto;
}

const FOLD_BMP = new Uint16Array(0x10000);
const FOLD_VALUES: string[] = [''];
const FOLD_ASTRAL = new Map<number, string>();
{
  const data = createRequire(import.meta.url)('unhomoglyph/data.json') as ConfusablesData;
  for (const ch of Object.keys(data)) {
    const cp = ch.codePointAt(0)!;
    const proto = data[ch]!;
    if (cp < 0x80 || ch.length !== (cp > 0xffff ? 2 : 1) || !PRINTABLE_ASCII.test(proto)) continue;
    // Only characters that survive NFKC are ever looked up; blanks are whitespace's business.
    if (!nfkcStable(ch) || NO_FOLD.test(ch) || BMP[cp] !== NONE || /\s/u.test(ch)) continue;
    const value = readablePrototype(ch, proto);
    if (cp > 0xffff) FOLD_ASTRAL.set(cp, value);
    else {
      FOLD_BMP[cp] = FOLD_VALUES.length;
      FOLD_VALUES.push(value);
    }
  }
}

/** The ASCII prototype a non-ASCII character folds to, if any. */
function foldOf(text: string, i: number): string | undefined {
  const c = text.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff) return FOLD_ASTRAL.get(text.codePointAt(i)!);
  const idx = FOLD_BMP[c]!;
  return idx === 0 ? undefined : FOLD_VALUES[idx];
}

/**
 * Fold every non-ASCII character that is confusable with ASCII to its ASCII prototype (`іgnоrе`
 * becomes `ignore`). ASCII is left alone, and so are scripts whose ordinary text the fold would
 * damage. No NFKC: `canonicalize` applies that first.
 */
export function foldConfusables(text: string): string {
  let out: string | undefined;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    const v = foldOf(text, i);
    const w = c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
    if (v !== undefined) {
      out = (out ?? '') + text.slice(from, i) + v;
      from = i + w;
    }
    i += w - 1;
  }
  return out === undefined ? text : out + text.slice(from);
}

/** Single characters seen recently, and what they canonicalise to (bounded: cleared when full). */
const SINGLE = new Map<string, string>();
const SINGLE_MAX = 4096;

/** NFKC and the fold, repeated until neither changes anything. */
function canonicalSegment(seg: string): string {
  const single = seg.length === 1 || (seg.length === 2 && seg.codePointAt(0)! > 0xffff);
  if (single) {
    const known = SINGLE.get(seg);
    if (known !== undefined) return known;
    const r = canonicalFixpoint(seg);
    if (SINGLE.size >= SINGLE_MAX) SINGLE.clear();
    SINGLE.set(seg, r);
    return r;
  }
  return canonicalFixpoint(seg);
}

function canonicalFixpoint(seg: string): string {
  let r = seg.normalize('NFKC');
  for (let k = 0; k < 4; k++) {
    const f = foldConfusables(r);
    if (f === r) return r;
    r = f.normalize('NFKC');
  }
  return r;
}

/**
 * A character before which NFKC may cut the text: a starter that never combines with what
 * precedes it (and that NFKC leaves as it is), so the pieces normalise independently.
 */
function safeBoundary(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return (
    (c >= 0x0400 && c <= 0x0482) ||
    (c >= 0x048a && c <= 0x052f) ||
    (c >= 0x0391 && c <= 0x03c9) ||
    (c >= 0x3041 && c <= 0x3096) ||
    (c >= 0x30a1 && c <= 0x30fa) ||
    (c >= 0x4e00 && c <= 0x9fff) ||
    (c >= 0xac00 && c <= 0xd7a3) ||
    foldOf(text, i) !== undefined
  );
}

// ---------------------------------------------------------------------------------------------
// Step 4: whitespace.

function isBlank(c: number): boolean {
  return (
    c === 0x20 ||
    c === 0x09 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0x2800
  );
}

const isSpace = (c: number): boolean => c === 0x0a || c === 0x0d || isBlank(c);

/** The end of the whitespace run at `i`, and its canonical form when that differs from the run. */
function whitespaceRun(text: string, i: number): { end: number; canonical: string | undefined } {
  const n = text.length;
  let j = i;
  let lines = 0;
  let changed = false;
  let prevBlank = false;
  while (j < n) {
    const d = text.charCodeAt(j);
    if (d === 0x0a) {
      lines++;
      prevBlank = false;
    } else if (d === 0x0d) {
      lines++;
      changed = true;
      prevBlank = false;
      if (text.charCodeAt(j + 1) === 0x0a) j++;
    } else if (isBlank(d)) {
      if (d !== 0x20 || prevBlank) changed = true;
      prevBlank = true;
    } else break;
    j++;
  }
  if (lines >= 3) return { end: j, canonical: '\n\n' };
  if (!changed) return { end: j, canonical: undefined };
  let out = '';
  prevBlank = false;
  for (let k = i; k < j; k++) {
    const d = text.charCodeAt(k);
    if (d === 0x0a || d === 0x0d) {
      out += '\n';
      prevBlank = false;
      if (d === 0x0d && text.charCodeAt(k + 1) === 0x0a) k++;
    } else if (!prevBlank) {
      out += ' ';
      prevBlank = true;
    }
  }
  return { end: j, canonical: out };
}

/** Where the run `indentationCut` looked at ends. */
let cutEnd = 0;

/**
 * For a whitespace run at `i` of spaces and newlines only, with fewer than three newlines and no
 * space after a space except in a tail of spaces: where that tail starts (the run's end when there
 * is none), the run's end in `cutEnd`. The canonical run is the run up to there, exactly what
 * `whitespaceRun` gives. -1 for any other run.
 */
function indentationCut(text: string, i: number): number {
  const n = text.length;
  let j = i;
  let lines = 0;
  let prevBlank = false;
  let from = -1;
  while (j < n) {
    const d = text.charCodeAt(j);
    if (d === 0x20) {
      if (prevBlank && from < 0) from = j;
      prevBlank = true;
    } else if (d === 0x0a) {
      if (from >= 0 || ++lines >= 3) return -1;
      prevBlank = false;
    } else if (isSpace(d)) return -1;
    else break;
    j++;
  }
  cutEnd = j;
  return from < 0 ? j : from;
}

function hasSpace(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (isSpace(s.charCodeAt(i))) return true;
  return false;
}

/** Steps 2–4 over text with no invisible characters left. `undefined` when nothing changes. */
function normalizePass(src: string): { text: string; layer: Layer; again: boolean } | undefined {
  const n = src.length;
  let b: Builder | undefined;
  let again = false;
  let i = 0;
  while (i < n) {
    const c = src.charCodeAt(i);
    if (c > 0x20 && c < 0x7f) {
      i++;
      continue;
    }
    if (c === 0x20 || c === 0x0a) {
      // Most whitespace is one space or newline before a word.
      const d = src.charCodeAt(i + 1);
      if (d > 0x20 && d < 0x7f) {
        i += 2;
        continue;
      }
      // Indentation: a run of spaces and at most two newlines whose canonical form is its head
      // (the spaces after the first of a run are dropped, and only spaces follow): cut the tail.
      const from = indentationCut(src, i);
      if (from >= 0) {
        if (from < cutEnd) (b ??= new Builder(src)).replace(from, cutEnd, '');
        i = cutEnd;
        continue;
      }
    }
    if (isSpace(c)) {
      const { end, canonical } = whitespaceRun(src, i);
      if (canonical !== undefined) {
        b ??= new Builder(src);
        // Usually the run just gets shorter ("\n    " to "\n "): keep its head, drop the rest.
        if (src.startsWith(canonical, i)) b.replace(i + canonical.length, end, '');
        else b.replace(i, end, canonical);
      }
      i = end;
      continue;
    }
    if (c < 0x80) {
      i++;
      continue;
    }
    // A run of non-ASCII, non-blank characters; a combining character may compose with the
    // ASCII character before it, so that one joins the run.
    let j = i + 1;
    while (j < n) {
      const d = src.charCodeAt(j);
      if (d < 0x80 || isBlank(d)) break;
      j++;
    }
    const prev = src.charCodeAt(i - 1);
    const s = c >= 0x300 && prev > 0x20 && prev < 0x7f && (b === undefined || b.pos <= i - 1) ? i - 1 : i;
    const seg = src.slice(s, j);
    const res = canonicalSegment(seg);
    if (res !== seg) {
      b ??= new Builder(src);
      if (hasSpace(res)) again = true;
      if (res.length === seg.length) {
        // Same length: the map goes character by character (a fold, a composed pair moved...).
        b.replace(s, j, res);
        i = j;
        continue;
      }
      // Cut the run where NFKC cannot join the pieces, so offsets stay precise.
      let ps = s;
      for (let q = s + 1; q <= j; q++) {
        if (q < j && !safeBoundary(src, q)) continue;
        if (q < j && src.charCodeAt(q) >= 0xdc00 && src.charCodeAt(q) <= 0xdfff) continue;
        const piece = src.slice(ps, q);
        const r = canonicalSegment(piece);
        if (r !== piece) b.replace(ps, q, r);
        ps = q;
      }
    }
    i = j;
  }
  if (b === undefined) return undefined;
  const { text, layer } = b.finish();
  return { text, layer, again };
}

// ---------------------------------------------------------------------------------------------
// Step 5: decoding.

/** ASCII flags: base64/base64url alphabet, hex digits. */
const B64 = new Uint8Array(128);
const HEX = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9+/_-]/.test(ch)) B64[c] = 1;
  if (/[0-9A-Fa-f]/.test(ch)) HEX[c] = 1;
}
const isHex = (c: number): boolean => c < 128 && HEX[c] === 1;
const isAsciiLetter = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

const ENTITIES: Record<string, string> = {
  amp: '&',
  AMP: '&',
  lt: '<',
  LT: '<',
  gt: '>',
  GT: '>',
  quot: '"',
  QUOT: '"',
  apos: "'",
  nbsp: '\u00a0',
  ensp: '\u2002',
  emsp: '\u2003',
  thinsp: '\u2009',
  shy: '\u00ad',
  zwj: '\u200d',
  zwnj: '\u200c',
  lrm: '\u200e',
  rlm: '\u200f',
  // The HTML names of invisible characters (zero-width space under five names, word joiner,
  // invisible operators): written as entities, they still hide text once rendered.
  ZeroWidthSpace: '\u200b',
  NegativeVeryThinSpace: '\u200b',
  NegativeThinSpace: '\u200b',
  NegativeMediumSpace: '\u200b',
  NegativeThickSpace: '\u200b',
  NoBreak: '\u2060',
  ApplyFunction: '\u2061',
  af: '\u2061',
  InvisibleTimes: '\u2062',
  it: '\u2062',
  InvisibleComma: '\u2063',
  ic: '\u2063',
  Tab: '\t',
  NewLine: '\n',
  excl: '!',
  num: '#',
  dollar: '$',
  percnt: '%',
  lpar: '(',
  rpar: ')',
  ast: '*',
  plus: '+',
  comma: ',',
  period: '.',
  sol: '/',
  colon: ':',
  semi: ';',
  equals: '=',
  quest: '?',
  commat: '@',
  lsqb: '[',
  lbrack: '[',
  bsol: '\\',
  rsqb: ']',
  rbrack: ']',
  Hat: '^',
  lowbar: '_',
  grave: '`',
  lcub: '{',
  lbrace: '{',
  verbar: '|',
  vert: '|',
  rcub: '}',
  rbrace: '}',
  copy: '©',
  reg: '®',
  trade: '™',
  hellip: '…',
  mdash: '—',
  ndash: '–',
  lsquo: '‘',
  rsquo: '’',
  ldquo: '“',
  rdquo: '”',
  laquo: '«',
  raquo: '»',
  bull: '•',
  middot: '·',
  times: '×',
  divide: '÷',
  deg: '°',
  euro: '€',
  pound: '£'
};

/** The entity whose body starts at `p` (just after `&`). Numeric references may omit the `;`. */
function parseEntity(t: string, p: number): { ch: string; end: number } | undefined {
  const n = t.length;
  if (t.charCodeAt(p) === 0x23) {
    let q = p + 1;
    const hex = t.charCodeAt(q) === 0x78 || t.charCodeAt(q) === 0x58;
    if (hex) q++;
    const digits = q;
    // Leading zeros, any number of them, as HTML reads them (`&#0000000105;` is `i`): only the
    // digits after them are bounded.
    while (t.charCodeAt(q) === 0x30) q++;
    const significant = q;
    let cp = 0;
    while (q < n && q - significant < (hex ? 6 : 7)) {
      const d = t.charCodeAt(q);
      if (d >= 0x30 && d <= 0x39) cp = cp * (hex ? 16 : 10) + (d - 0x30);
      else if (hex && isHex(d)) cp = cp * 16 + ((d | 0x20) - 0x61 + 10);
      else break;
      q++;
    }
    if (q === digits || cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
    if (t.charCodeAt(q) === 0x3b) q++;
    return { ch: String.fromCodePoint(cp), end: q };
  }
  if (!isAsciiLetter(t.charCodeAt(p))) return undefined;
  let q = p + 1;
  while (q < n && q - p < 32) {
    const d = t.charCodeAt(q);
    if (!isAsciiLetter(d) && !(d >= 0x30 && d <= 0x39)) break;
    q++;
  }
  if (t.charCodeAt(q) !== 0x3b) return undefined;
  const ch = ENTITIES[t.slice(p, q)];
  return ch === undefined ? undefined : { ch, end: q + 1 };
}

/**
 * Bytes as UTF-8 text, or `undefined` when they hold a control character (other than tab, newline
 * and CR) or are not valid UTF-8. The control check comes first: it rejects most binary data
 * without decoding it. Invalid sequences decode to U+FFFD, which `printable` refuses.
 */
function utf8(bytes: Uint8Array): string | undefined {
  for (const b of bytes) {
    if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) || b === 0x7f) return undefined;
  }
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
  return text.includes('\ufffd') ? undefined : text;
}

/** No control characters other than tab, newline and CR, and no replacement character. */
function printable(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || (c >= 0x7f && c < 0xa0) || c === 0xfffd)
      return false;
  }
  return true;
}

/**
 * Decoded bytes that read as text: valid UTF-8 (checked by the caller), no control characters but
 * tab, newline and CR, and mostly letters and spaces (digits count half). Text too short to hold a
 * sentence needs a space or nearly all letters. Random keys, hashes and binary data fail this.
 */
function textual(s: string): boolean {
  if (!printable(s)) return false;
  let letters = 0;
  let spaces = 0;
  let digits = 0;
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      // Percent-encoded text, one more level down: each escape stands for a character.
      letters++;
      i += 2;
      n -= 2;
    } else if (isAsciiLetter(c) || c >= 0xa0) letters++;
    else if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) spaces++;
    else if (c >= 0x30 && c <= 0x39) digits++;
  }
  return (
    letters >= 3 && letters + spaces + digits / 2 >= 0.7 * n && (n >= 16 || spaces > 0 || letters >= 0.8 * n)
  );
}

function decodeHex(t: string, from: number, to: number): string | undefined {
  const bytes = new Uint8Array((to - from) / 2);
  for (let k = 0; k < bytes.length; k++) {
    const hi = t.charCodeAt(from + 2 * k);
    const lo = t.charCodeAt(from + 2 * k + 1);
    const v = (h: number): number => (h <= 0x39 ? h - 0x30 : (h | 0x20) - 0x61 + 10);
    bytes[k] = (v(hi) << 4) | v(lo);
    // What `utf8` would refuse, found before the rest is decoded.
    if (isControlByte(bytes[k]!)) return undefined;
  }
  const text = utf8(bytes);
  return text !== undefined && textual(text) ? text : undefined;
}

/** Values of the base64 and base64url digits (-1: none), as Node's decoder reads both. */
const B64_VALUE = new Int8Array(128).fill(-1);
for (let v = 0; v < 64; v++) {
  B64_VALUE['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(v)] = v;
}
B64_VALUE[0x2d] = 62; // -
B64_VALUE[0x5f] = 63; // _

const isControlByte = (b: number): boolean =>
  (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) || b === 0x7f;

/**
 * Whether base64 digits (no padding) decode to a byte that `utf8` refuses, read digit by digit
 * without decoding the whole: random data (identifiers, paths, keys) shows one within a few bytes.
 */
function decodesToControl(body: string): boolean {
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < body.length; i++) {
    acc = ((acc << 6) | B64_VALUE[body.charCodeAt(i)]!) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (isControlByte((acc >> bits) & 0xff)) return true;
    }
  }
  return false;
}

/** Base64 or base64url text that decodes to text. */
function decodeBase64(run: string): string | undefined {
  let body = run;
  while (body.endsWith('=')) body = body.slice(0, -1);
  if (body.length % 4 === 1) return undefined;
  // What `utf8` would refuse below, found first and cheaply.
  if (decodesToControl(body)) return undefined;
  const std = body.replace(/-/g, '+').replace(/_/g, '/');
  // Binary data shows in its first bytes: look at those before decoding a long run.
  if (std.length > 344) {
    const head = Buffer.from(std.slice(0, 344), 'base64');
    let bad = 0;
    for (const byte of head)
      if ((byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) || byte === 0x7f) bad++;
    if (bad > head.length * 0.15) return undefined;
  }
  const text = utf8(Buffer.from(std, 'base64'));
  return text !== undefined && textual(text) ? text : undefined;
}

interface Context {
  /** Decoded characters still allowed. */
  budget: number;
}

interface Pending {
  kind: DecodedKind;
  start: number;
  end: number;
  inner: Canonical;
}

/** One decoding pass over canonical text `t`: its output (made on the first change) and what it found. */
interface DecodeScan {
  t: string;
  depth: number;
  ctx: Context;
  found: Pending[];
  b: Builder | undefined;
}

/** Decoded text canonicalised one level less deep, while the decoding budget lasts. */
function decodedInner(scan: DecodeScan, raw: string): Canonical | undefined {
  if (raw.length > scan.ctx.budget) return undefined;
  scan.ctx.budget -= raw.length;
  return canonicalizeAt(raw, scan.depth - 1, scan.ctx);
}

/** A base64 or hex run `[s, e)`: decoded text goes after it. Returns where scanning resumes. */
function encodedRun(scan: DecodeScan, s: number, e: number, hexOnly: boolean, hasSlash: boolean): number {
  const { t } = scan;
  const n = t.length;
  let pe = e;
  while (pe < n && pe - e < 2 && t.charCodeAt(pe) === 0x3d) pe++;
  if (e - s < MIN_ENCODED_RUN) return e;
  let kind: DecodedKind = 'hex';
  let raw: string | undefined;
  if (hexOnly) {
    if ((e - s) % 2 === 0 && e - s >= MIN_HEX_RUN) raw = decodeHex(t, s, e);
  } else {
    kind = 'base64';
    raw = decodeBase64(t.slice(s, pe));
    if (raw === undefined && hasSlash) {
      // A path or URL whose last parts are base64: try each part on its own.
      const parts: string[] = [];
      for (const part of t.slice(s, pe).split('/')) {
        if (part.length < MIN_ENCODED_RUN) continue;
        const d = decodeBase64(part);
        if (d !== undefined) parts.push(d);
      }
      if (parts.length > 0) raw = parts.join(' ');
    }
  }
  if (raw === undefined) return e;
  const c = decodedInner(scan, raw);
  if (c === undefined) return e;
  const b = (scan.b ??= new Builder(t));
  b.copyTo(pe);
  b.attribute(s, pe, pe < n && !isSpace(t.charCodeAt(pe)) ? ` ${c.text} ` : ` ${c.text}`);
  scan.found.push({ kind, start: s, end: pe, inner: c });
  return pe;
}

/**
 * A run of entities at `i` (an `&`), decoded in place; `&amp;` followed by an entity body is one
 * double-encoded entity. Returns where scanning resumes.
 */
function entityRun(scan: DecodeScan, i: number): number {
  const { t } = scan;
  const n = t.length;
  let k = i;
  let raw = '';
  while (k < n && t.charCodeAt(k) === 0x26) {
    const e = parseEntity(t, k + 1);
    if (e === undefined) break;
    k = e.end;
    let ch = e.ch;
    if (ch === '&') {
      const e2 = parseEntity(t, k);
      if (e2 !== undefined) {
        ch = e2.ch;
        k = e2.end;
      }
    }
    raw += ch;
  }
  if (k > i) {
    const decoded = decodedInner(scan, raw);
    if (decoded !== undefined) {
      (scan.b ??= new Builder(t)).replace(i, k, decoded.text);
      scan.found.push({ kind: 'html-entity', start: i, end: k, inner: decoded });
      return k;
    }
  }
  return i + 1;
}

/** A run of percent escapes at `i` (a `%`), decoded in place. Returns where scanning resumes. */
function percentRun(scan: DecodeScan, i: number): number {
  const { t } = scan;
  const n = t.length;
  let k = i;
  const bytes: number[] = [];
  while (k + 2 < n && t.charCodeAt(k) === 0x25 && isHex(t.charCodeAt(k + 1)) && isHex(t.charCodeAt(k + 2))) {
    bytes.push(parseInt(t.slice(k + 1, k + 3), 16));
    k += 3;
  }
  if (k > i) {
    const raw = utf8(Uint8Array.from(bytes));
    const decoded = raw !== undefined && printable(raw) ? decodedInner(scan, raw) : undefined;
    if (decoded !== undefined) {
      (scan.b ??= new Builder(t)).replace(i, k, decoded.text);
      scan.found.push({ kind: 'percent', start: i, end: k, inner: decoded });
    }
    return k;
  }
  return i + 1;
}

/**
 * An HTML comment opening at `i` (`<!--`): the marker goes, the content stays in place and is
 * reported. Returns where its `-->` is, or -1 when it has none.
 */
function commentOpen(scan: DecodeScan, i: number): number {
  const { t } = scan;
  const n = t.length;
  const close = t.indexOf('-->', i + 4);
  const end = close < 0 ? n : close + 3;
  const content = t.slice(i + 4, close < 0 ? n : close).trim();
  (scan.b ??= new Builder(t)).replace(i, i + 4, ' ');
  if (content !== '') {
    const text = canonicalizeAt(content, 0, scan.ctx).text;
    scan.found.push({
      kind: 'html-comment',
      start: i,
      end,
      inner: { text, hidden: [], decoded: [], changed: false, toOriginal: identity }
    });
  }
  return close;
}

/**
 * Step 5 over canonical text `t`: decode in place or after the run, canonicalising what was
 * decoded (one level less deep). `undefined` when nothing was decoded.
 */
function decodePass(
  t: string,
  depth: number,
  ctx: Context,
  found: Pending[]
): { text: string; layer: Layer } | undefined {
  const n = t.length;
  const scan: DecodeScan = { t, depth, ctx, found, b: undefined };
  let runStart = -1;
  let hexOnly = true;
  let hasSlash = false;
  let commentClose = -1;
  let noCloser = false;

  let i = 0;
  while (i <= n) {
    if (i === commentClose) {
      if (runStart >= 0) {
        encodedRun(scan, runStart, i, hexOnly, hasSlash);
        runStart = -1;
      }
      (scan.b ??= new Builder(t)).replace(i, i + 3, ' ');
      commentClose = -1;
      i += 3;
      continue;
    }
    const c = i < n ? t.charCodeAt(i) : -1;
    if (c >= 0 && c < 0x80 && B64[c] === 1) {
      if (runStart < 0) {
        runStart = i;
        hexOnly = true;
        hasSlash = false;
      }
      if (HEX[c] !== 1) hexOnly = false;
      if (c === 0x2f) hasSlash = true;
      i++;
      continue;
    }
    if (runStart >= 0) {
      const s = runStart;
      runStart = -1;
      const resume = encodedRun(scan, s, i, hexOnly, hasSlash);
      if (resume > i) {
        i = resume;
        continue;
      }
    }
    if (c < 0) break;
    if (c === 0x26) i = entityRun(scan, i);
    else if (c === 0x25) i = percentRun(scan, i);
    else if (c === 0x3c && commentClose < 0 && !noCloser && t.startsWith('<!--', i)) {
      // Inside a comment (closed or not) a further `<!--` is just text.
      commentClose = commentOpen(scan, i);
      if (commentClose < 0) noCloser = true;
      i += 4;
    } else i++;
  }
  return scan.b === undefined ? undefined : scan.b.finish();
}

/** Whether `t` may hold something to decode (cheap; exact decoding decides). */
function mayDecode(t: string): boolean {
  let run = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c < 0x80 && B64[c] === 1) {
      if (++run >= MIN_ENCODED_RUN) return true;
      continue;
    }
    run = 0;
    if (c === 0x26) {
      const d = t.charCodeAt(i + 1);
      if (d === 0x23 || isAsciiLetter(d)) return true;
    } else if (c === 0x25) {
      if (isHex(t.charCodeAt(i + 1)) && isHex(t.charCodeAt(i + 2))) return true;
    } else if (c === 0x3c && t.startsWith('<!--', i)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// The fast survey and the pipeline.

const NOTHING = 0;
const DECODE = 1;
const WORK = 2;

/**
 * One pass over the input: `NOTHING` when it is plain ASCII that no step changes, `DECODE` when
 * only decoding may change it, `WORK` when steps 1–4 have something to do.
 */
function survey(text: string, decode: boolean): number {
  const n = text.length;
  let result = NOTHING;
  let run = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x20 && c < 0x7f) {
      if (B64[c] === 1) {
        if (++run >= MIN_ENCODED_RUN) result = DECODE;
        continue;
      }
      run = 0;
      if (c === 0x26 || c === 0x25 || c === 0x3c) {
        if (decode && result === NOTHING && mayDecode(text.slice(i, i + 4))) result = DECODE;
      }
      continue;
    }
    run = 0;
    if (c === 0x20 || c === 0x0a) {
      const d = text.charCodeAt(i + 1);
      if (d === 0x20 || d === 0x0a || d === 0x09 || d === 0x0d || d >= 0x80) {
        const { end, canonical } = whitespaceRun(text, i);
        if (canonical !== undefined) return WORK;
        i = end - 1;
      }
      continue;
    }
    return WORK;
  }
  return decode ? result : NOTHING;
}

const identity = (start: number, end: number): { start: number; end: number } => ({ start, end });

function unchanged(text: string): Canonical {
  return { text, hidden: [], decoded: [], changed: false, toOriginal: identity };
}

function canonicalizeAt(text: string, depth: number, ctx: Context): Canonical {
  const need = survey(text, depth > 0);
  if (need === NOTHING) return unchanged(text);
  const layers: Layer[] = [];
  const hidden: HiddenRun[] = [];
  let cur = text;
  if (need === WORK) {
    let edits: Builder | undefined;
    const runs = collect(hidden);
    scanInvisible(text, (start, end, k, replacement, reported, count, decoded) => {
      runs(start, end, k, replacement, reported, count, decoded);
      (edits ??= new Builder(text)).replace(start, end, replacement);
    });
    if (edits !== undefined) {
      const r = edits.finish();
      cur = r.text;
      layers.push(r.layer);
    }
    for (let pass = 0; pass < 3; pass++) {
      const r = normalizePass(cur);
      if (r === undefined) break;
      cur = r.text;
      layers.push(r.layer);
      if (!r.again) break;
    }
  }
  const decoded: DecodedSpan[] = [];
  if (depth > 0 && (need === DECODE || mayDecode(cur))) {
    const before = layers.slice();
    const found: Pending[] = [];
    const r = decodePass(cur, depth, ctx, found);
    if (r !== undefined) {
      cur = r.text;
      layers.push(r.layer);
      for (let pass = 0; pass < 3; pass++) {
        const again = normalizePass(cur);
        if (again === undefined) break;
        cur = again.text;
        layers.push(again.layer);
        if (!again.again) break;
      }
    }
    for (const f of found) {
      const span = mapThrough(before, f.start, f.end);
      decoded.push({ kind: f.kind, start: span.start, end: span.end, text: f.inner.text, depth: 1 });
      for (const d of f.inner.decoded) {
        decoded.push({ kind: d.kind, start: span.start, end: span.end, text: d.text, depth: d.depth + 1 });
      }
      for (const h of f.inner.hidden) {
        hidden.push({ ...h, start: span.start, end: span.end, via: h.via ?? f.kind });
      }
    }
    hidden.sort((a, b) => a.start - b.start || a.end - b.end);
  }
  if (cur === text) return { ...unchanged(text), hidden, decoded };
  return {
    text: cur,
    hidden,
    decoded,
    changed: true,
    toOriginal: (start, end) => mapThrough(layers, start, end)
  };
}

/**
 * The canonical text of `text`, what was hidden in it, and what was decoded. See the module
 * comment for the steps.
 */
export function canonicalize(text: string, opts: CanonicalOptions = {}): Canonical {
  const depth = opts.decode === false ? 0 : MAX_DEPTH;
  return canonicalizeAt(text, depth, { budget: 2 * text.length + 64 });
}
