/** Findings as they leave the inspector: audit records and call findings carry a summary only. */
import type { Finding } from '../scan/index.js';

/** Findings as they go into audit records: never the matched text itself. */
export function findingSummary(findings: readonly Finding[]): Array<Record<string, unknown>> {
  return findings.map((f) => ({
    kind: f.kind,
    rule: f.rule,
    severity: f.severity,
    ...(f.field ? { field: f.field } : {})
  }));
}
