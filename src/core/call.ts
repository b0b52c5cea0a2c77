/**
 * One tool call: the pipeline, then, whatever happened, the call's risk applied to the session
 * once and exactly one audit record.
 */
import { trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { redactArguments, type AuditInput } from '../audit/index.js';
import type { GatewayConfig } from '../config/types.js';
import { GatewayError, isRefusal } from '../errors.js';
import { compileGlob } from '../policy/glob.js';
import { callAttributes } from '../telemetry/attributes.js';
import type { Relay } from '../upstream/index.js';
import type { AuditLog } from './audit-log.js';
import { outcomeOf, round, sessionFields } from './audit-log.js';
import { runPipeline, type CallState, type PipelineStage } from './pipeline.js';
import type { Session } from './session.js';

export interface CallOptions {
  signal?: AbortSignal;
  onprogress?: (p: { progress: number; total?: number; message?: string }) => void;
  meta?: Record<string, unknown>;
  /** The agent, for what the upstream sends while the call runs (log messages, requests). */
  peer?: Peer;
}

/** The agent's side of one call, as the downstream transport offers it. */
export type Peer = Relay;

interface CallParts {
  config: GatewayConfig;
  log: Logger;
  stages: readonly PipelineStage[];
  audit: AuditLog;
  /** Add risk to a session; a store failure is logged, not thrown. */
  addRisk(session: Session, amount: number): void;
  /** What the server sends about the call, scanned, to the agent. */
  relayTo(peer: Peer, ctx: CallState): Relay;
}

/** How a call's arguments go into its audit record (secrets are masked before this). */
function argumentRecorder(config: GatewayConfig) {
  const modes = config.audit.overrides.map((o) => ({
    server: o.server ? compileGlob(o.server) : undefined,
    tool: o.tool ? compileGlob(o.tool) : undefined,
    mode: o.arguments
  }));
  return (server: string | undefined, tool: string | undefined, args: unknown) => {
    let mode = config.audit.arguments;
    for (const o of modes) {
      if ((o.server && !o.server.test(server ?? '')) || (o.tool && !o.tool.test(tool ?? ''))) continue;
      mode = o.mode;
    }
    return mode === 'full' ? args : redactArguments(args, mode);
  };
}

/** The audit record of a call, from whatever phase it reached and how it ended. */
function callRecord(ctx: CallState, failure: unknown, recorded: unknown, latencyMs: number): AuditInput {
  const { session, decision } = ctx;
  const gw = failure instanceof GatewayError ? failure : undefined;
  const outcome = outcomeOf(failure);
  const approval = ctx.approval;
  const isToolError = outcome === 'ok' && (ctx.result as { isError?: boolean } | undefined)?.isError === true;
  // A refusal is a deny (or an approval that did not go through); after a fault, the decision
  // stands as the policy made it, and there is none when the fault came first.
  const verdict =
    approval || gw?.code === 'approval_required'
      ? 'approval'
      : outcome === 'denied'
        ? 'deny'
        : decision?.effect;
  return {
    event: 'tools/call',
    ...sessionFields(session),
    name: ctx.name,
    ...(ctx.server ? { server: ctx.server } : {}),
    ...(ctx.tool ? { tool: ctx.tool } : {}),
    arguments: recorded,
    ...(ctx.findings && ctx.findings.length > 0 ? { findings: ctx.findings } : {}),
    ...(verdict ? { decision: verdict } : {}),
    ...(approval
      ? {
          approval: {
            id: approval.id,
            status: approval.status,
            decisions: approval.decisions,
            ...(approval.decidedAt ? { decided_at: approval.decidedAt } : {})
          }
        }
      : {}),
    ...(decision ? { rules: decision.rules } : {}),
    ...(gw ? { code: gw.code, reason: gw.detail } : decision ? { reason: decision.reason } : {}),
    ...(ctx.policyVersion ? { policy_version: ctx.policyVersion } : {}),
    ...(decision?.observed ? { observed: decision.observed } : {}),
    ...(decision && decision.risk > 0
      ? // Risk accrues on the session or on its identity (policy.risk.scope): under one policy only one grows.
        { risk: round(decision.risk), session_risk: round(session.risk + session.shared.risk) }
      : {}),
    outcome: isToolError ? 'tool_error' : outcome,
    ...(failure && !gw ? { error: failure instanceof Error ? failure.message : String(failure) } : {}),
    latency_ms: round(latencyMs),
    ...(ctx.upstreamMs !== undefined ? { upstream_ms: round(ctx.upstreamMs) } : {}),
    ...(ctx.approvalMs !== undefined ? { approval_ms: round(ctx.approvalMs) } : {})
  };
}

/** Runs calls through the stages; each ends in its risk applied and one audit record. */
export function createCaller(parts: CallParts) {
  const { log, stages, audit } = parts;
  const recordedArguments = argumentRecorder(parts.config);
  return async function call(
    session: Session,
    name: string,
    args: Record<string, unknown>,
    opts: CallOptions
  ): Promise<unknown> {
    session.lastSeen = Date.now();
    const started = performance.now();
    const ctx: CallState = {
      session,
      name,
      args,
      risk: 0,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onprogress ? { onprogress: opts.onprogress } : {}),
      ...(opts.meta ? { meta: opts.meta } : {})
    };
    if (opts.peer) {
      (ctx as { relay?: Relay }).relay = parts.relayTo(opts.peer, ctx);
      (ctx as { client?: Relay }).client = opts.peer;
    }
    let failure: unknown;
    try {
      await runPipeline(stages, ctx);
      return ctx.result;
    } catch (err) {
      failure = err;
      throw err;
    } finally {
      // What scanning found adds to the session whether the call went through, was refused later
      // or failed upstream: the arguments left (or tried to), whatever came back.
      if (ctx.risk > 0) parts.addRisk(session, ctx.risk);
      const recorded = recordedArguments(ctx.server, ctx.tool, ctx.auditArgs ?? args);
      const record = callRecord(ctx, failure, recorded, performance.now() - started);
      // The call's span (src/core/lifecycle.ts) carries what its record says; a no-op untraced.
      trace.getActiveSpan()?.setAttributes(callAttributes(record));
      if (isRefusal(failure))
        log.info({ session: session.id, name, code: failure.code, reason: failure.detail }, 'call denied');
      // A call refused because records cannot be stored does not wait for its own record: it stays
      // queued, and is committed once the database is back.
      const code = failure instanceof GatewayError ? failure.code : undefined;
      await audit.write(record, code !== 'audit_unavailable');
    }
  };
}
