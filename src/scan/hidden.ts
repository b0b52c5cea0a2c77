/**
 * Hidden-text detectors: characters a person reviewing a tool description (or a terminal showing
 * a result) does not see but the model reads. What counts as invisible is decided in one place,
 * `canonical.ts` (every format character, zero-width and bidirectional controls and marks, soft
 * hyphens, Unicode tag characters, variation selectors, Hangul fillers, line and paragraph
 * separators, ANSI escape sequences, other control characters); this module turns its runs into
 * findings with a severity, and adds what only matters here: bare carriage returns, whitespace
 * padding that pushes text off-screen, and HTML comments. Legitimate uses are left alone: emoji
 * joiners, joiners inside scripts that need them, a leading byte-order mark, emoji presentation
 * selectors, flag tag sequences, and (in content) plain terminal colours, which are reported low.
 *
 * Severity: in a definition nothing hidden is legitimate, so every run is at least medium, and
 * high when it sits inside or between ASCII letters or digits (splitting a word a pattern would
 * match) or spells text. In content (tool results), the class decides.
 */
import { ansiSequenceEnd, hiddenRuns, type HiddenRun } from './canonical.js';
import { severityRank, type Finding, type Severity } from './types.js';
import { compileAhead, eachMatch, rx } from './util.js';

/** `definition`: tool/prompt/resource text, where nothing hidden is legitimate. `content`: results. */
type HiddenMode = 'definition' | 'content';

const PADDING = rx('[ \\t\\r\\n\\u00A0\\u2000-\\u200A\\u3000\\u2800\\u3164]{12,4096}');
// It searches the whole text.
compileAhead([PADDING]);
/** Padding: at least this many line breaks, or this many blank characters, in one run. */
const PADDING_LINES = 12;
const PADDING_CHARS = 120;

const RTL = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFC]/;

function finding(rule: string, severity: Severity, message: string, start: number, end: number): Finding {
  return { kind: 'hidden_text', rule, severity, message, start, end };
}

function preview(s: string): string {
  const flat = s.replace(/[\r\n\t]{1,1000}/g, ' ');
  return flat.length > 80 ? `${flat.slice(0, 77)}...` : flat;
}

const max = (a: Severity, b: Severity): Severity => (severityRank(a) >= severityRank(b) ? a : b);

const isWordChar = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/** An ASCII letter or digit right before and right after the run: it splits a word. */
const insideWord = (text: string, start: number, end: number): boolean =>
  isWordChar(text.charCodeAt(start - 1)) && isWordChar(text.charCodeAt(end));

/** Bidirectional controls: high for an override or isolate in left-to-right text. */
function bidiSeverity(text: string, start: number, end: number, mode: HiddenMode): Severity {
  let override = false;
  let marksOnly = true;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x202d || c === 0x202e) override = true;
    if (c !== 0x200e && c !== 0x200f && c !== 0x061c) marksOnly = false;
  }
  // Marks change the direction of neutral characters next to them, not the order of words.
  if (marksOnly) return mode === 'definition' ? 'medium' : 'low';
  const rtlText = RTL.test(text.slice(Math.max(0, start - 40), Math.min(text.length, end + 40)));
  if (rtlText && !override) return mode === 'definition' ? 'medium' : 'low';
  return 'high';
}

/** A run of ANSI sequences: colours and plain styles are routine in logs; the rest is not. */
export function ansiDangerous(text: string, start: number, end: number): boolean {
  for (let i = start; i < end;) {
    const next = ansiSequenceEnd(text, i);
    const csi = text.charCodeAt(i) === 0x9b ? i + 1 : text.charCodeAt(i + 1) === 0x5b ? i + 2 : -1;
    // Concealment (8), cursor moves, erasing, titles, hyperlinks...
    if (csi < 0 || text.charCodeAt(next - 1) !== 0x6d || /(?:^|;)8(?:;|$)/.test(text.slice(csi, next - 1)))
      return true;
    i = Math.max(next, i + 1);
  }
  return false;
}

const RULE: Record<HiddenRun['cls'], string> = {
  'zero-width': 'zero-width',
  bidi: 'bidi-control',
  'soft-hyphen': 'soft-hyphen',
  tag: 'unicode-tags',
  'variation-selector': 'variation-selectors',
  filler: 'hangul-filler',
  separator: 'line-separator',
  control: 'control-chars',
  ansi: 'ansi-escape',
  format: 'invisible-format'
};

const MESSAGE: Record<HiddenRun['cls'], string> = {
  'zero-width': 'zero-width character(s)',
  bidi: 'bidirectional text control character(s) (can reorder what is shown)',
  'soft-hyphen': 'soft hyphen(s) (invisible unless a line breaks there)',
  tag: 'invisible Unicode tag characters',
  'variation-selector': 'variation selector(s) (a run can smuggle data)',
  filler: 'Hangul filler character(s) (blank)',
  separator: 'line or paragraph separator(s)',
  control: 'control character(s)',
  ansi: 'ANSI terminal escape sequence(s)',
  format: 'invisible format character(s)'
};

/** One finding for one run of hidden characters, or none for a routine one in content. */
function runFinding(text: string, run: HiddenRun, mode: HiddenMode): Finding | undefined {
  const { cls, start, end, count } = run;
  const def = mode === 'definition';
  let severity: Severity;
  let message = `${count} ${MESSAGE[cls]}`;
  if (run.via !== undefined) {
    // Found inside decoded text (an entity, percent-encoding, base64...): hidden on purpose.
    severity = cls === 'tag' ? 'critical' : def ? 'high' : 'medium';
    message += ` encoded as ${run.via}`;
  } else {
    switch (cls) {
      case 'zero-width':
        severity = def || count >= 3 ? 'high' : 'medium';
        break;
      case 'bidi':
        severity = bidiSeverity(text, start, end, mode);
        break;
      case 'tag':
        severity = 'critical';
        break;
      case 'variation-selector': {
        const supplementary = text.charCodeAt(start) === 0xdb40;
        // One or two selectors after a character select a glyph; data needs a run.
        if (count >= 4 || (supplementary && count >= 2)) severity = 'high';
        else severity = def ? 'medium' : 'low';
        break;
      }
      case 'ansi':
        severity = def ? 'high' : ansiDangerous(text, start, end) ? 'medium' : 'low';
        message = 'ANSI terminal escape sequence' + (count > 1 ? `s (${count})` : '');
        break;
      case 'control':
        // A lone NUL in a result is a common artefact of C strings.
        if (!def && count === 1 && text.charCodeAt(start) === 0) return undefined;
        severity = def ? 'high' : 'medium';
        break;
      case 'soft-hyphen':
      case 'separator':
        severity = def ? 'medium' : 'low';
        break;
      case 'filler':
      case 'format':
        severity = 'medium';
        break;
    }
  }
  if (cls === 'tag' && run.decoded !== undefined) {
    message = `invisible Unicode tag characters spelling "${preview(run.decoded)}"`;
  }
  if (def) severity = max(severity, insideWord(text, start, end) ? 'high' : 'medium');
  return finding(RULE[cls], severity, message, start, end);
}

/** Carriage returns not followed by a newline: on a terminal they overwrite the line. */
function carriageReturns(text: string, out: Finding[]): void {
  for (let i = text.indexOf('\r'); i !== -1; i = text.indexOf('\r', i + 1)) {
    if (text.charCodeAt(i + 1) === 0x0a) continue;
    let end = i + 1;
    while (text.charCodeAt(end) === 0x0d && text.charCodeAt(end + 1) !== 0x0a) end++;
    out.push(finding('control-chars', 'medium', 'carriage return without newline', i, end));
    i = end - 1;
  }
}

/**
 * Scan `text` for hidden characters. Runs of the same class become one finding. `runs` may be
 * passed when the caller already has them (`canonicalize(text).hidden` or `hiddenRuns(text)`).
 */
export function scanHidden(
  text: string,
  mode: HiddenMode,
  out: Finding[] = [],
  runs: readonly HiddenRun[] = hiddenRuns(text)
): Finding[] {
  for (const run of runs) {
    const f = runFinding(text, run, mode);
    if (f !== undefined) out.push(f);
  }
  if (mode === 'definition') {
    carriageReturns(text, out);
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
