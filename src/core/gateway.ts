/**
 * The gateway core: upstreams, sessions, the policy and the call pipeline, behind one object the
 * transports talk to. Transports move messages and call these methods; every decision is made in
 * the pipeline (its stages are listed in ./stages.ts), and every call ends in one audit record.
 * This file only composes the parts and exposes them.
 */
import { createApprovalQueue } from '../approval/index.js';
import { isQueuedSink } from '../audit/index.js';
import { openAuditSink } from '../audit/open.js';
import type { Identity } from '../auth/index.js';
import { createRequestAuthentication } from '../auth/request.js';
import { createInspector } from '../inspect/index.js';
import { createMetrics } from '../metrics/index.js';
import { createPinStore } from '../pins/index.js';
import { createScopeCheck } from '../scope/index.js';
import { createPreflight } from '../scope/preflight.js';
import { createMemoryState } from '../state/index.js';
import type { RedisState } from '../state/redis.js';
import { upstreamKey } from '../upstream/index.js';
import { createArgumentValidator } from '../validate/index.js';
import { createAnnouncer } from './announce.js';
import type { Gateway, GatewayOptions } from './api.js';
import { createAuditLog } from './audit-log.js';
import { createSharedAuthenticator } from './authenticator.js';
import { createCaller } from './call.js';
import { createCatalog } from './catalog.js';
import { createForward, createForwarding } from './forward.js';
import { createInventory } from './inventory.js';
import { createLifecycle, healthOf } from './lifecycle.js';
import { createLists } from './lists.js';
import { createNames } from './names.js';
import { createPolicyHolder } from './policy-holder.js';
import { endSession, revokeCredential } from './revoke.js';
import { createRelays } from './relay.js';
import { createSessionStore, type DownstreamTransport, type Session } from './session.js';
import { openStdioSession } from './stdio-session.js';
import { buildStages } from './stages.js';
import { createSubscriptions } from './subscriptions.js';
import { createUpstreams, refusalRecord } from './upstreams.js';

export { openAuditSink } from '../audit/open.js';
export { policyVersion } from './policy-holder.js';
export type { CallOptions, Peer } from './call.js';
export type { ListedTool } from './lists.js';
export type { ApprovedCounts, DefinitionInventoryEntry, ToolInventoryEntry } from './inventory.js';
export type { Health } from './lifecycle.js';
export type { ListChanged, ListKind } from './announce.js';
export type { Gateway, GatewayOptions } from './api.js';

/** What the gateway offers its agents: lists announce changes, resources take subscriptions. */
function capabilities(): Record<string, object> {
  return {
    tools: { listChanged: true },
    prompts: { listChanged: true },
    resources: { subscribe: true, listChanged: true },
    completions: {},
    logging: {}
  };
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
  const announcer = createAnnouncer();
  const connections = createUpstreams(config, log, (owner) => ({
    onNotification: (s, method, params) => subscriptions.notify(upstreamKey(s, owner), s, method, params),
    onReady: (_s, up) => announcer.ready(up),
    onToolsChanged: () => announcer.changed('tools'),
    onDefinitionsChanged: (_s, kind) => announcer.changed(kind),
    onRefused: (server, error) => {
      log.warn({ server, session: owner, reason: error.detail }, 'upstream process refused');
      void audit.write(refusalRecord(owner === undefined ? undefined : sessions.get(owner), server, error));
    }
  }));
  const upstreams = connections.servers;
  const resolve = connections.resolve;
  const pins = config.scanning.pins.enabled
    ? createPinStore(config.scanning.pins.path, log, undefined, redis?.pins)
    : undefined;
  const metrics = createMetrics({
    upstreams: () =>
      [...upstreams.values()].map((u) => ({ name: u.name, state: u.state, restarts: u.restarts })),
    sessions: () => sessions.size(),
    processes: () => connections.budget.count,
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
    resolve,
    policy,
    catalog,
    scopes,
    validator,
    inspector,
    approvals
  });
  const relayTo = createRelays(inspector, audit, addRisk, log);
  const call = createCaller({ config, log, stages, audit, addRisk, relayTo });
  const forward = createForward(audit, queued, policy);
  const forwarding = createForwarding({ resolve, names, catalog, inspector, forward, addRisk });
  const subscriptions = createSubscriptions(resolve, names, forward);
  const lists = createLists({ upstreams, resolve, names, catalog, policy, scopes, audit, announcer, log });
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
      void connections.closeSession(session);
    },
    endSession,
    revokeCredential: (id) => revokeCredential(id, config, auth.tokens.revoked, tokenWatch, state),
    ...lists,
    callTool: (session, name, args, opts = {}) =>
      lifecycle.track(name, session.id, () => call(session, name, args, opts)),
    ...forwarding,
    subscribe: subscriptions.subscribe,
    unsubscribe: subscriptions.unsubscribe,
    onListChanged: announcer.subscribe,
    capabilities,
    health: () => healthOf(connections, queued, state),
    preflight: createPreflight({ names, upstreams, scopes, audit: (r) => void audit.write(r), log }),
    ...inventory,
    inflight: lifecycle.inflight,
    drain: lifecycle.drain,
    audit: (record) => void audit.write(record),
    async close() {
      approvals.close();
      pins?.close();
      tokenWatch?.close();
      await connections.close();
      await auditSink.close();
      await state.close();
    }
  };
}
