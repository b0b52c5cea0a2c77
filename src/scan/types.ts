/**
 * The shapes every scanner shares: a finding (what was seen, where, how bad) and the tool
 * definition fields a scan reads. Offsets are UTF-16 code-unit offsets into the scanned string,
 * the same indices `String.prototype.slice` takes.
 */

export type FindingKind =
  'injection' | 'hidden_text' | 'shadowing' | 'exfiltration' | 'oversize' | 'secret' | 'pii';

export type Severity = 'low' | 'medium' | 'high' | 'critical';

export interface Finding {
  kind: FindingKind;
  /** A stable rule id, e.g. `github-token`, `ignore-instructions`, `zero-width`. */
  rule: string;
  severity: Severity;
  message: string;
  /** Offsets into the scanned string: `text.slice(start, end)` is what was matched. */
  start?: number;
  end?: number;
  /** Where the string sits in a structured value, e.g. `inputSchema.properties.path.description`. */
  field?: string;
}

export interface ToolLike {
  name: string;
  title?: string;
  description?: string;
  inputSchema?: unknown;
  outputSchema?: unknown;
  annotations?: unknown;
  _meta?: unknown;
}

const RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };

export function severityRank(s: Severity): number {
  return RANK[s];
}

/** True when `s` is at least as severe as `min`. */
export function atLeast(s: Severity, min: Severity): boolean {
  return RANK[s] >= RANK[min];
}

/** A detector appends what it finds in `text` to `out`. */
export type Detect = (text: string, out: Finding[]) => void;
