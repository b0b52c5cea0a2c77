/**
 * Budgets that survive a new session, through running gateways over HTTP: a forbidden sequence
 * begun in one session is refused in another session of the same identity (a new
 * `Mcp-Session-Id`, or a 2026-era request under the same credential) with `after.scope:
 * identity`, and still allowed under the default session scope; `max_calls` per identity admits
 * exactly its count under 50 concurrent calls from 5 sessions; another identity is unaffected.
 * Once on one gateway with memory state, once on two replicas sharing a real redis-server.
 */
import type { Client } from '@modelcontextprotocol/client';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, NODE, RECORDS, connect, startGateway, tryCall, type TestGateway } from '../helpers.js';
import { startRedis, type TestRedis } from '../support/redis.js';

const BOB = 'bob-analyst-token-0123456789';
const CAROL = 'carol-analyst-token-0123456789';
const ALICE = 'alice-admin-token-0123456789';
const DENIED = -32051;
const CALL_LIMIT = -32054;
const RISK_BUDGET = -32060;
const CAP = 7;

const config = (state: string) => `
servers:
  records: { command: ${NODE}, args: ["${RECORDS}"] }
  faulty: { command: ${NODE}, args: ["${join(FIXTURES, 'faulty-server.mjs')}"] }
scanning: { descriptions: { enabled: false } }
auth:
  tokens:
    - { id: bob, identity: bob, roles: [analyst], token: ${BOB} }
    - { id: carol, identity: carol, roles: [analyst], token: ${CAROL} }
    - { id: alice, identity: alice, roles: [admin], token: ${ALICE} }
${state}
policy:
  risk: { budget: 10, scope: identity }
rules:
  - { tool: "*", allowed_roles: [analyst, admin] }
  # Read a record, then echo it out: refused in every session of the identity.
  - id: no-leak
    server: faulty
    tool: echo
    deny: true
    after: { tools: ["records__get_record"], scope: identity }
  # The same shape with the default scope: refused in the listing session only.
  - { id: no-pid-after-list, server: faulty, tool: pid, deny: true, after: { tools: ["records__list_records"] } }
  - { id: risky, server: records, tool: delete_record, risk: 4 }
  - { id: hourly, server: records, tool: list_records, max_calls: { count: ${CAP}, per: identity, within: 1h } }
`;

/** Outcomes by JSON-RPC code. */
const tally = (results: Array<{ ok: boolean; code?: number }>) =>
  results.reduce<Record<string, number>>((acc, r) => {
    const key = r.ok ? 'ok' : String(r.code);
    acc[key] = (acc[key] ?? 0) + 1;
    return acc;
  }, {});

const code = async (client: Client, tool: string, args: Record<string, unknown> = {}) => {
  const r = await tryCall(client, tool, args);
  return r.ok ? 'ok' : r.code;
};

interface Setup {
  name: string;
  start(): Promise<TestGateway[]>;
  stop?(): Promise<void>;
}

let redis: TestRedis | undefined;
const setups: Setup[] = [
  { name: 'one gateway, memory state', start: async () => [await startGateway(config(''))] },
  {
    name: 'two replicas sharing one Redis',
    async start() {
      redis = await startRedis();
      const state = `state: { store: redis, url: ${redis.url}, prefix: "ident:", timeout_ms: 2000 }`;
      return Promise.all([startGateway(config(state)), startGateway(config(state))]);
    },
    stop: async () => redis?.stop()
  }
];

describe.each(setups)('$name', (setup) => {
  let gws: TestGateway[];
  const clients: Client[] = [];
  /** A client on replica `i` (round the replicas there are), in the given protocol era. */
  const open = async (token: string, i: number, era: 'legacy' | 'auto' = 'legacy') => {
    const client = await connect(gws[i % gws.length]!.mcp, token, era);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    gws = await setup.start();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await Promise.all(gws.map((g) => g.close()));
    await setup.stop?.();
  });

  it('scope: identity refuses a sequence begun in another session, in both eras; another identity is unaffected', async () => {
    const first = await open(BOB, 0);
    const second = await open(BOB, 1);
    expect(await code(second, 'faulty__echo', { text: 'before' })).toBe('ok');
    expect(await code(first, 'records__get_record', { id: 'r-1001' })).toBe('ok');
    // A session that was open already, a new 2025-era session, and a 2026-era request: all refused.
    expect(await code(second, 'faulty__echo', { text: 'after' })).toBe(DENIED);
    expect(await code(await open(BOB, 1), 'faulty__echo', { text: 'new session' })).toBe(DENIED);
    expect(await code(await open(BOB, 0, 'auto'), 'faulty__echo', { text: '2026 era' })).toBe(DENIED);
    expect(await code(await open(BOB, 1, 'auto'), 'faulty__echo', { text: '2026 era' })).toBe(DENIED);
    // Another identity never read a record.
    expect(await code(await open(ALICE, 1), 'faulty__echo', { text: 'alice' })).toBe('ok');
    const audit = gws.flatMap((g) => g.audit());
    expect(audit.filter((r) => r.rules?.includes('no-leak') && r.decision === 'deny').length).toBe(4);
  });

  it('the default scope is the session: the same sequence is refused in its own session only', async () => {
    const lister = await open(CAROL, 0);
    const other = await open(CAROL, 1);
    expect(await code(lister, 'records__list_records')).toBe('ok');
    expect(await code(lister, 'faulty__pid')).toBe(DENIED);
    expect(await code(other, 'faulty__pid')).toBe('ok');
    expect(await code(await open(CAROL, 0, 'auto'), 'faulty__pid')).toBe('ok');
  });

  it('max_calls per identity holds exactly under 50 concurrent calls from 5 sessions; another identity is unaffected', async () => {
    const sessions = await Promise.all(Array.from({ length: 5 }, (_, i) => open(ALICE, i)));
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => tryCall(sessions[i % 5]!, 'records__list_records', {}))
    );
    expect(tally(results)).toEqual({ ok: CAP, [String(CALL_LIMIT)]: 50 - CAP });
    // A new session, in either era, finds the cap spent.
    expect(await code(await open(ALICE, 1), 'records__list_records')).toBe(CALL_LIMIT);
    expect(await code(await open(ALICE, 0, 'auto'), 'records__list_records')).toBe(CALL_LIMIT);
    // Bob listed nothing yet (carol listed once in her own budget): his cap is whole.
    const bob = await open(BOB, 0);
    const own = await Promise.all(
      Array.from({ length: CAP }, () => tryCall(bob, 'records__list_records', {}))
    );
    expect(tally(own)).toEqual({ ok: CAP });
    expect(await code(bob, 'records__list_records')).toBe(CALL_LIMIT);
  });

  it('policy.risk.scope: identity spends one risk budget across sessions and eras; another identity has its own', async () => {
    const first = await open(CAROL, 0);
    expect(await code(first, 'records__delete_record', { id: 'r-1005' })).toBe('ok');
    expect(await code(await open(CAROL, 1), 'records__delete_record', { id: 'r-1006' })).toBe('ok');
    // 8 of 10 spent in two sessions: a third session, in either era, cannot add 4 more.
    expect(await code(await open(CAROL, 0), 'records__delete_record', { id: 'r-1007' })).toBe(RISK_BUDGET);
    expect(await code(await open(CAROL, 1, 'auto'), 'records__delete_record', { id: 'r-1007' })).toBe(
      RISK_BUDGET
    );
    expect(await code(await open(BOB, 1), 'records__delete_record', { id: 'r-1004' })).toBe('ok');
    // The audit shows the identity's risk after each admitted call.
    const risks = gws
      .flatMap((g) => g.audit())
      .filter((r) => r.identity === 'carol' && r.name === 'records__delete_record' && r.outcome === 'ok')
      .map((r) => r.session_risk)
      .sort();
    expect(risks).toEqual([4, 8]);
  });
});
