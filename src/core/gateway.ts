/**
 * The gateway core: upstreams, sessions, the policy and the call pipeline, behind one object the
 * transports talk to. Transports move messages and call these methods; every decision is made
 * here, in the pipeline, and every call ends in one audit record.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { UriTemplate } from '@modelcontextprotocol/client';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { approvalStage, createApprovalQueue, type ApprovalQueue } from '../approval/index.js';
import {
  createFileAuditSink,
  createMemoryAuditSink,
  createPostgresAuditSink,
  createStreamAuditSink,
  isQueuedSink,
  redactArguments,
  type AuditInput,
  type AuditRecord,
  type AuditSink,
  type QueuedAuditSink
} from '../audit/index.js';
import { auditReady, auditStage } from '../audit/stage.js';
import { createAuthenticator, type Authenticator, type Identity } from '../auth/index.js';
import { createRequestAuthentication, type AuthenticateRequest } from '../auth/request.js';
import { watchTokenFile, type TokenWatch } from '../auth/token-watch.js';
import { substituteEnvIn } from '../config/index.js';
import type { GatewayConfig } from '../config/types.js';
import { GatewayError } from '../errors.js';
import { limitsStage } from '../limits/index.js';
import {
  createInspector,
  findingSummary,
  type DefinitionKind,
  type DefinitionVetting
} from '../inspect/index.js';
import { createMetrics, type Metrics } from '../metrics/index.js';
import { createPinStore, type PinSets } from '../pins/index.js';
import { compileGlob } from '../policy/glob.js';
import { riskSettingsOf } from '../limits/risk.js';
import { createMemoryState, decayedRisk, type SharedState } from '../state/index.js';
import type { RedisState } from '../state/redis.js';
import { compilePolicy, type Policy } from '../policy/index.js';
import { policyInputOf, policyStage } from '../policy/stage.js';
import { Upstream, type Relay, type UpstreamTool } from '../upstream/index.js';
import { upstreamStage } from '../upstream/stage.js';
import { createArgumentValidator, validateStage } from '../validate/index.js';
import { runPipeline, type CallContext, type Stage } from './pipeline.js';
import { createSessionStore, type DownstreamTransport, type Session, type SessionStore } from './session.js';
import { createNames } from './names.js';

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

export interface CallOptions {
  signal?: AbortSignal;
  onprogress?: (p: { progress: number; total?: number; message?: string }) => void;
  meta?: Record<string, unknown>;
  /** The agent, for what the upstream sends while the call runs (log messages, requests). */
  peer?: Peer;
}

/** The agent's side of one call, as the downstream transport offers it. */
export type Peer = Relay;

export interface ListedTool extends UpstreamTool {
  name: string;
}

/** What the gateway knows about one listed definition: its pin status, findings and approval. */
interface InventoryEntry {
  server: string;
  /** As agents see it: `server__name`, or the resource URI or template in the gateway's namespace. */
  exposed: string;
  description?: string;
  status: 'pinned' | 'new' | 'changed' | 'blocked' | 'unavailable' | 'removed';
  /** For an item that differs from its pin: the description it was pinned with. */
  pinnedDescription?: string;
  findings: unknown[];
  hash?: string;
  pinnedAt?: string;
  approvedBy?: string;
  reason?: string;
  error?: string;
}

export interface ToolInventoryEntry extends InventoryEntry {
  name: string;
}

/** A prompt, resource or resource template with what the gateway knows about it. */
export interface DefinitionInventoryEntry extends InventoryEntry {
  kind: 'prompt' | 'resource' | 'resourceTemplate';
  /** The prompt's name, the resource's URI or the template, as the server lists it. */
  name: string;
}

/** How many of each kind an approval pinned. */
export interface ApprovedCounts {
  tools: number;
  prompts: number;
  resources: number;
  resourceTemplates: number;
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
  /** Capabilities to advertise downstream: what at least one upstream could offer. */
  capabilities(): Record<string, object>;
  /** ok is false while calls are refused: the audit log cannot store records, or shared state is unreachable. */
  health(): {
    ok: boolean;
    upstreams: Record<string, { state: string; error?: string; restarts: number }>;
    audit: { ok: boolean; error?: string };
    state: { store: string; ok: boolean };
  };
  /**
   * For HTTP: would this request be refused for a missing scope? Decided by the scope stage's own
   * check and audited here, as the call's one record; returns the scope to ask for, so the transport
   * can answer 403 insufficient_scope with a step-up challenge before the call starts.
   */
  preflight(
    identity: Identity,
    message: unknown,
    transport?: DownstreamTransport
  ): Promise<string | undefined>;
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

/** The audit sink the config asks for: a hash-chained file or PostgreSQL table, stderr/stdout, or nothing. */
export function openAuditSink(config: GatewayConfig, log: Logger): AuditSink | QueuedAuditSink {
  const a = config.audit;
  if (!a.enabled) return createMemoryAuditSink(false);
  if (a.postgres) {
    const pg = a.postgres;
    return createPostgresAuditSink({
      url: pg.url,
      table: pg.table,
      flush: a.flush === 'batch' ? 'batch' : 'every',
      ...(a.batch_records !== undefined ? { maxRecords: a.batch_records } : {}),
      ...(a.batch_ms !== undefined ? { maxDelayMs: a.batch_ms } : {}),
      maxQueue: pg.queue_records,
      waitMs: pg.commit_timeout_s * 1000,
      connectTimeoutMs: pg.connect_timeout_s * 1000,
      checkpointEvery: a.checkpoint_every,
      ...(a.signing_key !== undefined ? { signingKey: a.signing_key } : {}),
      onStateChange: (available, err) => {
        if (available) log.info({ table: pg.table }, 'audit database reachable again; serving calls');
        else log.error({ table: pg.table, err: err?.message }, 'audit database unreachable; refusing calls');
      }
    });
  }
  if (a.path === 'stderr') return createStreamAuditSink(2);
  if (a.path === 'stdout') return createStreamAuditSink(1);
  const sink = createFileAuditSink(a.path, {
    flush: a.flush,
    ...(a.batch_records !== undefined ? { maxRecords: a.batch_records } : {}),
    ...(a.batch_ms !== undefined ? { maxDelayMs: a.batch_ms } : {}),
    ...(a.rotate_bytes !== undefined ? { rotateBytes: a.rotate_bytes } : {}),
    ...(a.rotate_s !== undefined ? { rotateMs: a.rotate_s * 1000 } : {}),
    checkpointEvery: a.checkpoint_every,
    ...(a.signing_key !== undefined ? { signingKey: a.signing_key } : {}),
    onError: (err) => log.error({ err: err.message }, 'audit flush failed')
  });
  for (const repair of sink.repairs) log.warn({ repair }, 'audit log repaired on open');
  return sink;
}

/** Does the decision read the session's counts or risk (or history)? Rate windows need no read. */
function usesSessionState(config: GatewayConfig): boolean {
  const risk = config.policy.risk;
  return (
    usesHistory(config) ||
    risk?.budget !== undefined ||
    risk?.approval_at !== undefined ||
    config.rules.some((r) => r.max_calls_per_session !== undefined)
  );
}

/** Does any rule read the session's history (`after`, or CEL that may read `session`)? */
function usesHistory(config: GatewayConfig): boolean {
  return config.rules.some((r) => r.after !== undefined || r.when !== undefined);
}

export function policyVersion(config: GatewayConfig): string {
  return createHash('sha256')
    .update(JSON.stringify({ rules: config.rules, policy: config.policy }))
    .digest('hex')
    .slice(0, 12);
}

const tracer = trace.getTracer('portcullis');

export function createGateway(options: GatewayOptions): Gateway {
  const { config, log } = options;
  if (config.state.store !== 'memory' && !options.state) {
    throw new Error(`state.store ${config.state.store}: open it with openSharedState and pass it in`);
  }
  const state = options.state ?? createMemoryState();
  const auditSink = options.audit ?? openAuditSink(config, log);
  const queued = isQueuedSink(auditSink) ? auditSink : undefined;
  const argumentModes = config.audit.overrides.map((o) => ({
    server: o.server ? compileGlob(o.server) : undefined,
    tool: o.tool ? compileGlob(o.tool) : undefined,
    mode: o.arguments
  }));
  /** How a call's arguments go into the audit record (secrets are masked before this). */
  const recordedArguments = (server: string | undefined, tool: string | undefined, args: unknown) => {
    let mode = config.audit.arguments;
    for (const o of argumentModes) {
      if ((o.server && !o.server.test(server ?? '')) || (o.tool && !o.tool.test(tool ?? ''))) continue;
      mode = o.mode;
    }
    return mode === 'full' ? args : redactArguments(args, mode);
  };
  const sessions = createSessionStore();
  const names = createNames(config.servers);
  const lockout = {
    failures: config.auth.lockout.failures,
    windowMs: config.auth.lockout.window_s * 1000,
    durationMs: config.auth.lockout.duration_s * 1000
  };
  const auth = createAuthenticator(
    config.auth,
    state.kind === 'memory'
      ? {}
      : {
          revoked: (id) => (state.healthy() ? state.isRevoked(id) : undefined),
          // Failures count on every replica, so a balancer does not multiply an attacker's tries.
          lockouts: {
            record: (source) =>
              void state
                .recordAuthFailure(source, lockout, Date.now())
                .catch((err: Error) =>
                  log.warn(
                    { source, err: err.message },
                    'authentication failure not shared: counted here only'
                  )
                ),
            lockedUntil: (source) => state.lockedUntil(source, Date.now())
          },
          requests: (key, limit, windowMs) => state.admitRequest(key, limit, windowMs, Date.now())
        }
  );
  const tokenWatch: TokenWatch | undefined = config.auth.tokens_file
    ? watchTokenFile(config.auth.tokens_file, auth.tokens, log, {
        substitute: (value, src, issues) => substituteEnvIn(value, src, issues)
      })
    : undefined;
  let current = { policy: compilePolicy(config.rules, config.policy), version: policyVersion(config) };
  let riskSettings = riskSettingsOf(config.policy);
  let needsHistory = usesHistory(config);
  let needsSession = usesSessionState(config);
  /** Risk from a scanner, added outside the call's admission; a store failure is logged, not thrown. */
  const addRisk = (session: Session, amount: number) => {
    Promise.resolve(state.addRisk(session, amount, Date.now(), riskSettings)).catch((err: Error) =>
      log.warn({ err: err.message, session: session.id }, 'risk not recorded: shared state unreachable')
    );
  };
  const upstreams = new Map<string, Upstream>();
  for (const [name, server] of Object.entries(config.servers)) {
    upstreams.set(
      name,
      new Upstream(name, server, log.child({ server: name }), { onNotification: upstreamNotification })
    );
  }
  const validator = createArgumentValidator();
  const pins = config.scanning.pins.enabled
    ? createPinStore(
        config.scanning.pins.path,
        log,
        undefined,
        state.kind === 'redis' ? (state as RedisState).pins : undefined
      )
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
  let inflight = 0;
  let draining = false;
  const idle = new EventEmitter();
  const approvals = createApprovalQueue(
    log.child({ stage: 'approval' }),
    config.approvals,
    state.kind === 'redis' ? (state as RedisState).approvals : undefined
  );
  const recent: AuditRecord[] = [];
  const RECENT_LIMIT = 5000;
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const perMinute = new Map<number, { calls: number; denials: number; approvals: number }>();
  const count = (record: AuditInput) => {
    if (record.event !== 'tools/call') return;
    const minute = Math.floor(Date.now() / 60_000);
    const bucket = perMinute.get(minute) ?? { calls: 0, denials: 0, approvals: 0 };
    bucket.calls++;
    if (record.outcome === 'denied') bucket.denials++;
    if (record.decision === 'approval') bucket.approvals++;
    perMinute.set(minute, bucket);
    if (perMinute.size > 1500) for (const k of perMinute.keys()) if (k < minute - 1440) perMinute.delete(k);
  };
  const published = (written: AuditRecord) => {
    recent.push(written);
    // shift() drops the oldest in constant time; splice(0, n) would move all 5000 every call.
    while (recent.length > RECENT_LIMIT) recent.shift();
    if (events.listenerCount('audit') > 0) events.emit('audit', written);
  };
  /**
   * Write one record. The audit log is part of enforcement: a record that cannot be written fails
   * the call with audit_unavailable. A queued sink (PostgreSQL) publishes the record once it is
   * committed; with `wait` and flush: every, the promise returned settles then (or fails after the
   * sink's wait), and the reply waits for it.
   */
  const writeAudit = (record: AuditInput, wait = false): Promise<void> | undefined => {
    metrics.record(record);
    count(record);
    let written: AuditRecord | Promise<AuditRecord>;
    try {
      written = auditSink.write(record);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'audit write failed');
      throw new GatewayError('audit_unavailable', `audit write failed: ${(err as Error).message}`);
    }
    if (!(written instanceof Promise)) {
      published(written);
      return undefined;
    }
    const committed = written.then(published);
    committed.catch((err: unknown) => log.error({ err: (err as Error).message }, 'audit record lost'));
    const waitMs = queued?.waitMs ?? 0;
    if (!wait || waitMs <= 0) return undefined;
    return new Promise<void>((resolve, reject) => {
      const refuse = (why: string) => reject(new GatewayError('audit_unavailable', why));
      const timer = setTimeout(
        () =>
          refuse(`the audit record was not committed within ${waitMs} ms; it stays queued for the database`),
        waitMs
      );
      committed.then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (err: unknown) => {
          clearTimeout(timer);
          refuse(`the audit record was not committed: ${(err as Error).message}`);
        }
      );
    });
  };

  // Routing: `<server>__<tool>` to its upstream and the tool's own definition.
  const route: Stage = {
    name: 'route',
    async run(ctx) {
      const parts = names.split(ctx.name);
      const upstream = parts && upstreams.get(parts.server);
      if (!parts || !upstream)
        throw new GatewayError('unknown_tool', `no server for tool name "${ctx.name}"`);
      ctx.server = parts.server;
      ctx.tool = parts.name;
      ctx.upstream = upstream;
    }
  };
  // The tool's definition, after policy so a denied caller learns nothing about the upstream.
  const inspector = createInspector(config.scanning, pins, log.child({ stage: 'scan' }), (r) =>
    writeAudit(r)
  );
  /** The tool lists of every other server as last listed, for shadowing checks. */
  const otherTools = (server: string) => {
    const lists: Array<readonly UpstreamTool[] | undefined> = [];
    for (const u of upstreams.values()) if (u.name !== server) lists.push(u.cachedTools());
    return lists;
  };
  const vetted = async (up: Upstream) => {
    const tools = await up.listTools();
    return inspector.vet(up.name, tools, otherTools(up.name));
  };
  /** A server's prompts, resources or templates vetted: listed now, or as last listed when `fresh` is false. */
  const definitionsOf = async (up: Upstream, kind: DefinitionKind, fresh: boolean) => {
    const items = (fresh ? undefined : up.cachedDefinitions(kind)) ?? (await up.listDefinitions(kind));
    return inspector.vetDefinitions(kind, up.name, items);
  };
  /** The server-side capability each kind is listed under. */
  const CAPABILITY: Record<DefinitionKind, 'prompts' | 'resources'> = {
    prompts: 'prompts',
    resources: 'resources',
    resourceTemplates: 'resources'
  };
  /** Does a URI template (RFC 6570, as the protocol uses them) produce this URI? */
  const produces = (template: string, uri: string) => {
    try {
      return new UriTemplate(template).match(uri) !== null;
    } catch {
      return template === uri;
    }
  };
  /**
   * Refuse a prompt or resource the agent may not have: withheld from its listing (findings, or a
   * change since the server was pinned) or removed since pinned, as the server last listed it (or
   * lists it now, if not since it last changed); a resource also when a withheld template produces
   * its URI.
   */
  const refuseWithheld = async (
    up: Upstream,
    kind: 'prompts' | 'resources',
    key: string,
    exposed: string
  ) => {
    await up.connect();
    if (!up.capabilities()?.[kind]) return;
    const refuse = (why: string) => new GatewayError('tool_blocked', `${exposed}: ${why}`);
    const removed = (v: DefinitionVetting, k: string) => v.refusesRemoved && v.removed.includes(k);
    const vetting = await definitionsOf(up, kind, false);
    const listed = vetting.items.get(key);
    if (listed?.blocked) throw refuse(listed.reason ?? 'withheld');
    if (listed) return;
    if (removed(vetting, key))
      throw refuse("removed since the server was pinned; approve the server's new definitions");
    if (kind !== 'resources') return;
    const templates = await definitionsOf(up, 'resourceTemplates', false);
    for (const t of templates.items.values()) {
      if (t.blocked && produces(t.key, key))
        throw refuse(`resource template ${t.key}: ${t.reason ?? 'withheld'}`);
    }
    for (const template of templates.removed) {
      if (removed(templates, template) && produces(template, key))
        throw refuse(`resource template ${template} removed since the server was pinned`);
    }
  };
  const lookup: Stage = {
    name: 'lookup',
    async run(ctx) {
      const tools = await vetted(ctx.upstream!);
      const entry = tools.get(ctx.tool!);
      if (!entry) throw new GatewayError('unknown_tool', `server "${ctx.server}" has no tool "${ctx.tool}"`);
      if (entry.blocked) throw new GatewayError('tool_blocked', `${ctx.name}: ${entry.reason ?? 'withheld'}`);
      ctx.toolDef = entry.tool;
    }
  };
  // Read-only for scope purposes: the policy says so, or a trusted server's annotation does; an
  // annotation can always take read-only away, never grant it on its own.
  const readOnly = (server: string, tool: UpstreamTool): boolean => {
    const a = (tool.annotations ?? {}) as { readOnlyHint?: unknown; destructiveHint?: unknown };
    if (a.readOnlyHint === false || a.destructiveHint === true) return false;
    if (current.policy.marksReadOnly(server, tool.name)) return true;
    return config.servers[server]?.trust_annotations === true && a.readOnlyHint === true;
  };
  /** The scope check of a call, for the stage and the HTTP preflight alike. */
  const scopeRefusal = (identity: Identity, server: string, tool: UpstreamTool, name: string) => {
    const missing = auth.missingScope(identity, readOnly(server, tool));
    if (!missing) return undefined;
    const error = new GatewayError('insufficient_scope', `credential lacks scope "${missing}" for ${name}`);
    return { scope: missing, error };
  };
  const scope: Stage = {
    name: 'scope',
    run(ctx) {
      const refused = scopeRefusal(ctx.session.identity, ctx.server!, ctx.toolDef!, ctx.name);
      if (refused) throw refused.error;
    }
  };
  const stages: Stage[] = [
    ...(queued ? [auditStage(queued)] : []),
    route,
    policyStage(
      () => current,
      (s, n) => decayedRisk(s.risk, s.riskAt, n, riskSettings),
      // Only when the decision reads the session: caps, risk thresholds, history.
      (s) => (needsSession ? state.sync(s, needsHistory) : undefined)
    ),
    lookup,
    scope,
    validateStage(validator, config.validation.arguments),
    inspector.argumentStage(),
    limitsStage(state, () => riskSettings),
    approvalStage({
      queue: approvals,
      settings: config.approvals,
      // A call may wait minutes: read what other replicas changed meanwhile before deciding again.
      refresh: (ctx) => state.sync(ctx.session, needsHistory),
      redecide: (ctx) => {
        const spent = new Set(ctx.decision!.counters.filter((c) => c.kind === 'session').map((c) => c.key));
        const now = Date.now();
        const decision = current.policy.decide({
          ...policyInputOf(ctx),
          now,
          risk: Math.max(
            0,
            decayedRisk(ctx.session.risk, ctx.session.riskAt, now, riskSettings) - ctx.decision!.risk
          ),
          sessionCount: (key) => (ctx.session.counts.get(key) ?? 0) - (spent.has(key) ? 1 : 0)
        });
        return { decision, version: current.version };
      }
    }),
    upstreamStage((session, call) =>
      // A shared store keeps history only while some rule reads it: one round trip less per call.
      state.kind === 'memory' || needsHistory ? state.record(session, call) : undefined
    ),
    inspector.responseStage(addRisk)
  ];

  const base = (session: Session) => ({
    identity: session.identity.id,
    ...(session.identity.agent ? { agent: session.identity.agent } : {}),
    auth: session.identity.method,
    roles: session.identity.roles,
    session: session.id,
    transport: session.transport
  });

  /** Run a list across every upstream that supports it; a failing upstream is skipped, not fatal. */
  async function fanOut<T>(
    capability: string,
    fn: (up: Upstream) => Promise<T[]>
  ): Promise<{ items: Array<{ server: string; item: T }>; failed: string[] }> {
    const items: Array<{ server: string; item: T }> = [];
    const failed: string[] = [];
    await Promise.all(
      [...upstreams.values()].map(async (up) => {
        try {
          if (capability !== 'tools') {
            await up.connect();
            if (!up.capabilities()?.[capability]) return;
          }
          for (const item of await fn(up)) items.push({ server: up.name, item });
        } catch (err) {
          failed.push(up.name);
          log.warn(
            { server: up.name, err: (err as GatewayError).detail ?? (err as Error).message },
            `${capability} listing failed`
          );
        }
      })
    );
    items.sort((a, b) => (a.server < b.server ? -1 : a.server > b.server ? 1 : 0));
    return { items, failed };
  }

  /** A server's prompts, resources or templates listed now, without those vetting withholds. */
  async function allowed(up: Upstream, kind: DefinitionKind): Promise<Array<Record<string, unknown>>> {
    const vetting = await definitionsOf(up, kind, true);
    return [...vetting.items.values()].filter((v) => !v.blocked).map((v) => ({ ...v.item }));
  }

  /** Resource subscriptions, per upstream resource: the sessions that asked, and how to tell them. */
  const subscriptions = new Map<
    string,
    { server: string; uri: string; updated: Map<string, (params: Record<string, unknown>) => void> }
  >();

  function upstreamNotification(server: string, method: string, params: unknown): void {
    if (method !== 'notifications/resources/updated') return;
    const uri = (params as { uri?: unknown } | undefined)?.uri;
    if (typeof uri !== 'string') return;
    for (const updated of subscriptions.get(`${server}\n${uri}`)?.updated.values() ?? []) {
      updated({ ...(params as Record<string, unknown>), uri: names.resourceUri(server, uri) });
    }
  }

  /**
   * What an upstream sends about a call goes to the agent that made it, scanned like a response;
   * its requests to the agent (sampling, elicitation) are audited, and the agent's answers go back
   * scanned like the call's arguments (a secret in them is blocked by default, as in arguments).
   * Nothing it sends can reach another session: the upstream module attributes each message to
   * one call or drops it.
   */
  function relayTo(peer: Peer, ctx: CallContext): Relay {
    const scanned = (params: Record<string, unknown> | undefined) =>
      inspector.scanReply(ctx.server ?? '', ctx.tool ?? '', params ?? {}, ctx.session, addRisk) as Record<
        string,
        unknown
      >;
    return {
      notify(method, params) {
        try {
          peer.notify(method, scanned(params));
        } catch (err) {
          log.info(
            { session: ctx.session.id, method, err: (err as Error).message },
            'upstream message withheld'
          );
        }
      },
      async request(method, params) {
        const started = performance.now();
        let failure: unknown;
        try {
          const answer = await peer.request(method, scanned(params));
          return inspector.scanAnswer(ctx.server ?? '', ctx.tool ?? '', answer, ctx.session, addRisk);
        } catch (err) {
          failure = err;
          throw err;
        } finally {
          const gw = failure instanceof GatewayError ? failure : undefined;
          writeAudit({
            event: method as 'sampling/createMessage' | 'elicitation/create',
            ...base(ctx.session),
            name: ctx.name,
            ...(ctx.server ? { server: ctx.server } : {}),
            ...(ctx.tool ? { tool: ctx.tool } : {}),
            decision: gw ? 'deny' : 'allow',
            outcome: gw ? 'denied' : failure ? 'error' : 'ok',
            ...(gw ? { code: gw.code, reason: gw.detail } : failure ? { error: errorText(failure) } : {}),
            latency_ms: round(performance.now() - started)
          });
        }
      }
    };
  }

  const gateway: Gateway = {
    config,
    auth,
    authenticateRequest: createRequestAuthentication({
      auth,
      config,
      audit: (record) => void writeAudit(record),
      log
    }),
    sessions,
    upstreams,
    metrics,
    approvals,
    state,
    events,
    recentAudit: () => recent,
    stats(minutes) {
      const now = Math.floor(Date.now() / 60_000);
      const out = [];
      for (let m = now - minutes + 1; m <= now; m++) {
        const b = perMinute.get(m) ?? { calls: 0, denials: 0, approvals: 0 };
        out.push({ minute: new Date(m * 60_000).toISOString(), ...b });
      }
      return out;
    },
    policy: () => current,

    reloadPolicy(next) {
      const version = policyVersion(next);
      if (version === current.version) return undefined;
      const policy = compilePolicy(next.rules, next.policy);
      const previous = current.version;
      current = { policy, version };
      riskSettings = riskSettingsOf(next.policy);
      needsHistory = usesHistory(next);
      needsSession = usesSessionState(next);
      writeAudit({
        event: 'config/reload',
        decision: 'allow',
        outcome: 'ok',
        policy_version: version,
        reason: `policy ${previous} -> ${version}`
      });
      log.info({ from: previous, to: version }, 'policy reloaded');
      return version;
    },

    addRisk: (session, amount) => state.addRisk(session, amount, Date.now(), riskSettings),

    openSession(identity, transport, id) {
      const session = sessions.open(identity, transport, id);
      log.debug({ session: session.id, identity: identity.id, transport }, 'session opened');
      return session;
    },

    closeSession(session) {
      sessions.close(session.id);
      for (const [key, subs] of subscriptions) {
        if (!subs.updated.delete(session.id) || subs.updated.size > 0) continue;
        subscriptions.delete(key);
        upstreams
          .get(subs.server)
          ?.request('resources/unsubscribe', { uri: subs.uri })
          .catch(() => undefined);
      }
    },

    async listTools(session) {
      const started = performance.now();
      const roles = session.identity.roles;
      const { items, failed } = await fanOut('tools', async (up) =>
        [...(await vetted(up)).values()].filter((v) => !v.blocked).map((v) => v.tool)
      );
      const visible = items
        .filter(({ server, item }) => current.policy.visible(roles, server, item.name))
        .filter(({ server, item }) => !auth.missingScope(session.identity, readOnly(server, item)))
        .map(({ server, item }) => ({ ...item, name: names.join(server, item.name) }));
      await writeAudit(
        {
          event: 'tools/list',
          ...base(session),
          decision: 'allow',
          outcome: 'ok',
          count: visible.length,
          ...(failed.length ? { error: `unavailable: ${failed.join(', ')}` } : {}),
          latency_ms: round(performance.now() - started)
        },
        true
      );
      return visible;
    },

    callTool(session, name, args, opts = {}) {
      // One span per call; a no-op unless the host process registers an OpenTelemetry SDK.
      return tracer.startActiveSpan('portcullis tools/call', { kind: SpanKind.SERVER }, async (span) => {
        span.setAttribute('mcp.tool.name', name);
        span.setAttribute('portcullis.session', session.id);
        try {
          if (draining) throw new GatewayError('upstream_unavailable', 'the gateway is shutting down');
          inflight++;
          try {
            return await callToolInner(session, name, args, opts);
          } finally {
            inflight--;
            if (inflight === 0) idle.emit('idle');
          }
        } catch (err) {
          span.setStatus({
            code: SpanStatusCode.ERROR,
            message: err instanceof GatewayError ? err.code : 'error'
          });
          throw err;
        } finally {
          span.end();
        }
      });
    },

    async listPrompts(session) {
      const { items } = await fanOut('prompts', (up) => allowed(up, 'prompts'));
      await writeAudit(
        { event: 'prompts/list', ...base(session), decision: 'allow', outcome: 'ok', count: items.length },
        true
      );
      return {
        prompts: items.map(({ server, item }) => ({ ...item, name: names.join(server, String(item.name)) }))
      };
    },

    async getPrompt(session, name, args) {
      const parts = names.split(name);
      const up = parts && upstreams.get(parts.server);
      return forward(session, 'prompts/get', { name }, up, parts?.name, async () => {
        await refuseWithheld(up!, 'prompts', parts!.name, name);
        return inspector.scanReply(
          parts!.server,
          parts!.name,
          await up!.request('prompts/get', { name: parts!.name, ...(args ? { arguments: args } : {}) }),
          session,
          addRisk
        );
      });
    },

    async listResources(session) {
      const { items } = await fanOut('resources', (up) => allowed(up, 'resources'));
      await writeAudit(
        { event: 'resources/list', ...base(session), decision: 'allow', outcome: 'ok', count: items.length },
        true
      );
      return {
        resources: items.map(({ server, item }) => ({
          ...item,
          uri: names.resourceUri(server, String(item.uri))
        }))
      };
    },

    async listResourceTemplates(session) {
      const { items } = await fanOut('resources', (up) => allowed(up, 'resourceTemplates'));
      await writeAudit(
        {
          event: 'resources/templates/list',
          ...base(session),
          decision: 'allow',
          outcome: 'ok',
          count: items.length
        },
        true
      );
      return {
        resourceTemplates: items.map(({ server, item }) => ({
          ...item,
          uriTemplate: names.resourceUri(server, String(item.uriTemplate))
        }))
      };
    },

    async readResource(session, uri) {
      const parts = names.parseResourceUri(uri);
      const up = parts && upstreams.get(parts.server);
      const result = (await forward(session, 'resources/read', { uri }, up, parts?.uri, async () => {
        await refuseWithheld(up!, 'resources', parts!.uri, uri);
        return inspector.scanReply(
          parts!.server,
          parts!.uri,
          await up!.request('resources/read', { uri: parts!.uri }),
          session,
          addRisk
        );
      })) as { contents?: Array<{ uri?: string }> };
      // Contents name their URI; give them back in the gateway's namespace.
      return {
        ...result,
        contents: (result.contents ?? []).map((c) =>
          typeof c.uri === 'string' ? { ...c, uri: names.resourceUri(parts!.server, c.uri) } : c
        )
      };
    },

    async subscribe(session, uri, updated) {
      const parts = names.parseResourceUri(uri);
      const up = parts && upstreams.get(parts.server);
      await forward(session, 'resources/subscribe', { uri }, up, parts?.uri, async () => {
        const key = `${parts!.server}\n${parts!.uri}`;
        if (!subscriptions.has(key)) await up!.request('resources/subscribe', { uri: parts!.uri });
        const subs = subscriptions.get(key) ?? { server: parts!.server, uri: parts!.uri, updated: new Map() };
        subs.updated.set(session.id, updated);
        subscriptions.set(key, subs);
      });
      return {};
    },

    async unsubscribe(session, uri) {
      const parts = names.parseResourceUri(uri);
      const up = parts && upstreams.get(parts.server);
      await forward(session, 'resources/unsubscribe', { uri }, up, parts?.uri, async () => {
        const key = `${parts!.server}\n${parts!.uri}`;
        const subs = subscriptions.get(key);
        if (!subs?.updated.delete(session.id) || subs.updated.size > 0) return;
        subscriptions.delete(key);
        await up!.request('resources/unsubscribe', { uri: parts!.uri });
      });
      return {};
    },

    async complete(session, params) {
      const ref = params.ref as { type?: string; name?: string; uri?: string } | undefined;
      let server: string | undefined;
      let upstreamRef: Record<string, unknown> | undefined;
      if (ref?.type === 'ref/prompt' && typeof ref.name === 'string') {
        const p = names.split(ref.name);
        if (p) {
          server = p.server;
          upstreamRef = { ...ref, name: p.name };
        }
      } else if (ref?.type === 'ref/resource' && typeof ref.uri === 'string') {
        const p = names.parseResourceUri(ref.uri);
        if (p) {
          server = p.server;
          upstreamRef = { ...ref, uri: p.uri };
        }
      }
      const up = server ? upstreams.get(server) : undefined;
      return forward(session, 'completion/complete', {}, up, server, () =>
        up!.request('completion/complete', { ...params, ref: upstreamRef })
      );
    },

    capabilities() {
      return {
        tools: { listChanged: false },
        prompts: {},
        resources: { subscribe: true },
        completions: {},
        logging: {}
      };
    },

    health() {
      const ups: Record<string, { state: string; error?: string; restarts: number }> = {};
      for (const up of upstreams.values()) {
        ups[up.name] = {
          state: up.state,
          restarts: up.restarts,
          ...(up.lastError ? { error: up.lastError } : {})
        };
      }
      const auditError = queued?.unavailable();
      const stateOk = state.healthy();
      return {
        ok: auditError === undefined && stateOk,
        upstreams: ups,
        audit: auditError === undefined ? { ok: true } : { ok: false, error: auditError },
        state: { store: state.kind, ok: stateOk }
      };
    },

    async preflight(identity, message, transport = 'http') {
      const started = performance.now();
      const m = message as { method?: unknown; params?: { name?: unknown } } | null;
      if (!m || m.method !== 'tools/call' || typeof m.params?.name !== 'string') return undefined;
      if (identity.scopes === undefined) return undefined;
      const name = m.params.name;
      const parts = names.split(name);
      const up = parts && upstreams.get(parts.server);
      if (!parts || !up) return undefined;
      let refused;
      try {
        const def = (await up.listTools()).find((t) => t.name === parts.name);
        refused = def && scopeRefusal(identity, parts.server, def, name);
      } catch {
        return undefined;
      }
      if (!refused) return undefined;
      // The call's record, as the pipeline writes it for a refusal at the scope stage, less what
      // only a session and the later stages know (the arguments are not recorded: unscanned). The
      // refusal stands whether or not the record can be stored (a failed write is logged).
      log.info(
        { identity: identity.id, name, code: refused.error.code, reason: refused.error.detail },
        'call denied'
      );
      const record: AuditInput = {
        event: 'tools/call',
        identity: identity.id,
        ...(identity.agent ? { agent: identity.agent } : {}),
        auth: identity.method,
        roles: identity.roles,
        transport,
        name,
        server: parts.server,
        tool: parts.name,
        decision: 'deny',
        code: refused.error.code,
        reason: refused.error.detail,
        outcome: 'denied',
        latency_ms: round(performance.now() - started)
      };
      try {
        void writeAudit(record);
      } catch {
        // writeAudit has logged it.
      }
      return refused.scope;
    },

    async toolInventory() {
      const out: ToolInventoryEntry[] = [];
      await Promise.all(
        [...upstreams.values()].map(async (up) => {
          try {
            const tools = await vetted(up);
            // Read after vetting: a first use or a rewrite of older pins is in them now.
            const pinned = pins?.get(up.name);
            const section = pinned?.tools ?? {};
            for (const v of tools.values()) {
              const entry = Object.hasOwn(section, v.tool.name) ? section[v.tool.name] : undefined;
              out.push({
                server: up.name,
                name: v.tool.name,
                exposed: names.join(up.name, v.tool.name),
                ...(v.tool.description ? { description: v.tool.description } : {}),
                status: v.status,
                findings: findingSummary(v.findings),
                hash: v.hash,
                ...(v.reason ? { reason: v.reason } : {}),
                ...(pinned ? { pinnedAt: pinned.pinnedAt, approvedBy: pinned.approvedBy } : {}),
                ...(entry && v.pin === 'changed' ? { pinnedDescription: entry.description ?? '' } : {})
              });
            }
            // Pinned tools the server no longer offers are a change too.
            for (const [name, entry] of Object.entries(section)) {
              if (tools.has(name)) continue;
              out.push({
                server: up.name,
                name,
                exposed: names.join(up.name, name),
                status: 'removed',
                findings: [],
                pinnedDescription: entry.description ?? ''
              });
            }
          } catch (err) {
            out.push({
              server: up.name,
              name: '*',
              exposed: `${up.name}__*`,
              status: 'unavailable',
              findings: [],
              error: err instanceof GatewayError ? err.detail : (err as Error).message
            });
          }
        })
      );
      return out.sort((a, b) => a.exposed.localeCompare(b.exposed));
    },

    async definitionInventory() {
      const out: DefinitionInventoryEntry[] = [];
      const KIND = {
        prompts: 'prompt',
        resources: 'resource',
        resourceTemplates: 'resourceTemplate'
      } as const;
      const exposedAs = (server: string, kind: DefinitionKind, key: string) =>
        kind === 'prompts' ? names.join(server, key) : names.resourceUri(server, key);
      await Promise.all(
        [...upstreams.values()].flatMap((up) =>
          (['prompts', 'resources', 'resourceTemplates'] as const).map(async (kind) => {
            try {
              await up.connect();
              if (!up.capabilities()?.[CAPABILITY[kind]]) return;
              const vetting = await definitionsOf(up, kind, true);
              const pinned = pins?.get(up.name);
              const section = pinned?.[kind] ?? {};
              for (const v of vetting.items.values()) {
                const entry = Object.hasOwn(section, v.key) ? section[v.key] : undefined;
                out.push({
                  server: up.name,
                  kind: KIND[kind],
                  name: v.key,
                  exposed: exposedAs(up.name, kind, v.key),
                  ...(typeof v.item.description === 'string' ? { description: v.item.description } : {}),
                  status: v.status,
                  findings: findingSummary(v.findings),
                  hash: v.hash,
                  ...(v.reason ? { reason: v.reason } : {}),
                  ...(pinned ? { pinnedAt: pinned.pinnedAt, approvedBy: pinned.approvedBy } : {}),
                  ...(entry && v.pin === 'changed' ? { pinnedDescription: entry.description ?? '' } : {})
                });
              }
              for (const key of vetting.removed) {
                out.push({
                  server: up.name,
                  kind: KIND[kind],
                  name: key,
                  exposed: exposedAs(up.name, kind, key),
                  status: 'removed',
                  findings: [],
                  pinnedDescription: section[key]?.description ?? ''
                });
              }
            } catch (err) {
              out.push({
                server: up.name,
                kind: KIND[kind],
                name: '*',
                exposed: kind === 'prompts' ? `${up.name}__*` : names.resourceUri(up.name, '*'),
                status: 'unavailable',
                findings: [],
                error: err instanceof GatewayError ? err.detail : (err as Error).message
              });
            }
          })
        )
      );
      return out.sort((a, b) => a.kind.localeCompare(b.kind) || a.exposed.localeCompare(b.exposed));
    },

    async approveTools(server, by) {
      const up = upstreams.get(server);
      if (!up) throw new GatewayError('unknown_tool', `no server "${server}"`);
      const tools = await up.listTools();
      const sets: PinSets = { tools };
      // Everything else the server offers now, listed fresh: a kind it does not offer is pinned
      // empty, so one it starts offering later is a change to review, not a first use.
      await up.connect();
      const caps = up.capabilities() ?? {};
      for (const kind of ['prompts', 'resources', 'resourceTemplates'] as const) {
        sets[kind] = caps[CAPABILITY[kind]] ? await up.listDefinitions(kind) : [];
      }
      inspector.approve(server, sets, by);
      return {
        tools: tools.length,
        prompts: sets.prompts!.length,
        resources: sets.resources!.length,
        resourceTemplates: sets.resourceTemplates!.length
      };
    },

    inflight: () => inflight,

    async drain(deadlineMs) {
      draining = true;
      if (inflight === 0) return 0;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadlineMs);
        idle.once('idle', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      return inflight;
    },

    audit: (record) => void writeAudit(record),

    async close() {
      approvals.close();
      pins?.close();
      tokenWatch?.close();
      await Promise.all([...upstreams.values()].map((u) => u.close()));
      await auditSink.close();
      await state.close();
    }
  };

  /** The pipeline for one call, ending in exactly one audit record. */
  async function callToolInner(
    session: Session,
    name: string,
    args: Record<string, unknown>,
    opts: CallOptions
  ): Promise<unknown> {
    session.lastSeen = Date.now();
    const started = performance.now();
    const ctx: CallContext = {
      session,
      name,
      args,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onprogress ? { onprogress: opts.onprogress } : {}),
      ...(opts.meta ? { meta: opts.meta } : {})
    };
    if (opts.peer) ctx.relay = relayTo(opts.peer, ctx);
    let failure: unknown;
    try {
      await runPipeline(stages, ctx);
      return ctx.result;
    } catch (err) {
      failure = err;
      throw err;
    } finally {
      const gw = failure instanceof GatewayError ? failure : undefined;
      const decided = ctx.decision;
      const denied =
        gw !== undefined && !['upstream_unavailable', 'upstream_failed', 'internal'].includes(gw.code);
      const isToolError = !failure && (ctx.result as { isError?: boolean } | undefined)?.isError === true;
      const record: AuditInput = {
        event: 'tools/call',
        ...base(session),
        name,
        ...(ctx.server ? { server: ctx.server } : {}),
        ...(ctx.tool ? { tool: ctx.tool } : {}),
        arguments: recordedArguments(ctx.server, ctx.tool, ctx.auditArgs ?? args),
        ...(ctx.findings && ctx.findings.length > 0 ? { findings: ctx.findings } : {}),
        decision:
          ctx.approval || gw?.code === 'approval_required'
            ? 'approval'
            : denied
              ? 'deny'
              : (decided?.effect ?? 'deny'),
        ...(ctx.approval
          ? {
              approval: {
                id: ctx.approval.id,
                status: ctx.approval.status,
                decisions: ctx.approval.decisions,
                ...(ctx.approval.decidedAt ? { decided_at: ctx.approval.decidedAt } : {})
              }
            }
          : {}),
        ...(decided ? { rules: decided.rules } : {}),
        ...(gw ? { code: gw.code, reason: gw.detail } : decided ? { reason: decided.reason } : {}),
        ...(ctx.policyVersion ? { policy_version: ctx.policyVersion } : {}),
        ...(decided?.observed ? { observed: decided.observed } : {}),
        ...(decided && decided.risk > 0
          ? { risk: round(decided.risk), session_risk: round(session.risk) }
          : {}),
        outcome: denied ? 'denied' : failure ? 'error' : isToolError ? 'tool_error' : 'ok',
        ...(failure && !gw ? { error: errorText(failure) } : {}),
        latency_ms: round(performance.now() - started),
        ...(ctx.upstreamMs !== undefined ? { upstream_ms: round(ctx.upstreamMs) } : {})
      };
      if (denied) log.info({ session: session.id, name, code: gw.code, reason: gw.detail }, 'call denied');
      // A call refused because records cannot be stored does not wait for its own record: it stays
      // queued, and is committed once the database is back.
      await writeAudit(record, gw?.code !== 'audit_unavailable');
    }
  }

  /** Forward an unpoliced request to its upstream, with an audit record either way. */
  async function forward(
    session: Session,
    event:
      | 'prompts/get'
      | 'resources/read'
      | 'completion/complete'
      | 'resources/subscribe'
      | 'resources/unsubscribe',
    what: { name?: string; uri?: string },
    up: Upstream | null | undefined,
    target: string | undefined,
    call: () => Promise<unknown>
  ): Promise<unknown> {
    const started = performance.now();
    let failure: unknown;
    try {
      if (queued) await auditReady(queued);
      if (!up || target === undefined)
        throw new GatewayError('unknown_resource', `nothing routes ${JSON.stringify(what)}`);
      return await call();
    } catch (err) {
      failure = err;
      throw err;
    } finally {
      const gw = failure instanceof GatewayError ? failure : undefined;
      const refused =
        gw?.code === 'unknown_resource' ||
        gw?.code === 'tool_blocked' ||
        gw?.code === 'response_blocked' ||
        gw?.code === 'audit_unavailable';
      await writeAudit(
        {
          event,
          ...base(session),
          ...(up ? { server: up.name } : {}),
          ...(what.name ? { name: what.name } : {}),
          ...(what.uri ? { uri: what.uri } : {}),
          decision: refused ? 'deny' : 'allow',
          outcome: failure ? (refused ? 'denied' : 'error') : 'ok',
          ...(gw ? { code: gw.code, reason: gw.detail } : failure ? { error: errorText(failure) } : {}),
          latency_ms: round(performance.now() - started)
        },
        gw?.code !== 'audit_unavailable'
      );
    }
  }

  return gateway;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
