/**
 * The policy engine: rules compiled once into an index of closures, then each call decided
 * synchronously and deterministically.
 *
 * Semantics (the contract in docs/policy.md):
 * - Default deny: a call no rule matches is refused.
 * - Every rule whose `tool` glob and `server` glob match the call applies.
 * - A deny from any applicable rule wins: an explicit `deny: true`, or a parameter constraint
 *   that fails (a constraint binds every caller of the tool).
 * - A call is allowed only if some applicable rule's `allowed_roles` names a role of the caller
 *   (`"*"` names every role) and no constraint fails.
 * - Approval outranks allow: if any applicable rule sets `require_approval`, the call needs it.
 * - `max_calls_per_session` caps the calls a session makes under that rule (all tools it matches).
 */
import type { ConstraintConfig, RuleConfig } from '../config/types.js';
import type { ErrorCode } from '../errors.js';
import { compileConstraint, patternProblem, type ConstraintCheck } from './constraints.js';
import { compileGlob, type Glob } from './glob.js';

export { normalizePath } from './constraints.js';

export interface PolicyInput {
  roles: readonly string[];
  server: string;
  tool: string;
  args: Record<string, unknown>;
  /** Calls this session already made under a rule, by rule key. */
  sessionCount?: (ruleKey: string) => number;
}

export type Effect = 'allow' | 'deny' | 'approval';

export interface SessionCounter {
  key: string;
  max: number;
}

export interface RuleTrace {
  rule: string;
  index: number;
  matched: boolean;
  /** Why the rule matched or not, and what it contributed. */
  notes: string[];
}

export interface Decision {
  effect: Effect;
  /** For deny: the kind of refusal (an error registry code). */
  code?: ErrorCode;
  /** Full reason, for the audit log and explain; never sent to the agent. */
  reason: string;
  /** The rules that decided (by id). */
  rules: string[];
  /** Per-session counters this call consumes if it goes ahead: rule key and its cap. */
  counters: SessionCounter[];
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
  maxCalls: number | undefined;
  constraints: ConstraintCheck[];
}

export interface Policy {
  readonly rules: readonly RuleConfig[];
  /** Decide one call. Pure apart from reading session counts. */
  decide(input: PolicyInput): Decision;
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

export function compilePolicy(rules: readonly RuleConfig[]): Policy {
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
    maxCalls: r.max_calls_per_session,
    constraints: Object.entries(r.parameter_constraints ?? {}).map(([name, c]: [string, ConstraintConfig]) =>
      compileConstraint(name, c)
    )
  }));

  // Index: literal tool names map straight to their rules; wildcard rules are checked per name
  // once and the answer cached, so the hot path is two map lookups.
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
  const cache = new Map<string, CompiledRule[]>();
  const MAX_CACHE = 10_000;
  const applicable = (server: string, tool: string): CompiledRule[] => {
    const cacheKey = `${server}\u0000${tool}`;
    const hit = cache.get(cacheKey);
    if (hit) return hit;
    const out = [...(byTool.get(tool) ?? []), ...wildcard.filter((r) => r.tool.test(tool))]
      .filter((r) => r.server === undefined || r.server.test(server))
      .sort((a, b) => a.index - b.index);
    if (cache.size >= MAX_CACHE) cache.clear();
    cache.set(cacheKey, out);
    return out;
  };

  const grants = (rule: CompiledRule, roles: readonly string[]) =>
    rule.anyRole ? roles.length > 0 : roles.some((r) => rule.roles.has(r));
  // A deny rule with allowed_roles denies only those roles; without, it denies everyone.
  const denies = (rule: CompiledRule, roles: readonly string[]) =>
    rule.deny && (rule.config.allowed_roles === undefined || grants(rule, roles));

  const decideWith = (input: PolicyInput, trace?: RuleTrace[]): Decision => {
    const rules = applicable(input.server, input.tool);
    if (trace) {
      const matchedSet = new Set(rules);
      for (const r of compiled) {
        if (!matchedSet.has(r)) {
          const why = !r.tool.test(input.tool)
            ? `tool "${input.tool}" does not match "${r.tool.source}"`
            : `server "${input.server}" does not match "${r.server?.source ?? ''}"`;
          trace.push({ rule: r.key, index: r.index, matched: false, notes: [why] });
        }
      }
    }
    if (rules.length === 0) {
      return {
        effect: 'deny',
        code: 'no_rule',
        reason: `no rule matches tool "${input.tool}" on server "${input.server}" (default deny)`,
        rules: [],
        counters: []
      };
    }
    let denyRule: CompiledRule | undefined;
    let constraintFailure: { rule: CompiledRule; problem: string } | undefined;
    const granting: CompiledRule[] = [];
    let approvalRule: CompiledRule | undefined;
    let limitHit: CompiledRule | undefined;
    const counters: SessionCounter[] = [];
    for (const rule of rules) {
      const notes: string[] = [];
      if (denies(rule, input.roles)) {
        denyRule ??= rule;
        notes.push('denies the call (deny: true)');
      }
      const granted = !rule.deny && grants(rule, input.roles);
      if (granted) granting.push(rule);
      if (!rule.deny) {
        notes.push(
          rule.config.allowed_roles === undefined
            ? 'allows no role (no allowed_roles): constrains only'
            : granted
              ? `allows role(s) ${input.roles.filter((r) => rule.anyRole || rule.roles.has(r)).join(', ')}`
              : `does not allow role(s) ${input.roles.join(', ') || '(none)'}`
        );
      }
      for (const check of rule.constraints) {
        const problem = check(input.args);
        if (problem) {
          constraintFailure ??= { rule, problem };
          notes.push(`constraint fails: ${problem}`);
        }
      }
      if (rule.constraints.length > 0 && !notes.some((n) => n.startsWith('constraint fails'))) {
        notes.push('all parameter constraints pass');
      }
      if (rule.approval) {
        approvalRule ??= rule;
        notes.push('requires approval');
      }
      if (rule.maxCalls !== undefined) {
        const used = input.sessionCount?.(rule.key) ?? 0;
        if (used >= rule.maxCalls) {
          limitHit ??= rule;
          notes.push(`session limit reached (${used}/${rule.maxCalls})`);
        } else {
          counters.push({ key: rule.key, max: rule.maxCalls });
          notes.push(`session calls ${used}/${rule.maxCalls}`);
        }
      }
      trace?.push({ rule: rule.key, index: rule.index, matched: true, notes });
    }
    trace?.sort((a, b) => a.index - b.index);
    if (denyRule) {
      return {
        effect: 'deny',
        code: 'policy_denied',
        reason: `rule ${denyRule.key} denies tool "${input.tool}"`,
        rules: [denyRule.key],
        counters: []
      };
    }
    if (granting.length === 0) {
      return {
        effect: 'deny',
        code: 'role_not_allowed',
        reason: `no matching rule allows role(s) [${input.roles.join(', ')}] for tool "${input.tool}"`,
        rules: rules.map((r) => r.key),
        counters: []
      };
    }
    if (constraintFailure) {
      return {
        effect: 'deny',
        code: 'constraint_failed',
        reason: `rule ${constraintFailure.rule.key}: ${constraintFailure.problem}`,
        rules: [constraintFailure.rule.key],
        counters: []
      };
    }
    if (limitHit) {
      return {
        effect: 'deny',
        code: 'call_limit',
        reason: `rule ${limitHit.key}: max_calls_per_session ${limitHit.maxCalls} reached`,
        rules: [limitHit.key],
        counters: []
      };
    }
    if (approvalRule) {
      return {
        effect: 'approval',
        code: 'approval_required',
        reason: `rule ${approvalRule.key} requires approval`,
        rules: [approvalRule.key, ...granting.filter((r) => r !== approvalRule).map((r) => r.key)],
        counters
      };
    }
    return {
      effect: 'allow',
      reason: `allowed by ${granting.map((r) => r.key).join(', ')}`,
      rules: granting.map((r) => r.key),
      counters
    };
  };

  const visibleCache = new Map<string, boolean>();
  return {
    rules,
    decide: (input) => decideWith(input),
    explain: (input) => {
      const trace: RuleTrace[] = [];
      const decision = decideWith(input, trace);
      return { decision, trace };
    },
    marksReadOnly: (server, tool) => applicable(server, tool).some((r) => r.config.read_only === true),
    visible: (roles, server, tool) => {
      const key = `${roles.join('\u0001')}\u0000${server}\u0000${tool}`;
      const hit = visibleCache.get(key);
      if (hit !== undefined) return hit;
      const rs = applicable(server, tool);
      const v = rs.some((r) => !r.deny && grants(r, roles)) && !rs.some((r) => denies(r, roles));
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
    }
  });
  return issues;
}
