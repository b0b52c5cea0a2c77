import { describe, expect, it } from 'vitest';
import { createMetrics } from './index.js';

const metrics = () => createMetrics({ upstreams: () => [], sessions: () => 0 }, { defaults: false });
const samples = async (m: ReturnType<typeof metrics>, name: string) =>
  (await m.render()).body.split('\n').filter((l) => l.startsWith(name));

describe('metrics from audit records', () => {
  it('counts a refused authentication as a failure, and one that met an outage as none', async () => {
    const m = metrics();
    m.record({
      event: 'auth/failure',
      outcome: 'denied',
      decision: 'deny',
      code: 'unauthenticated',
      reason: 'unknown token'
    });
    m.record({
      event: 'auth/failure',
      outcome: 'error',
      code: 'state_unavailable',
      reason: 'revocations cannot be checked: shared state unreachable'
    });
    expect(await samples(m, 'portcullis_auth_failures_total')).toEqual([
      'portcullis_auth_failures_total{reason="unknown token"} 1'
    ]);
  });

  it('counts a call stopped by a fault as an error, never as a denial', async () => {
    const m = metrics();
    m.record({ event: 'tools/call', server: 's', tool: 't', outcome: 'error', code: 'state_unavailable' });
    m.record({
      event: 'tools/call',
      server: 's',
      tool: 't',
      decision: 'deny',
      outcome: 'denied',
      code: 'policy_denied'
    });
    expect(await samples(m, 'portcullis_denials_total')).toEqual([
      'portcullis_denials_total{server="s",tool="t",reason="policy_denied"} 1'
    ]);
    expect(await samples(m, 'portcullis_tool_calls_total')).toEqual([
      'portcullis_tool_calls_total{server="s",tool="t",decision="none",outcome="error"} 1',
      'portcullis_tool_calls_total{server="s",tool="t",decision="deny",outcome="denied"} 1'
    ]);
  });

  it('labels a denial with its server and tool, a scope denial too', async () => {
    const m = metrics();
    m.record({
      event: 'tools/call',
      server: 'crm',
      tool: 'delete',
      decision: 'deny',
      outcome: 'denied',
      code: 'insufficient_scope'
    });
    expect(await samples(m, 'portcullis_denials_total')).toEqual([
      'portcullis_denials_total{server="crm",tool="delete",reason="insufficient_scope"} 1'
    ]);
  });

  it('keeps the wait for an approval out of the overhead, in its own histogram', async () => {
    const m = metrics();
    m.record({
      event: 'tools/call',
      server: 's',
      tool: 't',
      decision: 'approval',
      outcome: 'ok',
      latency_ms: 30_012,
      upstream_ms: 10,
      approval_ms: 30_000
    });
    expect(await samples(m, 'portcullis_gateway_overhead_seconds_sum')).toEqual([
      'portcullis_gateway_overhead_seconds_sum 0.002'
    ]);
    expect(await samples(m, 'portcullis_approval_wait_seconds_sum')).toEqual([
      'portcullis_approval_wait_seconds_sum 30'
    ]);
    expect(await samples(m, 'portcullis_approval_wait_seconds_count')).toEqual([
      'portcullis_approval_wait_seconds_count 1'
    ]);
  });

  it('shows the restarts of each upstream as a counter', async () => {
    const m = createMetrics(
      { upstreams: () => [{ name: 'a', state: 'ready', restarts: 3 }], sessions: () => 0 },
      { defaults: false }
    );
    expect(await samples(m, 'portcullis_upstream_restarts_total')).toEqual([
      'portcullis_upstream_restarts_total{server="a"} 3'
    ]);
    expect((await m.render()).body).toContain('# TYPE portcullis_upstream_restarts_total counter');
  });

  it("gives Node's default metrics their standard names", async () => {
    const m = createMetrics({ upstreams: () => [], sessions: () => 0 });
    const body = (await m.render()).body;
    expect(body).toMatch(/^process_cpu_user_seconds_total /m);
    expect(body).toMatch(/^nodejs_heap_size_total_bytes /m);
    expect(body).not.toContain('portcullis_process_');
  });
});
