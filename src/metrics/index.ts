/**
 * Prometheus metrics (prom-client), derived from the same events the audit log records, so the
 * two never disagree: calls by server, tool and decision; denials by reason; prompt and resource
 * requests by event, server, decision and reason; approvals; auth
 * failures; rate-limit hits; the gateway's own overhead, the wait for a human approval and
 * upstream latency; upstream health; open sessions; policy reloads; with an audit database, whether
 * it is available and its queue. Each gateway has its own registry.
 *
 * Names follow Prometheus conventions: Node's default process and runtime metrics keep their
 * standard names (`process_*`, `nodejs_*`), the gateway's own start with `portcullis_`, counters
 * end in `_total`, and durations are in seconds with a `_seconds` suffix.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AuditInput } from '../audit/index.js';

export interface Metrics {
  readonly registry: Registry;
  /** Count an audited event. */
  record(event: AuditInput): void;
  /** Text exposition for /metrics. */
  render(): Promise<{ contentType: string; body: string }>;
}

interface MetricsSources {
  upstreams(): Array<{ name: string; state: string; restarts: number }>;
  sessions(): number;
  /** Upstream processes running now (every stdio server's, session-isolated ones included). */
  processes?(): number;
  /** The shared state store and whether it answers. */
  state?(): { store: string; up: boolean };
  /** A queued audit sink (PostgreSQL): whether it can store records, and how many wait. */
  audit?(): { available: boolean; pending: number };
}

const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30
];

/** Gauges and counters read from their sources at each scrape: upstreams, state, sessions, audit. */
function observeSources(registry: Registry, sources: MetricsSources): void {
  new Gauge({
    name: 'portcullis_upstream_up',
    help: 'Whether each upstream is connected (1) or not (0).',
    labelNames: ['server', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const u of sources.upstreams())
        this.set({ server: u.name, state: u.state }, u.state === 'ready' ? 1 : 0);
    }
  });
  new Counter({
    name: 'portcullis_upstream_restarts_total',
    help: 'Restarts of each upstream since the gateway started.',
    labelNames: ['server'] as const,
    registers: [registry],
    collect() {
      // The upstream keeps the count; the counter shows it as it is at the scrape.
      this.reset();
      for (const u of sources.upstreams()) this.inc({ server: u.name }, u.restarts);
    }
  });
  new Gauge({
    name: 'portcullis_state_up',
    help: 'Whether the state store answers (1) or not (0); memory always answers.',
    labelNames: ['store'] as const,
    registers: [registry],
    collect() {
      const s = sources.state?.() ?? { store: 'memory', up: true };
      this.reset();
      this.set({ store: s.store }, s.up ? 1 : 0);
    }
  });

  new Gauge({
    name: 'portcullis_upstream_processes',
    help: 'Upstream processes running now, bounded by limits.max_upstream_processes.',
    registers: [registry],
    collect() {
      this.set(sources.processes?.() ?? 0);
    }
  });
  new Gauge({
    name: 'portcullis_sessions',
    help: 'Open gateway sessions.',
    registers: [registry],
    collect() {
      this.set(sources.sessions());
    }
  });

  const audit = sources.audit;
  if (audit) {
    new Gauge({
      name: 'portcullis_audit_available',
      help: 'Whether the audit database can store records (1); while 0, calls are refused.',
      registers: [registry],
      collect() {
        this.set(audit().available ? 1 : 0);
      }
    });
    new Gauge({
      name: 'portcullis_audit_pending_records',
      help: 'Audit records queued for the database and not committed yet.',
      registers: [registry],
      collect() {
        this.set(audit().pending);
      }
    });
  }
}

/** The requests about prompts and resources the policy decides (src/core/forward.ts). */
const PRIMITIVE_EVENTS: ReadonlySet<string> = new Set([
  'prompts/get',
  'resources/read',
  'resources/subscribe',
  'completion/complete'
]);

export function createMetrics(sources: MetricsSources, options: { defaults?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaults !== false) collectDefaultMetrics({ register: registry });
  const calls = new Counter({
    name: 'portcullis_tool_calls_total',
    help: 'Tool calls by server, tool, decision and outcome.',
    labelNames: ['server', 'tool', 'decision', 'outcome'] as const,
    registers: [registry]
  });
  const denials = new Counter({
    name: 'portcullis_denials_total',
    help: 'Refused calls by server, tool and reason (error registry code).',
    labelNames: ['server', 'tool', 'reason'] as const,
    registers: [registry]
  });
  const primitives = new Counter({
    name: 'portcullis_prompt_resource_requests_total',
    help: 'Prompt and resource requests (get, read, subscribe, complete) by event, server, decision, outcome and reason (error registry code of a refusal).',
    labelNames: ['event', 'server', 'decision', 'outcome', 'reason'] as const,
    registers: [registry]
  });
  const approvals = new Counter({
    name: 'portcullis_approvals_total',
    help: 'Calls that needed approval, by result.',
    labelNames: ['result'] as const,
    registers: [registry]
  });
  const authFailures = new Counter({
    name: 'portcullis_auth_failures_total',
    help: 'Failed authentications by reason.',
    labelNames: ['reason'] as const,
    registers: [registry]
  });
  const rateLimited = new Counter({
    name: 'portcullis_rate_limited_total',
    help: 'Requests refused by a rate limit.',
    registers: [registry]
  });
  const overhead = new Histogram({
    name: 'portcullis_gateway_overhead_seconds',
    help: "Time a call spends in the gateway itself: total minus the upstream's share and any wait for approval.",
    buckets: LATENCY_BUCKETS,
    registers: [registry]
  });
  const approvalWait = new Histogram({
    name: 'portcullis_approval_wait_seconds',
    help: 'Time a call held for approval waited for people to decide (or for the timeout).',
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [registry]
  });
  const upstreamLatency = new Histogram({
    name: 'portcullis_upstream_latency_seconds',
    help: 'Time upstream servers take to answer a call.',
    labelNames: ['server'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry]
  });
  const reloads = new Counter({
    name: 'portcullis_policy_reloads_total',
    help: 'Policy reloads by outcome.',
    labelNames: ['outcome'] as const,
    registers: [registry]
  });
  observeSources(registry, sources);

  return {
    registry,
    record(e) {
      if (e.event === 'tools/call') {
        // A call that failed (a fault) before the policy decided has no decision; outcome says
        // whether it was refused, which is what the error registry's kind of its code says.
        const decision = e.decision ?? 'none';
        const server = e.server ?? '';
        const tool = e.tool ?? '';
        calls.inc({ server, tool, decision, outcome: e.outcome ?? 'ok' });
        if (e.outcome === 'denied') denials.inc({ server, tool, reason: e.code ?? 'unknown' });
        if (e.code === 'rate_limited') rateLimited.inc();
        if (decision === 'approval') approvals.inc({ result: e.outcome === 'ok' ? 'approved' : 'refused' });
        // A person deciding is not the gateway being slow: the wait has its own histogram.
        if (e.approval_ms !== undefined) approvalWait.observe(e.approval_ms / 1000);
        if (e.latency_ms !== undefined)
          overhead.observe(Math.max(0, e.latency_ms - (e.upstream_ms ?? 0) - (e.approval_ms ?? 0)) / 1000);
        if (e.upstream_ms !== undefined) upstreamLatency.observe({ server }, e.upstream_ms / 1000);
      } else if (PRIMITIVE_EVENTS.has(e.event)) {
        primitives.inc({
          event: e.event,
          server: e.server ?? '',
          decision: e.decision ?? 'none',
          outcome: e.outcome ?? 'ok',
          reason: e.outcome === 'denied' ? (e.code ?? 'unknown') : ''
        });
      } else if (e.event === 'auth/failure') {
        // A credential that could not be checked (a fault: shared state unreachable) is not a
        // failed authentication.
        if (e.code === 'rate_limited') rateLimited.inc();
        else if (e.outcome !== 'error')
          authFailures.inc({ reason: (e.reason ?? 'unknown').replace(/;.*$/, '') });
      } else if (e.event === 'config/reload') {
        reloads.inc({ outcome: e.outcome ?? 'ok' });
      }
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    }
  };
}
