/**
 * Opening the shared state a config names, against a real redis-server: memory or Redis; a Redis
 * that does not answer at start is a store that refuses, never one that admits; and the per-replica
 * fallback is used only when asked for, only while Redis is away, and says when it switches.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { capture } from '../../test/support/approval.js';
import { freePort } from '../../test/helpers.js';
import { startRedis, type TestRedis } from '../../test/support/redis.js';
import { needTool } from '../../test/support/tools.js';
import type { Identity } from '../auth/index.js';
import type { StateConfig } from '../config/types.js';
import { createSessionStore } from '../core/session.js';
import { GatewayError } from '../errors.js';
import type { SessionCounter } from '../policy/index.js';
import type { SharedState } from './index.js';
import { openSharedState } from './open.js';

const withRedis = needTool('redis-server').describe;

const NOON = Date.UTC(2026, 10, 25, 12);
const alice: Identity = { id: 'alice', roles: [], method: 'token' };
const cap = (max: number): SessionCounter => ({ kind: 'session', key: 'cap', max });
let redis: TestRedis;
let prefixes = 0;
const opened: SharedState[] = [];

const config = (over: Partial<StateConfig> = {}): StateConfig => ({
  store: 'redis',
  url: redis.url,
  prefix: `o${++prefixes}:`,
  timeout_ms: 300,
  session_ttl_ms: 60_000,
  on_unavailable: 'deny',
  ...over
});

const outcome = async (work: () => unknown) => {
  try {
    await work();
    return 'ok';
  } catch (err) {
    return err instanceof GatewayError ? err.code : `unexpected: ${String(err)}`;
  }
};

async function open(c: StateConfig, log = capture().log): Promise<SharedState> {
  const state = await openSharedState(c, log);
  opened.push(state);
  return state;
}

beforeAll(async () => {
  redis = await startRedis();
}, 30_000);

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await redis?.stop();
});

it('memory: this process only, without Redis', async () => {
  const { log, lines } = capture();
  const state = await open({ ...config(), store: 'memory', url: 'redis://127.0.0.1:1' }, log);
  expect(state.kind).toBe('memory');
  expect(state.healthy()).toBe(true);
  expect(lines).toEqual([]);
});

withRedis('the Redis store', () => {
  it('connects, says so without the password, and shares budgets with another replica', async () => {
    const { log, lines } = capture();
    const url = redis.url.replace('redis://', 'redis://:hunter2@');
    const c = config({ url });
    const a = await open(c, log);
    const b = await open(c);
    expect(a.kind).toBe('redis');
    expect(a.healthy()).toBe(true);
    expect(lines.find((l) => l.msg === 'shared state connected')).toMatchObject({
      component: 'state',
      url: `redis://:***@127.0.0.1:${redis.port}`
    });
    expect(JSON.stringify(lines)).not.toContain('hunter2');
    expect(lines.filter((l) => l.level === 50)).toEqual([]);
    const sessions = createSessionStore();
    expect(await outcome(() => a.consume(sessions.open(alice, 'http', 's'), [cap(1)], 0, NOON, {}))).toBe(
      'ok'
    );
    expect(await outcome(() => b.consume(sessions.open(alice, 'http', 's'), [cap(1)], 0, NOON, {}))).toBe(
      'call_limit'
    );
    await Promise.all([a.close(), b.close()]);
  });

  it('unreachable at start: starts anyway, says so, and refuses what needs the store', async () => {
    const { log, lines } = capture();
    const state = await open(config({ url: `redis://127.0.0.1:${await freePort()}` }), log);
    expect(state.healthy()).toBe(false);
    expect(
      lines.some(
        (l) =>
          l.level === 50 && l.msg === 'shared state unreachable at start; calls are refused until it answers'
      )
    ).toBe(true);
    const s = createSessionStore().open(alice, 'http', 's');
    expect(await outcome(() => state.consume(s, [cap(5)], 0, NOON, {}))).toBe('state_unavailable');
    expect(await outcome(() => state.sync(s, false))).toBe('state_unavailable');
  });
});

withRedis('on_unavailable: local', () => {
  it('while Redis answers, its budgets hold and its refusals stand; while away, this replica keeps them; each switch is said once', async () => {
    const { log, lines } = capture();
    const c = config({ on_unavailable: 'local' });
    const state = await open(c, log);
    const other = await open(config({ prefix: c.prefix }));
    const sessions = createSessionStore();
    const s = sessions.open(alice, 'http', 's');
    // Shared while Redis answers: the other replica's call counts, and a spent cap is a refusal,
    // not a reason to ask the local store.
    expect(await outcome(() => other.consume(sessions.open(alice, 'http', 's'), [cap(2)], 0, NOON, {}))).toBe(
      'ok'
    );
    expect(await outcome(() => state.consume(s, [cap(2)], 0, NOON, {}))).toBe('ok');
    expect(await outcome(() => state.consume(s, [cap(2)], 0, NOON, {}))).toBe('call_limit');
    expect(await state.addRisk(s, 2, NOON, {})).toBe(2);
    await other.addRisk(sessions.open(alice, 'http', 's'), 1, NOON, {});
    await state.sync(s, false);
    expect(s.risk).toBe(3);
    expect(await state.admitRequest('token:alice', 1, 60_000, NOON)).toBe(true);
    expect(await state.admitRequest('token:alice', 1, 60_000, NOON)).toBe(false);
    const switched = () =>
      lines.filter((l) => l.msg === 'shared state unreachable: limits now hold per replica only');
    const back = () => lines.filter((l) => l.msg === 'shared state back: limits hold across replicas again');
    expect(switched()).toEqual([]);

    await redis.stop();
    try {
      // Still "healthy": revocations known before the outage still hold.
      expect(state.healthy()).toBe(true);
      const t = sessions.open(alice, 'http', 't');
      // The sync has nothing to bring; the counts are this replica's own.
      await state.sync(t, true);
      const local = [];
      for (let i = 0; i < 3; i++) local.push(await outcome(() => state.consume(t, [cap(2)], 0, NOON, {})));
      expect(local).toEqual(['ok', 'ok', 'call_limit']);
      expect(await state.addRisk(t, 4, NOON, {})).toBe(4);
      await state.record(t, { server: 'v', tool: 'read', at: NOON });
      expect(t.history).toEqual([{ server: 'v', tool: 'read', at: NOON }]);
      expect(t.shared.history.at(-1)).toEqual({ server: 'v', tool: 'read', at: NOON });
      expect(await state.admitRequest('token:alice', 1, 60_000, NOON)).toBe(true);
      expect(await state.admitRequest('token:alice', 1, 60_000, NOON)).toBe(false);
      expect(switched()).toHaveLength(1);
      expect(switched()[0]).toMatchObject({ level: 50, err: expect.stringContaining('shared state') });
    } finally {
      await redis.start();
    }
    await expect
      .poll(
        async () => {
          await state.sync(sessions.open(alice, 'http', 'probe'), false);
          return back().length;
        },
        { timeout: 10_000 }
      )
      .toBe(1);
    expect(await outcome(() => state.consume(sessions.open(alice, 'http', 'u'), [cap(1)], 0, NOON, {}))).toBe(
      'ok'
    );
    expect(back()[0]!.level).toBe(40);
    // Back on the shared store: the session's cap is in Redis, where the other replica sees it.
    expect(await outcome(() => other.consume(sessions.open(alice, 'http', 'u'), [cap(1)], 0, NOON, {}))).toBe(
      'call_limit'
    );
    await state.record(sessions.open(alice, 'http', 'u'), { server: 'v', tool: 'x', at: NOON });
    expect(back()).toHaveLength(1);
    expect(switched()).toHaveLength(1);
  }, 30_000);
});
