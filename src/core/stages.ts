/**
 * The stages of a tool call, in order, each switched on by the config. This is the one place that
 * says which stages exist and in what order; each stage lives in its own folder. `pipeline()`
 * checks at compile time that every stage reads only what an earlier one set:
 *
 *   audit            the audit log can store records            (src/audit/stage.ts)   audit on a database
 *   route            name → server and upstream      → Routed   (src/route)
 *   policy           the decision                    → Decided  (src/policy/stage.ts)
 *   lookup           the tool's vetted definition    → Resolved (src/lookup)
 *   scope            the credential's scopes                    (src/scope)
 *   validate         the tool's own inputSchema                 (src/validate)         validation.arguments
 *   scan-arguments   secrets, PII, injection going out          (src/inspect)
 *   limits           caps, rate windows, risk budget taken      (src/limits)
 *   approval         a person decides, then policy again        (src/approval)
 *   upstream         the call itself                 → Answered (src/upstream/stage.ts)
 *   scan-response    secrets, PII, injection coming back        (src/inspect)
 *
 * After the last stage (or the one that refused) the core applies the call's risk and writes its
 * audit record (./call.ts).
 */
import type { ApprovalQueue } from '../approval/index.js';
import { approvalStage } from '../approval/index.js';
import type { QueuedAuditSink } from '../audit/index.js';
import { auditStage } from '../audit/stage.js';
import type { GatewayConfig } from '../config/types.js';
import type { Inspector } from '../inspect/index.js';
import { limitsStage } from '../limits/index.js';
import { lookupStage } from '../lookup/index.js';
import { policyStage, redecision } from '../policy/stage.js';
import { routeStage, type ResolveUpstream } from '../route/index.js';
import { scopeStage, type ScopeCheck } from '../scope/index.js';
import type { SharedState } from '../state/index.js';
import { upstreamStage } from '../upstream/stage.js';
import { validateStage, type ArgumentValidator } from '../validate/index.js';
import type { Catalog } from './catalog.js';
import type { Names } from './names.js';
import { pipeline, type PipelineStage } from './pipeline.js';
import type { PolicyHolder } from './policy-holder.js';

interface StageParts {
  config: GatewayConfig;
  state: SharedState;
  /** The audit sink, when it is a shared store that can be unreachable. */
  queued: QueuedAuditSink | undefined;
  names: Names;
  resolve: ResolveUpstream;
  policy: PolicyHolder;
  catalog: Catalog;
  scopes: ScopeCheck;
  validator: ArgumentValidator;
  inspector: Inspector;
  approvals: ApprovalQueue;
}

export function buildStages(parts: StageParts): readonly PipelineStage[] {
  const { config, state, policy } = parts;
  /** Does a rule of the policy in force read the session's history? */
  const history = () => policy.current().policy.needs.history;
  /** What a rule of the policy in force reads of every session of the identity together. */
  const identity = () => policy.current().policy.identityNeeds;
  return pipeline()
    .use(parts.queued && auditStage(parts.queued))
    .advance(routeStage(parts.names, parts.resolve))
    .advance(
      policyStage(policy.current, policy.risk, (s, withHistory, ofIdentity) =>
        state.sync(s, withHistory, ofIdentity)
      )
    )
    .advance(lookupStage(parts.catalog.vetted))
    .use(scopeStage(parts.scopes))
    .use(config.validation.arguments ? validateStage(parts.validator) : undefined)
    .use(parts.inspector.argumentStage())
    .use(limitsStage(state, policy.riskSettings))
    .use(
      approvalStage({
        queue: parts.approvals,
        settings: config.approvals,
        // A call may wait minutes: read what other replicas changed meanwhile before deciding again.
        refresh: (ctx) => state.sync(ctx.session, history(), identity()),
        redecide: redecision(policy.current, policy.risk)
      })
    )
    .advance(
      upstreamStage((session, call) =>
        // A shared store keeps history only while some rule reads it: one round trip less per call.
        state.kind === 'memory' || history() ? state.record(session, call, identity().history) : undefined
      )
    )
    .use(parts.inspector.responseStage()).stages;
}
