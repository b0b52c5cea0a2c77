/**
 * The Redis store against a real redis-server: several store instances stand for several
 * replicas. Budgets are exact under concurrency, decisions on held calls are atomic, revocations
 * reach every instance, and an unreachable Redis is a refusal, never an admission.
 */
import {
  createServer as createNetServer,
  connect as connectTcp,
  type AddressInfo,
  type Socket
} from 'node:net';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../../test/helpers.js';
import { needTool } from '../../test/support/tools.js';
import type { HeldCall } from '../approval/index.js';
import type { ServerPins } from '../pins/index.js';
import { createAuthenticator, type Identity } from '../auth/index.js';
import { createRequestAuthentication } from '../auth/request.js';
import { hashToken } from '../config/index.js';
import { HISTORY_LIMIT, createIdentityState, identityScopeKey, type Session } from '../core/session.js';
import { GatewayError } from '../errors.js';
import type { SessionCounter } from '../policy/index.js';
import { capture } from '../../test/support/approval.js';
import { startRedis, type TestRedis } from '../../test/support/redis.js';
import { ApprovalRefused } from './bus.js';
import { withLocalFallback } from './open.js';
import { createRedisState, type RedisState } from './redis.js';

const withRedis = needTool('redis-server').describe;

const log = pino({ level: 'silent' });
const NOON = Date.UTC(2026, 10, 25, 12);
let redis: TestRedis;
const open: RedisState[] = [];
let prefixes = 0;

/** `n` stores sharing one key prefix: `n` replicas. */
async function replicas(n: number, timeoutMs = 2000, logTo = log): Promise<RedisState[]> {
  const prefix = `t${++prefixes}:`;
  const out = Array.from({ length: n }, () =>
    createRedisState({ url: redis.url, prefix, timeoutMs, sessionTtlMs: 60_000, log: logTo })
  );
  open.push(...out);
  for (const s of out) expect(await s.ready(5000)).toBe(true);
  return out;
}

const alice: Identity = { id: 'alice', roles: ['analyst'], method: 'token', tokenId: 'tok-a' };
const session = (id: string, identity = alice): Session => ({
  id,
  identity,
  transport: 'http',
  createdAt: NOON,
  lastSeen: NOON,
  counts: new Map(),
  history: [],
  risk: 0,
  riskAt: NOON,
  shared: createIdentityState(identityScopeKey(identity), NOON)
});
const cap = (max: number): SessionCounter => ({ kind: 'session', key: 'cap', max });
const rate = (max: number, scope: SessionCounter['scope'] = 'identity'): SessionCounter => ({
  kind: 'rate',
  key: 'rl',
  max,
  window_ms: 60_000,
  scope
});

const outcome = async (work: () => unknown) => {
  try {
    await work();
    return 'ok';
  } catch (err) {
    return err instanceof GatewayError ? err.code : `unexpected: ${String(err)}`;
  }
};

/** Drop every subscriber connection but the one with id `keep` (a replica's mirror, then, resubscribes). */
async function dropSubscribers(admin: Redis, keep?: number): Promise<void> {
  const list = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
  for (const line of list.split('\n')) {
    const id = Number(/\bid=(\d+)/.exec(line)?.[1]);
    if (Number.isInteger(id) && id !== keep) await admin.client('KILL', 'ID', id).catch(() => 0);
  }
}

const tally = (xs: string[]) =>
  xs.reduce<Record<string, number>>((acc, x) => ({ ...acc, [x]: (acc[x] ?? 0) + 1 }), {});

beforeAll(async () => {
  redis = await startRedis();
}, 30_000);

afterAll(async () => {
  await Promise.all(open.map((s) => s.close()));
  await redis?.stop();
});

withRedis('budgets across replicas', () => {
  it('a per-session cap: 60 concurrent takes from three replicas admit exactly the cap', async () => {
    const rs = await replicas(3);
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        outcome(() => rs[i % 3]!.consume(session('s1'), [cap(7)], 0, NOON, {}))
      )
    );
    expect(tally(results)).toEqual({ ok: 7, call_limit: 53 });
    // Another session has its own count; the first one's count is visible to every replica.
    expect(await outcome(() => rs[0]!.consume(session('s2'), [cap(7)], 0, NOON, {}))).toBe('ok');
    const seen = session('s1');
    await rs[2]!.sync(seen, false);
    expect(seen.counts.get('cap')).toBe(7);
  });

  it('a rate window: exact under concurrency, shared by an identity, reopened when the window passes', async () => {
    const rs = await replicas(2);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        outcome(() => rs[i % 2]!.consume(session(`s${i}`), [rate(9)], 0, NOON, {}))
      )
    );
    expect(tally(results)).toEqual({ ok: 9, rate_limited: 31 });
    const bob: Identity = { id: 'bob', roles: [], method: 'token' };
    expect(await outcome(() => rs[0]!.consume(session('b', bob), [rate(9)], 0, NOON, {}))).toBe('ok');
    expect(await outcome(() => rs[1]!.consume(session('x'), [rate(9)], 0, NOON + 59_999, {}))).toBe(
      'rate_limited'
    );
    expect(await outcome(() => rs[1]!.consume(session('x'), [rate(9)], 0, NOON + 60_000, {}))).toBe('ok');
  });

  it('checks every budget before taking any: a full cap leaves the rate window untouched', async () => {
    const [r] = await replicas(1);
    const s = session('s1');
    await r!.consume(s, [cap(1)], 0, NOON, {});
    expect(await outcome(() => r!.consume(s, [rate(1, 'session'), cap(1)], 0, NOON, {}))).toBe('call_limit');
    // The rate window was not spent by the refused call.
    expect(await outcome(() => r!.consume(s, [rate(1, 'session')], 0, NOON, {}))).toBe('ok');
  });

  it('the risk budget: concurrent risky calls from two replicas never overspend it; risk decays', async () => {
    const rs = await replicas(2);
    const settings = { budget: 10, halfLifeMs: 60_000 };
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        outcome(() => rs[i % 2]!.consume(session('r'), [], 3, NOON, settings))
      )
    );
    expect(tally(results)).toEqual({ ok: 3, risk_budget: 9 });
    const s = session('r');
    await rs[1]!.sync(s, false);
    expect(s.risk).toBe(9);
    // One half-life later the risk is 4.5: one more call of 3 fits, the next does not.
    expect(await outcome(() => rs[0]!.consume(session('r'), [], 3, NOON + 60_000, settings))).toBe('ok');
    expect(await outcome(() => rs[1]!.consume(session('r'), [], 3, NOON + 60_000, settings))).toBe(
      'risk_budget'
    );
    // Without a budget (observe mode), risk is only recorded.
    expect(
      await outcome(() => rs[1]!.consume(session('r'), [], 3, NOON + 60_000, { halfLifeMs: 60_000 }))
    ).toBe('ok');
    // Scanner findings add risk outside admission; reset_after returns it to zero.
    const t = session('t');
    expect(await rs[0]!.addRisk(t, 4, NOON, { resetAfterMs: 1000 })).toBe(4);
    expect(await rs[1]!.addRisk(t, 1, NOON + 500, { resetAfterMs: 1000 })).toBe(5);
    expect(await rs[1]!.addRisk(t, 1, NOON + 1500, { resetAfterMs: 1000 })).toBe(1);
  });

  it('history is shared and bounded', async () => {
    const rs = await replicas(2);
    const s = session('h');
    for (let i = 0; i < HISTORY_LIMIT + 5; i++) {
      await rs[i % 2]!.record(s, { server: 'files', tool: `t${i}`, at: NOON + i });
    }
    const seen = session('h');
    await rs[0]!.sync(seen, true);
    expect(seen.history).toHaveLength(HISTORY_LIMIT);
    expect(seen.history[0]!.tool).toBe('t5');
    expect(seen.history.at(-1)!.tool).toBe(`t${HISTORY_LIMIT + 4}`);
  });

  it('sessions published by one replica are found by another, and prefixes keep gateways apart', async () => {
    const [a, b] = await replicas(2);
    await a!.saveSession({
      id: 'sess-1',
      owner: 'token:alice',
      identity: alice,
      transport: 'http',
      createdAt: NOON
    });
    expect(await b!.findSession('sess-1')).toMatchObject({ owner: 'token:alice', identity: { id: 'alice' } });
    expect(await b!.findSession('nope')).toBeUndefined();
    const [other] = await replicas(1);
    expect(await other!.findSession('sess-1')).toBeUndefined();
  });
});

withRedis('budgets of an identity, across its sessions and replicas', () => {
  const identityCap = (max: number): SessionCounter => ({
    kind: 'identity',
    key: 'ic',
    max,
    window_ms: 3_600_000,
    scope: 'identity'
  });

  it('an identity cap: 50 concurrent takes from 5 sessions on two replicas admit exactly the cap', async () => {
    const rs = await replicas(2);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        outcome(() => rs[i % 2]!.consume(session(`s${i % 5}`), [identityCap(6)], 0, NOON, {}))
      )
    );
    expect(tally(results)).toEqual({ ok: 6, call_limit: 44 });
    // Another identity is unaffected; a new session of the first finds the cap spent.
    const bob: Identity = { id: 'bob', roles: [], method: 'token' };
    expect(await outcome(() => rs[0]!.consume(session('b', bob), [identityCap(6)], 0, NOON, {}))).toBe('ok');
    expect(await outcome(() => rs[1]!.consume(session('new'), [identityCap(6)], 0, NOON + 1, {}))).toBe(
      'call_limit'
    );
    // A sliding window: the calls leave it one window after they were made.
    expect(
      await outcome(() => rs[1]!.consume(session('new'), [identityCap(6)], 0, NOON + 3_600_000, {}))
    ).toBe('ok');
  });

  it('a refused identity cap takes nothing else: the session cap and rate window are left as they were', async () => {
    const [r] = await replicas(1);
    const s = session('s1');
    await r!.consume(s, [identityCap(1)], 0, NOON, {});
    expect(
      await outcome(() => r!.consume(s, [cap(1), rate(1, 'session'), identityCap(1)], 0, NOON, {}))
    ).toBe('call_limit');
    expect(await outcome(() => r!.consume(s, [cap(1), rate(1, 'session')], 0, NOON, {}))).toBe('ok');
  });

  it('risk per identity: one budget for every session on every replica; per session, one each', async () => {
    const rs = await replicas(2);
    const perIdentity = { budget: 10, perIdentity: true };
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        outcome(() => rs[i % 2]!.consume(session(`r${i}`), [], 3, NOON, perIdentity))
      )
    );
    expect(tally(results)).toEqual({ ok: 3, risk_budget: 9 });
    const seen = session('fresh');
    await rs[1]!.sync(seen, false, { history: false, risk: true });
    expect(seen.shared.risk).toBe(9);
    expect(seen.risk).toBe(0);
    // Findings added in one session count against the identity.
    expect(await rs[0]!.addRisk(session('other'), 1, NOON, perIdentity)).toBe(10);
    // Scoped per session, each session keeps its own score.
    const perSession = { budget: 10 };
    expect(await outcome(() => rs[0]!.consume(session('p1'), [], 8, NOON, perSession))).toBe('ok');
    expect(await outcome(() => rs[1]!.consume(session('p2'), [], 8, NOON, perSession))).toBe('ok');
  });

  it('history of the identity: recorded from one session, read from another on another replica', async () => {
    const rs = await replicas(2);
    await rs[0]!.record(session('a'), { server: 'vault', tool: 'read_secret', at: NOON }, true);
    await rs[0]!.record(session('a'), { server: 'vault', tool: 'list', at: NOON + 1 });
    const b = session('b');
    await rs[1]!.sync(b, true, { history: true, risk: false });
    expect(b.history).toEqual([]);
    expect(b.shared.history).toEqual([{ server: 'vault', tool: 'read_secret', at: NOON }]);
    // Another identity's sessions see none of it.
    const bob = session('c', { id: 'bob', roles: [], method: 'token' });
    await rs[1]!.sync(bob, true, { history: true, risk: false });
    expect(bob.shared.history).toEqual([]);
  });
});

withRedis('held calls across replicas', () => {
  const held = (id: string): HeldCall => ({
    id,
    status: 'pending',
    createdAt: new Date(NOON).toISOString(),
    expiresAt: new Date(NOON + 60_000).toISOString(),
    identity: 'bob',
    roles: ['analyst'],
    session: 's',
    server: 'records',
    tool: 'delete_record',
    name: 'records__delete_record',
    arguments: { id: 'r-1' },
    rules: [],
    reason: 'needs approval',
    risk: 0,
    policyVersion: 'v1',
    required: 2,
    approverRoles: ['admin'],
    decisions: []
  });
  const carol = { id: 'carol', roles: ['admin'] };
  const dave = { id: 'dave', roles: ['admin'] };

  it('decisions are checked in the store: no self-approval, approver roles, one decision each, enough approvers', async () => {
    const [a, b] = await replicas(2);
    const changes: HeldCall[] = [];
    a!.approvals.onChange((h) => changes.push(h));
    await a!.approvals.publish(held('apr_1'));
    const refused = async (work: Promise<unknown>) => {
      try {
        await work;
        return undefined;
      } catch (err) {
        return err instanceof ApprovalRefused ? err.status : -1;
      }
    };
    expect(await refused(b!.approvals.decide('apr_1', { id: 'bob', roles: ['admin'] }, 'approve'))).toBe(403);
    expect(await refused(b!.approvals.decide('apr_1', { id: 'eve', roles: ['analyst'] }, 'approve'))).toBe(
      403
    );
    expect(await refused(b!.approvals.decide('apr_404', carol, 'approve'))).toBe(404);
    const first = await b!.approvals.decide('apr_1', carol, 'approve', 'fine');
    expect(first).toMatchObject({
      status: 'pending',
      decisions: [{ by: 'carol', decision: 'approve', note: 'fine' }]
    });
    expect(await refused(a!.approvals.decide('apr_1', carol, 'approve'))).toBe(409);
    // Two approvers racing for the second approval: exactly one decides it.
    const race = await Promise.allSettled([
      a!.approvals.decide('apr_1', dave, 'approve'),
      b!.approvals.decide('apr_1', dave, 'approve')
    ]);
    expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const stored = (await a!.approvals.load()).find((h) => h.id === 'apr_1')!;
    expect(stored.status).toBe('approved');
    expect(stored.decisions.map((d) => d.by)).toEqual(['carol', 'dave']);
    // A timeout after the decision does not undo it.
    expect((await a!.approvals.settle('apr_1', 'expired'))!.status).toBe('approved');
    await expect.poll(() => changes.some((h) => h.id === 'apr_1' && h.status === 'approved')).toBe(true);
  });

  it('keeps the arguments exactly as sent through every decision, empty lists and objects included', async () => {
    const [a, b] = await replicas(2);
    const args = { ids: [], filter: {}, nested: { list: [[], [{}]], n: 1.5, s: 'x' } };
    await a!.approvals.publish({ ...held('apr_args'), arguments: args });
    const decided = await b!.approvals.decide('apr_args', carol, 'approve');
    expect(decided.arguments).toEqual(args);
    const settled = await a!.approvals.settle('apr_args', 'expired');
    expect(settled!.arguments).toEqual(args);
    const loaded = (await b!.approvals.load()).find((h) => h.id === 'apr_args')!;
    expect(loaded.arguments).toEqual(args);
    expect(JSON.stringify(loaded.arguments)).toBe(JSON.stringify(args));
  });
});

withRedis('authentication lockouts', () => {
  const lockout = { failures: 3, windowMs: 60_000, durationMs: 30_000 };

  it('failures counted on three replicas lock the source out on all of them, for the lockout only', async () => {
    const [a, b, c] = await replicas(3);
    const t = Date.now();
    await a!.recordAuthFailure('10.0.0.1', lockout, t);
    await b!.recordAuthFailure('10.0.0.1', lockout, t);
    // Two failures in all: nobody is locked out yet, here or anywhere.
    for (const r of [a, b, c]) expect(r!.lockedUntil('10.0.0.1', t)).toBeUndefined();
    // Two at the same millisecond from one replica count as two.
    await c!.recordAuthFailure('10.0.0.9', lockout, t);
    await c!.recordAuthFailure('10.0.0.9', lockout, t);
    expect(c!.lockedUntil('10.0.0.9', t)).toBeUndefined();
    await c!.recordAuthFailure('10.0.0.1', lockout, t);
    await expect
      .poll(() => [a, b, c].map((r) => r!.lockedUntil('10.0.0.1', Date.now())))
      .toEqual([t + 30_000, t + 30_000, t + 30_000]);
    // Another source is not affected, and the lock ends when its time is up.
    expect(a!.lockedUntil('10.0.0.2', Date.now())).toBeUndefined();
    expect(a!.lockedUntil('10.0.0.1', t + 30_001)).toBeUndefined();
  });

  it('keeps no more failures per source than the threshold, however many arrive', async () => {
    const state = createRedisState({
      url: redis.url,
      prefix: 'cap:',
      timeoutMs: 2000,
      sessionTtlMs: 60_000,
      log
    });
    open.push(state);
    expect(await state.ready(5000)).toBe(true);
    const t = Date.now();
    for (let i = 0; i < 25; i++) await state.recordAuthFailure('10.0.0.5', lockout, t + i);
    const raw = new Redis(redis.url);
    try {
      expect(await raw.zcard('cap:f:10.0.0.5')).toBe(lockout.failures);
      // The newest are the ones kept.
      expect(Number(await raw.zscore('cap:f:10.0.0.5', (await raw.zrange('cap:f:10.0.0.5', 0, 0))[0]!))).toBe(
        t + 22
      );
    } finally {
      raw.disconnect();
    }
  });

  it('a request rate per identity: 30 concurrent requests on three replicas admit exactly the limit', async () => {
    const rs = await replicas(3);
    const t = Date.now();
    const admitted = await Promise.all(
      Array.from({ length: 30 }, (_, i) => rs[i % 3]!.admitRequest('token:alice', 7, 60_000, t))
    );
    expect(admitted.filter(Boolean)).toHaveLength(7);
    // Another identity has its own window; a window that has passed opens again.
    expect(await rs[0]!.admitRequest('token:bob', 7, 60_000, t)).toBe(true);
    expect(await rs[1]!.admitRequest('token:carol', 1, 150, t)).toBe(true);
    expect(await rs[2]!.admitRequest('token:carol', 1, 150, t)).toBe(false);
    await new Promise((r) => setTimeout(r, 250));
    expect(await rs[0]!.admitRequest('token:carol', 1, 150, Date.now())).toBe(true);
  });

  it('a replica that starts after a lockout refuses the source: it reads the lockouts in force', async () => {
    const [a] = await replicas(1);
    const prefix = `t${prefixes}:`;
    const t = Date.now();
    for (let i = 0; i < lockout.failures; i++) await a!.recordAuthFailure('10.4.4.4', lockout, t);
    expect(a!.lockedUntil('10.4.4.4', t)).toBe(t + 30_000);
    // Every lock in force is read back; one that ended before the late replica starts is not.
    const raw = new Redis(redis.url);
    try {
      await raw.zadd(`${prefix}lockouts`, t - 1, '10.4.4.5', t + 20_000, '10.4.4.8');
    } finally {
      raw.disconnect();
    }
    // B was not listening when the lockout was announced.
    const b = createRedisState({ url: redis.url, prefix, timeoutMs: 2000, sessionTtlMs: 60_000, log });
    open.push(b);
    expect(await b.ready(5000)).toBe(true);
    expect(b.lockedUntil('10.4.4.4', Date.now())).toBe(t + 30_000);
    expect(b.lockedUntil('10.4.4.8', Date.now())).toBe(t + 20_000);
    expect(b.lockedUntil('10.4.4.5', t - 2)).toBeUndefined();
    expect(b.lockedUntil('10.4.4.6', Date.now())).toBeUndefined();
    // Its authentication refuses the source before looking at the credential, a valid one included.
    const token = 'late-replica-token-0123456789ab';
    const auth = createAuthenticator(
      {
        tokens: [{ id: 'tok_late', identity: 'lee', roles: ['analyst'], sha256: hashToken(token) }],
        scopes: { read: 'tools:read', call: 'tools:call' },
        lockout: { failures: 3, window_s: 60, duration_s: 30 }
      },
      {
        lockouts: {
          record: (source) => void b.recordAuthFailure(source, lockout, Date.now()),
          lockedUntil: (source) => b.lockedUntil(source, Date.now())
        }
      }
    );
    const authenticate = createRequestAuthentication({
      auth,
      config: {
        metrics: { enabled: false, roles: [] },
        admin: { enabled: false, identity: 'console', roles: [] }
      },
      audit: () => {}
    });
    expect(await authenticate(`Bearer ${token}`, '10.4.4.4')).toMatchObject({
      ok: false,
      code: 'locked_out'
    });
    expect(await authenticate(`Bearer ${token}`, '10.4.4.6')).toMatchObject({ ok: true });
  });

  it('a failure on a replica whose mirror missed a lockout learns it from the store', async () => {
    const [a] = await replicas(1);
    const prefix = `t${prefixes}:`;
    const t = Date.now();
    const until = t + 45_000;
    const raw = new Redis(redis.url);
    try {
      // Locked in the store, never announced: the mirror cannot know it.
      await raw.zadd(`${prefix}lockouts`, until, '10.5.5.5', t + 10, '10.5.5.6');
      expect(a!.lockedUntil('10.5.5.5', t)).toBeUndefined();
      await a!.recordAuthFailure('10.5.5.5', lockout, t);
      expect(a!.lockedUntil('10.5.5.5', t)).toBe(until);
      // A lock that has ended locks nothing; the failure is counted as any other.
      await a!.recordAuthFailure('10.5.5.6', lockout, t + 10);
      expect(a!.lockedUntil('10.5.5.6', t + 10)).toBeUndefined();
      expect(await raw.zcard(`${prefix}f:10.5.5.6`)).toBe(1);
    } finally {
      raw.disconnect();
    }
  });

  it('the lockouts are kept by when each ends, trimmed as they end, and live as long as the last', async () => {
    const [a] = await replicas(1);
    const prefix = `t${prefixes}:`;
    const t = Date.now();
    const once = { failures: 1, windowMs: 60_000, durationMs: 30_000 };
    const raw = new Redis(redis.url);
    try {
      await a!.recordAuthFailure('10.6.6.1', once, t);
      expect(await raw.zrange(`${prefix}lockouts`, 0, -1, 'WITHSCORES')).toEqual([
        '10.6.6.1',
        String(t + 30_000)
      ]);
      const ttl = await raw.pttl(`${prefix}lockouts`);
      expect(ttl).toBeGreaterThan(25_000);
      expect(ttl).toBeLessThanOrEqual(30_000);
      // A shorter lock does not shorten the life of a longer one.
      await a!.recordAuthFailure('10.6.6.2', { ...once, durationMs: 5_000 }, t);
      expect(await raw.pttl(`${prefix}lockouts`)).toBeGreaterThan(25_000);
      // A longer one lengthens it.
      await a!.recordAuthFailure('10.6.6.3', { ...once, durationMs: 90_000 }, t);
      expect(await raw.pttl(`${prefix}lockouts`)).toBeGreaterThan(85_000);
      // A lock at a time when another has ended drops the ended one.
      await a!.recordAuthFailure('10.6.6.4', once, t + 5_000);
      expect(await raw.zrange(`${prefix}lockouts`, 0, -1)).toEqual(['10.6.6.1', '10.6.6.4', '10.6.6.3']);
    } finally {
      raw.disconnect();
    }
  });

  it('forgets failures older than the window', async () => {
    const [a, b] = await replicas(2);
    const t = Date.now();
    await a!.recordAuthFailure('10.0.0.3', { ...lockout, windowMs: 1000 }, t - 5000);
    await a!.recordAuthFailure('10.0.0.3', { ...lockout, windowMs: 1000 }, t - 4000);
    await b!.recordAuthFailure('10.0.0.3', { ...lockout, windowMs: 1000 }, t);
    await new Promise((r) => setTimeout(r, 100));
    expect(a!.lockedUntil('10.0.0.3', t)).toBeUndefined();
    expect(b!.lockedUntil('10.0.0.3', t)).toBeUndefined();
  });
});

withRedis('revocations', () => {
  it('a revocation through one replica reaches every other', async () => {
    const [a, b, c] = await replicas(3);
    expect(b!.isRevoked('tok-x')).toBe(false);
    await a!.revoke('tok-x');
    await expect.poll(() => b!.isRevoked('tok-x') && c!.isRevoked('tok-x')).toBe(true);
    // A replica that starts later loads it.
    const [late] = await replicas(1);
    expect(late!.isRevoked('tok-x')).toBe(false); // another prefix: another gateway
  });
});

withRedis('revocations outlive the Redis data', () => {
  it('a Redis that comes back empty un-revokes nothing: replicas merge, write back, and a late replica learns it', async () => {
    const [a, b] = await replicas(2);
    await a!.revoke('tok-kept', new Date('2026-11-25T12:00:00Z'));
    await expect.poll(() => b!.isRevoked('tok-kept')).toBe(true);
    const admin = new Redis(redis.url);
    await admin.flushall();
    admin.disconnect();
    await redis.stop();
    await redis.start();
    await expect.poll(() => a!.healthy() && b!.healthy(), { timeout: 10_000 }).toBe(true);
    expect(a!.isRevoked('tok-kept')).toBe(true);
    expect(b!.isRevoked('tok-kept')).toBe(true);
    // Written back, with its first time, for replicas that never saw it.
    const store = new Redis(redis.url);
    const prefix = `t${prefixes}:`;
    await expect.poll(() => store.hget(`${prefix}revoked`, 'tok-kept')).toBe('2026-11-25T12:00:00.000Z');
    store.disconnect();
    const late = createRedisState({ url: redis.url, prefix, timeoutMs: 2000, sessionTtlMs: 60_000, log });
    open.push(late);
    expect(await late.ready(5000)).toBe(true);
    expect(late.isRevoked('tok-kept')).toBe(true);
    // Nothing else became revoked on the way.
    expect(late.isRevoked('tok-other')).toBe(false);
  }, 30_000);
});

withRedis('Redis unreachable', () => {
  it('refuses with state_unavailable instead of admitting; local fallback only when asked; recovers', async () => {
    const { log: watched, lines } = capture();
    const [r] = await replicas(1, 300, watched);
    const fallback = withLocalFallback((await replicas(1, 300))[0]!, log);
    const said = (msg: string) => lines.filter((l) => l.msg === msg).map((l) => l.level);
    expect(said('shared state connected')).toEqual([30]);
    await redis.stop();
    try {
      expect(await outcome(() => r!.consume(session('u'), [cap(5)], 0, NOON, {}))).toBe('state_unavailable');
      expect(await outcome(() => r!.sync(session('u'), true))).toBe('state_unavailable');
      expect(await outcome(() => r!.record(session('u'), { server: 's', tool: 't', at: NOON }))).toBe(
        'state_unavailable'
      );
      await expect.poll(() => r!.healthy()).toBe(false);
      // Asked-for fallback: this replica's own budget, still a budget.
      const s = session('f');
      const local = [];
      for (let i = 0; i < 4; i++) local.push(await outcome(() => fallback.consume(s, [cap(3)], 0, NOON, {})));
      expect(local).toEqual(['ok', 'ok', 'ok', 'call_limit']);
      // The request rate and failure counts are refused too, never admitted unseen; the asked-for
      // fallback keeps a request window of its own.
      expect(await outcome(() => r!.admitRequest('token:alice', 5, 60_000, NOON))).toBe('state_unavailable');
      expect(
        await outcome(() =>
          r!.recordAuthFailure('10.0.0.1', { failures: 3, windowMs: 60_000, durationMs: 60_000 }, NOON)
        )
      ).toBe('state_unavailable');
      const admitted = [];
      for (let i = 0; i < 3; i++) admitted.push(await fallback.admitRequest('token:f', 2, 60_000, NOON));
      expect(admitted).toEqual([true, true, false]);
      // The loss is said once, and so is the first failure to reconnect, however many follow.
      await expect.poll(() => said('shared state unreachable')).toEqual([40]);
      expect(said('shared state connection lost; calls that need it are refused until it is back')).toEqual([
        50
      ]);
    } finally {
      await redis.start();
    }
    await expect.poll(() => r!.healthy(), { timeout: 10_000 }).toBe(true);
    expect(said('shared state connected')).toEqual([30, 30]);
    expect(await outcome(() => r!.consume(session('u'), [cap(5)], 0, NOON, {}))).toBe('ok');
  }, 30_000);
});

withRedis('clocks', () => {
  it('a call stamped a little earlier than the window start (another replica, skew, a race) does not reopen the window', async () => {
    const rs = await replicas(2);
    expect(await outcome(() => rs[0]!.consume(session('c1'), [rate(1)], 0, NOON + 5, {}))).toBe('ok');
    expect(await outcome(() => rs[1]!.consume(session('c2'), [rate(1)], 0, NOON, {}))).toBe('rate_limited');
  });
});

withRedis('what the budget script keeps, and for how long', () => {
  const identityCap = (max: number, key = 'ic'): SessionCounter => ({
    kind: 'identity',
    key,
    max,
    window_ms: 1000,
    scope: 'identity'
  });
  const shortRate = (max: number, key = 'rl'): SessionCounter => ({
    kind: 'rate',
    key,
    max,
    window_ms: 1000,
    scope: 'session'
  });
  const refusal = async (work: () => unknown): Promise<GatewayError> => {
    try {
      await work();
    } catch (err) {
      if (err instanceof GatewayError) return err;
      throw err;
    }
    throw new Error('admitted');
  };
  const raw = () => {
    const client = new Redis(redis.url);
    open.push({ close: async () => client.disconnect() } as RedisState);
    return client;
  };

  it('a per-session cap refuses call N + 1 with the rule named; a new session of the identity starts its own', async () => {
    const [r] = await replicas(1);
    const s = session('s1');
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await outcome(() => r!.consume(s, [cap(3)], 0, NOON, {})));
    expect(results).toEqual(['ok', 'ok', 'ok', 'call_limit']);
    // The replica's own copy of the counts follows what it took.
    expect(s.counts.get('cap')).toBe(3);
    expect((await refusal(() => r!.consume(s, [cap(3)], 0, NOON, {}))).detail).toBe(
      'rule cap: max_calls_per_session 3 reached'
    );
    expect(await outcome(() => r!.consume(session('s2'), [cap(3)], 0, NOON, {}))).toBe('ok');
  });

  it('a refusal names the counter that refused, whichever kind and place it has', async () => {
    const [r] = await replicas(1);
    const s = session('s');
    await r!.consume(s, [{ kind: 'session', key: 'b', max: 1 }], 0, NOON, {});
    await r!.consume(s, [shortRate(1, 'y')], 0, NOON, {});
    await r!.consume(s, [identityCap(1, 'x')], 0, NOON, {});
    const all = [{ kind: 'session' as const, key: 'a', max: 5 }, shortRate(5, 'z')];
    expect(
      (await refusal(() => r!.consume(s, [...all, { kind: 'session', key: 'b', max: 1 }], 0, NOON, {})))
        .detail
    ).toBe('rule b: max_calls_per_session 1 reached');
    expect((await refusal(() => r!.consume(s, [...all, shortRate(1, 'y')], 0, NOON, {}))).detail).toBe(
      'rule y: rate limit 1 per 1000 ms (session) reached'
    );
    expect((await refusal(() => r!.consume(s, [...all, identityCap(1, 'x')], 0, NOON, {}))).detail).toBe(
      'rule x: max_calls 1 per identity within 1000 ms reached'
    );
    // None of the refused calls took anything.
    expect(s.counts.get('a')).toBeUndefined();
    expect(await outcome(() => r!.consume(s, [...all], 0, NOON, {}))).toBe('ok');
    expect(s.counts.get('a')).toBe(1);
  });

  it('several caps of one call are each counted', async () => {
    const [r] = await replicas(1);
    const s = session('s');
    const two = [
      { kind: 'session' as const, key: 'a', max: 2 },
      { kind: 'session' as const, key: 'b', max: 1 }
    ];
    expect(await outcome(() => r!.consume(s, two, 0, NOON, {}))).toBe('ok');
    const seen = session('s');
    await r!.sync(seen, false);
    expect(Object.fromEntries(seen.counts)).toEqual({ a: 1, b: 1 });
    expect(await outcome(() => r!.consume(s, [two[1]!], 0, NOON, {}))).toBe('call_limit');
    expect(await outcome(() => r!.consume(s, [two[0]!], 0, NOON, {}))).toBe('ok');
    expect(await outcome(() => r!.consume(s, [two[0]!], 0, NOON, {}))).toBe('call_limit');
  });

  it('two identity caps and two rate windows in one call are each taken', async () => {
    const [r] = await replicas(1);
    const s = session('s');
    const counters = [identityCap(1, 'p'), identityCap(2, 'q'), shortRate(1, 'm'), shortRate(2, 'n')];
    expect(await outcome(() => r!.consume(s, counters, 0, NOON, {}))).toBe('ok');
    expect(await outcome(() => r!.consume(session('t'), [identityCap(1, 'p')], 0, NOON, {}))).toBe(
      'call_limit'
    );
    expect(await outcome(() => r!.consume(s, [shortRate(1, 'm')], 0, NOON, {}))).toBe('rate_limited');
    expect(await outcome(() => r!.consume(session('t'), [identityCap(2, 'q')], 0, NOON, {}))).toBe('ok');
    expect(await outcome(() => r!.consume(session('t'), [identityCap(2, 'q')], 0, NOON, {}))).toBe(
      'call_limit'
    );
    expect(await outcome(() => r!.consume(s, [shortRate(2, 'n')], 0, NOON, {}))).toBe('ok');
    expect(await outcome(() => r!.consume(s, [shortRate(2, 'n')], 0, NOON, {}))).toBe('rate_limited');
  });

  it('an identity cap: a call leaves the sliding window exactly one window after it was made', async () => {
    const [r] = await replicas(1);
    expect(await outcome(() => r!.consume(session('a'), [identityCap(2)], 0, NOON, {}))).toBe('ok');
    expect(await outcome(() => r!.consume(session('b'), [identityCap(2)], 0, NOON + 500, {}))).toBe('ok');
    expect(await outcome(() => r!.consume(session('c'), [identityCap(2)], 0, NOON + 999, {}))).toBe(
      'call_limit'
    );
    expect(await outcome(() => r!.consume(session('c'), [identityCap(2)], 0, NOON + 1000, {}))).toBe('ok');
    expect(await outcome(() => r!.consume(session('d'), [identityCap(2)], 0, NOON + 1001, {}))).toBe(
      'call_limit'
    );
    expect(await outcome(() => r!.consume(session('d'), [identityCap(2)], 0, NOON + 1500, {}))).toBe('ok');
  });

  it('keys expire: the session after its TTL without a call, a rate window and a cap log with their window', async () => {
    const [r] = await replicas(1);
    const prefix = `t${prefixes}:`;
    const s = session('ttl');
    const now = Date.now();
    await r!.consume(s, [cap(5), shortRate(5), identityCap(5)], 2, now, { budget: 100 });
    await r!.addRisk(s, 1, now, { perIdentity: true });
    const client = raw();
    const ttl = async (key: string) => client.pttl(`${prefix}${key}`);
    expect(await ttl('s:ttl')).toBeGreaterThan(59_000);
    expect(await ttl('s:ttl')).toBeLessThanOrEqual(60_000);
    expect(await ttl(`id:${s.shared.key}`)).toBeGreaterThan(59_000);
    expect(await ttl(`r:rl|s:ttl`)).toBeGreaterThan(0);
    expect(await ttl(`r:rl|s:ttl`)).toBeLessThanOrEqual(1000);
    expect(await ttl(`ic:ic|${s.shared.key}`)).toBeGreaterThan(0);
    expect(await ttl(`ic:ic|${s.shared.key}`)).toBeLessThanOrEqual(1000);
    expect(await client.hget(`${prefix}s:ttl`, 'c:cap')).toBe('1');
    expect(Number(await client.hget(`${prefix}s:ttl`, 'risk'))).toBe(2);
  });

  it('a call without budgets takes nothing from the store, and needs nothing from it', async () => {
    const [r] = await replicas(1);
    const prefix = `t${prefixes}:`;
    await r!.consume(session('none'), [], 0, NOON, { budget: 1 });
    expect(await raw().exists(`${prefix}s:none`)).toBe(0);
  });

  it('the risk budget: reaching it exactly is allowed, going over is refused with the decayed risk', async () => {
    const [r] = await replicas(1);
    const settings = { budget: 10, halfLifeMs: 1000 };
    const s = session('r');
    expect(await outcome(() => r!.consume(s, [], 8, NOON, settings))).toBe('ok');
    expect(s.risk).toBe(8);
    expect(s.riskAt).toBe(NOON);
    expect((await refusal(() => r!.consume(s, [], 7, NOON + 1000, settings))).detail).toBe(
      'session risk would reach 11, over the budget 10'
    );
    expect(await outcome(() => r!.consume(s, [], 6, NOON + 1000, settings))).toBe('ok');
    expect(s.risk).toBe(10);
    expect(s.riskAt).toBe(NOON + 1000);
    const mine = session('i');
    expect(await outcome(() => r!.consume(mine, [], 4, NOON, { budget: 4, perIdentity: true }))).toBe('ok');
    expect(mine.shared.risk).toBe(4);
    expect(mine.shared.riskAt).toBe(NOON);
    expect(mine.risk).toBe(0);
    expect(
      (await refusal(() => r!.consume(session('j'), [], 1, NOON, { budget: 4, perIdentity: true }))).detail
    ).toBe('identity risk would reach 5, over the budget 4');
  });

  it('risk never grows with a clock that reads earlier, and resets exactly reset_after after the last risky call', async () => {
    const [r] = await replicas(1);
    const s = session('k');
    expect(await r!.addRisk(s, 8, NOON, { halfLifeMs: 1000 })).toBe(8);
    expect(s.riskAt).toBe(NOON);
    expect(await r!.addRisk(s, 0, NOON - 5000, { halfLifeMs: 1000 })).toBe(8);
    const t = session('reset');
    await r!.consume(t, [], 5, NOON, { resetAfterMs: 1000 });
    // A call without risk does not keep it alive, nor does it pass a budget it would not raise.
    expect(
      await outcome(() => r!.consume(t, [cap(9)], 0, NOON + 900, { budget: 1, resetAfterMs: 1000 }))
    ).toBe('ok');
    expect(await r!.addRisk(t, 0, NOON + 999, { resetAfterMs: 1000 })).toBe(5);
    expect(await r!.addRisk(session('reset2'), 5, NOON, { resetAfterMs: 1000 })).toBe(5);
    expect(await r!.addRisk(session('reset2'), 0, NOON + 1000, { resetAfterMs: 1000 })).toBe(0);
    // A half-life of zero means no decay.
    expect(await r!.addRisk(session('z'), 3, NOON, { halfLifeMs: 0 })).toBe(3);
    expect(await r!.addRisk(session('z'), 0, NOON + 1000, { halfLifeMs: 0 })).toBe(3);
  });

  it('sync reads only the counts, and the risk that was never set is zero as of now', async () => {
    const [r] = await replicas(1);
    const prefix = `t${prefixes}:`;
    await raw().hset(
      `${prefix}s:x`,
      'c:a',
      '2',
      'c:b',
      '5',
      'other',
      '9',
      'risk',
      '1.5',
      'risk_at',
      String(NOON)
    );
    const s = session('x');
    s.counts.set('stale', 4);
    await r!.sync(s, false);
    expect(Object.fromEntries(s.counts)).toEqual({ a: 2, b: 5 });
    expect(s.risk).toBe(1.5);
    expect(s.riskAt).toBe(NOON);
    const before = Date.now();
    const fresh = session('never');
    fresh.risk = 3;
    fresh.shared.risk = 4;
    fresh.shared.riskAt = 0;
    await r!.sync(fresh, false, { history: false, risk: true });
    expect(fresh.risk).toBe(0);
    expect(fresh.riskAt).toBeGreaterThanOrEqual(before);
    expect(fresh.shared.risk).toBe(0);
    expect(fresh.shared.riskAt).toBeGreaterThanOrEqual(before);
    // Without identity needs, what the identity holds is left alone.
    const left = session('never');
    left.shared.risk = 4;
    left.shared.history.push({ server: 'v', tool: 'kept', at: NOON });
    await r!.sync(left, false, { history: false, risk: false });
    expect(left.shared.risk).toBe(4);
    expect(left.shared.history).toHaveLength(1);
  });

  it('sync with every need reads the session, its history and its identity as of one moment', async () => {
    const [r] = await replicas(1);
    const s = session('all');
    await r!.consume(s, [cap(5)], 0, NOON, {});
    await r!.addRisk(s, 6, NOON, { perIdentity: true });
    await r!.record(s, { server: 'v', tool: 'mine', at: NOON }, true);
    await r!.record(session('elsewhere'), { server: 'v', tool: 'theirs', at: NOON + 1 }, true);
    const seen = session('all');
    await r!.sync(seen, true, { history: true, risk: true });
    expect(seen.counts.get('cap')).toBe(1);
    expect(seen.history.map((c) => c.tool)).toEqual(['mine']);
    expect(seen.shared.history.map((c) => c.tool)).toEqual(['mine', 'theirs']);
    expect(seen.shared.risk).toBe(6);
    expect(seen.shared.riskAt).toBe(NOON);
    // History only: the identity's risk is not read.
    const only = session('all');
    await r!.sync(only, true);
    expect(only.history.map((c) => c.tool)).toEqual(['mine']);
    expect(only.shared.risk).toBe(0);
    expect(only.shared.history).toEqual([]);
  });

  it('record keeps the identity history only when asked, bounded and expiring', async () => {
    const [r] = await replicas(1);
    const prefix = `t${prefixes}:`;
    const s = session('rec');
    await r!.record(s, { server: 'v', tool: 'a', at: NOON });
    expect(s.history.map((c) => c.tool)).toEqual(['a']);
    expect(s.shared.history).toEqual([]);
    const client = raw();
    expect(await client.exists(`${prefix}ih:${s.shared.key}`)).toBe(0);
    for (let i = 0; i < HISTORY_LIMIT + 3; i++)
      await r!.record(s, { server: 'v', tool: `t${i}`, at: NOON }, true);
    expect(s.shared.history).toHaveLength(HISTORY_LIMIT);
    expect(await client.llen(`${prefix}ih:${s.shared.key}`)).toBe(HISTORY_LIMIT);
    expect(await client.lindex(`${prefix}ih:${s.shared.key}`, 0)).toContain('"t3"');
    expect(await client.pttl(`${prefix}ih:${s.shared.key}`)).toBeGreaterThan(59_000);
    expect(await client.pttl(`${prefix}h:rec`)).toBeGreaterThan(59_000);
  });

  it('a published session stays findable while it is used', async () => {
    const [r] = await replicas(1);
    const prefix = `t${prefixes}:`;
    const meta = { id: 'sess', owner: 'o', identity: alice, transport: 'http' as const, createdAt: NOON };
    await r!.saveSession(meta);
    const client = raw();
    expect(await client.pttl(`${prefix}m:sess`)).toBeGreaterThan(59_000);
    await client.pexpire(`${prefix}m:sess`, 5000);
    expect(await r!.findSession('sess')).toEqual(meta);
    expect(await client.pttl(`${prefix}m:sess`)).toBeGreaterThan(59_000);
    expect(await r!.findSession('gone')).toBeUndefined();
    expect(await client.exists(`${prefix}m:gone`)).toBe(0);
  });

  it('a lockout ends at its time exactly', async () => {
    const [a] = await replicas(1);
    const t = Date.now();
    const lockout = { failures: 1, windowMs: 60_000, durationMs: 30_000 };
    await a!.recordAuthFailure('10.9.9.9', lockout, t);
    expect(a!.lockedUntil('10.9.9.9', t + 29_999)).toBe(t + 30_000);
    expect(a!.lockedUntil('10.9.9.9', t + 30_000)).toBeUndefined();
    // Once over, it is forgotten: an earlier clock does not bring it back.
    expect(a!.lockedUntil('10.9.9.9', t)).toBeUndefined();
  });
});

withRedis('shared pins', () => {
  const pins = (by: string): ServerPins => ({
    pinnedAt: '2026-11-25T12:00:00.000Z',
    approvedBy: by,
    tools: { read: { hash: 'a'.repeat(64) } }
  });

  it('the first replica to pin a server wins; an approval replaces the pins everywhere', async () => {
    const [a, b] = await replicas(2);
    const seen: Array<[string, string]> = [];
    b!.pins.onChange((server, p) => seen.push([server, p.approvedBy]));
    const resynced: string[] = [];
    // Registered after the mirror went live: run at once.
    a!.pins.onResync(() => resynced.push('late'));
    await expect.poll(() => resynced).toEqual(['late']);
    expect(await a!.pins.load()).toEqual({});
    expect(await a!.pins.claim('files', pins('first-use-a'))).toEqual(pins('first-use-a'));
    expect(await b!.pins.claim('files', pins('first-use-b'))).toEqual(pins('first-use-a'));
    await expect.poll(() => seen).toEqual([['files', 'first-use-a']]);
    await b!.pins.set('files', pins('carol'));
    expect(await a!.pins.load()).toEqual({ files: pins('carol') });
    await expect.poll(() => seen.at(-1)).toEqual(['files', 'carol']);
  });

  it('events that cannot be read are ignored, and the mirror goes on', async () => {
    const lines: string[] = [];
    const watched = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const prefix = `t${++prefixes}:`;
    const state = createRedisState({
      url: redis.url,
      prefix,
      timeoutMs: 2000,
      sessionTtlMs: 60_000,
      log: watched
    });
    open.push(state);
    expect(await state.ready(5000)).toBe(true);
    const client = new Redis(redis.url);
    try {
      await client.publish(`${prefix}events`, 'not json');
      await client.publish(`${prefix}events`, JSON.stringify({ type: 'revoked', id: 'tok-after' }));
      await expect.poll(() => state.isRevoked('tok-after')).toBe(true);
      // Said with why it could not be read.
      const ignored = lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.msg === 'shared state: unreadable event ignored');
      expect(ignored?.err).toEqual(expect.stringContaining('JSON'));
    } finally {
      client.disconnect();
    }
  });
});

withRedis('the connection', () => {
  it('not ready within the time given, says no; closed, is not healthy', async () => {
    const port = await freePort();
    const away = createRedisState({
      url: `redis://127.0.0.1:${port}`,
      prefix: 'x:',
      timeoutMs: 100,
      sessionTtlMs: 60_000,
      log
    });
    open.push(away);
    expect(await away.ready(200)).toBe(false);
    expect(away.healthy()).toBe(false);
    const [r] = await replicas(1);
    expect(r!.healthy()).toBe(true);
    await r!.close();
    expect(r!.healthy()).toBe(false);
  });

  it('logs the address without a password, and an address it cannot parse not at all', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const watched = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const bare = createRedisState({
      url: `127.0.0.1:${redis.port}`,
      prefix: 'bare:',
      timeoutMs: 2000,
      sessionTtlMs: 60_000,
      log: watched
    });
    open.push(bare);
    expect(await bare.ready(5000)).toBe(true);
    expect(lines.find((l) => l.msg === 'shared state connected')).toMatchObject({ url: 'redis://?' });
  });
});

withRedis('a store that cannot answer, or answers with an error', () => {
  const away = async () => {
    const state = createRedisState({
      url: `redis://127.0.0.1:${await freePort()}`,
      prefix: 'away:',
      timeoutMs: 100,
      sessionTtlMs: 60_000,
      log
    });
    open.push(state);
    return state;
  };

  it('a call that takes no budget needs no store; one that takes any is refused, with the cause kept', async () => {
    const state = await away();
    const s = session('n');
    expect(await outcome(() => state.consume(s, [], 0, NOON, { budget: 5 }))).toBe('ok');
    expect(await outcome(() => state.consume(s, [], 1, NOON, { budget: 5 }))).toBe('state_unavailable');
    expect(await outcome(() => state.consume(s, [cap(1)], 0, NOON, {}))).toBe('state_unavailable');
    try {
      await state.addRisk(s, 1, NOON, {});
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).detail).toMatch(/^shared state: ./);
      expect((err as Error).cause).toBeInstanceOf(Error);
    }
    expect(s.risk).toBe(0);
  });

  it('a history the store cannot read or extend is a refusal, and nothing is recorded here either', async () => {
    const [r] = await replicas(1);
    const prefix = `t${prefixes}:`;
    const client = new Redis(redis.url);
    try {
      await client.set(`${prefix}h:bad`, 'not a list');
      const s = session('bad');
      expect(await outcome(() => r!.sync(s, true))).toBe('state_unavailable');
      expect(await outcome(() => r!.record(s, { server: 'v', tool: 't', at: NOON }))).toBe(
        'state_unavailable'
      );
      expect(s.history).toEqual([]);
    } finally {
      client.disconnect();
    }
  });

  it('a call without risk leaves the risk and its time as they were', async () => {
    const [r] = await replicas(1);
    const s = session('quiet');
    await r!.consume(s, [], 5, NOON, { resetAfterMs: 1000 });
    await r!.consume(s, [cap(9)], 0, NOON + 900, { resetAfterMs: 1000 });
    expect(s.risk).toBe(5);
    expect(s.riskAt).toBe(NOON);
  });

  it('a mirror of revocations that cannot be read is not ready; it retries until it can', async () => {
    const lines: string[] = [];
    const watched = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const prefix = `t${++prefixes}:`;
    const client = new Redis(redis.url);
    try {
      await client.set(`${prefix}revoked`, 'not a hash');
      const state = createRedisState({
        url: redis.url,
        prefix,
        timeoutMs: 2000,
        sessionTtlMs: 60_000,
        log: watched
      });
      open.push(state);
      let resyncs = 0;
      // Listening before the mirror is live: told once, when it is.
      state.pins.onResync(() => resyncs++);
      expect(await state.ready(800)).toBe(false);
      expect(state.healthy()).toBe(false);
      const failed = lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.msg === 'shared state: resync failed; retrying');
      expect(failed?.err).toEqual(expect.stringContaining('WRONGTYPE'));
      expect(resyncs).toBe(0);
      await client.del(`${prefix}revoked`);
      expect(await state.ready(5000)).toBe(true);
      await new Promise((r) => setTimeout(r, 20));
      expect(resyncs).toBe(1);
    } finally {
      client.disconnect();
    }
  });
});

withRedis('held calls in the store', () => {
  it('forgetting removes only the calls named; settling a call the store lacks settles nothing', async () => {
    const [a, b] = await replicas(2);
    const held = (id: string): HeldCall => ({
      id,
      status: 'pending',
      createdAt: new Date(NOON).toISOString(),
      expiresAt: new Date(NOON + 60_000).toISOString(),
      identity: 'bob',
      roles: [],
      session: 's',
      server: 'records',
      tool: 'delete_record',
      name: 'records__delete_record',
      arguments: {},
      rules: [],
      reason: 'needs approval',
      risk: 0,
      policyVersion: 'v1',
      required: 1,
      approverRoles: ['admin'],
      decisions: []
    });
    await a!.approvals.publish(held('apr_a'));
    await a!.approvals.publish(held('apr_b'));
    await b!.approvals.forget([]);
    await b!.approvals.forget(['apr_a']);
    expect((await a!.approvals.load()).map((h) => h.id)).toEqual(['apr_b']);
    expect(await a!.approvals.settle('apr_a', 'expired')).toBeUndefined();
    const resynced: string[] = [];
    b!.approvals.onResync(() => resynced.push('late'));
    await expect.poll(() => resynced).toEqual(['late']);
  });
});

withRedis('held calls as stored and announced', () => {
  const held = (id: string, over: Partial<HeldCall> = {}): HeldCall => ({
    id,
    status: 'pending',
    createdAt: new Date(NOON).toISOString(),
    expiresAt: new Date(NOON + 60_000).toISOString(),
    identity: 'bob',
    roles: [],
    session: 's',
    server: 'records',
    tool: 'delete_record',
    name: 'records__delete_record',
    arguments: { ids: [] },
    rules: [],
    reason: 'needs approval',
    risk: 0,
    policyVersion: 'v1',
    required: 2,
    approverRoles: ['admin'],
    decisions: [],
    ...over
  });

  it('a held call reads back on another replica exactly as published, empty lists and all', async () => {
    const [a, b] = await replicas(2);
    const heard: HeldCall[] = [];
    b!.approvals.onChange((h) => heard.push(h));
    const call = held('apr_round');
    await a!.approvals.publish(call);
    expect((await b!.approvals.load()).find((h) => h.id === 'apr_round')).toEqual(call);
    await expect.poll(() => heard.at(-1)).toEqual(call);
    // Decided in the store: the lists are still lists, the note kept to 500 characters.
    const decided = await b!.approvals.decide(
      'apr_round',
      { id: 'carol', roles: ['admin'] },
      'approve',
      'n'.repeat(600)
    );
    expect(decided.roles).toEqual([]);
    expect(decided.rules).toEqual([]);
    expect(decided.decisions).toHaveLength(1);
    expect(decided.decisions[0]!.note).toHaveLength(500);
    await expect.poll(() => heard.at(-1)?.decisions.length).toBe(1);
    const plain = await a!.approvals.decide('apr_round', { id: 'dave', roles: ['admin'] }, 'deny');
    expect(plain.status).toBe('denied');
    expect(plain.decisions[1]).not.toHaveProperty('note');
    // Settled in the store: announced to every replica.
    await a!.approvals.publish(held('apr_settle'));
    expect((await b!.approvals.settle('apr_settle', 'cancelled'))!.status).toBe('cancelled');
    await expect
      .poll(() => heard.find((h) => h.id === 'apr_settle' && h.status === 'cancelled'))
      .toBeTruthy();
  });

  it('a held call stored without its arguments reads back without them, its lists restored', async () => {
    const [a] = await replicas(1);
    const prefix = `t${prefixes}:`;
    const { arguments: _args, ...bare } = held('apr_bare');
    const raw = new Redis(redis.url);
    try {
      // As cjson writes it back: the empty lists as objects, and no `argumentsJson` at all.
      await raw.hset(`${prefix}approvals`, 'apr_bare', JSON.stringify({ ...bare, roles: {}, decisions: {} }));
    } finally {
      raw.disconnect();
    }
    const [loaded] = await a!.approvals.load();
    expect(loaded).toEqual(bare);
    expect(loaded).not.toHaveProperty('arguments');
  });

  it('events a replica hears: lockouts and revocations from another, and malformed ones ignored', async () => {
    const [a] = await replicas(1);
    const prefix = `t${prefixes}:`;
    const told: unknown[] = [];
    a!.pins.onChange((server, p) => told.push([server, p]));
    a!.approvals.onChange((h) => told.push(h));
    const client = new Redis(redis.url);
    try {
      const until = Date.now() + 60_000;
      await client.publish(`${prefix}events`, JSON.stringify({ type: 'locked', source: 9, until }));
      await client.publish(
        `${prefix}events`,
        JSON.stringify({ type: 'locked', source: '10.1.1.1', until: 'soon' })
      );
      // A time written as text is not a time, even one that reads as a number.
      await client.publish(
        `${prefix}events`,
        JSON.stringify({ type: 'locked', source: '10.6.6.6', until: String(until) })
      );
      await client.publish(`${prefix}events`, JSON.stringify({ type: 'revoked' }));
      await client.publish(`${prefix}events`, JSON.stringify({ type: 'pins', server: 'files' }));
      await client.publish(`${prefix}events`, JSON.stringify({ type: 'held' }));
      await client.publish(
        `${prefix}events`,
        JSON.stringify({ type: 'pins', pins: { pinnedAt: 'x', approvedBy: 'y' } })
      );
      // Each field is read only under its own type: a lock does not revoke, a revocation does not lock.
      await client.publish(
        `${prefix}events`,
        JSON.stringify({
          type: 'locked',
          id: 'tok-sneaky',
          source: 9,
          until,
          server: 'files',
          pins: { pinnedAt: 'x', approvedBy: 'y' }
        })
      );
      await client.publish(
        `${prefix}events`,
        JSON.stringify({
          type: 'revoked',
          id: 'tok-r',
          source: '10.3.3.3',
          until,
          held: JSON.stringify({ id: 'h' })
        })
      );
      await client.publish(`${prefix}events`, JSON.stringify({ type: 'locked', source: '10.2.2.2', until }));
      await expect.poll(() => a!.lockedUntil('10.2.2.2', Date.now())).toBe(until);
      expect(a!.lockedUntil('9', Date.now())).toBeUndefined();
      expect(a!.lockedUntil('10.1.1.1', Date.now())).toBeUndefined();
      expect(a!.lockedUntil('10.6.6.6', Date.now())).toBeUndefined();
      expect(a!.isRevoked('undefined')).toBe(false);
      await expect.poll(() => a!.isRevoked('tok-r')).toBe(true);
      expect(a!.isRevoked('tok-sneaky')).toBe(false);
      expect(a!.lockedUntil('10.3.3.3', Date.now())).toBeUndefined();
      await client.publish(`${prefix}events`, JSON.stringify({ type: 'revoked', id: 'tok-heard' }));
      await expect.poll(() => a!.isRevoked('tok-heard')).toBe(true);
      // A pins event without pins, a held event without a call, and pins in an event of another
      // type tell no listener.
      expect(told).toEqual([]);
    } finally {
      client.disconnect();
    }
  });
});

withRedis('more of what the store keeps', () => {
  it('gateways with different prefixes keep apart their held calls and pins', async () => {
    const [a] = await replicas(1);
    const [b] = await replicas(1);
    await a!.pins.claim('files', { pinnedAt: '2026-11-25T12:00:00.000Z', approvedBy: 'a' });
    expect(await b!.pins.load()).toEqual({});
    await a!.approvals.publish({
      id: 'apr_p',
      status: 'pending',
      createdAt: new Date(NOON).toISOString(),
      expiresAt: new Date(NOON + 60_000).toISOString(),
      identity: 'bob',
      roles: [],
      session: 's',
      server: 'records',
      tool: 't',
      name: 'records__t',
      arguments: {},
      rules: [],
      reason: 'r',
      risk: 0,
      policyVersion: 'v1',
      required: 1,
      approverRoles: ['admin'],
      decisions: []
    });
    expect(await b!.approvals.load()).toEqual([]);
    expect((await a!.approvals.load()).map((h) => h.id)).toEqual(['apr_p']);
  });

  it('sync reads the identity history alone when only it is needed, all of it', async () => {
    const [r] = await replicas(1);
    for (const tool of ['one', 'two', 'three'])
      await r!.record(session('w'), { server: 'v', tool, at: NOON }, true);
    const s = session('other');
    await r!.sync(s, false, { history: true, risk: false });
    expect(s.shared.history.map((c) => c.tool)).toEqual(['one', 'two', 'three']);
    expect(s.history).toEqual([]);
  });

  it('only per-session caps are counted on the session', async () => {
    const [r] = await replicas(1);
    const s = session('kinds');
    await r!.consume(
      s,
      [cap(5), rate(5), { kind: 'identity', key: 'ic', max: 5, window_ms: 1000, scope: 'identity' }],
      0,
      NOON,
      {}
    );
    expect(Object.fromEntries(s.counts)).toEqual({ cap: 1 });
    const seen = session('kinds');
    await r!.sync(seen, false);
    expect(Object.fromEntries(seen.counts)).toEqual({ cap: 1 });
  });

  it('the budget script resets and decays risk as configured; so does adding risk', async () => {
    const [r] = await replicas(1);
    const reset = { budget: 10, resetAfterMs: 1000 };
    const s = session('rs');
    expect(await outcome(() => r!.consume(s, [], 8, NOON, reset))).toBe('ok');
    expect(await outcome(() => r!.consume(s, [], 8, NOON + 999, reset))).toBe('risk_budget');
    expect(await outcome(() => r!.consume(s, [], 8, NOON + 1000, reset))).toBe('ok');
    expect(s.risk).toBe(8);
    const t = session('hl');
    expect(await r!.addRisk(t, 8, NOON, { halfLifeMs: 1000 })).toBe(8);
    expect(await r!.addRisk(t, 0, NOON + 1000, { halfLifeMs: 1000 })).toBe(4);
    expect(await r!.addRisk(t, 0, NOON + 1000, { resetAfterMs: 1000 })).toBe(4);
    expect(await r!.addRisk(t, 0, NOON + 2000, { resetAfterMs: 1000 })).toBe(0);
  });

  it('a revocation is known here at once, even when the store cannot take it', async () => {
    const [r] = await replicas(1);
    await r!.revoke('tok-now');
    expect(r!.isRevoked('tok-now')).toBe(true);
    const away = createRedisState({
      url: `redis://127.0.0.1:${await freePort()}`,
      prefix: 'away:',
      timeoutMs: 100,
      sessionTtlMs: 60_000,
      log
    });
    open.push(away);
    expect(await outcome(() => away.revoke('tok-offline'))).toBe('state_unavailable');
    expect(away.isRevoked('tok-offline')).toBe(true);
    expect(away.isRevoked('tok-other')).toBe(false);
  });

  it('after its subscription drops, a replica writes back only the revocations Redis lacks, and says so', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const watched = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const prefix = `t${++prefixes}:`;
    const a = createRedisState({
      url: redis.url,
      prefix,
      timeoutMs: 2000,
      sessionTtlMs: 60_000,
      log: watched
    });
    open.push(a);
    expect(await a.ready(5000)).toBe(true);
    await a.revoke('tok-1', new Date('2026-11-25T12:00:00Z'));
    let resyncs = 0;
    a.pins.onResync(() => resyncs++);
    await expect.poll(() => resyncs).toBe(1);
    const admin = new Redis(redis.url);
    const listener = new Redis(redis.url);
    const heard: unknown[] = [];
    listener.on('message', (_channel: string, text: string) => heard.push(JSON.parse(text)));
    const listenerId = Number(await listener.client('ID'));
    await listener.subscribe(`${prefix}events`);
    // Every subscription dropped but the listener's, so that it hears all that is announced.
    const dropSubscriptions = () => dropSubscribers(admin, listenerId);
    try {
      const restored = () =>
        lines.filter((l) => l.msg === 'shared state: revocations missing from Redis written back');
      // Redis still holds it: the resync after the subscription drops writes nothing back.
      await dropSubscriptions();
      await expect.poll(() => resyncs, { timeout: 10_000 }).toBe(2);
      expect(restored()).toEqual([]);
      // Redis lost it: written back, with its first time, and said.
      await admin.hdel(`${prefix}revoked`, 'tok-1');
      await dropSubscriptions();
      await expect.poll(() => resyncs, { timeout: 10_000 }).toBe(3);
      expect(restored()).toHaveLength(1);
      expect(restored()[0]!.restored).toBe(1);
      expect(await admin.hget(`${prefix}revoked`, 'tok-1')).toBe('2026-11-25T12:00:00.000Z');
      // And announced, with its first time, to replicas whose mirror lacks it.
      await expect
        .poll(() => heard)
        .toEqual([{ type: 'revoked', id: 'tok-1', at: '2026-11-25T12:00:00.000Z' }]);
    } finally {
      admin.disconnect();
      listener.disconnect();
    }
  });

  it('the unreachable Redis is said once, with why, until it answers', async () => {
    const { log: watched, lines } = capture();
    const port = await freePort();
    const away = createRedisState({
      url: `redis://127.0.0.1:${port}`,
      prefix: 'w:',
      timeoutMs: 100,
      sessionTtlMs: 60_000,
      log: watched
    });
    open.push(away);
    expect(await away.ready(600)).toBe(false);
    const warned = lines.filter((l) => l.msg === 'shared state unreachable');
    expect(warned).toHaveLength(1);
    expect(warned[0]!.err).toEqual(expect.any(String));
    // Never connected, so nothing was lost.
    expect(lines.filter((l) => l.level === 50)).toEqual([]);
  });

  it('an address without a password is logged as it is', async () => {
    const { log: watched, lines } = capture();
    const plain = createRedisState({
      url: redis.url,
      prefix: 'plain:',
      timeoutMs: 2000,
      sessionTtlMs: 60_000,
      log: watched
    });
    open.push(plain);
    expect(await plain.ready(5000)).toBe(true);
    expect(lines.find((l) => l.msg === 'shared state connected')!.url).toBe(redis.url);
  });

  it('a refused approval keeps its status and its own code', () => {
    const e = new ApprovalRefused(409, 'already decided');
    expect(e.code).toBe('approval_refused');
    expect(e.status).toBe(409);
    expect(e.message).toBe('already decided');
  });
});

withRedis('the mirror of lockouts and its subscription', () => {
  it('the mirror of lockouts holds at most 100,000: the next one clears it, heard or read when subscribing', async () => {
    const prefix = `t${++prefixes}:`;
    const until = Date.now() + 600_000;
    const name = (i: number) => `s${String(i).padStart(5, '0')}`;
    // One short of the bound in the store, each ending a millisecond after the one before.
    const stored = 99_999;
    const admin = new Redis(redis.url);
    const publish = (event: Record<string, unknown>) =>
      admin.publish(`${prefix}events`, JSON.stringify(event));
    try {
      const fill = admin.pipeline();
      for (let i = 0; i < stored; i++) fill.zadd(`${prefix}lockouts`, until + i, name(i));
      await fill.exec();
      const r = createRedisState({ url: redis.url, prefix, timeoutMs: 5000, sessionTtlMs: 60_000, log });
      open.push(r);
      let resyncs = 0;
      r.pins.onResync(() => resyncs++);
      expect(await r.ready(20_000)).toBe(true);
      const locked = (source: string) => r.lockedUntil(source, Date.now());
      expect(locked(name(0))).toBe(until);
      expect(locked(name(stored - 1))).toBe(until + stored - 1);
      // A source that is not text takes no place; the 100,000th lockout fits.
      await publish({ type: 'locked', source: 9, until });
      await publish({ type: 'locked', source: 'fresh', until });
      await expect.poll(() => locked('fresh')).toBe(until);
      expect(locked(name(0))).toBe(until);
      // The mirror is full: the next lockout heard clears it and is the only one left.
      await publish({ type: 'locked', source: 'second', until });
      await expect.poll(() => locked('second')).toBe(until);
      expect(locked(name(0))).toBeUndefined();
      expect(locked('fresh')).toBeUndefined();
      await publish({ type: 'locked', source: 'third', until });
      await expect.poll(() => locked('third')).toBe(until);
      expect(locked('second')).toBe(until);
      // Subscribing again reads the store into a mirror of 2: it fills at the store's last lockout,
      // which clears the mirror and is the only one left.
      await dropSubscribers(admin);
      await expect.poll(() => resyncs, { timeout: 15_000 }).toBe(2);
      expect(locked(name(stored - 1))).toBe(until + stored - 1);
      expect(locked(name(stored - 2))).toBeUndefined();
      expect(locked(name(0))).toBeUndefined();
      expect(locked('second')).toBeUndefined();
    } finally {
      admin.disconnect();
    }
  }, 60_000);

  it('a subscription the store refuses is said, with why, and the mirror is never live', async () => {
    const { log: watched, lines } = capture();
    const admin = new Redis(redis.url);
    // A user allowed every command and key, and no channel.
    await admin.acl('SETUSER', 'nochannels', 'on', '>secret-1', '~*', 'resetchannels', '+@all');
    try {
      const state = createRedisState({
        url: `redis://nochannels:secret-1@127.0.0.1:${redis.port}`,
        prefix: `t${++prefixes}:`,
        timeoutMs: 2000,
        sessionTtlMs: 60_000,
        log: watched
      });
      open.push(state);
      await expect
        .poll(() => lines.find((l) => l.msg === 'shared state: subscribe failed'))
        .toMatchObject({ level: 40, err: expect.stringContaining('NOPERM') });
      // Commands go through, but revocations would not be heard: not ready.
      expect(await state.admitRequest('token:alice', 5, 60_000, Date.now())).toBe(true);
      expect(await state.ready(300)).toBe(false);
      expect(state.healthy()).toBe(false);
    } finally {
      await admin.acl('DELUSER', 'nochannels');
      admin.disconnect();
    }
  });

  it('while its subscription is down a replica is not healthy, and it is again once it has resubscribed', async () => {
    const admin = new Redis(redis.url);
    await admin.acl('SETUSER', 'replica', 'on', '>secret-2', '~*', 'allchannels', '+@all');
    try {
      const state = createRedisState({
        url: `redis://replica:secret-2@127.0.0.1:${redis.port}`,
        prefix: `t${++prefixes}:`,
        timeoutMs: 2000,
        sessionTtlMs: 60_000,
        log
      });
      open.push(state);
      expect(await state.ready(5000)).toBe(true);
      // The subscriber drops and cannot log in again; the command connection is still up.
      await admin.acl('SETUSER', 'replica', 'resetpass', '>secret-3');
      await dropSubscribers(admin);
      await expect.poll(() => state.healthy()).toBe(false);
      expect(await state.admitRequest('token:alice', 5, 60_000, Date.now())).toBe(true);
      expect(await state.ready(300)).toBe(false);
      // Back with its password: resubscribed and resynced, healthy again.
      await admin.acl('SETUSER', 'replica', '>secret-2');
      expect(await state.ready(10_000)).toBe(true);
    } finally {
      await admin.acl('DELUSER', 'replica');
      admin.disconnect();
    }
  }, 30_000);
});

/**
 * A TCP proxy to Redis that, once armed, holds the first write of a client that `catches` matches
 * until `before` has run: the test changes the store between a replica's read and its write.
 */
async function holdingProxy(
  port: number,
  catches: (sent: string) => boolean,
  before: () => Promise<unknown>
) {
  let armed = false;
  const sockets: Socket[] = [];
  const server = createNetServer((client) => {
    const upstream = connectTcp(port, '127.0.0.1');
    sockets.push(client, upstream);
    upstream.on('data', (d) => client.write(d));
    client.on('data', (d) => {
      if (!armed || !catches(d.toString('latin1'))) return void upstream.write(d);
      armed = false;
      client.pause();
      void before().finally(() => {
        upstream.write(d);
        client.resume();
      });
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arm: () => void (armed = true),
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    }
  };
}

withRedis('writing back revocations', () => {
  it('an error inside the write-back is a failed resync, retried, never a write-back said to be done', async () => {
    const { log: watched, lines } = capture();
    const prefix = `t${++prefixes}:`;
    const key = `${prefix}revoked`;
    const admin = new Redis(redis.url);
    // The write-back (a transaction setting the revocations) is held until the key it writes has
    // stopped being a hash: the transaction is taken, and its HSET fails as it runs.
    const proxy = await holdingProxy(
      redis.port,
      (sent) => sent.includes('\r\nhset\r\n') && sent.includes(key),
      () => admin.multi().del(key).set(key, 'not a hash').exec()
    );
    try {
      const a = createRedisState({
        url: proxy.url,
        prefix,
        timeoutMs: 5000,
        sessionTtlMs: 60_000,
        log: watched
      });
      open.push(a);
      let resyncs = 0;
      a.pins.onResync(() => resyncs++);
      expect(await a.ready(5000)).toBe(true);
      await a.revoke('tok-lost', new Date('2026-11-25T12:00:00Z'));
      await admin.hset(key, 'tok-kept', '2026-11-25T12:00:00.000Z');
      await admin.hdel(key, 'tok-lost');
      const resynced = resyncs;
      proxy.arm();
      // What it says from here on (a resync at the start may have failed before the command
      // connection was up, and been retried).
      const from = lines.length;
      await dropSubscribers(admin);
      // The first word of the resync after the drop: it failed, with why.
      const outcomes = [
        'shared state: resync failed; retrying',
        'shared state: revocations missing from Redis written back'
      ];
      const since = () => lines.slice(from);
      const said = (msg: string) => since().filter((l) => l.msg === msg);
      await expect
        .poll(() => since().some((l) => outcomes.includes(l.msg as string)), { timeout: 15_000 })
        .toBe(true);
      const first = since().find((l) => outcomes.includes(l.msg as string))!;
      expect(first).toMatchObject({ msg: outcomes[0], err: expect.stringContaining('WRONGTYPE') });
      expect(said(outcomes[1]!)).toEqual([]);
      expect(a.healthy()).toBe(false);
      // The key a hash again: the retry writes back what Redis lacks, and says so.
      await admin.multi().del(key).hset(key, 'tok-kept', '2026-11-25T12:00:00.000Z').exec();
      await expect.poll(() => resyncs, { timeout: 15_000 }).toBe(resynced + 1);
      expect(await admin.hget(key, 'tok-lost')).toBe('2026-11-25T12:00:00.000Z');
      expect(said(outcomes[1]!)).toEqual([expect.objectContaining({ restored: 1 })]);
    } finally {
      proxy.close();
      admin.disconnect();
    }
  });
});
