/**
 * What policy keeps per identity rather than per session (`scope: identity`): the calls of every
 * session of one identity for `after`, one risk score for the identity, and `max_calls` caps over
 * all its sessions in a sliding window. A new session (a new `Mcp-Session-Id`, or the other
 * protocol era under the same credential) starts none of them afresh.
 */
import type { PolicySettings, RuleConfig } from '../config/types.js';
import { durationMs } from './conditions.js';

/** What the decisions read of the identity's sessions together, for the shared state to sync. */
export interface IdentityNeeds {
  /** Some `after` condition reads the identity's calls. */
  readonly history: boolean;
  /** Risk is kept per identity and some threshold reads it. */
  readonly risk: boolean;
}

export function identityNeedsOf(rules: readonly RuleConfig[], settings: PolicySettings): IdentityNeeds {
  const risk = settings.risk;
  return {
    history: rules.some((r) => r.after?.scope === 'identity'),
    risk: risk?.scope === 'identity' && (risk.budget !== undefined || risk.approval_at !== undefined)
  };
}

/** The counter of a rule's `max_calls` (a SessionCounter of kind `identity`). */
export interface IdentityCap {
  readonly kind: 'identity';
  readonly key: string;
  readonly max: number;
  readonly window_ms: number;
  readonly scope: 'identity';
}

/**
 * The counter a rule's `max_calls` takes: at most `count` calls of the identity under the rule in
 * any window of `within`. Like a rate limit it is checked and taken when the call's budgets are
 * (one atomic step); an observe-mode rule neither takes nor enforces it.
 */
export function identityCapOf(rule: RuleConfig, key: string): IdentityCap | undefined {
  const cap = rule.max_calls;
  if (cap === undefined) return undefined;
  const windowMs = durationMs(cap.within);
  if (windowMs === undefined || windowMs <= 0) throw new Error(`invalid duration "${cap.within}"`);
  return { kind: 'identity', key, max: cap.count, window_ms: windowMs, scope: 'identity' };
}

/** Why a rule's `max_calls` cannot be used, as ruleIssues reports it. */
export function identityCapProblems(rule: RuleConfig): Array<{ path: string[]; message: string }> {
  const within = rule.max_calls?.within;
  if (within === undefined) return [];
  const ms = durationMs(within);
  return ms === undefined || ms <= 0
    ? [{ path: ['max_calls', 'within'], message: 'expected a duration such as 90s, 10m, 1h' }]
    : [];
}
