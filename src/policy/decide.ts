/**
 * Deciding one call: the applicable rules' conditions are tested, each matched rule adds what it
 * denies, grants, requires and counts, and the restrictions combine into one outcome, in a fixed
 * order of precedence. Observe-mode rules restrict on record only.
 */
import type { ConditionInput, Condition } from './conditions.js';
import { denies, grants, type CompiledRule } from './compile.js';
import { constraintHint } from './constraints.js';
import { hasDotSegment } from './glob.js';
import { HOST_PATHS, type PathContext } from './paths.js';
import type { Applicable } from './rule-index.js';
import type { Decision, Outcome, PolicyInput, RuleTrace, SessionCounter } from './types.js';

/** What a policy's decisions share: its rules, how to find a call's, and its mode and risk limits. */
export interface DecisionContext {
  compiled: readonly CompiledRule[];
  applicable: Applicable;
  enforcing: boolean;
  riskBudget: number | undefined;
  riskApproval: number | undefined;
  /** How each server reads paths; a server not named reads them as the gateway's host does. */
  pathsByServer: ReadonlyMap<string, PathContext>;
}

interface Restrictions {
  deny?: CompiledRule;
  constraint?: { rule: CompiledRule; problem: string };
  limit?: CompiledRule;
  approval?: CompiledRule;
}

/** What the matched rules of one call add up to. */
interface Tally {
  rs: CompiledRule[];
  granting: CompiledRule[];
  enforced: Restrictions;
  observed: Restrictions;
  counters: SessionCounter[];
  weight: number;
  observedWeight: number;
  /** How the call's server reads paths. */
  paths: PathContext;
}

const NO_NOTES: string[] = [];
const NO_COUNTERS: SessionCounter[] = [];
const NO_CHECKS: CompiledRule['constraints'] = [];

// Fixed shapes: adding properties later would change hidden classes on the hot path.
function noRestrictions(): Restrictions {
  return {
    deny: undefined,
    constraint: undefined,
    limit: undefined,
    approval: undefined
  };
}

function combine(
  ctx: DecisionContext,
  input: PolicyInput,
  tally: Tally,
  r: Restrictions,
  strictDefault: boolean,
  enforceRisk: boolean,
  projectedRisk: number
): Outcome {
  const { rs, granting } = tally;
  const { riskBudget, riskApproval } = ctx;
  if (r.deny)
    return {
      effect: 'deny',
      code: 'policy_denied',
      reason: `rule ${r.deny.key} denies ${input.kind ?? 'tool'} "${input.tool}"`,
      rules: [r.deny.key]
    };
  if (rs.length === 0 && strictDefault) {
    return {
      effect: 'deny',
      code: 'no_rule',
      reason: `no rule applies to ${input.kind ?? 'tool'} "${input.tool}" on server "${input.server}" (default deny)`,
      rules: []
    };
  }
  if (granting.length === 0 && strictDefault) {
    return {
      effect: 'deny',
      code: 'role_not_allowed',
      reason: `no applicable rule allows role(s) [${input.roles.join(', ')}] for ${input.kind ?? 'tool'} "${input.tool}"`,
      rules: rs.map((x) => x.key)
    };
  }
  if (r.constraint) {
    return {
      effect: 'deny',
      code: 'constraint_failed',
      reason: `rule ${r.constraint.rule.key}: ${r.constraint.problem}`,
      hint: constraintHint(r.constraint.problem),
      rules: [r.constraint.rule.key]
    };
  }
  if (r.limit) {
    return {
      effect: 'deny',
      code: 'call_limit',
      reason: `rule ${r.limit.key}: max_calls_per_session ${r.limit.maxCalls} reached`,
      rules: [r.limit.key]
    };
  }
  if (enforceRisk && riskBudget !== undefined && projectedRisk > riskBudget) {
    return {
      effect: 'deny',
      code: 'risk_budget',
      reason: `session risk would reach ${projectedRisk}, over the budget ${riskBudget}`,
      rules: rs.filter((x) => x.risk > 0).map((x) => x.key)
    };
  }
  const grantKeys = granting.map((x) => x.key);
  if (r.approval) {
    return {
      effect: 'approval',
      code: 'approval_required',
      reason: `rule ${r.approval.key} requires approval`,
      rules: [r.approval.key, ...grantKeys.filter((k) => k !== r.approval!.key)]
    };
  }
  if (enforceRisk && riskApproval !== undefined && projectedRisk > riskApproval) {
    return {
      effect: 'approval',
      code: 'approval_required',
      reason: `session risk would reach ${projectedRisk}, over the approval threshold ${riskApproval}`,
      rules: grantKeys
    };
  }
  return {
    effect: 'allow',
    reason: granting.length ? `allowed by ${grantKeys.join(', ')}` : 'allowed (observe mode)',
    rules: grantKeys
  };
}

function conditionInputOf(input: PolicyInput): ConditionInput {
  return {
    roles: input.roles,
    server: input.server,
    tool: input.tool,
    args: input.args,
    ...(input.identity ? { identity: input.identity } : {}),
    now: input.now ?? Date.now(),
    history: input.history ?? [],
    identityHistory: input.identityHistory ?? input.history ?? [],
    risk: input.risk ?? 0
  };
}

/** Trace entries for the rules of another kind, or whose name or server glob does not match the call. */
function traceUnmatched(
  compiled: readonly CompiledRule[],
  found: readonly CompiledRule[],
  input: PolicyInput,
  trace: RuleTrace[]
): void {
  const matchedSet = new Set(found);
  const kind = input.kind ?? 'tool';
  for (const r of compiled) {
    if (!matchedSet.has(r)) {
      const why =
        r.kind !== kind
          ? `names a ${r.kind}, not a ${kind}`
          : !r.target.test(input.tool)
            ? `${kind} "${input.tool}" does not match ${shownGlobs(r.target.sources)}`
            : `server "${input.server}" does not match "${r.server?.source ?? ''}"`;
      trace.push({ rule: r.key, index: r.index, matched: false, notes: [why] });
    }
  }
}

/** A rule's globs in a trace: `"read_*"`, or `any of "read_*", "list_*"`. */
function shownGlobs(sources: readonly string[]): string {
  const quoted = sources.map((s) => `"${s}"`).join(', ');
  return sources.length === 1 ? quoted : `any of ${quoted}`;
}

/** A matched rule's deny, grant and constraints, and its approval, into the tally. */
function restrictBy(
  rule: CompiledRule,
  input: PolicyInput,
  errored: Error | undefined,
  tally: Tally,
  notes: string[],
  tracing: boolean
): Restrictions {
  tally.rs.push(rule);
  const bucket = rule.observe ? tally.observed : tally.enforced;
  if (rule.observe && tracing) notes.push('observe mode: restricts on record only');
  if (denies(rule, input.roles)) {
    bucket.deny ??= rule;
    if (tracing) notes.push('denies the call (deny: true)');
  }
  const granted = !rule.deny && !errored && grants(rule, input.roles);
  if (granted) tally.granting.push(rule);
  if (!rule.deny) {
    if (tracing)
      notes.push(
        rule.config.allowed_roles === undefined
          ? 'allows no role (no allowed_roles): constrains only'
          : granted
            ? `allows role(s) ${input.roles.filter((r) => rule.anyRole || rule.roles.has(r)).join(', ')}`
            : errored
              ? 'grants nothing: a condition could not be evaluated'
              : `does not allow role(s) ${input.roles.join(', ') || '(none)'}`
      );
  }
  let failed = false;
  // A completion is decided before the arguments exist: its constraints are checked on prompts/get.
  const checks = input.completing === true ? NO_CHECKS : rule.constraints;
  for (const check of checks) {
    const problem = check(input.args, tally.paths);
    if (problem) {
      failed = true;
      bucket.constraint ??= { rule, problem };
      if (tracing) notes.push(`constraint fails: ${problem}`);
    }
  }
  if (tracing && checks.length > 0 && !failed) notes.push('all parameter constraints pass');
  if (tracing && checks.length < rule.constraints.length) notes.push('constraints not checked: a completion');
  if (rule.approval) {
    bucket.approval ??= rule;
    if (tracing) notes.push('requires approval');
  }
  return bucket;
}

/** A matched rule's session cap, rate limit and risk into the tally. */
function countBy(
  rule: CompiledRule,
  input: PolicyInput,
  bucket: Restrictions,
  tally: Tally,
  notes: string[],
  tracing: boolean
): void {
  if (rule.maxCalls !== undefined) {
    const used = input.sessionCount?.(rule.key) ?? 0;
    if (used >= rule.maxCalls) {
      bucket.limit ??= rule;
      if (tracing) notes.push(`session limit reached (${used}/${rule.maxCalls})`);
    } else {
      if (!rule.observe) tally.counters.push({ kind: 'session', key: rule.key, max: rule.maxCalls });
      if (tracing) notes.push(`session calls ${used}/${rule.maxCalls}`);
    }
  }
  if (rule.rate && !rule.observe) {
    tally.counters.push({
      kind: 'rate',
      key: rule.key,
      max: rule.rate.limit,
      window_ms: rule.rate.window_ms,
      scope: rule.rate.scope
    });
    if (tracing) notes.push(`rate limit ${rule.config.rate_limit} per ${rule.rate.scope}`);
  }
  if (rule.identityCap && !rule.observe) {
    tally.counters.push(rule.identityCap);
    if (tracing)
      notes.push(`identity cap ${rule.identityCap.max} calls within ${rule.config.max_calls!.within}`);
  }
  if (rule.risk > 0) {
    // An observe-mode rule's risk goes on record only; it neither counts nor is enforced.
    if (rule.observe) tally.observedWeight += rule.risk;
    else tally.weight += rule.risk;
    if (tracing) notes.push(`adds risk ${rule.risk}${rule.observe ? ' (observe mode: on record only)' : ''}`);
  }
}

/** The outcome in force, and what observe-mode rules would have made of the call if it differs. */
function conclude(ctx: DecisionContext, input: PolicyInput, tally: Tally): Decision {
  const { enforcing } = ctx;
  const { enforced, observed } = tally;
  const projected = (input.risk ?? 0) + tally.weight;
  const actual = combine(ctx, input, tally, enforced, enforcing, enforcing, projected);
  // Built field by field: spreading outcomes of varying shape is slow on the hot path.
  const decision: Decision = {
    effect: actual.effect,
    code: actual.code,
    reason: actual.reason,
    hint: actual.hint,
    rules: actual.rules,
    counters: actual.effect === 'deny' ? NO_COUNTERS : tally.counters,
    risk: tally.weight,
    observed: undefined
  };
  const nothingObserved =
    enforcing &&
    tally.observedWeight === 0 &&
    !observed.deny &&
    !observed.constraint &&
    !observed.limit &&
    !observed.approval;
  if (nothingObserved) return decision;
  const all: Restrictions = {
    deny: enforced.deny ?? observed.deny,
    constraint: enforced.constraint ?? observed.constraint,
    limit: enforced.limit ?? observed.limit,
    approval: enforced.approval ?? observed.approval
  };
  const full = combine(ctx, input, tally, all, true, true, projected + tally.observedWeight);
  if (full.effect !== actual.effect || full.code !== actual.code) decision.observed = full;
  return decision;
}

/** A resource URI with a `.` or `..` segment is refused whatever the rules say (glob.ts). */
function dotSegmentDenied(uri: string): Decision {
  return {
    effect: 'deny',
    code: 'policy_denied',
    reason: `resource "${uri}" has a "." or ".." path segment, which its server may resolve elsewhere`,
    hint: undefined,
    rules: [],
    counters: NO_COUNTERS,
    risk: 0,
    observed: undefined
  };
}

/** Decide one call; with `trace`, also say for every rule whether it matched and why. */
export function decideCall(ctx: DecisionContext, input: PolicyInput, trace?: RuleTrace[]): Decision {
  if (input.kind === 'resource' && hasDotSegment(input.tool)) return dotSegmentDenied(input.tool);
  const found = ctx.applicable(input.server, input.tool, input.kind);
  const condInput = conditionInputOf(input);
  if (trace) traceUnmatched(ctx.compiled, found.rules, input, trace);
  const tracing = trace !== undefined;
  const tally: Tally = {
    rs: [],
    granting: [],
    enforced: noRestrictions(),
    observed: noRestrictions(),
    counters: [],
    weight: found.toolRisk,
    observedWeight: 0,
    paths: ctx.pathsByServer.get(input.server) ?? HOST_PATHS
  };
  for (const rule of found.rules) {
    // Notes explain a decision; only build them when someone asked (explain), not per call.
    const notes: string[] = tracing ? [] : NO_NOTES;
    let errored: Error | undefined;
    let unmet: Condition | undefined;
    for (const c of rule.conditions) {
      const result = c.test(condInput);
      if (result instanceof Error) {
        errored ??= result;
        if (tracing)
          notes.push(
            `condition ${c.text} could not be evaluated (${result.message}): grants nothing, still restricts`
          );
      } else if (!result) {
        unmet = c;
        break;
      } else {
        if (tracing) notes.push(`condition ${c.text} holds`);
      }
    }
    if (unmet) {
      trace?.push({
        rule: rule.key,
        index: rule.index,
        matched: false,
        notes: [...notes, `condition ${unmet.text} does not hold`]
      });
      continue;
    }
    const bucket = restrictBy(rule, input, errored, tally, notes, tracing);
    countBy(rule, input, bucket, tally, notes, tracing);
    trace?.push({ rule: rule.key, index: rule.index, matched: true, notes });
  }
  trace?.sort((a, b) => a.index - b.index);
  return conclude(ctx, input, tally);
}
