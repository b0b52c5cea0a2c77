/**
 * The memory store (one process) and the arithmetic both stores share: every budget is checked
 * before any is taken, caps refuse call N+1, rate windows are keyed by who shares them, risk decays
 * and resets as configured and never grows by itself, a new session does not reset what its
 * identity spent, and refusals say which budget and by how much.
 */
import { describe, expect, it } from 'vitest';
import type { Identity } from '../auth/index.js';
import { createSessionStore, HISTORY_LIMIT, type Session } from '../core/session.js';
import { GatewayError } from '../errors.js';
import { createCapStore } from '../limits/cap-store.js';
import { createRateStore } from '../limits/rate-store.js';
import type { SessionCounter } from '../policy/index.js';
import {
  addLocalRisk,
  budgetError,
  capKey,
  createMemoryState,
  decayedRisk,
  limitError,
  rateKey,
  riskHolder
} from './index.js';

const NOON = Date.UTC(2026, 10, 25, 12);
const alice: Identity = { id: 'alice', roles: ['analyst'], method: 'token', tokenId: 'tok-a' };
const bob: Identity = { id: 'bob', roles: ['analyst'], method: 'token', tokenId: 'tok-b' };

const cap = (max: number, key = 'cap'): SessionCounter => ({ kind: 'session', key, max });
const rate = (max: number, scope: SessionCounter['scope'] = 'identity', key = 'rl'): SessionCounter => ({
  kind: 'rate',
  key,
  max,
  window_ms: 1000,
  scope
});
const identityCap = (max: number, key = 'ic'): SessionCounter => ({
  kind: 'identity',
  key,
  max,
  window_ms: 1000,
  scope: 'identity'
});

/** What a call comes to: admitted, or the code of the budget that refused it. */
const outcome = (work: () => unknown): string => {
  try {
    work();
    return 'ok';
  } catch (err) {
    return err instanceof GatewayError ? err.code : `unexpected: ${String(err)}`;
  }
};

/** The refusal itself, to read its detail. */
const refusal = (work: () => unknown): GatewayError => {
  try {
    work();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('admitted');
};

const sessions = () => {
  const store = createSessionStore();
  return (id: string, who = alice): Session => store.open(who, 'http', id);
};

describe('decayed risk', () => {
  it('halves every half-life, and is unchanged without one', () => {
    expect(decayedRisk(8, NOON, NOON + 1000, { halfLifeMs: 1000 })).toBe(4);
    expect(decayedRisk(8, NOON, NOON + 3000, { halfLifeMs: 1000 })).toBe(1);
    expect(decayedRisk(8, NOON, NOON + 500, { halfLifeMs: 1000 })).toBeCloseTo(8 / Math.SQRT2, 10);
    expect(decayedRisk(8, NOON, NOON + 10_000_000, {})).toBe(8);
  });

  it('returns to zero exactly reset_after after the last risky call, not before', () => {
    expect(decayedRisk(8, NOON, NOON + 999, { resetAfterMs: 1000 })).toBe(8);
    expect(decayedRisk(8, NOON, NOON + 1000, { resetAfterMs: 1000 })).toBe(0);
    expect(decayedRisk(8, NOON, NOON + 999, { resetAfterMs: 1000, halfLifeMs: 999 })).toBeCloseTo(4, 10);
  });

  it('never grows: a clock that reads earlier than the last call leaves the risk as it was', () => {
    expect(decayedRisk(8, NOON, NOON - 5000, { halfLifeMs: 1000 })).toBe(8);
    expect(decayedRisk(8, NOON, NOON - 5000, { resetAfterMs: 1000 })).toBe(8);
  });

  it('a half-life of zero means no decay, not an instant reset', () => {
    expect(decayedRisk(8, NOON, NOON + 1000, { halfLifeMs: 0 })).toBe(8);
    expect(decayedRisk(8, NOON, NOON, { halfLifeMs: 0 })).toBe(8);
  });

  it('zero stays zero', () => {
    expect(decayedRisk(0, NOON, NOON + 1000, { halfLifeMs: 1000, resetAfterMs: 5000 })).toBe(0);
  });

  it('adds to the decayed value and restarts the clock', () => {
    const holder = { risk: 8, riskAt: NOON };
    expect(addLocalRisk(holder, 1, NOON + 1000, { halfLifeMs: 1000 })).toBe(5);
    expect(holder).toEqual({ risk: 5, riskAt: NOON + 1000 });
  });
});

describe('keys and refusals', () => {
  it('a rate window is shared by everyone, by an identity across its credentials, or by one session', () => {
    expect(rateKey(rate(1, 'global'), alice, 's1')).toBe('rl|*');
    expect(rateKey(rate(1, 'session'), alice, 's1')).toBe('rl|s:s1');
    expect(rateKey(rate(1, 'identity'), alice, 's1')).toBe('rl|i:token:alice');
    expect(rateKey(rate(1, 'identity'), { ...alice, tokenId: 'tok-2' }, 's2')).toBe('rl|i:token:alice');
    expect(rateKey(rate(1, 'identity'), bob, 's1')).toBe('rl|i:token:bob');
  });

  it('an identity cap is kept under the rule and what the identity shares', () => {
    const open = sessions();
    expect(capKey(identityCap(1), open('s1'))).toBe('ic|i:token:alice');
    expect(capKey(identityCap(1), open('s2'))).toBe('ic|i:token:alice');
  });

  it('risk is kept on the session, or on the identity when scoped so', () => {
    const s = sessions()('s1');
    expect(riskHolder(s, {})).toBe(s);
    expect(riskHolder(s, { perIdentity: false })).toBe(s);
    expect(riskHolder(s, { perIdentity: true })).toBe(s.shared);
  });

  it('each refusal names its budget', () => {
    const session = limitError(cap(3, 'writes'));
    expect(session.code).toBe('call_limit');
    expect(session.detail).toBe('rule writes: max_calls_per_session 3 reached');
    const rated = limitError(rate(5, 'global', 'search'));
    expect(rated.code).toBe('rate_limited');
    expect(rated.detail).toBe('rule search: rate limit 5 per 1000 ms (global) reached');
    const capped = limitError(identityCap(7, 'export'));
    expect(capped.code).toBe('call_limit');
    expect(capped.detail).toBe('rule export: max_calls 7 per identity within 1000 ms reached');
  });

  it('a risk refusal says whose risk and what it would reach, rounded to thousandths', () => {
    const e = budgetError(1 / 3, 2, 2);
    expect(e.code).toBe('risk_budget');
    expect(e.detail).toBe('session risk would reach 2.333, over the budget 2');
    expect(budgetError(4, 7, 10, true).detail).toBe('identity risk would reach 11, over the budget 10');
  });
});

describe('the memory store', () => {
  it('a per-session cap admits max calls and refuses call max + 1; another session has its own', () => {
    const state = createMemoryState();
    const open = sessions();
    const s = open('s1');
    const results = Array.from({ length: 4 }, () => outcome(() => state.consume(s, [cap(3)], 0, NOON, {})));
    expect(results).toEqual(['ok', 'ok', 'ok', 'call_limit']);
    expect(s.counts.get('cap')).toBe(3);
    expect(outcome(() => state.consume(open('s2'), [cap(3)], 0, NOON, {}))).toBe('ok');
  });

  it('a cap of zero refuses the first call', () => {
    const state = createMemoryState();
    expect(outcome(() => state.consume(sessions()('s'), [cap(0)], 0, NOON, {}))).toBe('call_limit');
  });

  it('a refusal names the counter that refused, not the first one', () => {
    const state = createMemoryState();
    const s = sessions()('s');
    state.consume(s, [cap(1, 'b')], 0, NOON, {});
    expect(refusal(() => state.consume(s, [cap(5, 'a'), cap(1, 'b')], 0, NOON, {})).detail).toBe(
      'rule b: max_calls_per_session 1 reached'
    );
    state.consume(s, [identityCap(1, 'x')], 0, NOON, {});
    expect(refusal(() => state.consume(s, [cap(5, 'a'), identityCap(1, 'x')], 0, NOON, {})).detail).toBe(
      'rule x: max_calls 1 per identity within 1000 ms reached'
    );
    state.consume(s, [rate(1, 'session', 'y')], 0, NOON, {});
    expect(refusal(() => state.consume(s, [cap(5, 'a'), rate(1, 'session', 'y')], 0, NOON, {})).code).toBe(
      'rate_limited'
    );
  });

  it('checks every budget before taking any: a refusal by the last counter takes nothing', () => {
    const state = createMemoryState();
    const s = sessions()('s');
    state.consume(s, [cap(1, 'full')], 0, NOON, {});
    const all = [cap(1, 'a'), rate(1, 'session'), identityCap(1), cap(1, 'full')];
    expect(outcome(() => state.consume(s, all, 0, NOON, {}))).toBe('call_limit');
    expect(s.counts.has('a')).toBe(false);
    expect(
      outcome(() => state.consume(s, [cap(1, 'a'), rate(1, 'session'), identityCap(1)], 0, NOON, {}))
    ).toBe('ok');
    expect(s.counts.get('a')).toBe(1);
  });

  it('a risk refusal takes nothing either', () => {
    const state = createMemoryState();
    const s = sessions()('s');
    const counters = [cap(1), rate(1, 'session'), identityCap(1)];
    expect(outcome(() => state.consume(s, counters, 11, NOON, { budget: 10 }))).toBe('risk_budget');
    expect(s.counts.has('cap')).toBe(false);
    expect(s.risk).toBe(0);
    expect(outcome(() => state.consume(s, counters, 10, NOON, { budget: 10 }))).toBe('ok');
  });

  it('a refused call opens no rate window: the window opens with the first call admitted, as in Redis', () => {
    const state = createMemoryState();
    const s = sessions()('s');
    // Refused by the risk budget, and by a spent cap: neither opens the window at NOON.
    expect(outcome(() => state.consume(s, [rate(1)], 11, NOON, { budget: 10 }))).toBe('risk_budget');
    state.consume(s, [cap(1, 'spent')], 0, NOON, {});
    expect(outcome(() => state.consume(s, [rate(1), cap(1, 'spent')], 0, NOON, {}))).toBe('call_limit');
    // The first admitted call opens it at NOON + 900: it holds until NOON + 1900.
    expect(outcome(() => state.consume(s, [rate(1)], 0, NOON + 900, {}))).toBe('ok');
    expect(outcome(() => state.consume(s, [rate(1)], 0, NOON + 1000, {}))).toBe('rate_limited');
    expect(outcome(() => state.consume(s, [rate(1)], 0, NOON + 1899, {}))).toBe('rate_limited');
    expect(outcome(() => state.consume(s, [rate(1)], 0, NOON + 1900, {}))).toBe('ok');
  });

  it('a call refused after its window ended does not move the window: the next admitted call opens it', () => {
    const state = createMemoryState();
    const s = sessions()('s');
    expect(outcome(() => state.consume(s, [rate(1)], 0, NOON, {}))).toBe('ok');
    // The window has ended; this call is refused by the risk budget and must not open a new one.
    expect(outcome(() => state.consume(s, [rate(1)], 11, NOON + 1000, { budget: 10 }))).toBe('risk_budget');
    expect(outcome(() => state.consume(s, [rate(1)], 0, NOON + 1500, {}))).toBe('ok');
    expect(outcome(() => state.consume(s, [rate(1)], 0, NOON + 2000, {}))).toBe('rate_limited');
    expect(outcome(() => state.consume(s, [rate(1)], 0, NOON + 2500, {}))).toBe('ok');
  });

  it('rate windows: identity scope is shared across sessions, session scope is not, and the window ends', () => {
    const state = createMemoryState();
    const open = sessions();
    expect(outcome(() => state.consume(open('s1'), [rate(2)], 0, NOON, {}))).toBe('ok');
    expect(outcome(() => state.consume(open('s2'), [rate(2)], 0, NOON, {}))).toBe('ok');
    expect(outcome(() => state.consume(open('s3'), [rate(2)], 0, NOON + 999, {}))).toBe('rate_limited');
    expect(outcome(() => state.consume(open('b', bob), [rate(2)], 0, NOON, {}))).toBe('ok');
    expect(outcome(() => state.consume(open('s3'), [rate(2)], 0, NOON + 1000, {}))).toBe('ok');
    const s = open('own');
    expect(outcome(() => state.consume(s, [rate(1, 'session', 'x')], 0, NOON, {}))).toBe('ok');
    expect(outcome(() => state.consume(s, [rate(1, 'session', 'x')], 0, NOON, {}))).toBe('rate_limited');
    expect(outcome(() => state.consume(open('other'), [rate(1, 'session', 'x')], 0, NOON, {}))).toBe('ok');
  });

  it('uses the tables it is given', () => {
    const rates = createRateStore();
    const caps = createCapStore();
    const state = createMemoryState(rates, caps);
    const s = sessions()('s');
    state.consume(s, [rate(1, 'session'), identityCap(1)], 0, NOON, {});
    expect(rates.peek(rateKey(rate(1, 'session'), alice, 's'), 1, 1000, NOON)).toBe(false);
    expect(caps.peek(capKey(identityCap(1), s), 1, 1000, NOON)).toBe(false);
  });

  it('an identity cap: a new session of the identity finds it spent, until the window slides', () => {
    const state = createMemoryState();
    const open = sessions();
    expect(outcome(() => state.consume(open('s1'), [identityCap(2)], 0, NOON, {}))).toBe('ok');
    expect(outcome(() => state.consume(open('s2'), [identityCap(2)], 0, NOON + 500, {}))).toBe('ok');
    expect(outcome(() => state.consume(open('s3'), [identityCap(2)], 0, NOON + 999, {}))).toBe('call_limit');
    expect(outcome(() => state.consume(open('b', bob), [identityCap(2)], 0, NOON, {}))).toBe('ok');
    expect(outcome(() => state.consume(open('s4'), [identityCap(2)], 0, NOON + 1000, {}))).toBe('ok');
    expect(outcome(() => state.consume(open('s5'), [identityCap(2)], 0, NOON + 1001, {}))).toBe('call_limit');
  });

  it('the risk budget: a call that would go over it is refused; reaching it exactly is allowed', () => {
    const state = createMemoryState();
    const s = sessions()('s');
    expect(outcome(() => state.consume(s, [], 6, NOON, { budget: 10 }))).toBe('ok');
    expect(outcome(() => state.consume(s, [], 5, NOON, { budget: 10 }))).toBe('risk_budget');
    expect(s.risk).toBe(6);
    expect(outcome(() => state.consume(s, [], 4, NOON, { budget: 10 }))).toBe('ok');
    expect(s.risk).toBe(10);
    expect(refusal(() => state.consume(s, [], 0.5, NOON, { budget: 10 })).detail).toBe(
      'session risk would reach 10.5, over the budget 10'
    );
  });

  it('the budget is judged on the decayed risk', () => {
    const state = createMemoryState();
    const s = sessions()('s');
    const settings = { budget: 8, halfLifeMs: 1000 };
    state.consume(s, [], 8, NOON, settings);
    expect(outcome(() => state.consume(s, [], 4, NOON + 999, settings))).toBe('risk_budget');
    expect(outcome(() => state.consume(s, [], 4, NOON + 1000, settings))).toBe('ok');
    expect(s.risk).toBe(8);
    expect(s.riskAt).toBe(NOON + 1000);
  });

  it('a call without risk passes even when the risk is over a budget lowered since, and adds nothing', () => {
    const state = createMemoryState();
    const s = sessions()('s');
    state.consume(s, [], 8, NOON, { resetAfterMs: 1000 });
    expect(outcome(() => state.consume(s, [cap(5)], 0, NOON + 900, { budget: 5, resetAfterMs: 1000 }))).toBe(
      'ok'
    );
    // A call without risk does not keep the risk alive: it still resets after the risky call.
    expect(s.riskAt).toBe(NOON);
    expect(decayedRisk(s.risk, s.riskAt, NOON + 1000, { resetAfterMs: 1000 })).toBe(0);
  });

  it('without a budget (observe mode) risk is recorded and never refuses', () => {
    const state = createMemoryState();
    const s = sessions()('s');
    for (let i = 0; i < 3; i++) expect(outcome(() => state.consume(s, [], 100, NOON, {}))).toBe('ok');
    expect(s.risk).toBe(300);
  });

  it('risk per identity: a new session does not reset it; per session, a new session starts at zero', () => {
    const state = createMemoryState();
    const open = sessions();
    const perIdentity = { budget: 10, perIdentity: true };
    expect(outcome(() => state.consume(open('s1'), [], 8, NOON, perIdentity))).toBe('ok');
    const s2 = open('s2');
    expect(refusal(() => state.consume(s2, [], 3, NOON, perIdentity)).detail).toBe(
      'identity risk would reach 11, over the budget 10'
    );
    expect(s2.risk).toBe(0);
    expect(s2.shared.risk).toBe(8);
    expect(state.addRisk(s2, 1, NOON, perIdentity)).toBe(9);
    expect(open('s3').shared.risk).toBe(9);
    // Per session: the session's own score, the identity's untouched.
    const s4 = open('s4');
    expect(outcome(() => state.consume(s4, [], 8, NOON, { budget: 10 }))).toBe('ok');
    expect(s4.risk).toBe(8);
    expect(s4.shared.risk).toBe(9);
    expect(state.addRisk(s4, 1, NOON, {})).toBe(9);
    expect(s4.risk).toBe(9);
  });

  it('records each admitted call in the session and in its identity, bounded', () => {
    const state = createMemoryState();
    const open = sessions();
    const s = open('s1');
    void state.sync(s, true);
    for (let i = 0; i < HISTORY_LIMIT + 2; i++)
      void state.record(s, { server: 'v', tool: `t${i}`, at: NOON + i });
    expect(s.history).toHaveLength(HISTORY_LIMIT);
    expect(s.history[0]!.tool).toBe('t2');
    expect(open('s2').shared.history.at(-1)!.tool).toBe(`t${HISTORY_LIMIT + 1}`);
    expect(open('s2').history).toEqual([]);
  });

  it('revocations, and what only the shared store keeps', async () => {
    const state = createMemoryState();
    expect(state.kind).toBe('memory');
    expect(state.healthy()).toBe(true);
    expect(state.isRevoked('tok-a')).toBe(false);
    await state.revoke('tok-a');
    expect(state.isRevoked('tok-a')).toBe(true);
    expect(state.isRevoked('tok-b')).toBe(false);
    await state.saveSession({ id: 's', owner: 'o', identity: alice, transport: 'http', createdAt: NOON });
    expect(await state.findSession('s')).toBeUndefined();
    await state.recordAuthFailure('10.0.0.1', { failures: 1, windowMs: 1000, durationMs: 1000 }, NOON);
    expect(state.lockedUntil('10.0.0.1', NOON)).toBeUndefined();
    await state.close();
  });

  it('a request window admits the limit, refuses the next, and opens again when it ends', async () => {
    const state = createMemoryState();
    const admitted = [];
    for (let i = 0; i < 4; i++) admitted.push(await state.admitRequest('token:alice', 3, 1000, NOON + i));
    expect(admitted).toEqual([true, true, true, false]);
    expect(await state.admitRequest('token:bob', 3, 1000, NOON)).toBe(true);
    expect(await state.admitRequest('token:alice', 3, 1000, NOON + 999)).toBe(false);
    expect(await state.admitRequest('token:alice', 3, 1000, NOON + 1000)).toBe(true);
    expect(await state.admitRequest('token:alice', 1, 1000, NOON + 1001)).toBe(false);
  });

  it('the request table is bounded: full of live windows, it refuses a new identity and resets nobody', async () => {
    const state = createMemoryState();
    expect(await state.admitRequest('victim', 1, 60_000, NOON)).toBe(true);
    expect(await state.admitRequest('victim', 1, 60_000, NOON)).toBe(false);
    // A new key does not touch another's window while the table has room.
    expect(await state.admitRequest('k0', 1, 60_000, NOON)).toBe(true);
    expect(await state.admitRequest('victim', 1, 60_000, NOON)).toBe(false);
    for (let i = 1; i < 99_999; i++) await state.admitRequest(`k${i}`, 1, 60_000, NOON);
    // 100,000 windows: the table is full, and still holds every one.
    expect(await state.admitRequest('victim', 1, 60_000, NOON)).toBe(false);
    // The next new key is refused: a flood of new identities resets no one's window.
    expect(await state.admitRequest('k-last', 1, 60_000, NOON)).toBe(false);
    expect(await state.admitRequest('victim', 1, 60_000, NOON + 59_999)).toBe(false);
    expect(await state.admitRequest('k5', 1, 60_000, NOON + 59_999)).toBe(false);
    // Windows that have ended make room.
    expect(await state.admitRequest('k-last', 1, 60_000, NOON + 60_000)).toBe(true);
    expect(await state.admitRequest('victim', 1, 60_000, NOON + 60_000)).toBe(true);
  });

  it('uses the request table it is given, and a refused request takes nothing from it', async () => {
    const requests = createRateStore(1);
    const state = createMemoryState(createRateStore(), createCapStore(), requests);
    expect(await state.admitRequest('token:alice', 2, 1000, NOON)).toBe(true);
    expect(requests.peek('token:alice', 2, 1000, NOON)).toBe(true);
    expect(await state.admitRequest('token:alice', 2, 1000, NOON)).toBe(true);
    expect(requests.peek('token:alice', 2, 1000, NOON)).toBe(false);
    // The table holds one key, live: another identity is refused until the window ends.
    expect(await state.admitRequest('token:bob', 2, 1000, NOON + 999)).toBe(false);
    expect(await state.admitRequest('token:bob', 2, 1000, NOON + 1000)).toBe(true);
  });
});
