/**
 * Hidden-text detectors: characters a person reviewing a tool description (or a terminal showing
 * a result) does not see but the model reads. Zero-width characters, bidirectional overrides,
 * Unicode tag characters (invisible ASCII, decoded into the message), runs of variation
 * selectors, ANSI escape sequences, other control characters, and whitespace padding that pushes
 * text off-screen. Legitimate uses are left alone: emoji joiners, joiners inside scripts that need
 * them, a leading byte-order mark, flag tag sequences, and (in content) plain terminal colours.
 */
import type { Detect, Finding, Severity } from './types.js';
import { eachMatch, rx } from './util.js';

/** `definition`: tool/prompt/resource text, where nothing hidden is legitimate. `content`: results. */
export type HiddenMode = 'definition' | 'content';

const CANDIDATE = rx(
  '[\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F-\\x9F\\u180E\\u200B-\\u200D\\u202A-\\u202E\\u2060-\\u2064\\u2066-\\u2069\\uFE00-\\uFE0F\\uFEFF\\uDB40\\r]'
);
const PADDING = rx('[ \\t\\r\\n\\u00A0\\u2000-\\u200A\\u3000\\u2800\\u3164]{12,4096}');
/** Padding: at least this many line breaks, or this many blank characters, in one run. */
const PADDING_LINES = 12;
const PADDING_CHARS = 120;

const PICTOGRAPHIC = /\p{Extended_Pictographic}|\u{FE0F}|[\u{1F3FB}-\u{1F3FF}]/u;
const SCRIPT_LETTER = /[\p{L}\p{M}]/u;

type Cls = 'zw' | 'bidi' | 'tag' | 'vs' | 'esc' | 'ctl' | 'cr' | 'none';

function classify(text: string, i: number): Cls {
  const c = text.charCodeAt(i);
  if (c === 0x1b) return 'esc';
  if (c === 0x0d) return 'cr';
  if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return 'ctl';
  if ((c >= 0x200b && c <= 0x200d) || (c >= 0x2060 && c <= 0x2064) || c === 0xfeff || c === 0x180e)
    return 'zw';
  if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) return 'bidi';
  if (c >= 0xfe00 && c <= 0xfe0f) return 'vs';
  if (c === 0xdb40) {
    const lo = text.charCodeAt(i + 1);
    if (lo >= 0xdc00 && lo <= 0xdc7f) return 'tag';
    if (lo >= 0xdd00 && lo <= 0xddef) return 'vs';
  }
  return 'none';
}

function vsCount(text: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i += text.charCodeAt(i) === 0xdb40 ? 2 : 1) n++;
  return n;
}

const width = (cls: Cls): number => (cls === 'tag' || cls === 'vs' ? 2 : 1);

function codePointBefore(text: string, i: number): string {
  if (i <= 0) return '';
  const lo = text.charCodeAt(i - 1);
  if (lo >= 0xdc00 && lo <= 0xdfff && i >= 2) return text.slice(i - 2, i);
  return text.slice(i - 1, i);
}

function codePointAt(text: string, i: number): string {
  const cp = text.codePointAt(i);
  return cp === undefined ? '' : String.fromCodePoint(cp);
}

function finding(rule: string, severity: Severity, message: string, start: number, end: number): Finding {
  return { kind: 'hidden_text', rule, severity, message, start, end };
}

function preview(s: string): string {
  const flat = s.replace(/[\r\n\t]+/g, ' ');
  return flat.length > 80 ? `${flat.slice(0, 77)}...` : flat;
}

/** A joiner between two pictographs (emoji ZWJ sequence) or two letters of a non-Latin script. */
function legitimateJoiner(text: string, start: number, end: number): boolean {
  if (end - start !== 1) return false;
  const c = text.charCodeAt(start);
  if (c !== 0x200d && c !== 0x200c) return false;
  const before = codePointBefore(text, start);
  const after = codePointAt(text, end);
  if (c === 0x200d && PICTOGRAPHIC.test(before) && PICTOGRAPHIC.test(after)) return true;
  const nonAscii = (s: string) => s.length > 0 && s.charCodeAt(0) > 0x7f && SCRIPT_LETTER.test(s);
  return nonAscii(before) && nonAscii(after);
}

function zeroWidth(text: string, start: number, end: number, mode: HiddenMode, out: Finding[]): void {
  if (start === 0 && end === 1 && text.charCodeAt(0) === 0xfeff) return; // byte-order mark
  if (legitimateJoiner(text, start, end)) return;
  const n = end - start;
  const severity: Severity = mode === 'definition' || n >= 3 ? 'high' : 'medium';
  out.push(finding('zero-width', severity, `${n} zero-width character(s)`, start, end));
}

function bidi(text: string, start: number, end: number, mode: HiddenMode, out: Finding[]): void {
  const around = text.slice(Math.max(0, start - 40), Math.min(text.length, end + 40));
  const rtlText = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFC]/.test(around);
  let override = false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x202d || c === 0x202e) override = true;
  }
  let severity: Severity = 'high';
  if (rtlText && !override) severity = mode === 'definition' ? 'medium' : 'low';
  out.push(
    finding(
      'bidi-control',
      severity,
      'bidirectional text control character(s) (can reorder what is shown)',
      start,
      end
    )
  );
}

function tags(text: string, start: number, end: number, out: Finding[]): void {
  let decoded = '';
  for (let i = start; i < end; i += 2) decoded += String.fromCharCode(text.charCodeAt(i + 1) - 0xdc00);
  // Emoji subdivision flags: U+1F3F4 followed by a few tag letters and the cancel tag.
  const flag =
    text.slice(start - 2, start) === '\uD83C\uDFF4' && decoded.endsWith('\x7f') && decoded.length <= 7;
  if (flag) return;
  const visible = [...decoded].filter((c) => c >= ' ' && c !== '\x7f').join('');
  out.push(
    finding(
      'unicode-tags',
      'critical',
      `invisible Unicode tag characters spelling "${preview(visible)}"`,
      start,
      end
    )
  );
}

function escape(text: string, start: number, mode: HiddenMode, out: Finding[]): number {
  let end = start + 1;
  const next = text[end];
  let dangerous = false;
  if (next === '[') {
    end++;
    while (end < text.length && end - start < 64 && /[0-9;?<=>!]/.test(text[end]!)) end++;
    const final = text[end];
    if (final !== undefined && final >= '@' && final <= '~') {
      end++;
      const params = text.slice(start + 2, end - 1);
      // Colours are routine in logs; concealment (8), cursor moves and erasing are not.
      dangerous = final !== 'm' || /(?:^|;)8(?:;|$)/.test(params);
    }
  } else if (next === ']') {
    end++;
    while (end < text.length && end - start < 512 && text.charCodeAt(end) !== 7 && text[end] !== '\x1b')
      end++;
    if (text.charCodeAt(end) === 7) end++;
    else if (text.slice(end, end + 2) === '\x1b\\') end += 2;
    dangerous = true;
  } else if (next !== undefined) {
    end++;
    dangerous = true;
  }
  let severity: Severity = 'low';
  if (mode === 'definition') severity = 'high';
  else if (dangerous) severity = 'medium';
  out.push(finding('ansi-escape', severity, 'ANSI terminal escape sequence', start, end));
  return end;
}

/** Scan `text` for hidden characters. Runs of the same class become one finding. */
export function scanHidden(text: string, mode: HiddenMode, out: Finding[] = []): Finding[] {
  eachMatch(CANDIDATE, text, (m) => {
    const start = m.index;
    const cls = classify(text, start);
    if (cls === 'none') return start + 1;
    if (cls === 'esc') return escape(text, start, mode, out);
    let end = start + width(cls);
    while (end < text.length && classify(text, end) === cls) end += width(cls);
    switch (cls) {
      case 'zw':
        zeroWidth(text, start, end, mode, out);
        break;
      case 'bidi':
        bidi(text, start, end, mode, out);
        break;
      case 'tag':
        tags(text, start, end, out);
        break;
      case 'vs':
        // One or two selectors after a character are ordinary (a doubled emoji VS16 is common);
        // data smuggled in selectors needs a long run, or supplementary selectors in a row.
        if (end - start >= 4 && (vsCount(text, start, end) >= 4 || text.charCodeAt(start) === 0xdb40)) {
          out.push(
            finding(
              'variation-selectors',
              'high',
              'a run of variation selectors (can smuggle data)',
              start,
              end
            )
          );
        }
        break;
      case 'cr':
        // A carriage return not followed by a newline overwrites the line on a terminal.
        if (mode === 'definition' && text.charCodeAt(end) !== 10) {
          out.push(finding('control-chars', 'medium', 'carriage return without newline', start, end));
        } else if (text.charCodeAt(end) === 10) {
          end = start + 1;
        }
        break;
      case 'ctl':
        if (!(end - start === 1 && text.charCodeAt(start) === 0 && mode === 'content')) {
          out.push(
            finding(
              'control-chars',
              mode === 'definition' ? 'high' : 'medium',
              'control character(s)',
              start,
              end
            )
          );
        }
        break;
    }
    return end;
  });
  if (mode === 'definition') {
    padding(text, out);
    htmlComments(text, out);
  }
  return out;
}

/** HTML comments: invisible wherever a description is rendered as Markdown or HTML. */
function htmlComments(text: string, out: Finding[]): void {
  let from = 0;
  for (;;) {
    const open = text.indexOf('<!--', from);
    if (open === -1) return;
    const close = text.indexOf('-->', open + 4);
    const end = close === -1 ? text.length : close + 3;
    if (/\S/.test(text.slice(open + 4, close === -1 ? text.length : close))) {
      out.push(
        finding('html-comment', 'medium', 'an HTML comment (not shown when the text is rendered)', open, end)
      );
    }
    if (close === -1) return;
    from = end;
  }
}

const isBlank = (c: number): boolean =>
  c === 32 ||
  c === 9 ||
  c === 10 ||
  c === 13 ||
  c === 0xa0 ||
  (c >= 0x2000 && c <= 0x200a) ||
  c === 0x3000 ||
  c === 0x2800 ||
  c === 0x3164;

/** Whitespace runs long enough to push what follows out of view, when something does follow. */
function padding(text: string, out: Finding[]): void {
  eachMatch(PADDING, text, (m) => {
    let end = m.index + m[0].length;
    while (end < text.length && isBlank(text.charCodeAt(end))) end++;
    let lines = 0;
    for (let i = m.index; i < end; i++) if (text.charCodeAt(i) === 10) lines++;
    if (end < text.length && (lines >= PADDING_LINES || end - m.index >= PADDING_CHARS)) {
      out.push(
        finding(
          'whitespace-padding',
          'high',
          `${end - m.index} whitespace characters push the text after them out of view: "${preview(text.slice(end, end + 60))}"`,
          m.index,
          end
        )
      );
    }
    return end;
  });
}

export const HIDDEN_RULES = [
  'zero-width',
  'bidi-control',
  'unicode-tags',
  'variation-selectors',
  'ansi-escape',
  'control-chars',
  'whitespace-padding',
  'html-comment'
] as const;

/** Detector form for a given mode. */
export function hiddenDetector(mode: HiddenMode): Detect {
  return (text, out) => void scanHidden(text, mode, out);
}
