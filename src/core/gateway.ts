/**
 * The gateway core: upstreams, sessions, the policy and the call pipeline, behind one object the
 * transports talk to. Transports move messages and call these methods; every decision is made in
 * the pipeline (its stages are listed in ./stages.ts), and every call ends in one audit record.
 * This file only composes the parts and exposes them.
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { createApprovalQueue, type ApprovalQueue } from '../approval/index.js';
import {
  isQueuedSink,
  type AuditInput,
  type AuditRecord,
  type AuditSink,
  type QueuedAuditSink
} from '../audit/index.js';
import { openAuditSink } from '../audit/open.js';
import type { Authenticator, Identity } from '../auth/index.js';
import { createRequestAuthentication, type AuthenticateRequest } from '../auth/request.js';
import type { GatewayConfig } from '../config/types.js';
import { createInspector } from '../inspect/index.js';
import { createMetrics, type Metrics } from '../metrics/index.js';
import { createPinStore } from '../pins/index.js';
import type { Policy } from '../policy/index.js';
import { createScopeCheck } from '../scope/index.js';
import { createPreflight, type Preflight } from '../scope/preflight.js';
import { createMemoryState, type SharedState } from '../state/index.js';
import type { RedisState } from '../state/redis.js';
import { Upstream } from '../upstream/index.js';
import { createArgumentValidator } from '../validate/index.js';
import { createAnnouncer, type ListChanged } from './announce.js';
import { createAuditLog } from './audit-log.js';
import { createSharedAuthenticator } from './authenticator.js';
import { createCaller, type CallOptions } from './call.js';
import { createCatalog } from './catalog.js';
import { createForward, createForwarding } from './forward.js';
import type { ApprovedCounts, DefinitionInventoryEntry, ToolInventoryEntry } from './inventory.js';
import { createInventory } from './inventory.js';
import { createLifecycle, healthOf, type Health } from './lifecycle.js';
import { createLists, type ListedTool } from './lists.js';
import { createNames } from './names.js';
import { createPolicyHolder } from './policy-holder.js';
import { createRelays } from './relay.js';
import { createSessionStore, type DownstreamTransport, type Session, type SessionStore } from './session.js';
import { openStdioSession } from './stdio-session.js';
import { buildStages } from './stages.js';
import { createSubscriptions } from './subscriptions.js';

export { openAuditSink } from '../audit/open.js';
export { policyVersion } from './policy-holder.js';
export type { CallOptions, Peer } from './call.js';
export type { ListedTool } from './lists.js';
export type { ApprovedCounts, DefinitionInventoryEntry, ToolInventoryEntry } from './inventory.js';
export type { Health } from './lifecycle.js';
export type { ListChanged, ListKind } from './announce.js';

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

export function createGateway(options: GatewayOptions): Gateway {
  const { config, log } = options;
  if (config.state.store !== 'memory' && !options.state) {
    throw new Error(`state.store ${config.state.store}: open it with openSharedState and pass it in`);
  }
  const state = options.state ?? createMemoryState();
  const redis = state.kind === 'redis' ? (state as RedisState) : undefined;
  const auditSink = options.audit ?? openAuditSink(config, log);
  const queued = isQueuedSink(auditSink) ? auditSink : undefined;
  const sessions = createSessionStore();
  const names = createNames(config.servers);
  const { auth, tokenWatch } = createSharedAuthenticator(config, state, log);
  const policy = createPolicyHolder(config);
  /** Risk from scanning, added after the fact; a store failure is logged, not thrown. */
  const addRisk = (session: Session, amount: number) => {
    Promise.resolve(state.addRisk(session, amount, Date.now(), policy.riskSettings())).catch((err: Error) =>
      log.warn({ err: err.message, session: session.id }, 'risk not recorded: shared state unreachable')
    );
  };
  const upstreams = new Map<string, Upstream>();
  const announcer = createAnnouncer();
  for (const [name, server] of Object.entries(config.servers)) {
    upstreams.set(
      name,
      new Upstream(name, server, log.child({ server: name }), {
        onNotification: (s, method, params) => subscriptions.notify(s, method, params),
        onReady: (s) => announcer.ready(upstreams.get(s)!),
        onToolsChanged: () => announcer.changed('tools'),
        onDefinitionsChanged: (_s, kind) => announcer.changed(kind)
      })
    );
  }
  const pins = config.scanning.pins.enabled
    ? createPinStore(config.scanning.pins.path, log, undefined, redis?.pins)
    : undefined;
  const metrics = createMetrics({
    upstreams: () =>
      [...upstreams.values()].map((u) => ({ name: u.name, state: u.state, restarts: u.restarts })),
    sessions: () => sessions.size(),
    state: () => ({ store: state.kind, up: state.healthy() }),
    ...(queued
      ? { audit: () => ({ available: queued.unavailable() === undefined, pending: queued.pending() }) }
      : {})
  });
  const audit = createAuditLog(auditSink, queued, metrics, log);
  const approvals = createApprovalQueue(log.child({ stage: 'approval' }), config.approvals, redis?.approvals);
  const inspector = createInspector(config.scanning, pins, log.child({ stage: 'scan' }), (r) =>
    audit.write(r)
  );
  const catalog = createCatalog(upstreams, inspector);
  const scopes = createScopeCheck(() => policy.current().policy, config.servers, auth.missingScope);
  const validator = createArgumentValidator();
  const stages = buildStages({
    config,
    state,
    queued,
    names,
    upstreams,
    policy,
    catalog,
    scopes,
    validator,
    inspector,
    approvals
  });
  const relayTo = createRelays(inspector, audit, addRisk, log);
  const call = createCaller({ config, log, stages, audit, addRisk, relayTo });
  const forward = createForward(audit, queued);
  const forwarding = createForwarding({ upstreams, names, catalog, inspector, forward, addRisk });
  const subscriptions = createSubscriptions(upstreams, names, forward);
  const lists = createLists({ upstreams, names, catalog, policy, scopes, audit, announcer, log });
  const inventory = createInventory(upstreams, names, catalog, inspector, pins);
  const lifecycle = createLifecycle();
  const openSession = (identity: Identity, transport: DownstreamTransport, id?: string) => {
    const session = sessions.open(identity, transport, id);
    log.debug({ session: session.id, identity: identity.id, transport }, 'session opened');
    return session;
  };

  return {
    config,
    auth,
    authenticateRequest: createRequestAuthentication({
      auth,
      config,
      audit: (record) => void audit.write(record),
      log
    }),
    sessions,
    upstreams,
    metrics,
    approvals,
    state,
    events: audit.events,
    recentAudit: audit.recent,
    stats: audit.stats,
    policy: policy.current,
    reloadPolicy(next) {
      const changed = policy.reload(next);
      if (!changed) return undefined;
      void audit.write({
        event: 'config/reload',
        decision: 'allow',
        outcome: 'ok',
        policy_version: changed.to,
        reason: `policy ${changed.from} -> ${changed.to}`
      });
      log.info(changed, 'policy reloaded');
      return changed.to;
    },
    addRisk: (session, amount) => state.addRisk(session, amount, Date.now(), policy.riskSettings()),
    openSession,
    openStdioSession: () =>
      openStdioSession({
        auth,
        audit: (record) => void audit.write(record),
        open: (identity) => openSession(identity, 'stdio')
      }),
    closeSession(session) {
      sessions.close(session.id);
      subscriptions.closed(session);
    },
    ...lists,
    callTool: (session, name, args, opts = {}) =>
      lifecycle.track(name, session.id, () => call(session, name, args, opts)),
    ...forwarding,
    subscribe: subscriptions.subscribe,
    unsubscribe: subscriptions.unsubscribe,
    onListChanged: announcer.subscribe,
    capabilities: () => ({
      tools: { listChanged: true },
      prompts: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      completions: {},
      logging: {}
    }),
    health: () => healthOf(upstreams, queued, state),
    preflight: createPreflight({ names, upstreams, scopes, audit: (r) => void audit.write(r), log }),
    ...inventory,
    inflight: lifecycle.inflight,
    drain: lifecycle.drain,
    audit: (record) => void audit.write(record),
    async close() {
      approvals.close();
      pins?.close();
      tokenWatch?.close();
      await Promise.all([...upstreams.values()].map((u) => u.close()));
      await auditSink.close();
      await state.close();
    }
  };
}
