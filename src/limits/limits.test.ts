/**
 * The in-memory budget tables and the settings the limits stage reads: a cap refuses call N+1 and
 * frees a slot exactly one window after the call that took it, a rate window reopens exactly when
 * it ends, full tables refuse new keys rather than drop anyone's count, and risk settings come from
 * the policy only as it says.
 */
import { describe, expect, it } from 'vitest';
import type { Identity } from '../auth/index.js';
import type { PolicySettings } from '../config/types.js';
import type { Resolved } from '../core/pipeline.js';
import { createSessionStore } from '../core/session.js';
import { GatewayError } from '../errors.js';
import type { Decision } from '../policy/index.js';
import type { RiskSettings, SharedState } from '../state/index.js';
import { createMemoryState } from '../state/index.js';
import { createCapStore } from './cap-store.js';
import { createRateStore, limitsStage } from './index.js';
import { makeRoom } from './rate-store.js';
import { riskSettingsOf } from './risk.js';

const NOON = Date.UTC(2026, 10, 25, 12);

describe('the identity cap table (a sliding window)', () => {
  it('admits max calls in a window and refuses call max + 1', () => {
    const caps = createCapStore();
    const admitted: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      const fits = caps.peek('k', 3, 1000, NOON + i);
      admitted.push(fits);
      if (fits) caps.take('k', 1000, NOON + i);
    }
    expect(admitted).toEqual([true, true, true, false]);
  });

  it('peek takes nothing: asking again and again leaves the slot free', () => {
    const caps = createCapStore();
    for (let i = 0; i < 5; i++) expect(caps.peek('k', 1, 1000, NOON)).toBe(true);
    caps.take('k', 1000, NOON);
    expect(caps.peek('k', 1, 1000, NOON)).toBe(false);
  });

  it('a call leaves the window exactly one window after it was made, not a millisecond before', () => {
    const caps = createCapStore();
    caps.take('k', 1000, NOON);
    caps.take('k', 1000, NOON + 400);
    expect(caps.peek('k', 2, 1000, NOON + 999)).toBe(false);
    expect(caps.peek('k', 2, 1000, NOON + 1000)).toBe(true);
    // Only the first left: the second still holds its slot.
    caps.take('k', 1000, NOON + 1000);
    expect(caps.peek('k', 2, 1000, NOON + 1399)).toBe(false);
    expect(caps.peek('k', 2, 1000, NOON + 1400)).toBe(true);
  });

  it('every call counts: two at one millisecond take two slots', () => {
    const caps = createCapStore();
    caps.take('k', 1000, NOON);
    caps.take('k', 1000, NOON);
    expect(caps.peek('k', 3, 1000, NOON)).toBe(true);
    caps.take('k', 1000, NOON);
    expect(caps.peek('k', 3, 1000, NOON + 999)).toBe(false);
  });

  it('a cap of zero (or less) refuses the first call of a new key', () => {
    const caps = createCapStore();
    expect(caps.peek('k', 0, 1000, NOON)).toBe(false);
    expect(caps.peek('k', -1, 1000, NOON)).toBe(false);
    expect(caps.peek('k', 1, 1000, NOON)).toBe(true);
  });

  it('keys are independent', () => {
    const caps = createCapStore();
    caps.take('a', 1000, NOON);
    expect(caps.peek('a', 1, 1000, NOON)).toBe(false);
    expect(caps.peek('b', 1, 1000, NOON)).toBe(true);
  });

  it('full of live logs, a new key is refused until one log has fully left its window', () => {
    const caps = createCapStore(2);
    caps.take('a', 1000, NOON);
    caps.take('b', 1000, NOON + 500);
    expect(caps.peek('c', 5, 1000, NOON + 999)).toBe(false);
    // At NOON + 1000 the log of `a` is empty: it makes room. `b` still holds a live call.
    expect(caps.peek('c', 5, 1000, NOON + 1000)).toBe(true);
    caps.take('c', 1000, NOON + 1000);
    expect(caps.peek('b', 1, 1000, NOON + 1000)).toBe(false);
    // The table is full again (b, c): a fourth key waits for one of them to empty.
    expect(caps.peek('d', 5, 1000, NOON + 1499)).toBe(false);
    expect(caps.peek('d', 5, 1000, NOON + 1500)).toBe(true);
  });

  it('making room never drops a log that still holds a live call, even if older calls left it', () => {
    const caps = createCapStore(2);
    caps.take('a', 1000, NOON);
    caps.take('a', 1000, NOON + 800);
    caps.take('b', 1000, NOON + 500);
    // At NOON + 1000 the first call of `a` has left its window, its second has not: no room.
    expect(caps.peek('c', 5, 1000, NOON + 1000)).toBe(false);
    expect(caps.peek('a', 1, 1000, NOON + 1000)).toBe(false);
  });

  it('a log is judged by its own window when the table makes room', () => {
    const caps = createCapStore(1);
    caps.take('long', 10_000, NOON);
    // A call with a short window does not evict a log whose long window is still live.
    expect(caps.peek('short', 5, 10, NOON + 100)).toBe(false);
    expect(caps.peek('short', 5, 10, NOON + 10_000)).toBe(true);
  });
});

describe('the rate table (fixed windows)', () => {
  it('a window opens with its first take and reopens exactly window_ms later', () => {
    const rates = createRateStore();
    expect(rates.take('k', 1, 1000, NOON)).toBe(true);
    expect(rates.take('k', 1, 1000, NOON + 999)).toBe(false);
    expect(rates.peek('k', 1, 1000, NOON + 999)).toBe(false);
    expect(rates.peek('k', 1, 1000, NOON + 1000)).toBe(true);
    expect(rates.take('k', 1, 1000, NOON + 1000)).toBe(true);
  });

  it('peek changes nothing: the window opens with the first take, not with a look', () => {
    const rates = createRateStore();
    expect(rates.peek('k', 1, 1000, NOON)).toBe(true);
    expect(rates.take('k', 1, 1000, NOON + 900)).toBe(true);
    expect(rates.take('k', 1, 1000, NOON + 1000)).toBe(false);
    expect(rates.take('k', 1, 1000, NOON + 1900)).toBe(true);
    // A look at an ended window does not open the next one either.
    expect(rates.peek('k', 1, 1000, NOON + 2900)).toBe(true);
    expect(rates.take('k', 1, 1000, NOON + 3500)).toBe(true);
    expect(rates.peek('k', 1, 1000, NOON + 3900)).toBe(false);
    // A look takes no room in a full table.
    const full = createRateStore(1);
    expect(full.peek('a', 1, 1000, NOON)).toBe(true);
    expect(full.take('b', 1, 1000, NOON)).toBe(true);
    expect(full.peek('a', 1, 1000, NOON)).toBe(false);
  });

  it('a window of zero calls refuses, and opens nothing', () => {
    const rates = createRateStore(1);
    expect(rates.peek('z', 0, 1000, NOON)).toBe(false);
    expect(rates.take('z', 0, 1000, NOON)).toBe(false);
    expect(rates.take('other', 1, 1000, NOON)).toBe(true);
  });

  it('full of live windows, a new key is refused by peek and take; an ended window makes room', () => {
    const rates = createRateStore(2);
    expect(rates.take('a', 5, 1000, NOON)).toBe(true);
    expect(rates.take('b', 5, 1000, NOON + 500)).toBe(true);
    expect(rates.peek('c', 5, 1000, NOON + 999)).toBe(false);
    expect(rates.take('c', 5, 1000, NOON + 999)).toBe(false);
    // The window of `a` has ended: its room goes to `c`; `b` keeps its count.
    expect(rates.take('c', 5, 1000, NOON + 1000)).toBe(true);
    expect(rates.take('b', 1, 1000, NOON + 1000)).toBe(false);
    expect(rates.take('d', 5, 1000, NOON + 1499)).toBe(false);
    expect(rates.take('d', 5, 1000, NOON + 1500)).toBe(true);
  });

  it('a window is judged by its own length when the table makes room', () => {
    const rates = createRateStore(1);
    expect(rates.take('long', 5, 10_000, NOON)).toBe(true);
    expect(rates.take('short', 5, 10, NOON + 100)).toBe(false);
    expect(rates.take('short', 5, 10, NOON + 10_000)).toBe(true);
  });

  it('an existing key keeps its window when the table is full', () => {
    const rates = createRateStore(1);
    expect(rates.take('a', 2, 1000, NOON)).toBe(true);
    expect(rates.take('a', 2, 1000, NOON + 1)).toBe(true);
    expect(rates.take('a', 2, 1000, NOON + 2)).toBe(false);
    // Its window ended: it opens a new one in its own place.
    expect(rates.take('a', 2, 1000, NOON + 1000)).toBe(true);
  });
});

describe('room in a bounded table', () => {
  it('drops only ended entries, and says when the first live one ends when that is not enough', () => {
    const table = new Map([
      ['a', 100],
      ['b', 300],
      ['c', 200]
    ]);
    const end = (v: number) => v;
    expect(makeRoom(table, 4, 'new', 1000, end)).toBeUndefined();
    expect(makeRoom(table, 3, 'a', 1000, end)).toBeUndefined();
    expect(table.size).toBe(3);
    expect(makeRoom(table, 3, 'new', 99, end)).toBe(100);
    expect([...table.keys()]).toEqual(['a', 'b', 'c']);
    expect(makeRoom(table, 2, 'new', 100, end)).toBe(200);
    expect([...table.keys()]).toEqual(['b', 'c']);
    expect(makeRoom(table, 2, 'new', 200, end)).toBeUndefined();
    expect([...table.keys()]).toEqual(['b']);
  });
});

describe('risk settings from the policy', () => {
  const settings = (mode: PolicySettings['mode'], risk?: PolicySettings['risk']): PolicySettings => ({
    mode,
    tool_risk: {},
    ...(risk ? { risk } : {})
  });

  it('carries half-life, reset and scope; the budget only when enforcing', () => {
    expect(
      riskSettingsOf(
        settings('enforce', { budget: 10, half_life: '10m', reset_after: '1h', scope: 'identity' })
      )
    ).toEqual({ halfLifeMs: 600_000, resetAfterMs: 3_600_000, budget: 10, perIdentity: true });
    expect(riskSettingsOf(settings('observe', { budget: 10, half_life: '1s' }))).toEqual({
      halfLifeMs: 1000
    });
  });

  it('leaves out what the policy does not set; a session scope is the default', () => {
    expect(riskSettingsOf(settings('enforce'))).toStrictEqual({});
    expect(riskSettingsOf(settings('enforce', { scope: 'session' }))).toStrictEqual({});
    expect(riskSettingsOf(settings('enforce', { budget: 0 }))).toStrictEqual({ budget: 0 });
    expect(riskSettingsOf(settings('enforce', { reset_after: '2s' }))).toStrictEqual({ resetAfterMs: 2000 });
  });
});

describe('the limits stage', () => {
  const alice: Identity = { id: 'alice', roles: [], method: 'token' };
  const decision = (over: Partial<Decision>): Decision => ({
    effect: 'allow',
    reason: 'test',
    rules: ['r'],
    risk: 0,
    counters: [],
    ...over
  });

  it('takes from the shared state with the time of the call and the risk settings in force now', () => {
    const seen: Array<{ risk: number; now: number; settings: RiskSettings; counters: number }> = [];
    const state = {
      ...createMemoryState(),
      consume(_session, counters, risk, now, s) {
        seen.push({ risk, now, settings: s, counters: counters.length });
      }
    } satisfies SharedState;
    let budget = 5;
    const stage = limitsStage(state, () => ({ budget }));
    expect(stage.name).toBe('limits');
    const session = createSessionStore().open(alice, 'http', 's');
    const before = Date.now();
    const counters = [{ kind: 'session' as const, key: 'c', max: 1 }];
    stage.run({ session, decision: decision({ risk: 2, counters }) } as unknown as Resolved);
    budget = 7;
    stage.run({ session, decision: decision({ risk: 3 }) } as unknown as Resolved);
    expect(seen.map(({ risk, settings, counters }) => ({ risk, settings, counters }))).toEqual([
      { risk: 2, settings: { budget: 5 }, counters: 1 },
      { risk: 3, settings: { budget: 7 }, counters: 0 }
    ]);
    for (const s of seen) expect(s.now).toBeGreaterThanOrEqual(before);
    for (const s of seen) expect(s.now).toBeLessThanOrEqual(Date.now());
  });

  it('a spent budget refuses the call through the stage', () => {
    const stage = limitsStage(createMemoryState(), () => ({}));
    const session = createSessionStore().open(alice, 'http', 's');
    const d = decision({ counters: [{ kind: 'session', key: 'c', max: 1 }] });
    expect(stage.run({ session, decision: d } as unknown as Resolved)).toBeUndefined();
    expect(() => stage.run({ session, decision: d } as unknown as Resolved)).toThrow(GatewayError);
  });
});
