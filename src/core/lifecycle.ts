/**
 * Calls in flight, draining for shutdown, and health: what an orchestrator or a balancer asks of
 * the gateway. Each call is one OpenTelemetry span (a no-op unless the host registers an SDK).
 */
import { EventEmitter } from 'node:events';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { QueuedAuditSink } from '../audit/index.js';
import { GatewayError } from '../errors.js';
import type { SharedState } from '../state/index.js';
import type { Upstreams } from './upstreams.js';

const tracer = trace.getTracer('portcullis');

export interface Health {
  ok: boolean;
  /**
   * Per server: its state, whether it is down (failed, and not connected since), and why; for an
   * `isolation: session` server, the state of its connection without a session, and how many
   * sessions' processes run now.
   */
  upstreams: Record<
    string,
    { state: string; down: boolean; error?: string; restarts: number; session_processes?: number }
  >;
  /** Upstream processes running now, and `limits.max_upstream_processes`. */
  processes: { running: number; max: number };
  audit: { ok: boolean; error?: string };
  state: { store: string; ok: boolean };
}

export function createLifecycle() {
  let inflight = 0;
  let draining = false;
  const idle = new EventEmitter();
  return {
    inflight: () => inflight,

    /** Run one call, counted and traced; refused once draining. */
    track<T>(name: string, session: string, run: () => Promise<T>): Promise<T> {
      return tracer.startActiveSpan('portcullis tools/call', { kind: SpanKind.SERVER }, async (span) => {
        span.setAttribute('mcp.tool.name', name);
        span.setAttribute('portcullis.session', session);
        try {
          if (draining) throw new GatewayError('upstream_unavailable', 'the gateway is shutting down');
          inflight++;
          try {
            return await run();
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

    async drain(deadlineMs: number): Promise<number> {
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
    }
  };
}

/**
 * ok is false while calls are refused: the audit log cannot store records, or shared state is
 * unreachable. A server that is down does not make the gateway unhealthy (the others still serve);
 * it is named in `upstreams` with the reason.
 */
export function healthOf(
  upstreams: Upstreams,
  queued: QueuedAuditSink | undefined,
  state: SharedState
): Health {
  const ups: Health['upstreams'] = {};
  for (const up of upstreams.servers.values()) {
    const sessionProcesses = upstreams.sessionProcesses(up.name);
    ups[up.name] = {
      state: up.state,
      down: up.down,
      restarts: up.restarts,
      ...(up.lastError ? { error: up.lastError } : {}),
      ...(sessionProcesses !== undefined ? { session_processes: sessionProcesses } : {})
    };
  }
  const auditError = queued?.unavailable();
  const stateOk = state.healthy();
  return {
    ok: auditError === undefined && stateOk,
    upstreams: ups,
    processes: { running: upstreams.budget.count, max: upstreams.budget.max },
    audit: auditError === undefined ? { ok: true } : { ok: false, error: auditError },
    state: { store: state.kind, ok: stateOk }
  };
}
