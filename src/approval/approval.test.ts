// The approval queue in memory and the approval stage: who may decide (never the caller, only an
// approver role, once each), how many approvals release a call, what one denial, the timeout and
// the agent leaving do, the webhook, and a call decided again against the policy after approval.
import { afterEach, describe, expect, it } from 'vitest';
import { startWebhookReceiver } from '../../test/support/webhook.js';
import { call, queueFactory, carol, dave, erin, person } from '../../test/support/approval.js';
import type { Identity } from '../auth/index.js';
import type { Resolved } from '../core/pipeline.js';
import { GatewayError } from '../errors.js';
import type { Decision } from '../policy/index.js';
import {
  ApprovalRefused,
  approvalStage,
  type createApprovalQueue,
  type ApprovalQueue,
  type HeldCall
} from './index.js';
import type { ApprovalBus } from '../state/bus.js';

const { settings, queue, close } = queueFactory();
afterEach(close);

function refusal(fn: () => unknown): ApprovalRefused {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApprovalRefused);
    return err as ApprovalRefused;
  }
  throw new Error('not refused');
}

describe('approval queue: who may decide', () => {
  it('holds a call as pending, with an id, its times and no decisions', () => {
    const { q } = queue();
    const before = Date.now();
    const { held } = q.hold(call(), 60_000);
    expect(held).toMatchObject({ ...call(), status: 'pending', decisions: [] });
    expect(held.id).toMatch(/^apr_[0-9a-f]{16}$/);
    expect(Date.parse(held.createdAt)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(held.expiresAt) - Date.parse(held.createdAt)).toBe(60_000);
    expect(q.get(held.id)).toBe(held);
    expect(q.list()).toEqual([held]);
    expect(q.hold(call(), 60_000).held.id).not.toBe(held.id);
  });

  it('refuses an approver who has only a role that is not an approver role (ops, where admin decides)', () => {
    const { q } = queue();
    const { held } = q.hold(call({ approverRoles: ['admin'] }), 60_000);
    for (const decision of ['approve', 'deny'] as const) {
      const err = refusal(() => q.decide(held.id, erin, decision));
      expect(err.status).toBe(403);
      expect(err.message).toBe('approving needs one of the roles admin');
    }
    expect(held).toMatchObject({ status: 'pending', decisions: [] });
    // Any one of the approver roles is enough, whatever else the approver has.
    const { held: other } = q.hold(call({ approverRoles: ['admin', 'lead'] }), 60_000);
    expect(refusal(() => q.decide(other.id, erin, 'approve')).message).toBe(
      'approving needs one of the roles admin, lead'
    );
    q.decide(other.id, person('lee', 'ops', 'lead'), 'approve');
    expect(other.status).toBe('approved');
  });

  it('refuses the caller approving their own call, even with an approver role', () => {
    const { q } = queue();
    const { held } = q.hold(call({ identity: 'carol' }), 60_000);
    const err = refusal(() => q.decide(held.id, carol, 'approve'));
    expect(err.status).toBe(403);
    expect(err.message).toBe('nobody can approve their own call');
    expect(held.status).toBe('pending');
  });

  it('refuses an unknown call (404), a decided one (409), and a second decision by one person (409)', () => {
    const { q } = queue();
    expect(refusal(() => q.decide('apr_nope', carol, 'approve'))).toMatchObject({
      status: 404,
      message: 'no held call apr_nope'
    });
    const { held } = q.hold(call({ required: 2 }), 60_000);
    q.decide(held.id, carol, 'approve');
    expect(refusal(() => q.decide(held.id, carol, 'approve'))).toMatchObject({
      status: 409,
      message: `carol has already decided on ${held.id}`
    });
    expect(refusal(() => q.decide(held.id, carol, 'deny')).status).toBe(409);
    q.decide(held.id, dave, 'deny');
    expect(refusal(() => q.decide(held.id, person('frank', 'admin'), 'approve'))).toMatchObject({
      status: 409,
      message: `call ${held.id} is already denied`
    });
  });
});

describe('approval queue: what releases a call', () => {
  it('releases a call after the required number of approvals, and not before', async () => {
    const { q, lines } = queue();
    const changed: string[] = [];
    q.events.on('changed', (h: HeldCall) => changed.push(`${h.status}:${h.decisions.length}`));
    const { held, done } = q.hold(call({ required: 2 }), 60_000);
    q.decide(held.id, carol, 'approve', 'looks fine');
    expect(held.status).toBe('pending');
    expect(held.decisions).toEqual([
      { by: 'carol', decision: 'approve', at: expect.any(String) as string, note: 'looks fine' }
    ]);
    expect(changed).toEqual(['pending:1']);
    q.decide(held.id, dave, 'approve');
    expect(held.decisions[1]).not.toHaveProperty('note');
    expect(held.status).toBe('approved');
    expect(held.decidedAt).toEqual(expect.any(String));
    expect(changed).toEqual(['pending:1', 'approved:2']);
    await expect(done).resolves.toBe('approved');
    expect(lines.filter((l) => l.msg === 'approval decision').map((l) => [l.by, l.decision])).toEqual([
      ['carol', 'approve'],
      ['dave', 'approve']
    ]);
    expect(q.list()).toEqual([]);
    expect(q.list('decided')).toEqual([held]);
    expect(q.list('all')).toEqual([held]);
  });

  it('refuses a call at the first denial, whatever approvals came before', async () => {
    const { q } = queue();
    const { held, done } = q.hold(call({ required: 3 }), 60_000);
    q.decide(held.id, carol, 'approve');
    const returned = q.decide(held.id, dave, 'deny', 'x'.repeat(600));
    expect(returned).toBe(held);
    expect(held.status).toBe('denied');
    expect(held.decisions[1]!.note).toBe('x'.repeat(500));
    await expect(done).resolves.toBe('denied');
  });

  it('expires a call nobody decides in time', async () => {
    const { q } = queue();
    const { held, done } = q.hold(call(), 20);
    await expect(done).resolves.toBe('expired');
    expect(held.status).toBe('expired');
    expect(refusal(() => q.decide(held.id, carol, 'approve')).status).toBe(409);
  });

  it('cancels a call whose agent went away, and every waiting call when closed', async () => {
    const { q } = queue();
    const agent = new AbortController();
    const gone = q.hold(call(), 60_000, agent.signal);
    agent.abort();
    await expect(gone.done).resolves.toBe('cancelled');
    const waiting = q.hold(call(), 60_000);
    const decided = q.hold(call(), 60_000);
    q.decide(decided.held.id, carol, 'approve');
    q.close();
    await expect(waiting.done).resolves.toBe('cancelled');
    expect(decided.held.status).toBe('approved');
    expect(q.list('all').map((h) => h.status)).toEqual(['approved', 'cancelled', 'cancelled']);
  });

  it('keeps a decided call decided when its agent goes away afterwards', async () => {
    const { q } = queue();
    const agent = new AbortController();
    const { held, done } = q.hold(call(), 60_000, agent.signal);
    q.decide(held.id, carol, 'approve');
    await expect(done).resolves.toBe('approved');
    const decidedAt = held.decidedAt;
    agent.abort();
    expect(held).toMatchObject({ status: 'approved', decidedAt });
  });

  it('lists pending and decided calls together when asked for all, and logs every held call', () => {
    const { q, lines } = queue();
    const decided = q.hold(call(), 60_000).held;
    q.decide(decided.id, carol, 'deny');
    const pending = q.hold(call({ identity: 'ann', name: 'records__purge' }), 60_000).held;
    expect(q.list('all')).toEqual([pending, decided]);
    expect(lines.filter((l) => l.msg === 'call held for approval')).toMatchObject([
      { approval: decided.id, identity: 'bob', tool: 'records__delete_record' },
      { approval: pending.id, identity: 'ann', tool: 'records__purge' }
    ]);
  });

  it('lists the newest first, and keeps the last 1000 decided calls', () => {
    const { q } = queue();
    const first = q.hold(call(), 60_000).held;
    const second = q.hold(call(), 60_000).held;
    expect(q.list().map((h) => h.id)).toEqual([second.id, first.id]);
    q.decide(first.id, carol, 'deny');
    const ids = [first.id];
    for (let i = 0; i < 1000; i++) {
      const { held } = q.hold(call(), 60_000);
      q.decide(held.id, carol, 'approve');
      ids.push(held.id);
    }
    expect(q.get(first.id)).toBeUndefined();
    expect(q.list('decided')).toHaveLength(1000);
    expect(q.get(ids[1]!)?.status).toBe('approved');
    expect(q.list()).toEqual([second]);
  });
});

describe('approval queue: the webhook', () => {
  it('posts every held call with the configured headers, and logs a failing hook', async () => {
    const hook = await startWebhookReceiver();
    const url = hook.url;
    const got = hook.received;
    try {
      const { q, lines } = queue({ webhook: { url, headers: { 'X-Hook-Secret': 's3cret' } } });
      const { held } = q.hold(call(), 60_000);
      await expect.poll(() => got.length).toBe(1);
      expect(got[0]!.method).toBe('POST');
      expect(got[0]!.headers['x-hook-secret']).toBe('s3cret');
      expect(got[0]!.headers['content-type']).toBe('application/json');
      expect(JSON.parse(got[0]!.body)).toEqual({ type: 'approval.requested', approval: held });
      expect(lines.some((l) => l.level === 40)).toBe(false);

      hook.status = 500;
      const second = q.hold(call(), 60_000).held;
      await expect
        .poll(() => lines.find((l) => l.msg === 'approval webhook answered with an error'))
        .toMatchObject({ status: 500, approval: second.id });
    } finally {
      await hook.close();
    }
    const { q, lines } = queue({ webhook: { url, headers: {} } });
    const third = q.hold(call(), 60_000).held;
    await expect
      .poll(() => lines.find((l) => l.msg === 'approval webhook failed'))
      .toMatchObject({ approval: third.id, err: expect.any(String) as string });
  });
});

describe('approval stage', () => {
  const decision = (effect: Decision['effect'], extra: Partial<Decision> = {}) =>
    ({ effect, rules: ['rule 1'], reason: 'risky', risk: 4, ...extra }) as Decision;

  function context(over: { identity?: Identity; agent?: string } = {}) {
    const identity = over.identity ?? {
      ...person('bob', 'analyst'),
      ...(over.agent ? { agent: over.agent } : {})
    };
    const progress: Array<{ progress: number; total?: number; message?: string }> = [];
    const ctx = {
      decision: decision('approval'),
      session: { id: 's-9', identity },
      server: 'records',
      tool: 'delete_record',
      name: 'records__delete_record',
      args: { id: 'r-9' },
      policyVersion: 'v1',
      signal: new AbortController().signal,
      onprogress: (p: { progress: number; total?: number; message?: string }) => progress.push(p)
    };
    return { ctx: ctx as unknown as Resolved, progress };
  }

  function stage(
    over: Partial<Parameters<typeof createApprovalQueue>[1]> = {},
    again: { decision: Decision; version: string } = { decision: decision('allow'), version: 'v2' }
  ) {
    const { q } = queue(over);
    const refreshed: string[] = [];
    const s = approvalStage({
      queue: q,
      settings: settings(over),
      refresh: (ctx) => void refreshed.push(ctx.session.id),
      redecide: () => again
    });
    return { q, s, refreshed };
  }

  /** Decide the one held call as soon as it is held. */
  const onHeld = (q: ApprovalQueue, fn: (held: HeldCall) => void) =>
    q.events.once('held', (held: HeldCall) => setImmediate(() => fn(held)));

  it('lets through what needs no approval without holding it', async () => {
    const { q, s } = stage();
    const { ctx } = context();
    for (const effect of ['allow', 'deny'] as const) {
      (ctx as { decision: Decision }).decision = decision(effect);
      await s.run(ctx);
    }
    expect(q.list('all')).toEqual([]);
    expect(ctx.approval).toBeUndefined();
  });

  it('holds the call with everything an approver needs, and lets it run once approved and allowed again', async () => {
    const { q, s, refreshed } = stage({ approvers: 0, approver_roles: ['admin', 'lead'], timeout_s: 45 });
    const { ctx, progress } = context({ agent: 'claude' });
    onHeld(q, (held) => q.decide(held.id, carol, 'approve'));
    await s.run(ctx);
    expect(ctx.approval).toMatchObject({
      identity: 'bob',
      roles: ['analyst'],
      agent: 'claude',
      session: 's-9',
      server: 'records',
      tool: 'delete_record',
      name: 'records__delete_record',
      arguments: { id: 'r-9' },
      rules: ['rule 1'],
      reason: 'risky',
      risk: 4,
      policyVersion: 'v1',
      required: 1,
      approverRoles: ['admin', 'lead'],
      status: 'approved'
    });
    expect(Date.parse(ctx.approval!.expiresAt) - Date.parse(ctx.approval!.createdAt)).toBe(45_000);
    expect(ctx.approvalMs).toBeGreaterThanOrEqual(0);
    expect(refreshed).toEqual(['s-9']);
    expect(ctx.policyVersion).toBe('v2');
    expect(progress[0]).toEqual({
      progress: 0,
      total: 45,
      message: `waiting for approval (${ctx.approval!.id})`
    });
  });

  it('holds a call without an agent without naming one, and asks for as many approvers as configured', async () => {
    const { q, s } = stage({ approvers: 2 });
    const { ctx } = context();
    onHeld(q, (held) => {
      q.decide(held.id, carol, 'approve');
      q.decide(held.id, dave, 'approve');
    });
    await s.run(ctx);
    expect(ctx.approval).not.toHaveProperty('agent');
    expect(ctx.approval!.required).toBe(2);
  });

  it('tells the agent it waits, at once and then every interval, with a progress that always grows', async () => {
    const { q, s } = stage({ progress_interval_s: 0.02 });
    const { ctx, progress } = context();
    onHeld(q, (held) => setTimeout(() => q.decide(held.id, carol, 'approve'), 150));
    await s.run(ctx);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    progress.forEach((p, i) => expect(p.progress).toBe(i));
    const count = progress.length;
    await new Promise((r) => setTimeout(r, 60));
    expect(progress).toHaveLength(count);
  });

  it('refuses a denied call, naming who denied it', async () => {
    const { q, s } = stage();
    const { ctx } = context();
    onHeld(q, (held) => q.decide(held.id, dave, 'deny'));
    const err = (await s.run(ctx)?.then(
      () => undefined,
      (e: unknown) => e
    )) as GatewayError;
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.code).toBe('approval_denied');
    expect(err.detail).toBe(`${ctx.approval!.id} denied by dave`);
  });

  it('is the approval stage, and needs neither a progress listener nor a refresh', async () => {
    const { q } = queue();
    const s = approvalStage({
      queue: q,
      settings: settings(),
      redecide: () => ({ decision: decision('allow'), version: 'v2' })
    });
    expect(s.name).toBe('approval');
    const { ctx } = context();
    delete (ctx as { onprogress?: unknown }).onprogress;
    onHeld(q, (held) => q.decide(held.id, carol, 'approve'));
    await s.run(ctx);
    expect(ctx.approval!.status).toBe('approved');
    expect(ctx.policyVersion).toBe('v2');
  });

  it('tells the agent at once, and not again before an interval of seconds has passed', async () => {
    const { q, s } = stage({ progress_interval_s: 60 });
    const { ctx, progress } = context();
    onHeld(q, (held) => setTimeout(() => q.decide(held.id, carol, 'approve'), 50));
    const before = performance.now();
    await s.run(ctx);
    const elapsed = performance.now() - before;
    expect(progress).toHaveLength(1);
    // The time spent waiting is part of the time the stage took.
    expect(ctx.approvalMs).toBeGreaterThan(0);
    expect(ctx.approvalMs).toBeLessThanOrEqual(elapsed);
  });

  it('names the approver who denied a call, not one who approved it before', async () => {
    const { q, s } = stage({ approvers: 3 });
    const { ctx } = context();
    onHeld(q, (held) => {
      q.decide(held.id, carol, 'approve');
      q.decide(held.id, dave, 'deny');
    });
    await expect(s.run(ctx)).rejects.toMatchObject({
      code: 'approval_denied',
      detail: `${ctx.approval!.id} denied by dave`
    });
  });

  it('refuses a call nobody decided in time, and one whose agent went away', async () => {
    const { s } = stage({ timeout_s: 0.02 });
    const { ctx } = context();
    const err = (await (s.run(ctx) as Promise<void>).catch((e: unknown) => e)) as GatewayError;
    expect(err).toMatchObject({
      code: 'approval_timeout',
      detail: `${ctx.approval!.id} not decided within 0.02 s`
    });
    expect(ctx.approval!.status).toBe('expired');

    const { s: waiting } = stage();
    const agent = new AbortController();
    const { ctx: leaving } = context();
    (leaving as { signal: AbortSignal }).signal = agent.signal;
    const run = waiting.run(leaving);
    agent.abort();
    await expect(run).rejects.toMatchObject({
      code: 'approval_denied',
      detail: `${leaving.approval!.id} cancelled: the agent went away`
    });
  });

  it('refuses an approved call that the current policy now denies, saying so on the held call', async () => {
    const denied = decision('deny', {
      reason: 'rule 2 denies it',
      code: 'policy_denied',
      hint: 'ask an admin'
    });
    const { q, s } = stage({}, { decision: denied, version: 'v3' });
    const { ctx } = context();
    const changes: string[] = [];
    onHeld(q, (held) => {
      q.events.on('changed', (h: HeldCall) => changes.push(h.refused ?? h.status));
      q.decide(held.id, carol, 'approve');
    });
    const err = (await (s.run(ctx) as Promise<void>).catch((e: unknown) => e)) as GatewayError;
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.code).toBe('policy_denied');
    expect(err.detail).toBe(
      `${ctx.approval!.id} approved, but the policy changed while it waited: rule 2 denies it`
    );
    expect(err.hint).toBe('ask an admin');
    expect(ctx.approval!.refused).toBe('the policy changed while it waited: rule 2 denies it');
    expect(changes).toEqual(['approved', 'the policy changed while it waited: rule 2 denies it']);
    expect(ctx.policyVersion).toBe('v3');
  });

  it('refuses with policy_denied and no hint when the new decision carries neither', async () => {
    const { q, s } = stage({}, { decision: decision('deny', { reason: 'gone' }), version: 'v4' });
    const { ctx } = context();
    onHeld(q, (held) => q.decide(held.id, carol, 'approve'));
    const err = (await (s.run(ctx) as Promise<void>).catch((e: unknown) => e)) as GatewayError;
    expect(err.code).toBe('policy_denied');
    expect(err.hint).toBeUndefined();
  });

  it('runs an approved call the policy now puts to approval again without holding it twice', async () => {
    const { q, s } = stage({}, { decision: decision('approval'), version: 'v5' });
    const { ctx } = context();
    onHeld(q, (held) => q.decide(held.id, carol, 'approve'));
    await s.run(ctx);
    expect(q.list('all')).toHaveLength(1);
  });
});

describe('catching up with the shared store', () => {
  /** A bus whose reload answers when the test says, to order a reload and a new call exactly. */
  function scriptedBus() {
    const hooks: { change?: (h: HeldCall) => void; resync?: () => void } = {};
    let answer: ((all: HeldCall[]) => void) | undefined;
    const bus: ApprovalBus = {
      publish: async () => undefined,
      decide: () => Promise.reject(new Error('not decided in this test')),
      settle: async () => undefined,
      load: () => new Promise<HeldCall[]>((resolve) => (answer = resolve)),
      forget: async () => undefined,
      onChange: (fn) => (hooks.change = fn),
      onResync: (fn) => (hooks.resync = fn)
    };
    return { bus, hooks, answer: (all: HeldCall[]) => answer!(all) };
  }
  const stored = (id: string): HeldCall => ({
    ...call(),
    id,
    status: 'pending',
    createdAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 30_000).toISOString(),
    decisions: []
  });

  it('keeps a call held elsewhere while the reload ran, and drops one the store has lost', async () => {
    const { bus, hooks, answer } = scriptedBus();
    const { q } = queue({}, bus);
    hooks.change!(stored('apr_lost'));
    hooks.resync!();
    // Held on another replica after the reload read the store: the store's answer lacks it.
    hooks.change!(stored('apr_new'));
    answer([]);
    await new Promise((r) => setImmediate(r));
    expect(q.list().map((c) => c.id)).toEqual(['apr_new']);
  });
});
