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
      'portcullis_denials_total{reason="policy_denied"} 1'
    ]);
    expect(await samples(m, 'portcullis_tool_calls_total')).toEqual([
      'portcullis_tool_calls_total{server="s",tool="t",decision="none",outcome="error"} 1',
      'portcullis_tool_calls_total{server="s",tool="t",decision="deny",outcome="denied"} 1'
    ]);
  });
});
