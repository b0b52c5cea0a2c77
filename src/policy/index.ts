/**
 * The policy engine: rules compiled once into an index of closures, then each call decided
 * synchronously and deterministically, never by an LLM.
 *
 * Semantics (the contract; docs/policy.md explains them with examples):
 * - Default deny: a call no rule matches is refused.
 * - A rule names exactly one of a `tool`, a `prompt` or a `resource` (a URI glob where `*` stays
 *   within a `/` segment and `**` crosses them); each kind is decided by its own rules only, and a
 *   resource URI with a `.` or `..` segment is always refused.
 * - A rule applies to a call when its `tool` and `server` globs match and every condition holds
 *   (time window, session history, principal, argument comparisons, CEL `when`).
 * - A deny from any applicable rule wins: an explicit `deny: true`, or a parameter constraint that
 *   fails (a constraint binds every caller of the tool).
 * - A call is allowed only if some applicable rule's `allowed_roles` names a role of the caller
 *   (`"*"` names every role) and nothing denies it.
 * - Approval outranks allow: if any applicable rule sets `require_approval`, or the call would take
 *   the session's risk above `policy.risk.approval_at`, a person must approve it.
 * - Caps and budgets: `max_calls_per_session`, `max_calls` (per identity), `rate_limit` and
 *   `policy.risk.budget` refuse the call that would go over them.
 * - A condition that cannot be evaluated fails closed: the rule grants nothing but still restricts.
 * - `mode: observe` (per rule, or for the whole policy) records what would have been refused and
 *   lets the call through; the decision carries both.
 */
import type { PolicySettings, RuleConfig, ServerConfig } from '../config/types.js';
import { celProblem, durationMs, timeProblems } from './conditions.js';
import { patternProblem } from './constraints.js';
import { compileRule, compileToolRisk } from './compile.js';
import { decideCall, type DecisionContext } from './decide.js';
import { compileGlob } from './glob.js';
import { identityCapProblems, identityNeedsOf } from './identity.js';
import { HOST_PATHS, type PathContext } from './paths.js';
import { createRuleIndex } from './rule-index.js';
import type { Policy, RuleTrace, ServerPaths } from './types.js';
import { createVisibility } from './visibility.js';

export { normalizePath } from './constraints.js';
export { HOST_PATH_STYLE, type PathContext, type PathStyle } from './paths.js';
export type { CallRecordView } from './conditions.js';
export type { IdentityNeeds } from './identity.js';
export { parseRateLimit, ruleId } from './compile.js';
export type {
  Decision,
  Effect,
  Outcome,
  Policy,
  PolicyInput,
  RuleTrace,
  ServerPaths,
  SessionCounter
} from './types.js';

/** The path style of each configured server, and whether it shares the gateway's file system. */
export function pathsOf(servers: Readonly<Record<string, ServerConfig>>): ServerPaths {
  const out: Record<string, PathContext> = {};
  for (const [name, s] of Object.entries(servers))
    out[name] = { style: s.path_style ?? HOST_PATHS.style, local: s.kind === 'stdio' };
  return out;
}

export const DEFAULT_SETTINGS: PolicySettings = { mode: 'enforce', tool_risk: {} };

/** What the policy's decisions read beyond the call itself (see `Policy.needs`). */
function needsOf(rules: readonly RuleConfig[], settings: PolicySettings): Policy['needs'] {
  const history = rules.some((r) => r.after !== undefined || r.when !== undefined);
  return {
    history,
    session:
      history ||
      settings.risk?.budget !== undefined ||
      settings.risk?.approval_at !== undefined ||
      rules.some((r) => r.max_calls_per_session !== undefined)
  };
}

export function compilePolicy(
  rules: readonly RuleConfig[],
  settings: PolicySettings = DEFAULT_SETTINGS,
  servers: ServerPaths = {}
): Policy {
  const compiled = rules.map((r, index) => compileRule(r, index, settings));
  const applicable = createRuleIndex(compiled, compileToolRisk(settings));
  const ctx: DecisionContext = {
    compiled,
    applicable,
    enforcing: settings.mode === 'enforce',
    riskBudget: settings.risk?.budget,
    riskApproval: settings.risk?.approval_at,
    pathsByServer: new Map(Object.entries(servers))
  };
  return {
    rules,
    settings,
    servers,
    needs: needsOf(rules, settings),
    identityNeeds: identityNeedsOf(rules, settings),
    decide: (input) => decideCall(ctx, input),
    redecide(input, first) {
      const spent = new Set(first.counters.filter((c) => c.kind === 'session').map((c) => c.key));
      const count = input.sessionCount;
      return decideCall(ctx, {
        ...input,
        risk: Math.max(0, (input.risk ?? 0) - first.risk),
        sessionCount: (key) => (count?.(key) ?? 0) - (spent.has(key) ? 1 : 0)
      });
    },
    explain: (input) => {
      const trace: RuleTrace[] = [];
      const decision = decideCall(ctx, input, trace);
      return { decision, trace };
    },
    marksReadOnly: (server, tool) => applicable(server, tool).rules.some((r) => r.config.read_only === true),
    visible: createVisibility(applicable, ctx.enforcing)
  };
}

interface RuleIssue {
  index: number;
  path: Array<string | number>;
  message: string;
}

const TARGETS = ['tool', 'prompt', 'resource'] as const;

/** What only a tool rule can say: caps, rates, risk and read-only marks count tool calls. */
const TOOL_ONLY = [
  'read_only',
  'max_calls_per_session',
  'max_calls',
  'rate_limit',
  'rate_scope',
  'risk'
] as const;

/**
 * A rule's glob, or each of its list of globs: a non-empty string (the schema says so for a
 * config; an inline test file's rules are checked here only). A tool glob without a wildcard is
 * the upstream's own name, never `server__tool`.
 */
function globIssues(value: unknown, kind: (typeof TARGETS)[number]): Array<Omit<RuleIssue, 'index'>> {
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  const at = (i: number) => (Array.isArray(value) ? [kind, i] : [kind]);
  if (list.length === 0) return [{ path: [kind], message: `expected at least one ${kind} name or glob` }];
  const issues: Array<Omit<RuleIssue, 'index'>> = [];
  list.forEach((glob, i) => {
    if (typeof glob !== 'string') issues.push({ path: at(i), message: 'expected a string' });
    else if (glob === '') issues.push({ path: at(i), message: `expected a non-empty ${kind} name or glob` });
    else if (kind === 'tool' && glob.includes('__') && !/[*?]/.test(glob)) {
      const [server, ...rest] = glob.split('__');
      issues.push({
        path: at(i),
        message: `"tool" is the upstream's own tool name; use server: "${server}" and tool: "${rest.join('__')}"`
      });
    }
  });
  return issues;
}

/** A rule names exactly one of tool, prompt or resource, non-empty, and only what applies to it. */
function targetIssues(rule: RuleConfig, index: number): RuleIssue[] {
  const named = TARGETS.filter((k) => rule[k] !== undefined);
  const issues = named.flatMap((k) => globIssues(rule[k], k).map((p) => ({ index, ...p })));
  if (named.length !== 1) {
    const what = named.length === 0 ? 'none' : named.join(' and ');
    return [
      {
        index,
        path: named.length === 0 ? [] : [named[1]!],
        message: `a rule names exactly one of "tool", "prompt" or "resource"; this one names ${what}`
      },
      ...issues
    ];
  }
  const kind = named[0]!;
  if (kind === 'tool') return issues;
  for (const k of TOOL_ONLY)
    if (rule[k] !== undefined)
      issues.push({ index, path: [k], message: `"${k}" applies to tool rules only, not to a ${kind} rule` });
  if (kind === 'resource' && rule.parameter_constraints !== undefined)
    issues.push({
      index,
      path: ['parameter_constraints'],
      message: 'a resource has no arguments to constrain; constrain its URI with the "resource" glob'
    });
  return issues;
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
    issues.push(...targetIssues(rule, index));
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
    for (const p of identityCapProblems(rule)) issues.push({ index, ...p });
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
