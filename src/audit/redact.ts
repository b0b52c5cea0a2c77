/**
 * Redaction of tool-call arguments before they reach the audit log, for the gateway's
 * `audit.arguments` policy: keep them, keep only a hash (to match a call against a known input
 * without storing it), or leave them out.
 */
import { canonicalJson } from './canonical.js';
import { sha256Hex } from './chain.js';

export type ArgumentsMode = 'full' | 'hash' | 'omit';

/**
 * `full`: the arguments as given. `hash`: `{ sha256 }`, the hex SHA-256 of their canonical JSON (keys
 * sorted recursively, no whitespace; see canonical.ts), so equal arguments hash equally however their
 * keys were ordered. `omit`: undefined (the record has no `arguments`). Absent arguments stay absent.
 */
export function redactArguments(args: unknown, mode: ArgumentsMode): unknown {
  switch (mode) {
    case 'full':
      return args;
    case 'omit':
      return undefined;
    case 'hash': {
      const canonical = canonicalJson(args);
      if (canonical === undefined) return undefined;
      return { sha256: sha256Hex(canonical) };
    }
  }
}
