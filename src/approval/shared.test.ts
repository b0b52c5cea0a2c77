// The approval queue with shared state, against a real redis-server: two queues on one Redis stand
// for two gateway replicas. A call held on one is decided on the other, a denial or the timeout on
// one refuses it on both, each approver counts once whichever replica they use, a settled call is
// never decided again, the checks on who may decide hold in the store, and the queue keeps working
// when Redis goes away.
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../../test/support/redis.js';
import { needTool } from '../../test/support/tools.js';
import { call, capture, carol, dave, erin, person } from '../../test/support/approval.js';
import type { Resolved } from '../core/pipeline.js';
import { GatewayError } from '../errors.js';
import type { Decision } from '../policy/index.js';
import { createRedisState, type RedisState } from '../state/redis.js';
import {
  ApprovalRefused,
  approvalStage,
  createApprovalQueue,
  type ApprovalQueue,
  type HeldCall
} from './index.js';

const withRedis = needTool('redis-server').describe;

const settings = {
  timeout_s: 30,
  approvers: 1,
  approver_roles: ['admin'],
  progress_interval_s: 60
};

interface Replica {
  q: ApprovalQueue;
  state: RedisState;
  lines: Array<Record<string, unknown>>;
}

let redis: TestRedis;
let prefixes = 0;
const states: RedisState[] = [];
const queues: ApprovalQueue[] = [];

/** A call decided before any replica of a test started: in the store, and so in every queue. */
const EARLIER = 'apr_earlier';

/**
 * A replica on `url` whose store shares its keys with every other replica given the same prefix;
 * returned once its queue has caught up with the store (it lists the call decided earlier).
 */
async function replica(
  url: string,
  prefix: string,
  watch?: (events: ApprovalQueue['events']) => void
): Promise<Replica> {
  const { log, lines } = capture();
  const state = createRedisState({ url, prefix, timeoutMs: 2000, sessionTtlMs: 60_000, log });
  states.push(state);
  expect(await state.ready(10_000)).toBe(true);
  const q = createApprovalQueue(log, settings, state.approvals);
  watch?.(q.events);
  queues.push(q);
  await expect.poll(() => q.get(EARLIER)?.status, { timeout: 10_000 }).toBe('denied');
  return { q, state, lines };
}

/** `n` replicas sharing one Redis and one key prefix. */
async function replicas(n: number, url = redis.url): Promise<Replica[]> {
  const prefix = `apr${++prefixes}:`;
  const { log } = capture();
  const seed = createRedisState({ url, prefix, timeoutMs: 2000, sessionTtlMs: 60_000, log });
  try {
    expect(await seed.ready(10_000)).toBe(true);
    const at = new Date().toISOString();
    await seed.approvals.publish({
      ...call(),
      id: EARLIER,
      status: 'denied',
      createdAt: at,
      expiresAt: at,
      decidedAt: at,
      decisions: [{ by: 'dave', decision: 'deny', at }]
    });
  } finally {
    await seed.close();
  }
  const out: Replica[] = [];
  for (let i = 0; i < n; i++) out.push(await replica(url, prefix));
  return out;
}

/** The calls a queue lists, leaving out the one decided before the test. */
const listed = (q: ApprovalQueue, status: 'pending' | 'decided' | 'all' = 'pending') =>
  q
    .list(status)
    .filter((h) => h.id !== EARLIER)
    .map((h) => h.id);

/** Wait until a replica has the call, with what `expected` says. */
async function sees(r: Replica, id: string, expected: Partial<HeldCall>) {
  await expect.poll(() => r.q.get(id), { timeout: 5000 }).toMatchObject(expected);
}

async function refusal(work: unknown): Promise<ApprovalRefused> {
  try {
    await work;
  } catch (err) {
    expect(err).toBeInstanceOf(ApprovalRefused);
    return err as ApprovalRefused;
  }
  throw new Error('not refused');
}

beforeAll(async () => {
  if (!needTool('redis-server').skip) redis = await startRedis();
}, 30_000);

afterEach(() => {
  for (const q of queues.splice(0)) q.close();
});

afterAll(async () => {
  await Promise.all(states.map((s) => s.close()));
  await redis?.stop();
});

withRedis('approval queue with shared state: a call held on one replica', () => {
  it('is listed on the other, decided there, and the waiting call proceeds', async () => {
    const [a, b] = await replicas(2);
    const heldOnB: HeldCall[] = [];
    b!.q.events.on('held', (h: HeldCall) => heldOnB.push(h));
    const { held, done } = a!.q.hold(call(), 60_000);
    await sees(b!, held.id, { status: 'pending', identity: 'bob', arguments: call().arguments });
    expect(heldOnB.map((h) => h.id)).toEqual([held.id]);
    expect(listed(b!.q)).toEqual([held.id]);

    const decided = await b!.q.decide(held.id, carol, 'approve', 'fine');
    expect(decided).toMatchObject({ id: held.id, status: 'approved' });
    await expect(done).resolves.toBe('approved');
    expect(held.status).toBe('approved');
    expect(held.decisions).toEqual([
      { by: 'carol', decision: 'approve', at: expect.any(String) as string, note: 'fine' }
    ]);
    expect(held.decidedAt).toBe(decided.decidedAt);
    expect(b!.lines.filter((l) => l.msg === 'approval decision')).toMatchObject([
      { approval: held.id, by: 'carol', decision: 'approve' }
    ]);
    expect(a!.lines.filter((l) => l.msg === 'approval decision')).toEqual([]);
    await sees(b!, held.id, { status: 'approved' });
    expect(listed(b!.q)).toEqual([]);
    expect(listed(b!.q, 'decided')).toEqual([held.id]);
  });

  it('releases a call through the approval stage of the replica that holds it', async () => {
    const [a, b] = await replicas(2);
    b!.q.events.once('held', (h: HeldCall) => void b!.q.decide(h.id, dave, 'approve'));
    const s = approvalStage({
      queue: a!.q,
      settings,
      redecide: () => ({
        decision: { effect: 'allow', rules: [], reason: 'ok', risk: 0 } as unknown as Decision,
        version: 'v2'
      })
    });
    const ctx = {
      decision: { effect: 'approval', rules: ['rule 1'], reason: 'risky', risk: 4 } as Decision,
      session: { id: 's-9', identity: person('bob', 'analyst') },
      server: 'records',
      tool: 'delete_record',
      name: 'records__delete_record',
      args: { id: 'r-9' },
      policyVersion: 'v1'
    } as unknown as Resolved;
    await s.run(ctx);
    expect(ctx.approval).toMatchObject({ status: 'approved', decisions: [{ by: 'dave' }] });
    expect(ctx.policyVersion).toBe('v2');
  });

  it('denied on the other replica is refused where it waits, naming who denied it', async () => {
    const [a, b] = await replicas(2);
    const { held, done } = a!.q.hold(call({ required: 2 }), 60_000);
    await sees(b!, held.id, { status: 'pending' });
    await b!.q.decide(held.id, carol, 'approve');
    await a!.q.decide(held.id, dave, 'deny', 'not today');
    await expect(done).resolves.toBe('denied');
    expect(held.decisions.map((d) => [d.by, d.decision])).toEqual([
      ['carol', 'approve'],
      ['dave', 'deny']
    ]);
    await sees(b!, held.id, { status: 'denied' });
    for (const r of [a!, b!])
      expect(await refusal(r.q.decide(held.id, person('frank', 'admin'), 'approve'))).toMatchObject({
        status: 409,
        message: `call ${held.id} is already denied`
      });
  });

  it('counts each approver once across replicas, and tells every replica of each approval', async () => {
    const [a, b] = await replicas(2);
    const changedOnA: string[] = [];
    a!.q.events.on('changed', (h: HeldCall) => changedOnA.push(`${h.status}:${h.decisions.length}`));
    const { held, done } = a!.q.hold(call({ required: 2 }), 60_000);
    await sees(b!, held.id, { status: 'pending' });
    const first = await b!.q.decide(held.id, carol, 'approve');
    expect(first).toMatchObject({ status: 'pending', decisions: [{ by: 'carol' }] });
    await expect.poll(() => held.decisions.length).toBe(1);
    expect(held.status).toBe('pending');
    expect(changedOnA).toEqual(['pending:1']);
    // carol again, on either replica: refused, and not counted.
    for (const r of [a!, b!])
      expect(await refusal(r.q.decide(held.id, carol, 'approve'))).toMatchObject({
        status: 409,
        message: `carol has already decided on ${held.id}`
      });
    expect(held.status).toBe('pending');
    await a!.q.decide(held.id, dave, 'approve');
    await expect(done).resolves.toBe('approved');
    expect(held.decisions.map((d) => d.by)).toEqual(['carol', 'dave']);
    expect(changedOnA).toEqual(['pending:1', 'approved:2']);
  });

  it('checks who may decide in the store: not the caller, only an approver role, not an unknown call', async () => {
    const [a, b] = await replicas(2);
    const { held } = a!.q.hold(call({ identity: 'carol', approverRoles: ['admin', 'lead'] }), 60_000);
    await sees(b!, held.id, { status: 'pending' });
    for (const r of [a!, b!]) {
      expect(await refusal(r.q.decide(held.id, carol, 'approve'))).toMatchObject({
        status: 403,
        message: 'nobody can approve their own call'
      });
      for (const decision of ['approve', 'deny'] as const)
        expect(await refusal(r.q.decide(held.id, erin, decision))).toMatchObject({
          status: 403,
          message: 'approving needs one of the roles admin, lead'
        });
    }
    expect(await refusal(b!.q.decide('apr_nope', dave, 'approve'))).toMatchObject({
      status: 404,
      message: 'no held call apr_nope'
    });
    expect(held).toMatchObject({ status: 'pending', decisions: [] });
    expect(b!.q.get(held.id)).toMatchObject({ status: 'pending', decisions: [] });
    await b!.q.decide(held.id, person('lee', 'ops', 'lead'), 'approve');
    await sees(a!, held.id, { status: 'approved' });
  });
});

withRedis('approval queue with shared state: settled calls', () => {
  it('a call nobody decides in time is refused on both replicas', async () => {
    const [a, b] = await replicas(2);
    const { held, done } = a!.q.hold(call(), 50);
    await expect(done).resolves.toBe('expired');
    await sees(b!, held.id, { status: 'expired' });
    const stored = (await b!.state.approvals.load()).find((h) => h.id === held.id);
    expect(stored).toMatchObject({ status: 'expired', decidedAt: held.decidedAt });
    for (const r of [a!, b!])
      expect(await refusal(r.q.decide(held.id, carol, 'approve'))).toMatchObject({
        status: 409,
        message: `call ${held.id} is already expired`
      });
  });

  it('a call whose agent went away is cancelled on both replicas; a decided call stays decided', async () => {
    const [a, b] = await replicas(2);
    const agent = new AbortController();
    const gone = a!.q.hold(call(), 60_000, agent.signal);
    await sees(b!, gone.held.id, { status: 'pending' });
    agent.abort();
    await expect(gone.done).resolves.toBe('cancelled');
    await sees(b!, gone.held.id, { status: 'cancelled' });

    const later = new AbortController();
    const kept = a!.q.hold(call(), 60_000, later.signal);
    await sees(b!, kept.held.id, { status: 'pending' });
    await b!.q.decide(kept.held.id, carol, 'approve');
    await expect(kept.done).resolves.toBe('approved');
    later.abort();
    await sees(b!, kept.held.id, { status: 'approved' });
    expect(kept.held.status).toBe('approved');
    expect((await a!.state.approvals.load()).find((h) => h.id === kept.held.id)?.status).toBe('approved');
  });

  it('a replica that shuts down cancels the calls waiting on it, and only those', async () => {
    const [a, b] = await replicas(2);
    const onA = a!.q.hold(call(), 60_000);
    const onB = b!.q.hold(call(), 60_000);
    await sees(a!, onB.held.id, { status: 'pending' });
    await sees(b!, onA.held.id, { status: 'pending' });
    b!.q.close();
    await expect(onB.done).resolves.toBe('cancelled');
    await sees(a!, onB.held.id, { status: 'cancelled' });
    // The call waiting on the replica still running can still be decided.
    expect(a!.q.get(onA.held.id)?.status).toBe('pending');
    await a!.q.decide(onA.held.id, carol, 'approve');
    await expect(onA.done).resolves.toBe('approved');
  });

  it('an approved call cannot be decided again, and an old one is forgotten by every replica', async () => {
    const [a, b] = await replicas(2);
    const { held: first, done } = a!.q.hold(call(), 60_000);
    await b!.q.decide(first.id, carol, 'approve');
    await expect(done).resolves.toBe('approved');
    for (const r of [a!, b!])
      expect(await refusal(r.q.decide(first.id, dave, 'deny'))).toMatchObject({ status: 409 });
    expect(first.status).toBe('approved');
    // The last 1000 decided calls are kept; older ones leave the store as they leave the queue.
    for (let i = 0; i < 1000; i++) {
      const { held } = a!.q.hold(call(), 60_000);
      await a!.q.decide(held.id, carol, 'approve');
    }
    await expect
      .poll(async () => (await b!.state.approvals.load()).some((h) => h.id === first.id), { timeout: 10_000 })
      .toBe(false);
    expect(a!.q.get(first.id)).toBeUndefined();
    expect(await refusal(b!.q.decide(first.id, dave, 'deny'))).toMatchObject({
      status: 404,
      message: `no held call ${first.id}`
    });
    const stored = await b!.state.approvals.load();
    expect(stored).toHaveLength(1000);
    expect(stored.every((h) => h.status === 'approved')).toBe(true);
    expect(a!.lines.some((l) => l.msg === 'forget failed')).toBe(false);
  }, 60_000);
});

withRedis('approval queue with shared state: catching up', () => {
  it('a replica that starts late lists the calls already held, pending and decided', async () => {
    const [a] = await replicas(1);
    const waiting = a!.q.hold(call(), 60_000);
    const decided = a!.q.hold(call(), 60_000);
    await a!.q.decide(decided.held.id, carol, 'approve');
    const prefix = `apr${prefixes}:`;
    const events: string[] = [];
    const late = await replica(redis.url, prefix, (on) => {
      on.on('held', (h: HeldCall) => events.push(`held ${h.id}`));
      on.on('changed', (h: HeldCall) => events.push(`changed ${h.id}`));
    });
    await sees(late, waiting.held.id, { status: 'pending' });
    await sees(late, decided.held.id, { status: 'approved' });
    // Its console is told of a waiting call as held, and of a decided one as changed.
    expect(events.sort()).toEqual(
      [`held ${waiting.held.id}`, `changed ${decided.held.id}`, `changed ${EARLIER}`].sort()
    );
    await late.q.decide(waiting.held.id, dave, 'approve');
    await expect(waiting.done).resolves.toBe('approved');
  });

  it('after reconnecting, drops the mirrored calls the store no longer has, and keeps the rest', async () => {
    const [a, b] = await replicas(2);
    const kept = a!.q.hold(call(), 60_000);
    const agent = new AbortController();
    const lost = a!.q.hold(call(), 60_000, agent.signal);
    const decided = a!.q.hold(call(), 60_000);
    await b!.q.decide(decided.held.id, carol, 'approve');
    for (const h of [kept.held, lost.held]) await sees(b!, h.id, { status: 'pending' });
    await sees(b!, decided.held.id, { status: 'approved' });
    const keptOnB = b!.q.get(kept.held.id);
    const heldOnB: string[] = [];
    b!.q.events.on('held', (h: HeldCall) => heldOnB.push(h.id));
    // The store loses two calls (a Redis restarted empty would lose them all).
    await a!.state.approvals.forget([lost.held.id, decided.held.id]);
    // Every replica's subscription drops and reconnects, and catches up from the store.
    const admin = new Redis(redis.url);
    try {
      await admin.client('KILL', 'TYPE', 'pubsub');
    } finally {
      admin.disconnect();
    }
    await expect.poll(() => b!.q.get(lost.held.id), { timeout: 10_000 }).toBeUndefined();
    // The call still in the store is the one it had: not dropped and held anew.
    expect(b!.q.get(kept.held.id)).toBe(keptOnB);
    expect(keptOnB?.status).toBe('pending');
    expect(heldOnB).toEqual([]);
    expect(b!.q.get(decided.held.id)?.status).toBe('approved');
    // The replica where the lost call waits keeps it, and it is still settled there.
    expect(a!.q.get(lost.held.id)?.status).toBe('pending');
    agent.abort();
    await expect(lost.done).resolves.toBe('cancelled');
    await b!.q.decide(kept.held.id, carol, 'approve');
    await expect(kept.done).resolves.toBe('approved');
  });
});

withRedis('approval queue with shared state: Redis away', () => {
  it('holds, expires and trims calls locally when Redis is unreachable, saying so', async () => {
    const own = await startRedis();
    try {
      const [a] = await replicas(1, own.url);
      for (let i = 0; i < 1000; i++) {
        const { held } = a!.q.hold(call(), 60_000);
        await a!.q.decide(held.id, carol, 'approve');
      }
      const oldest = a!.q.list('decided').at(-1)!;
      await own.stop();
      await expect.poll(() => a!.state.healthy()).toBe(false);
      const { held, done } = a!.q.hold(call(), 50);
      await expect
        .poll(() => a!.lines.find((l) => l.msg === 'held call not shared: only this replica can decide it'))
        .toMatchObject({
          approval: held.id,
          err: expect.any(String) as string
        });
      await expect(
        (a!.q.decide(held.id, carol, 'approve') as Promise<HeldCall>).catch((e: unknown) => e)
      ).resolves.toBeInstanceOf(GatewayError);
      await expect(done).resolves.toBe('expired');
      expect(held.status).toBe('expired');
      expect(a!.lines.find((l) => l.msg === 'shared state unreachable; settling locally')).toMatchObject({
        approval: held.id,
        err: expect.any(String) as string
      });
      // The oldest decided call leaves the queue; the store cannot be told, which is logged.
      expect(a!.q.get(oldest.id)).toBeUndefined();
      await expect
        .poll(() => a!.lines.find((l) => l.msg === 'forget failed'))
        .toMatchObject({ err: expect.any(String) as string });
    } finally {
      await own.stop();
    }
  }, 60_000);
});
