/**
 * The policy engine: rules compiled once into an index of closures, then each call decided
 * synchronously and deterministically, never by an LLM.
 *
 * Semantics (the contract; docs/policy.md explains them with examples):
 * - Default deny: a call no rule matches is refused.
 * - A rule applies to a call when its `tool` and `server` globs match and every condition holds
 *   (time window, session history, principal, argument comparisons, CEL `when`).
 * - A deny from any applicable rule wins: an explicit `deny: true`, or a parameter constraint that
 *   fails (a constraint binds every caller of the tool).
 * - A call is allowed only if some applicable rule's `allowed_roles` names a role of the caller
 *   (`"*"` names every role) and nothing denies it.
 * - Approval outranks allow: if any applicable rule sets `require_approval`, or the call would take
 *   the session's risk above `policy.risk.approval_at`, a person must approve it.
 * - Caps and budgets: `max_calls_per_session`, `rate_limit` and `policy.risk.budget` refuse the call
 *   that would go over them.
 * - A condition that cannot be evaluated fails closed: the rule grants nothing but still restricts.
 * - `mode: observe` (per rule, or for the whole policy) records what would have been refused and
 *   lets the call through; the decision carries both.
 */
import type { ConstraintConfig, PolicySettings, RuleConfig, ServerConfig } from '../config/types.js';
import type { ErrorCode } from '../errors.js';
import {
  celProblem,
  compileAfter,
  compileCel,
  compilePrincipal,
  compileTime,
  compileWhere,
  durationMs,
  timeProblems,
  type CallRecordView,
  type Condition,
  type ConditionInput
} from './conditions.js';
import { compileConstraint, constraintHint, patternProblem, type ConstraintCheck } from './constraints.js';
import { compileGlob, type Glob } from './glob.js';
import { HOST_PATHS, type PathContext } from './paths.js';

export { normalizePath } from './constraints.js';
export { HOST_PATH_STYLE, type PathContext, type PathStyle } from './paths.js';
export type { CallRecordView } from './conditions.js';

export interface PolicyInput {
  roles: readonly string[];
  server: string;
  tool: string;
  args: Record<string, unknown>;
  identity?: ConditionInput['identity'];
  /** Epoch ms; default now. */
  now?: number;
  /** This session's earlier calls, oldest first. */
  history?: readonly CallRecordView[];
  /** The session's current risk. */
  risk?: number;
  /** Calls this session already made under a rule, by rule key. */
  sessionCount?: (ruleKey: string) => number;
}

export type Effect = 'allow' | 'deny' | 'approval';

export interface SessionCounter {
  kind: 'session' | 'rate';
  key: string;
  max: number;
  /** For rate limits: the window and who shares it. */
  window_ms?: number;
  scope?: 'identity' | 'session' | 'global';
}

export interface RuleTrace {
  rule: string;
  index: number;
  matched: boolean;
  /** Why the rule matched or not, and what it contributed. */
  notes: string[];
}

export interface Outcome {
  effect: Effect;
  /** For deny and approval: the kind (an error registry code). */
  code?: ErrorCode;
  /** Full reason, for the audit log and explain; never sent to the agent. */
  reason: string;
  /** For a constraint failure: the argument and what it must be, which the agent is told. */
  hint?: string;
  /** The rules that decided (by id). */
  rules: string[];
}

export interface Decision extends Outcome {
  /** Counters this call consumes if it goes ahead: per-session caps and rate limits. */
  counters: SessionCounter[];
  /** Risk this call adds to the session. */
  risk: number;
  /** When observe-mode rules would have decided otherwise: what they would have done. */
  observed?: Outcome;
}

interface CompiledRule {
  index: number;
  key: string;
  config: RuleConfig;
  tool: Glob;
  server: Glob | undefined;
  anyRole: boolean;
  roles: ReadonlySet<string>;
  deny: boolean;
  approval: boolean;
  observe: boolean;
  maxCalls: number | undefined;
  rate: { limit: number; window_ms: number; scope: 'identity' | 'session' | 'global' } | undefined;
  risk: number;
  constraints: ConstraintCheck[];
  conditions: Condition[];
}

export interface Policy {
  readonly rules: readonly RuleConfig[];
  readonly settings: PolicySettings;
  /** How each server reads paths, as compiled. */
  readonly servers: ServerPaths;
  /**
   * What the decisions read beyond the call itself: the session's counts and risk (`session`),
   * and its earlier calls (`history`, which implies `session`). Rate windows need neither.
   */
  readonly needs: { readonly session: boolean; readonly history: boolean };
  /** Decide one call. Pure apart from reading the session counts it is given. */
  decide(input: PolicyInput): Decision;
  /**
   * Decide a call again (after it waited for approval), leaving out what its first decision,
   * `first`, already counted: its own risk and one call under each of its per-session caps.
   */
  redecide(input: PolicyInput, first: Decision): Decision;
  /** Could a caller with these roles ever be allowed this tool? (tools/list filtering) */
  visible(roles: readonly string[], server: string, tool: string): boolean;
  /** The decision plus a trace of every rule, matched or not, and why. */
  explain(input: PolicyInput): { decision: Decision; trace: RuleTrace[] };
  /** Does some applicable rule mark this tool read-only? */
  marksReadOnly(server: string, tool: string): boolean;
}

export function ruleId(rule: RuleConfig, index: number): string {
  return rule.id ?? `rules[${index}]`;
}

const NO_NOTES: string[] = [];
const NO_COUNTERS: SessionCounter[] = [];

export const DEFAULT_SETTINGS: PolicySettings = { mode: 'enforce', tool_risk: {} };

/** `10/min` as a limit and a window. */
export function parseRateLimit(text: string): { limit: number; window_ms: number } {
  const [count, unit] = text.split('/') as [string, string];
  const ms = unit.startsWith('s') ? 1000 : unit.startsWith('m') ? 60_000 : 3_600_000;
  return { limit: Number(count), window_ms: ms };
}

function compileConditions(r: RuleConfig): Condition[] {
  const out: Condition[] = [];
  if (r.time) out.push(compileTime(r.time));
  if (r.after) out.push(compileAfter(r.after));
  if (r.principal) out.push(compilePrincipal(r.principal));
  for (const w of r.where ?? []) out.push(compileWhere(w));
  if (r.when !== undefined) out.push(compileCel(r.when));
  return out;
}

interface Restrictions {
  deny?: CompiledRule;
  constraint?: { rule: CompiledRule; problem: string };
  limit?: CompiledRule;
  approval?: CompiledRule;
}

/**
 * How each server reads paths (pathsOf). A server not named here reads them as the gateway's host
 * does, on its file system.
 */
export type ServerPaths = Readonly<Record<string, PathContext>>;

/** The path style of each configured server, and whether it shares the gateway's file system. */
export function pathsOf(servers: Readonly<Record<string, ServerConfig>>): ServerPaths {
  const out: Record<string, PathContext> = {};
  for (const [name, s] of Object.entries(servers))
    out[name] = { style: s.path_style ?? HOST_PATHS.style, local: s.kind === 'stdio' };
  return out;
}

export function compilePolicy(
  rules: readonly RuleConfig[],
  settings: PolicySettings = DEFAULT_SETTINGS,
  servers: ServerPaths = {}
): Policy {
  const pathsByServer = new Map(Object.entries(servers));
  const compiled: CompiledRule[] = rules.map((r, index) => ({
    index,
    key: ruleId(r, index),
    config: r,
    tool: compileGlob(r.tool),
    server: r.server === undefined ? undefined : compileGlob(r.server),
    anyRole: (r.allowed_roles ?? []).includes('*'),
    roles: new Set(r.allowed_roles ?? []),
    deny: r.deny === true,
    approval: r.require_approval === true,
    observe: (r.mode ?? settings.mode) === 'observe',
    maxCalls: r.max_calls_per_session,
    rate: r.rate_limit ? { ...parseRateLimit(r.rate_limit), scope: r.rate_scope ?? 'identity' } : undefined,
    risk: r.risk ?? 0,
    constraints: Object.entries(r.parameter_constraints ?? {}).map(([name, c]: [string, ConstraintConfig]) =>
      compileConstraint(name, c)
    ),
    conditions: compileConditions(r)
  }));
  const toolRisk = Object.entries(settings.tool_risk).map(([glob, weight]) => {
    const g = compileGlob(glob);
    return {
      weight,
      test: glob.includes('__')
        ? (s: string, t: string) => g.test(`${s}__${t}`)
        : (_s: string, t: string) => g.test(t)
    };
  });
  const riskBudget = settings.risk?.budget;
  const riskApproval = settings.risk?.approval_at;
  const enforcing = settings.mode === 'enforce';

  // Index: literal tool names map straight to their rules; wildcard rules are checked per name
  // once and the answer cached, so finding a call's rules is two map lookups.
  const byTool = new Map<string, CompiledRule[]>();
  const wildcard: CompiledRule[] = [];
  for (const rule of compiled) {
    if (rule.tool.literal) {
      const list = byTool.get(rule.tool.source) ?? [];
      list.push(rule);
      byTool.set(rule.tool.source, list);
    } else {
      wildcard.push(rule);
    }
  }
  // Two generations: when the young one fills up it becomes the old one, so a flood of unknown
  // names cannot evict every hot entry at once.
  const MAX_CACHE = 10_000;
  type Found = { rules: CompiledRule[]; toolRisk: number };
  let young = new Map<string, Map<string, Found>>();
  let old = new Map<string, Map<string, Found>>();
  let youngSize = 0;
  const applicable = (server: string, tool: string): Found => {
    let byServer = young.get(server);
    const hit = byServer?.get(tool) ?? old.get(server)?.get(tool);
    if (hit) return hit;
    const out: Found = {
      rules: [...(byTool.get(tool) ?? []), ...wildcard.filter((r) => r.tool.test(tool))]
        .filter((r) => r.server === undefined || r.server.test(server))
        .sort((a, b) => a.index - b.index),
      toolRisk: toolRisk.reduce((sum, t) => (t.test(server, tool) ? sum + t.weight : sum), 0)
    };
    if (youngSize >= MAX_CACHE) {
      old = young;
      young = new Map();
      youngSize = 0;
      byServer = undefined;
    }
    if (!byServer) {
      byServer = new Map();
      young.set(server, byServer);
    }
    byServer.set(tool, out);
    youngSize++;
    return out;
  };

  const grants = (rule: CompiledRule, roles: readonly string[]) =>
    rule.anyRole ? roles.length > 0 : roles.some((r) => rule.roles.has(r));
  // A deny rule with allowed_roles denies only those roles; without, it denies everyone.
  const denies = (rule: CompiledRule, roles: readonly string[]) =>
    rule.deny && (rule.config.allowed_roles === undefined || grants(rule, roles));

  const combine = (
    input: PolicyInput,
    rs: CompiledRule[],
    granting: CompiledRule[],
    r: Restrictions,
    strictDefault: boolean,
    enforceRisk: boolean,
    projectedRisk: number
  ): Outcome => {
    if (r.deny)
      return {
        effect: 'deny',
        code: 'policy_denied',
        reason: `rule ${r.deny.key} denies tool "${input.tool}"`,
        rules: [r.deny.key]
      };
    if (rs.length === 0 && strictDefault) {
      return {
        effect: 'deny',
        code: 'no_rule',
        reason: `no rule applies to tool "${input.tool}" on server "${input.server}" (default deny)`,
        rules: []
      };
    }
    if (granting.length === 0 && strictDefault) {
      return {
        effect: 'deny',
        code: 'role_not_allowed',
        reason: `no applicable rule allows role(s) [${input.roles.join(', ')}] for tool "${input.tool}"`,
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
  };

  const decideWith = (input: PolicyInput, trace?: RuleTrace[]): Decision => {
    const found = applicable(input.server, input.tool);
    const condInput: ConditionInput = {
      roles: input.roles,
      server: input.server,
      tool: input.tool,
      args: input.args,
      ...(input.identity ? { identity: input.identity } : {}),
      now: input.now ?? Date.now(),
      history: input.history ?? [],
      risk: input.risk ?? 0
    };
    if (trace) {
      const matchedSet = new Set(found.rules);
      for (const r of compiled) {
        if (!matchedSet.has(r)) {
          const why = !r.tool.test(input.tool)
            ? `tool "${input.tool}" does not match "${r.tool.source}"`
            : `server "${input.server}" does not match "${r.server?.source ?? ''}"`;
          trace.push({ rule: r.key, index: r.index, matched: false, notes: [why] });
        }
      }
    }
    const tracing = trace !== undefined;
    const rs: CompiledRule[] = [];
    const granting: CompiledRule[] = [];
    // Fixed shapes: adding properties later would change hidden classes on the hot path.
    const enforced: Restrictions = {
      deny: undefined,
      constraint: undefined,
      limit: undefined,
      approval: undefined
    };
    const observed: Restrictions = {
      deny: undefined,
      constraint: undefined,
      limit: undefined,
      approval: undefined
    };
    const counters: SessionCounter[] = [];
    let weight = found.toolRisk;
    let observedWeight = 0;
    // How the call's server reads paths: looked up only when a constraint needs it.
    let paths: PathContext | undefined;
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
      rs.push(rule);
      const bucket = rule.observe ? observed : enforced;
      if (rule.observe && tracing) notes.push('observe mode: restricts on record only');
      if (denies(rule, input.roles)) {
        bucket.deny ??= rule;
        if (tracing) notes.push('denies the call (deny: true)');
      }
      const granted = !rule.deny && !errored && grants(rule, input.roles);
      if (granted) granting.push(rule);
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
      for (const check of rule.constraints) {
        const problem = check(input.args, (paths ??= pathsByServer.get(input.server) ?? HOST_PATHS));
        if (problem) {
          failed = true;
          bucket.constraint ??= { rule, problem };
          if (tracing) notes.push(`constraint fails: ${problem}`);
        }
      }
      if (tracing && rule.constraints.length > 0 && !failed) notes.push('all parameter constraints pass');
      if (rule.approval) {
        bucket.approval ??= rule;
        if (tracing) notes.push('requires approval');
      }
      if (rule.maxCalls !== undefined) {
        const used = input.sessionCount?.(rule.key) ?? 0;
        if (used >= rule.maxCalls) {
          bucket.limit ??= rule;
          if (tracing) notes.push(`session limit reached (${used}/${rule.maxCalls})`);
        } else {
          if (!rule.observe) counters.push({ kind: 'session', key: rule.key, max: rule.maxCalls });
          if (tracing) notes.push(`session calls ${used}/${rule.maxCalls}`);
        }
      }
      if (rule.rate && !rule.observe) {
        counters.push({
          kind: 'rate',
          key: rule.key,
          max: rule.rate.limit,
          window_ms: rule.rate.window_ms,
          scope: rule.rate.scope
        });
        if (tracing) notes.push(`rate limit ${rule.config.rate_limit} per ${rule.rate.scope}`);
      }
      if (rule.risk > 0) {
        // An observe-mode rule's risk goes on record only; it neither counts nor is enforced.
        if (rule.observe) observedWeight += rule.risk;
        else weight += rule.risk;
        if (tracing)
          notes.push(`adds risk ${rule.risk}${rule.observe ? ' (observe mode: on record only)' : ''}`);
      }
      trace?.push({ rule: rule.key, index: rule.index, matched: true, notes });
    }
    trace?.sort((a, b) => a.index - b.index);
    const projected = (input.risk ?? 0) + weight;
    const actual = combine(input, rs, granting, enforced, enforcing, enforcing, projected);
    // Built field by field: spreading outcomes of varying shape is slow on the hot path.
    const decision: Decision = {
      effect: actual.effect,
      code: actual.code,
      reason: actual.reason,
      hint: actual.hint,
      rules: actual.rules,
      counters: actual.effect === 'deny' ? NO_COUNTERS : counters,
      risk: weight,
      observed: undefined
    };
    const nothingObserved =
      enforcing &&
      observedWeight === 0 &&
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
    const full = combine(input, rs, granting, all, true, true, projected + observedWeight);
    if (full.effect !== actual.effect || full.code !== actual.code) decision.observed = full;
    return decision;
  };

  const history = rules.some((r) => r.after !== undefined || r.when !== undefined);
  const needs = {
    history,
    session:
      history ||
      riskBudget !== undefined ||
      riskApproval !== undefined ||
      rules.some((r) => r.max_calls_per_session !== undefined)
  };

  const visibleCache = new Map<string, boolean>();
  return {
    rules,
    settings,
    servers,
    needs,
    decide: (input) => decideWith(input),
    redecide(input, first) {
      const spent = new Set(first.counters.filter((c) => c.kind === 'session').map((c) => c.key));
      const count = input.sessionCount;
      return decideWith({
        ...input,
        risk: Math.max(0, (input.risk ?? 0) - first.risk),
        sessionCount: (key) => (count?.(key) ?? 0) - (spent.has(key) ? 1 : 0)
      });
    },
    explain: (input) => {
      const trace: RuleTrace[] = [];
      const decision = decideWith(input, trace);
      return { decision, trace };
    },
    marksReadOnly: (server, tool) => applicable(server, tool).rules.some((r) => r.config.read_only === true),
    visible: (roles, server, tool) => {
      if (!enforcing) return true;
      const key = `${roles.join('\u0001')}\u0000${server}\u0000${tool}`;
      const hit = visibleCache.get(key);
      if (hit !== undefined) return hit;
      const rs = applicable(server, tool).rules;
      // Visible if some rule could grant it; hidden if a deny always refuses it (no conditions).
      const v =
        rs.some((r) => !r.deny && grants(r, roles)) &&
        !rs.some((r) => denies(r, roles) && !r.observe && r.conditions.length === 0);
      if (visibleCache.size >= MAX_CACHE) visibleCache.clear();
      visibleCache.set(key, v);
      return v;
    }
  };
}

export interface RuleIssue {
  index: number;
  path: Array<string | number>;
  message: string;
}

/** Checks on rules beyond their shape: valid RE2 patterns, sane bounds, known servers. */
export function ruleIssues(
  rules: readonly RuleConfig[],
  servers: string[],
  serversDeclared: boolean
): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const ids = new Set<string>();
  rules.forEach((rule, index) => {
    if (rule.id !== undefined) {
      if (ids.has(rule.id)) issues.push({ index, path: ['id'], message: `duplicate rule id "${rule.id}"` });
      ids.add(rule.id);
    }
    if (rule.tool === '')
      issues.push({ index, path: ['tool'], message: 'expected a non-empty tool name or glob' });
    if (rule.tool.includes('__') && !/[*?]/.test(rule.tool)) {
      issues.push({
        index,
        path: ['tool'],
        message: `"tool" is the upstream's own tool name; use server: "${rule.tool.split('__')[0]}" and tool: "${rule.tool.split('__').slice(1).join('__')}"`
      });
    }
    if (rule.server !== undefined && serversDeclared) {
      const glob = compileGlob(rule.server);
      if (!servers.some((s) => glob.test(s))) {
        issues.push({ index, path: ['server'], message: `no configured server matches "${rule.server}"` });
      }
    }
    if (rule.deny && rule.require_approval) {
      issues.push({ index, path: ['require_approval'], message: 'a deny rule cannot also require approval' });
    }
    if (rule.time)
      for (const p of timeProblems(rule.time))
        issues.push({ index, path: ['time', ...p.path], message: p.message });
    if (rule.after?.within !== undefined && durationMs(rule.after.within) === undefined) {
      issues.push({ index, path: ['after', 'within'], message: 'expected a duration such as 90s, 10m, 1h' });
    }
    (rule.where ?? []).forEach((w, i) => {
      if ((w.value === undefined) === (w.arg2 === undefined)) {
        issues.push({ index, path: ['where', i], message: 'expected exactly one of "value" or "arg2"' });
      }
      if ((w.op === 'in' || w.op === 'not_in') && w.arg2 === undefined && !Array.isArray(w.value)) {
        issues.push({ index, path: ['where', i, 'value'], message: `"${w.op}" needs a list` });
      }
    });
    if (rule.when !== undefined) {
      const problem = celProblem(rule.when);
      if (problem) issues.push({ index, path: ['when'], message: problem });
    }
    if (rule.rate_scope !== undefined && rule.rate_limit === undefined) {
      issues.push({ index, path: ['rate_scope'], message: 'rate_scope needs a rate_limit' });
    }
    for (const [name, c] of Object.entries(rule.parameter_constraints ?? {})) {
      const at = ['parameter_constraints', name];
      if (c.pattern !== undefined) {
        const problem = patternProblem(c.pattern);
        if (problem) issues.push({ index, path: [...at, 'pattern'], message: problem });
      }
      if (c.min !== undefined && c.max !== undefined && c.min > c.max) {
        issues.push({ index, path: [...at, 'min'], message: `min ${c.min} is greater than max ${c.max}` });
      }
      const checks = ['pattern', 'prefix', 'enum', 'min', 'max', 'maxLength'] as const;
      if (!checks.some((k) => c[k] !== undefined)) {
        issues.push({ index, path: at, message: `constraint has no check (one of ${checks.join(', ')})` });
      }
      if (c.realpath === true && c.pattern === undefined && c.prefix === undefined) {
        issues.push({
          index,
          path: [...at, 'realpath'],
          message:
            'realpath checks the resolved path against a pattern or prefix; this constraint has neither'
        });
      }
    }
  });
  return issues;
}
