/**
 * Redaction: replace the spans of secret and PII findings with `[REDACTED:<rule>]`, leaving every
 * other character exactly as it was. Overlapping findings merge into one replacement (labelled with
 * the most severe rule); adjacent ones stay separate. `redactValue` applies this to every string in
 * a JSON value (a tool result, a resource read, a call's arguments) and returns a copy of the same
 * shape, with the findings located by JSON path.
 */
import { looksLikeSecretValue } from './secrets.js';
import { severityRank, type Finding } from './types.js';

/** Scan one string; `key` is the object key it sits under, when there is one. */
type ScanFn = (text: string, key?: string) => Finding[];

const REDACTED_KINDS = new Set(['secret', 'pii']);

/** Replace each secret/PII span in `text`; other findings (injection, hidden text) are ignored. */
export function redact(text: string, findings: readonly Finding[]): string {
  const spans = findings
    .filter(
      (f) =>
        REDACTED_KINDS.has(f.kind) &&
        f.start !== undefined &&
        f.end !== undefined &&
        f.start >= 0 &&
        f.end > f.start &&
        f.end <= text.length
    )
    .sort((a, b) => a.start! - b.start! || b.end! - a.end!);
  if (spans.length === 0) return text;
  let out = '';
  let pos = 0;
  let i = 0;
  while (i < spans.length) {
    const first = spans[i]!;
    let start = first.start!;
    let end = first.end!;
    let label = first;
    i++;
    // Merge every span that overlaps the current one (touching is not overlapping).
    while (i < spans.length && spans[i]!.start! < end) {
      const f = spans[i]!;
      end = Math.max(end, f.end!);
      if (severityRank(f.severity) > severityRank(label.severity)) label = f;
      i++;
    }
    start = Math.max(start, pos);
    out += text.slice(pos, start) + `[REDACTED:${label.rule}]`;
    pos = end;
  }
  return out + text.slice(pos);
}

export interface RedactValueOptions {
  /** Redact secrets (default true). */
  secrets?: boolean;
  /** Redact personal data (default true). */
  pii?: boolean;
  /** Also report (never redact) injection and hidden-text findings (default false). */
  injection?: boolean;
  /** Leave base64 payloads alone: `blob`, and `data` of image/audio content (default true). */
  skipBinary?: boolean;
  /** Treat a string under a key like `password` or `api_key` as a secret when it looks random (default true). */
  keyContext?: boolean;
  /** Path prefix for `field`, e.g. `result` or `args`. Default: none. */
  path?: string;
  /** Return the value unchanged and only report (default false). */
  reportOnly?: boolean;
}

export interface RedactValueResult {
  value: unknown;
  findings: Finding[];
}

const SECRET_KEY =
  /^(?:[\w.-]{0,48}[_.-])?(?:pass(?:word|wd|phrase)?|pwd|secret|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|(?:auth|access|refresh|session|bearer|api)[_-]?token|token|credentials?|authorization|cookie)$/i;
const MAX_DEPTH = 100;

function joinPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  const plain = /^[A-Za-z_$][\w$]{0,1000}$/.test(key);
  if (plain) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key)}]`;
}

function isBinaryField(parent: Record<string, unknown>, key: string): boolean {
  if (key === 'blob') return true;
  return key === 'data' && (parent.type === 'image' || parent.type === 'audio');
}

/** Where a value sits, spelled out (`joinPath`) only when a finding needs it. */
interface PathRef {
  readonly parent: PathRef | undefined;
  readonly key: string | number;
  text?: string;
}

/**
 * Walk a JSON value, scanning every string with `scan` and redacting secrets and PII.
 * Object keys are kept as they are (and in the same order); non-JSON leaves are returned as is.
 * With `reportOnly`, nothing is copied.
 */
export function redactValueWith(
  value: unknown,
  scan: ScanFn,
  opts: RedactValueOptions = {}
): RedactValueResult {
  const findings: Finding[] = [];
  const skipBinary = opts.skipBinary !== false;
  const keyContext = opts.keyContext !== false;
  const reportOnly = opts.reportOnly === true;
  const root = opts.path ?? '';
  const seen = new WeakSet<object>();
  const pathText = (ref: PathRef | undefined): string =>
    ref === undefined ? root : (ref.text ??= joinPath(pathText(ref.parent), ref.key));

  const visitString = (s: string, ref: PathRef | undefined, key: string | undefined): string => {
    const found = scan(s, key);
    if (
      keyContext &&
      key !== undefined &&
      key.length <= 64 &&
      SECRET_KEY.test(key) &&
      looksLikeSecretValue(s)
    ) {
      const covered = found.some((f) => f.kind === 'secret' && f.start === 0 && f.end === s.length);
      if (!covered) {
        found.push({
          kind: 'secret',
          rule: 'secret-field',
          severity: 'medium',
          message: `a secret-looking value under "${key}"`,
          start: 0,
          end: s.length
        });
      }
    }
    if (found.length === 0) return s;
    const path = pathText(ref);
    for (const f of found) {
      f.field = path;
      findings.push(f);
    }
    return reportOnly ? s : redact(s, found);
  };

  const visit = (v: unknown, ref: PathRef | undefined, key: string | undefined, depth: number): unknown => {
    if (typeof v === 'string') return visitString(v, ref, key);
    if (v === null || typeof v !== 'object') return v;
    if (depth > MAX_DEPTH) {
      // Not walked, so not known to be clean: withheld whole, as a secret would be (fail closed).
      findings.push({
        kind: 'secret',
        rule: 'too-deep',
        severity: 'high',
        message: `a value nested more than ${MAX_DEPTH} levels deep was not scanned`,
        field: pathText(ref)
      });
      return reportOnly ? v : '[REDACTED:too-deep]';
    }
    if (seen.has(v)) return v;
    if (Array.isArray(v)) {
      seen.add(v);
      let out: unknown = v;
      if (reportOnly) {
        for (let i = 0; i < v.length; i++) visit(v[i], { parent: ref, key: i }, key, depth + 1);
      } else {
        out = v.map((item, i) => visit(item, { parent: ref, key: i }, key, depth + 1));
      }
      seen.delete(v);
      return out;
    }
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) return v;
    seen.add(v);
    const obj = v as Record<string, unknown>;
    const copy: Record<string, unknown> | undefined = reportOnly ? undefined : {};
    for (const k of Object.keys(obj)) {
      const child = obj[k];
      const out =
        skipBinary && typeof child === 'string' && isBinaryField(obj, k)
          ? child
          : visit(child, { parent: ref, key: k }, k, depth + 1);
      if (copy) copy[k] = out;
    }
    seen.delete(v);
    return copy ?? v;
  };

  const out = visit(value, undefined, undefined, 0);
  return { value: out, findings };
}
