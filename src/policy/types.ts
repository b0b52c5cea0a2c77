/** What the policy engine takes and answers: a call's input, its decision, and the policy's face. */
import type { PolicySettings, RuleConfig } from '../config/types.js';
import type { ErrorCode } from '../errors.js';
import type { CallRecordView, ConditionInput } from './conditions.js';
import type { IdentityNeeds } from './identity.js';
import type { PathContext } from './paths.js';

/** What a rule (and a request) is about: a tool call, a prompt, or a resource. */
export type Kind = 'tool' | 'prompt' | 'resource';

export interface PolicyInput {
  roles: readonly string[];
  server: string;
  /** The tool's or prompt's own name, or the resource's own URI (by `kind`). */
  tool: string;
  /** What `tool` names; default `tool`. */
  kind?: Kind;
  /** A completion (`completion/complete`) of the prompt or resource: its arguments are not checked. */
  completing?: boolean;
  args: Record<string, unknown>;
  identity?: ConditionInput['identity'];
  /** Epoch ms; default now. */
  now?: number;
  /** This session's earlier calls, oldest first. */
  history?: readonly CallRecordView[];
  /** Earlier calls of every session of the identity, oldest first; default `history`. */
  identityHistory?: readonly CallRecordView[];
  /** The session's current risk (the identity's, when `policy.risk.scope` is `identity`). */
  risk?: number;
  /** Calls this session already made under a rule, by rule key. */
  sessionCount?: (ruleKey: string) => number;
}

export type Effect = 'allow' | 'deny' | 'approval';

export interface SessionCounter {
  /** A per-session cap, a rate window, or a per-identity cap in a sliding window (`max_calls`). */
  kind: 'session' | 'rate' | 'identity';
  key: string;
  max: number;
  /** For rate limits and identity caps: the window and who shares it. */
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

/**
 * How each server reads paths (pathsOf). A server not named here reads them as the gateway's host
 * does, on its file system.
 */
export type ServerPaths = Readonly<Record<string, PathContext>>;

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
  /** What the decisions read of every session of the identity together (with `needs.session`). */
  readonly identityNeeds: IdentityNeeds;
  /** Decide one call. Pure apart from reading the session counts it is given. */
  decide(input: PolicyInput): Decision;
  /**
   * Decide a call again (after it waited for approval), leaving out what its first decision,
   * `first`, already counted: its own risk and one call under each of its per-session caps.
   */
  redecide(input: PolicyInput, first: Decision): Decision;
  /** Could a caller with these roles ever be allowed this tool (prompt, resource)? (list filtering) */
  visible(roles: readonly string[], server: string, tool: string, kind?: Kind): boolean;
  /** The decision plus a trace of every rule, matched or not, and why. */
  explain(input: PolicyInput): { decision: Decision; trace: RuleTrace[] };
  /** Does some applicable rule mark this tool read-only? */
  marksReadOnly(server: string, tool: string): boolean;
}
