/**
 * Rule compilation: each configured rule once into the closures and flags a decision reads, and what
 * a compiled rule says about a caller's roles.
 */
import type { ConstraintConfig, PolicySettings, RuleConfig } from '../config/types.js';
import {
  compileAfter,
  compileCel,
  compilePrincipal,
  compileTime,
  compileWhere,
  type Condition
} from './conditions.js';
import { compileConstraint, type ConstraintCheck } from './constraints.js';
import { compileGlob, compileGlobList, type Glob, type GlobList } from './glob.js';
import { identityCapOf, type IdentityCap } from './identity.js';
import type { Kind } from './types.js';

export interface CompiledRule {
  index: number;
  key: string;
  config: RuleConfig;
  /** What the rule is about, and its globs over the name (a URI for resources): any one matches. */
  kind: Kind;
  target: GlobList;
  server: Glob | undefined;
  anyRole: boolean;
  roles: ReadonlySet<string>;
  deny: boolean;
  approval: boolean;
  observe: boolean;
  maxCalls: number | undefined;
  rate: { limit: number; window_ms: number; scope: 'identity' | 'session' | 'global' } | undefined;
  identityCap: IdentityCap | undefined;
  risk: number;
  constraints: ConstraintCheck[];
  conditions: Condition[];
}

/** A `policy.tool_risk` entry: the weight it adds to a call whose tool it matches. */
export interface ToolRisk {
  weight: number;
  test: (server: string, tool: string) => boolean;
}

/** What a rule names: its tool, prompt or resource glob or globs (the first set, in that order). */
function ruleTarget(r: RuleConfig): { kind: Kind; globs: string | readonly string[] } {
  if (r.tool !== undefined) return { kind: 'tool', globs: r.tool };
  if (r.prompt !== undefined) return { kind: 'prompt', globs: r.prompt };
  return { kind: 'resource', globs: r.resource ?? '' };
}

export function ruleId(rule: RuleConfig, index: number): string {
  return rule.id ?? `rules[${index}]`;
}

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

export function compileRule(r: RuleConfig, index: number, settings: PolicySettings): CompiledRule {
  const { kind, globs } = ruleTarget(r);
  return {
    index,
    key: ruleId(r, index),
    config: r,
    kind,
    target: compileGlobList(globs, kind === 'resource'),
    server: r.server === undefined ? undefined : compileGlob(r.server),
    anyRole: (r.allowed_roles ?? []).includes('*'),
    roles: new Set(r.allowed_roles ?? []),
    deny: r.deny === true,
    approval: r.require_approval === true,
    observe: (r.mode ?? settings.mode) === 'observe',
    maxCalls: r.max_calls_per_session,
    rate: r.rate_limit ? { ...parseRateLimit(r.rate_limit), scope: r.rate_scope ?? 'identity' } : undefined,
    identityCap: identityCapOf(r, ruleId(r, index)),
    risk: r.risk ?? 0,
    constraints: Object.entries(r.parameter_constraints ?? {}).map(([name, c]: [string, ConstraintConfig]) =>
      compileConstraint(name, c)
    ),
    conditions: compileConditions(r)
  };
}

/** `policy.tool_risk`: a glob with `__` names `<server>__<tool>`, one without names the tool. */
export function compileToolRisk(settings: PolicySettings): ToolRisk[] {
  return Object.entries(settings.tool_risk).map(([glob, weight]) => {
    const g = compileGlob(glob);
    return {
      weight,
      test: glob.includes('__')
        ? (s: string, t: string) => g.test(`${s}__${t}`)
        : (_s: string, t: string) => g.test(t)
    };
  });
}

/** Does the rule's `allowed_roles` name one of these roles? */
export function grants(rule: CompiledRule, roles: readonly string[]): boolean {
  return rule.anyRole ? roles.length > 0 : roles.some((r) => rule.roles.has(r));
}

/** A deny rule with allowed_roles denies only those roles; without, it denies everyone. */
export function denies(rule: CompiledRule, roles: readonly string[]): boolean {
  return rule.deny && (rule.config.allowed_roles === undefined || grants(rule, roles));
}
