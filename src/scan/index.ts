/**
 * Content scanners for the gateway, deterministic and linear in the input (no network, no native
 * code): tool definitions at tools/list (poisoning, hidden text, shadowing, exfiltration requests,
 * oversize), tool results and resource reads (injection addressed to the model, secrets, personal
 * data), and outgoing arguments (secrets, personal data).
 *
 * Every detector of injections sees one canonical text (./canonical: invisible characters removed
 * and reported, NFKC, confusables folded, hidden encodings decoded). Whether text is an injection
 * is decided by the learned scorer (./model); the phrase rules (./injection) explain its verdict,
 * and decide alone only where the signal is structural (a Markdown image whose URL carries data).
 * `createScanner` compiles nothing at call time: every pattern is compiled when this module loads.
 */
import {
  createDefinitionScanner,
  type DefinitionContext,
  type PromptLike,
  type ResourceLike
} from './definitions.js';
import { canonicalize, type Canonical } from './canonical.js';
import { scanHidden } from './hidden.js';
import { canonicalToolHash, canonicalJson } from './hash.js';
import { DECIDING_CONTENT_RULES, scanInjection, type TextMode } from './injection.js';
import { concealment } from './model/document.js';
import { scoreText } from './model/index.js';
import { verdictFinding } from './verdict.js';
import { scanPii } from './pii.js';
import { redact, redactValueWith, type RedactValueOptions, type RedactValueResult } from './redact.js';
import { scanSecrets } from './secrets.js';
import { atLeast, severityRank, type Finding, type ToolLike } from './types.js';

export type { Finding, FindingKind, Severity, ToolLike } from './types.js';
export type { DefinitionContext, DefinitionScanner, PromptLike, ResourceLike } from './definitions.js';
export type { RedactValueOptions, RedactValueResult } from './redact.js';
export { createDefinitionScanner, DEFAULT_MAX_DESCRIPTION_BYTES } from './definitions.js';
export { canonicalToolHash, canonicalJson, redact, atLeast, severityRank };

interface ScanTextOptions {
  /** Phrases addressed to the model, exfiltration requests (default true). */
  injection?: boolean;
  /** Hidden characters (default: same as `injection`). */
  hidden?: boolean;
  /** Credentials and keys (default true). */
  secrets?: boolean;
  /** Personal data (default true). */
  pii?: boolean;
  /** `content` (default) for results and arguments; `definition` for text a server declares. */
  mode?: TextMode;
}

function overlaps(a: Finding, b: Finding): boolean {
  return a.start !== undefined && b.start !== undefined && a.start < b.end! && b.start < a.end!;
}

/**
 * Sort by position and fold repeated hits of one rule on overlapping text into one finding (the
 * most severe, then the longest). Different rules on the same text are all kept.
 */
export function normalizeFindings(findings: Finding[]): Finding[] {
  // Fields keep the order they were scanned in; within a field, findings go by offset.
  const fieldOrder = new Map<string | undefined, number>();
  for (const f of findings) if (!fieldOrder.has(f.field)) fieldOrder.set(f.field, fieldOrder.size);
  findings.sort(
    (a, b) =>
      fieldOrder.get(a.field)! - fieldOrder.get(b.field)! ||
      (a.start ?? -1) - (b.start ?? -1) ||
      (b.end ?? 0) - (a.end ?? 0)
  );
  const out: Finding[] = [];
  const lastByRule = new Map<string, Finding>();
  for (const f of findings) {
    const key = `${f.field ?? ''}\u0000${f.kind}\u0000${f.rule}`;
    const prev = lastByRule.get(key);
    if (prev && overlaps(prev, f)) {
      const rank = severityRank(f.severity) - severityRank(prev.severity);
      if (rank > 0 || (rank === 0 && f.end! - f.start! > prev.end! - prev.start!)) {
        Object.assign(prev, f);
      }
      continue;
    }
    lastByRule.set(key, f);
    out.push(f);
  }
  return out;
}

/**
 * Short strings recently found clean, per set of scans: results and arguments repeat the same few
 * (`"text"` in every content block, status words, names, an argument the tool echoes back), and a
 * scan depends on nothing but the text and the options. Bounded: cleared when full.
 */
const CLEAN_MAX_LENGTH = 64;
const CLEAN_MAX_ENTRIES = 1024;
const recentlyClean = new Map<string, Set<string>>();

/**
 * Judge a text for injections: the learned scorer on its canonical form decides; the phrase rules
 * that fired are named in the finding. Rules that decide on their own (structural exfiltration
 * markup) are always applied. Findings carry no offsets when canonicalisation changed the text.
 */
export function judgeInjection(
  text: string,
  mode: TextMode,
  out: Finding[] = [],
  canonical: Canonical = canonicalize(text)
): Finding[] {
  const rules: Finding[] = [];
  // Structural rules read the text as written too: decoding can change the URL they judge.
  scanInjection(text, mode, rules, DECIDING_CONTENT_RULES);
  if (canonical.changed && rules.length === 0) {
    scanInjection(canonical.text, mode, rules, DECIDING_CONTENT_RULES);
    // Offsets into the canonical text do not point into the original.
    for (const f of rules) {
      delete f.start;
      delete f.end;
    }
  }
  const score = scoreText(canonical.text, mode, concealment(canonical, text));
  if (score.flagged) {
    // The rules that explain it are those of the window that scored highest.
    const explanation: Finding[] = [];
    scanInjection(canonical.text.slice(score.span[0], score.span[1]), mode, explanation);
    out.push(verdictFinding(score, mode, explanation));
  }
  out.push(...rules);
  return out;
}

/** Keys of protocol objects (a result, its content blocks, an embedded resource): labels and metadata. */
const PROTOCOL_KEYS = new Set(['_meta', 'type', 'mimeType', 'uri', 'annotations']);

/** Where a value sits: a protocol object, an array of content blocks, or data a server chose. */
type Place = 'protocol' | 'blocks' | 'data';

const isResult = (v: unknown): boolean =>
  v !== null &&
  typeof v === 'object' &&
  !Array.isArray(v) &&
  (Array.isArray((v as Record<string, unknown>).content) ||
    Array.isArray((v as Record<string, unknown>).contents) ||
    'structuredContent' in v);

/**
 * The strings of a value that a model reads, joined, at most `max` characters. In a result, its
 * content blocks and embedded resources, protocol labels and metadata (`_meta`, content types, URIs,
 * annotations) and binary payloads are left out; everything else, `structuredContent` whatever its
 * keys and any other value (arguments) whole, is read.
 */
function proseOf(value: unknown, max: number): string {
  const parts: string[] = [];
  let length = 0;
  const walk = (v: unknown, depth: number, place: Place): void => {
    if (length >= max || depth > 64) return;
    if (typeof v === 'string') {
      parts.push(v);
      length += v.length + 1;
    } else if (Array.isArray(v)) {
      for (const x of v) walk(x, depth + 1, place === 'blocks' ? 'protocol' : 'data');
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (place === 'protocol') {
          if (PROTOCOL_KEYS.has(k)) continue;
          if ((k === 'data' || k === 'blob') && typeof x === 'string') continue;
          const inner: Place =
            k === 'content' || k === 'contents' ? 'blocks' : k === 'resource' ? 'protocol' : 'data';
          walk(x, depth + 1, inner);
        } else {
          walk(x, depth + 1, 'data');
        }
      }
    }
  };
  walk(value, 0, isResult(value) ? 'protocol' : 'data');
  return parts.join('\n');
}

/**
 * Runs of hidden characters of one rule in one field are reported once, with their number: text with
 * a zero-width character between every letter is one finding, not a hundred.
 */
function collapseHidden(findings: Finding[]): Finding[] {
  const first = new Map<string, { f: Finding; n: number }>();
  const out: Finding[] = [];
  for (const f of findings) {
    if (f.kind !== 'hidden_text') {
      out.push(f);
      continue;
    }
    const key = `${f.field ?? ''}\u0000${f.rule}`;
    const seen = first.get(key);
    if (seen === undefined) {
      first.set(key, { f, n: 1 });
      out.push(f);
    } else {
      seen.n++;
      if (atLeast(f.severity, seen.f.severity) && f.severity !== seen.f.severity)
        seen.f.severity = f.severity;
    }
  }
  for (const { f, n } of first.values()) if (n > 1) f.message = `${f.message} (${n} runs)`;
  return out;
}

/** Scan a string. Findings are sorted by offset. */
export function scanText(text: string, opts: ScanTextOptions = {}): Finding[] {
  const mode = opts.mode ?? 'content';
  const injection = opts.injection !== false;
  const hidden = opts.hidden ?? injection;
  const secrets = opts.secrets !== false;
  const pii = opts.pii !== false;
  let clean: Set<string> | undefined;
  if (text.length <= CLEAN_MAX_LENGTH) {
    const key = `${mode}${+hidden}${+injection}${+secrets}${+pii}`;
    clean = recentlyClean.get(key);
    if (clean === undefined) recentlyClean.set(key, (clean = new Set()));
    else if (clean.has(text)) return [];
  }
  const out: Finding[] = [];
  // One canonical form serves both: the hidden runs it removed are the hidden-text findings.
  const canonical = injection ? canonicalize(text) : undefined;
  if (hidden) scanHidden(text, mode, out, canonical?.hidden);
  if (injection) judgeInjection(text, mode, out, canonical);
  if (secrets) scanSecrets(text, out);
  if (pii) scanPii(text, out);
  if (clean !== undefined && out.length === 0) {
    if (clean.size >= CLEAN_MAX_ENTRIES) clean.clear();
    clean.add(text);
  }
  return normalizeFindings(collapseHidden(out));
}

/** Scan one tool definition (name, title, description, inputSchema, annotations). */
export function scanToolDefinition(tool: ToolLike, ctx: DefinitionContext = {}): Finding[] {
  return normalizeFindings(collapseHidden(createDefinitionScanner(ctx).tool(tool)));
}

export function scanPromptDefinition(prompt: PromptLike, ctx: DefinitionContext = {}): Finding[] {
  return normalizeFindings(collapseHidden(createDefinitionScanner(ctx).prompt(prompt)));
}

export function scanResourceDefinition(resource: ResourceLike, ctx: DefinitionContext = {}): Finding[] {
  return normalizeFindings(collapseHidden(createDefinitionScanner(ctx).resource(resource)));
}

export function scanServerInstructions(text: string, ctx: DefinitionContext = {}): Finding[] {
  return normalizeFindings(collapseHidden(createDefinitionScanner(ctx).instructions(text)));
}

/**
 * Walk a JSON value (a tool result's `content[].text` and `structuredContent`, a resource read's
 * `contents[].text`, a call's arguments), scan every string, and return a copy of the same shape
 * with secrets and personal data replaced by `[REDACTED:<rule>]`. Injection findings are reported
 * (never redacted) when `injection` is set.
 */
export function redactValue(value: unknown, opts: RedactValueOptions = {}): RedactValueResult {
  const injection = opts.injection === true;
  // Strings are scanned one by one for hidden characters, secrets and personal data; injections
  // are judged once on all of them joined, so an instruction split across content blocks or fields
  // is read as the model reads it.
  const textOpts: ScanTextOptions = {
    injection: false,
    hidden: injection,
    secrets: opts.secrets !== false,
    pii: opts.pii !== false
  };
  const result = redactValueWith(value, (s) => scanText(s, textOpts), opts);
  const prose = injection ? proseOf(value, MAX_JOINED) : '';
  if (prose.length > 0) {
    const found = judgeInjection(prose, 'content');
    for (const f of found) {
      f.field = opts.path ?? '(all text)';
      delete f.start;
      delete f.end;
    }
    result.findings.push(...found);
  }
  result.findings = normalizeFindings(collapseHidden(result.findings));
  return result;
}

/** Text judged for injections per value: beyond this, further strings are scanned one by one. */
const MAX_JOINED = 16 * 1024 * 1024;

/** Findings for a JSON value without building a redacted copy (e.g. outgoing arguments). */
export function scanValue(value: unknown, opts: RedactValueOptions = {}): Finding[] {
  return redactValue(value, { ...opts, reportOnly: true }).findings;
}
