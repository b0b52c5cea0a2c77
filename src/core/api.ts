/**
 * What the gateway core offers the transports, the admin API and the CLI: the options it is built
 * from and the object it returns (see ./gateway.ts, which composes it).
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { ApprovalQueue } from '../approval/index.js';
import type { AuditInput, AuditRecord, AuditSink, QueuedAuditSink } from '../audit/index.js';
import type { Authenticator, Identity } from '../auth/index.js';
import type { AuthenticateRequest } from '../auth/request.js';
import type { GatewayConfig } from '../config/types.js';
import type { Metrics } from '../metrics/index.js';
import type { Policy } from '../policy/index.js';
import type { Preflight } from '../scope/preflight.js';
import type { SharedState } from '../state/index.js';
import type { Upstream } from '../upstream/index.js';
import type { ListChanged } from './announce.js';
import type { CallOptions } from './call.js';
import type { ApprovedCounts, DefinitionInventoryEntry, ToolInventoryEntry } from './inventory.js';
import type { Health } from './lifecycle.js';
import type { ListedTool } from './lists.js';
import type { DownstreamTransport, Session, SessionStore } from './session.js';

export interface GatewayOptions {
  config: GatewayConfig;
  log: Logger;
  /** Override the audit sink (tests); by default the config's file or database, or nothing when disabled. */
  audit?: AuditSink | QueuedAuditSink;
  /**
   * Shared state, opened by `openSharedState` (the gateway closes it). Required when the config
   * names a shared store; memory by default.
   */
  state?: SharedState;
}

export interface Gateway {
  readonly config: GatewayConfig;
  readonly auth: Authenticator;
  /**
   * Authenticate an HTTP request (`/mcp`, `/metrics` or the admin API): lockout, verification, rate
   * admission and the audit record of a refusal, in one place; transports map the outcome to a status.
   */
  readonly authenticateRequest: AuthenticateRequest;
  readonly sessions: SessionStore;
  readonly upstreams: ReadonlyMap<string, Upstream>;
  readonly metrics: Metrics;
  readonly approvals: ApprovalQueue;
  /** Session counts, limits, risk, held approvals and revocations: this process, or Redis. */
  readonly state: SharedState;
  /** Audit records as they are written, and the most recent ones. */
  readonly events: EventEmitter;
  recentAudit(): readonly AuditRecord[];
  /** Calls, denials and approvals per minute, oldest first. */
  stats(minutes: number): Array<{ minute: string; calls: number; denials: number; approvals: number }>;
  policy(): { policy: Policy; version: string };
  /**
   * Swap in the policy of a new, already validated config, atomically: calls in flight finish
   * under the policy they started with. Returns the new version, or undefined if nothing changed.
   */
  reloadPolicy(next: GatewayConfig): string | undefined;
  /** Add risk to a session from outside a call (scanner findings). */
  addRisk(session: Session, amount: number): number | Promise<number>;
  openSession(identity: Identity, transport: DownstreamTransport, id?: string): Session;
  /**
   * The stdio agent's session: authenticated as the config names it, with the `auth/failure` record
   * and an `unauthenticated` error when it cannot be, and the `session/open` record when it opens.
   */
  openStdioSession(): Session;
  closeSession(session: Session): void;
  /**
   * End a session from outside, as its transport would close it: its connection is closed and its
   * next request is refused. False when its transport cannot be ended from outside (a session that
   * is its credential, or stdio).
   */
  endSession(session: Session): boolean;
  /**
   * Revoke a credential (a token id, or an OAuth `jti`): recorded in the token file when there is
   * one (and reloaded at once), and in the shared store when there is one. Where it was recorded;
   * throws a UserFacing Error when there is nowhere to record it.
   */
  revokeCredential(id: string): Promise<{ file?: string; shared: boolean }>;
  listTools(session: Session): Promise<ListedTool[]>;
  callTool(
    session: Session,
    name: string,
    args: Record<string, unknown>,
    options?: CallOptions
  ): Promise<unknown>;
  listPrompts(session: Session): Promise<{ prompts: unknown[] }>;
  getPrompt(session: Session, name: string, args: Record<string, string> | undefined): Promise<unknown>;
  listResources(session: Session): Promise<{ resources: unknown[] }>;
  listResourceTemplates(session: Session): Promise<{ resourceTemplates: unknown[] }>;
  readResource(session: Session, uri: string): Promise<unknown>;
  /** Subscribe a session to a resource; `updated` is told each time the upstream says it changed. */
  subscribe(
    session: Session,
    uri: string,
    updated: (params: Record<string, unknown>) => void
  ): Promise<Record<string, never>>;
  unsubscribe(session: Session, uri: string): Promise<Record<string, never>>;
  complete(session: Session, params: Record<string, unknown>): Promise<unknown>;
  /**
   * Be told when what a listing returns has changed: a server left out of a listing can now be
   * listed, or a server changed its list. Returns the function that stops it.
   */
  onListChanged(listener: ListChanged): () => void;
  /** Capabilities to advertise downstream: what at least one upstream could offer. */
  capabilities(): Record<string, object>;
  /** ok is false while calls are refused: the audit log cannot store records, or shared state is unreachable. */
  health(): Health;
  /**
   * For HTTP: would this request be refused for a missing scope? Decided by the scope stage's check
   * and audited as the call's one record; returns the scope to ask for, so the transport can answer
   * 403 insufficient_scope with a step-up challenge before the call starts.
   */
  preflight: Preflight;
  /** Every upstream tool with what the gateway knows about it (for the console and admin API). */
  toolInventory(): Promise<ToolInventoryEntry[]>;
  /** Every upstream prompt, resource and resource template, likewise (listed now). */
  definitionInventory(): Promise<DefinitionInventoryEntry[]>;
  /**
   * Approve (re-pin) what a server offers now: its tool set, and its prompts, resources and
   * resource templates (each kind it offers; none for a kind it does not).
   */
  approveTools(server: string, by: string): Promise<ApprovedCounts>;
  /** Calls in progress right now. */
  inflight(): number;
  /**
   * Stop taking new calls and wait for the ones in progress, up to `deadlineMs`; returns how many
   * were still running at the deadline.
   */
  drain(deadlineMs: number): Promise<number>;
  /** Record an event that happened outside a call (auth failures, session lifecycle). */
  audit(record: AuditInput): void;
  close(): Promise<void>;
}
