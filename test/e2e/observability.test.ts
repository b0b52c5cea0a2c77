/**
 * /metrics scraped from a live gateway: it takes its own credential, its counters move with
 * allowed and denied calls, approvals required, and authentication failures, the wait for an
 * approval stays out of the overhead, and every name follows Prometheus conventions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  ANALYST_TOKEN,
  NODE,
  RECORDS,
  connect,
  startGateway,
  tokensYaml,
  tryCall,
  type TestGateway
} from '../helpers.js';

const METRICS_TOKEN = 'metrics-scrape-token-0123456789';
let gw: TestGateway;

beforeAll(async () => {
  gw = await startGateway(`
servers:
  records: { command: ${NODE}, args: ["${RECORDS}"] }
auth:${tokensYaml}
metrics: { token: ${METRICS_TOKEN} }
approvals: { timeout_s: 1 }
rules:
  - { tool: list_records, allowed_roles: [analyst, admin] }
  - { tool: delete_record, allowed_roles: [admin], require_approval: true }
`);
});
afterAll(() => gw?.close());

async function scrape(token: string | undefined): Promise<{ status: number; text: string }> {
  const res = await fetch(`${gw.url}/metrics`, {
    headers: token ? { Authorization: `Bearer ${token}` } : {}
  });
  return { status: res.status, text: await res.text() };
}

function value(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    const series = line.slice(0, cut);
    const v = line.slice(cut + 1);
    if (series !== name && !series.startsWith(`${name}{`)) continue;
    if (want.every((w) => series.includes(w))) total += Number(v);
  }
  return total;
}

describe('/metrics', () => {
  it('refuses scrapes without its credential; a gateway token without an admin role is not enough', async () => {
    expect((await scrape(undefined)).status).toBe(401);
    expect((await scrape('not-the-metrics-token-000')).status).toBe(401);
    expect((await scrape(ANALYST_TOKEN)).status).toBe(401);
    expect((await scrape(METRICS_TOKEN)).status).toBe(200);
    expect((await scrape(ADMIN_TOKEN)).status).toBe(200);
  });

  it('shows the counters moving for allowed, denied and approval-required calls', async () => {
    const before = (await scrape(METRICS_TOKEN)).text;
    const analyst = await connect(gw.mcp, ANALYST_TOKEN);
    const admin = await connect(gw.mcp, ADMIN_TOKEN);
    await tryCall(analyst, 'records__list_records', {});
    await tryCall(analyst, 'records__list_records', {});
    await tryCall(analyst, 'records__delete_record', { id: 'r-1001' });
    const beforeHeld = (await scrape(METRICS_TOKEN)).text;
    await tryCall(admin, 'records__delete_record', { id: 'r-1001' });
    const afterHeld = (await scrape(METRICS_TOKEN)).text;
    await fetch(gw.mcp, {
      method: 'POST',
      headers: { Authorization: 'Bearer wrong-token-0123456789' },
      body: '{}'
    });
    await analyst.close();
    await admin.close();
    const after = (await scrape(METRICS_TOKEN)).text;
    const delta = (name: string, labels: Record<string, string> = {}) =>
      value(after, name, labels) - value(before, name, labels);
    expect(
      delta('portcullis_tool_calls_total', { tool: 'list_records', decision: 'allow', outcome: 'ok' })
    ).toBe(2);
    expect(delta('portcullis_denials_total', { reason: 'role_not_allowed' })).toBe(1);
    expect(delta('portcullis_denials_total', { reason: 'approval_timeout' })).toBe(1);
    expect(delta('portcullis_approvals_total', { result: 'refused' })).toBe(1);
    expect(delta('portcullis_auth_failures_total')).toBeGreaterThanOrEqual(1);
    expect(delta('portcullis_upstream_latency_seconds_count', { server: 'records' })).toBe(2);
    expect(delta('portcullis_gateway_overhead_seconds_count')).toBe(4);
    // The held call waited out its 1 s approval timeout: that wait is in its own histogram, and the
    // overhead the call added is less than it.
    expect(delta('portcullis_approval_wait_seconds_count')).toBe(1);
    const held = (name: string) => value(afterHeld, name) - value(beforeHeld, name);
    const waited = held('portcullis_approval_wait_seconds_sum');
    expect(waited).toBeGreaterThanOrEqual(0.9);
    expect(held('portcullis_gateway_overhead_seconds_count')).toBe(1);
    expect(held('portcullis_gateway_overhead_seconds_sum')).toBeLessThan(waited);
    expect(
      delta('portcullis_denials_total', {
        server: 'records',
        tool: 'delete_record',
        reason: 'role_not_allowed'
      })
    ).toBe(1);
    expect(value(after, 'portcullis_upstream_up', { server: 'records', state: 'ready' })).toBe(1);
    expect(after).toContain('portcullis_sessions');
  });

  it('names every metric by Prometheus conventions', async () => {
    const { text } = await scrape(METRICS_TOKEN);
    const types = new Map<string, string>();
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1]!, m[2]!);
    expect(types.size).toBeGreaterThan(20);
    const wrong: string[] = [];
    for (const [name, type] of types) {
      // snake_case, and one of three namespaces: the gateway's own and Node's standard ones.
      if (!/^[a-z][a-z0-9]*(_[a-z0-9]+)+$/.test(name)) wrong.push(`${name}: not snake_case`);
      if (!/^(portcullis|process|nodejs)_/.test(name)) wrong.push(`${name}: unknown namespace`);
      if (/_(process|nodejs)_/.test(name)) wrong.push(`${name}: prefixed twice`);
      if (type === 'counter' && !name.endsWith('_total')) wrong.push(`${name}: a counter without _total`);
      // Durations in seconds, sizes in bytes: the unit is the last word (a counter's before _total).
      const base = name.replace(/_total$/, '');
      if (/(latency|duration|overhead|wait|lag|_time|cpu)/.test(base) && !base.endsWith('_seconds'))
        wrong.push(`${name}: a duration not in _seconds`);
      if (/(memory|heap|size)/.test(base) && !base.endsWith('_bytes') && !/_(mb|kb)$/.test(base))
        wrong.push(`${name}: a size not in _bytes`);
      if (type === 'histogram' && !/_(seconds|bytes)$/.test(name))
        wrong.push(`${name}: a histogram without unit`);
    }
    expect(wrong).toEqual([]);
    for (const name of [
      'process_cpu_user_seconds_total',
      'nodejs_eventloop_lag_seconds',
      'portcullis_tool_calls_total',
      'portcullis_denials_total',
      'portcullis_gateway_overhead_seconds',
      'portcullis_approval_wait_seconds',
      'portcullis_upstream_restarts_total'
    ])
      expect(types.has(name), name).toBe(true);
  });
});
