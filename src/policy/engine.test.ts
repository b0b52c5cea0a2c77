/**
 * The policy engine's conditions and session features: time windows (zones, DST), session
 * history, principal, argument comparisons, CEL, observe mode, risk and rate limits. Every
 * operator has a negative case: the call that must be refused, or the rule that must not apply.
 * Every decision runs at a fixed instant; nothing here reads the real clock.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Identity } from '../auth/index.js';
import type { PolicySettings, RuleConfig } from '../config/types.js';
import type { Resolved } from '../core/pipeline.js';
import type { Session } from '../core/session.js';
import { GatewayError, type ErrorCode } from '../errors.js';
import { createRateStore, limitsStage } from '../limits/index.js';
import { riskSettingsOf } from '../limits/risk.js';
import { addLocalRisk, createMemoryState, decayedRisk } from '../state/index.js';
import {
  compilePolicy,
  ruleIssues,
  type CallRecordView,
  type Decision,
  type Policy,
  type PolicyInput
} from './index.js';

const BUDGET_CODES: readonly ErrorCode[] = ['call_limit', 'rate_limited', 'risk_budget'];
type WhereOp = NonNullable<RuleConfig['where']>[number]['op'];

/** An instant in UTC; month is 1-12. */
const utc = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number =>
  Date.UTC(y, mo - 1, d, h, mi, s);

/** Wednesday 2026-03-18 12:00 UTC: the default instant for tests that are not about time. */
const NOON = utc(2026, 3, 18, 12);
const MIN = 60_000;

const call = (over: Partial<PolicyInput> = {}): PolicyInput => ({
  roles: ['analyst'],
  server: 'files',
  tool: 't',
  args: {},
  now: NOON,
  ...over
});

const settings = (over: Partial<PolicySettings> = {}): PolicySettings => ({
  mode: 'enforce',
  tool_risk: {},
  ...over
});

const grant: RuleConfig = { tool: '*', allowed_roles: ['analyst'] };

// ---------------------------------------------------------------------------------------------

/** The session risk arithmetic, as the gateway applies it. */
const createRiskModel = (s: PolicySettings) => {
  const r = riskSettingsOf(s);
  return {
    current: (sess: Session, now: number) => decayedRisk(sess.risk, sess.riskAt, now, r),
    add: (sess: Session, amount: number, now: number) => addLocalRisk(sess, amount, now, r)
  };
};

describe('time windows', () => {
  type Time = NonNullable<RuleConfig['time']>;
  /** A policy whose only grant is `t` inside the window. */
  const only = (time: Time) => compilePolicy([{ id: 'window', tool: 't', allowed_roles: ['analyst'], time }]);
  const effectAt = (p: ReturnType<typeof compilePolicy>, now: number) => p.decide(call({ now })).effect;

  it('hours: start inclusive, end exclusive (UTC by default)', () => {
    const p = only({ hours: '09:00-17:00' });
    expect(effectAt(p, utc(2026, 3, 18, 9, 0))).toBe('allow');
    expect(effectAt(p, utc(2026, 3, 18, 12, 0))).toBe('allow');
    expect(effectAt(p, utc(2026, 3, 18, 16, 59, 59))).toBe('allow');
    expect(effectAt(p, utc(2026, 3, 18, 8, 59, 59))).toBe('deny');
    expect(effectAt(p, utc(2026, 3, 18, 17, 0))).toBe('deny');
    expect(effectAt(p, utc(2026, 3, 18, 23, 30))).toBe('deny');
    expect(effectAt(p, utc(2026, 3, 18, 0, 0))).toBe('deny');
  });

  it('a window that does not hold means the rule does not apply: no_rule or role_not_allowed', () => {
    const p = only({ hours: '09:00-17:00' });
    expect(p.decide(call({ now: utc(2026, 3, 18, 20) }))).toMatchObject({ effect: 'deny', code: 'no_rule' });
    const withOther = compilePolicy([
      { tool: 't', allowed_roles: ['admin'] },
      { tool: 't', allowed_roles: ['analyst'], time: { hours: '09:00-17:00' } }
    ]);
    expect(withOther.decide(call({ now: utc(2026, 3, 18, 20) }))).toMatchObject({
      effect: 'deny',
      code: 'role_not_allowed',
      rules: ['rules[0]']
    });
    expect(withOther.decide(call({ now: utc(2026, 3, 18, 10) })).effect).toBe('allow');
  });

  it('days of the week, any capitalisation or full names', () => {
    const p = only({ days: ['mon', 'TUE', 'Wednesday', 'thu', 'fri'] });
    expect(effectAt(p, utc(2026, 3, 16, 12))).toBe('allow'); // Monday
    expect(effectAt(p, utc(2026, 3, 17, 12))).toBe('allow'); // Tuesday
    expect(effectAt(p, utc(2026, 3, 18, 12))).toBe('allow'); // Wednesday
    expect(effectAt(p, utc(2026, 3, 20, 23, 59))).toBe('allow'); // Friday, last minute
    expect(effectAt(p, utc(2026, 3, 21, 0, 0))).toBe('deny'); // Saturday, first minute
    expect(effectAt(p, utc(2026, 3, 22, 12))).toBe('deny'); // Sunday
    const weekend = only({ days: ['Saturday', 'SUN'] });
    expect(effectAt(weekend, utc(2026, 3, 21, 12))).toBe('allow');
    expect(effectAt(weekend, utc(2026, 3, 22, 12))).toBe('allow');
    expect(effectAt(weekend, utc(2026, 3, 23, 12))).toBe('deny');
  });

  it('a window that wraps midnight (22:00-06:00)', () => {
    const p = only({ hours: '22:00-06:00' });
    expect(effectAt(p, utc(2026, 3, 18, 22, 0))).toBe('allow');
    expect(effectAt(p, utc(2026, 3, 18, 23, 59))).toBe('allow');
    expect(effectAt(p, utc(2026, 3, 19, 0, 0))).toBe('allow');
    expect(effectAt(p, utc(2026, 3, 19, 5, 59))).toBe('allow');
    expect(effectAt(p, utc(2026, 3, 19, 6, 0))).toBe('deny');
    expect(effectAt(p, utc(2026, 3, 18, 21, 59))).toBe('deny');
    expect(effectAt(p, utc(2026, 3, 18, 12, 0))).toBe('deny');
  });

  it('midnight is hour 0, not 24 (a window starting at 00:00)', () => {
    const p = only({ hours: '00:00-00:30' });
    expect(effectAt(p, utc(2026, 3, 18, 0, 0))).toBe('allow');
    expect(effectAt(p, utc(2026, 3, 18, 0, 29))).toBe('allow');
    expect(effectAt(p, utc(2026, 3, 18, 0, 30))).toBe('deny');
    expect(effectAt(p, utc(2026, 3, 18, 23, 59))).toBe('deny');
    const lastHour = only({ hours: '23:00-24:00' });
    expect(effectAt(lastHour, utc(2026, 3, 18, 23, 59))).toBe('allow');
    expect(effectAt(lastHour, utc(2026, 3, 19, 0, 0))).toBe('deny');
  });

  it('date range: from and until are both inclusive days', () => {
    const p = only({ from: '2026-03-01', until: '2026-03-31' });
    expect(effectAt(p, utc(2026, 2, 28, 23, 59, 59))).toBe('deny');
    expect(effectAt(p, utc(2026, 3, 1, 0, 0))).toBe('allow');
    expect(effectAt(p, utc(2026, 3, 31, 23, 59, 59))).toBe('allow');
    expect(effectAt(p, utc(2026, 4, 1, 0, 0))).toBe('deny');
    expect(effectAt(p, utc(2025, 3, 15, 12))).toBe('deny'); // the same day a year earlier
    expect(effectAt(p, utc(2027, 3, 15, 12))).toBe('deny'); // and a year later
    const fromOnly = only({ from: '2026-03-10' });
    expect(effectAt(fromOnly, utc(2026, 3, 9, 23, 59))).toBe('deny');
    expect(effectAt(fromOnly, utc(2030, 1, 1))).toBe('allow');
    const untilOnly = only({ until: '2026-03-10' });
    expect(effectAt(untilOnly, utc(2026, 3, 10, 23, 59))).toBe('allow');
    expect(effectAt(untilOnly, utc(2026, 3, 11, 0, 0))).toBe('deny');
  });

  it('date range is in the rule time zone', () => {
    const berlin = only({ from: '2026-03-01', until: '2026-03-31', timezone: 'Europe/Berlin' });
    const inUtc = only({ from: '2026-03-01', until: '2026-03-31' });
    // 2026-02-28 23:30 UTC is 2026-03-01 00:30 CET.
    expect(effectAt(berlin, utc(2026, 2, 28, 23, 30))).toBe('allow');
    expect(effectAt(inUtc, utc(2026, 2, 28, 23, 30))).toBe('deny');
    // 2026-03-31 22:30 UTC is 2026-04-01 00:30 CEST.
    expect(effectAt(berlin, utc(2026, 3, 31, 22, 30))).toBe('deny');
    expect(effectAt(inUtc, utc(2026, 3, 31, 22, 30))).toBe('allow');
  });

  it('days are the local day in the rule time zone', () => {
    const berlinMon = only({ days: ['mon'], timezone: 'Europe/Berlin' });
    const utcMon = only({ days: ['mon'] });
    // Sunday 2026-03-22 23:30 UTC is Monday 00:30 CET.
    expect(effectAt(berlinMon, utc(2026, 3, 22, 23, 30))).toBe('allow');
    expect(effectAt(utcMon, utc(2026, 3, 22, 23, 30))).toBe('deny');
    // Monday 2026-03-23 23:30 UTC is Tuesday 00:30 CET.
    expect(effectAt(berlinMon, utc(2026, 3, 23, 23, 30))).toBe('deny');
    expect(effectAt(utcMon, utc(2026, 3, 23, 23, 30))).toBe('allow');
    const nyMon = only({ days: ['mon'], timezone: 'America/New_York' });
    // Monday 2026-03-23 03:30 UTC is Sunday 23:30 EDT.
    expect(effectAt(nyMon, utc(2026, 3, 23, 3, 30))).toBe('deny');
    expect(effectAt(nyMon, utc(2026, 3, 24, 3, 30))).toBe('allow');
  });

  it('the same instant is business hours in Berlin and not in New York', () => {
    const berlin = only({ hours: '09:00-17:00', timezone: 'Europe/Berlin' });
    const ny = only({ hours: '09:00-17:00', timezone: 'America/New_York' });
    // Wednesday 2026-02-18, both on standard time: 10:00 UTC is 11:00 CET and 05:00 EST.
    expect(effectAt(berlin, utc(2026, 2, 18, 10))).toBe('allow');
    expect(effectAt(ny, utc(2026, 2, 18, 10))).toBe('deny');
    // 20:00 UTC is 21:00 CET and 15:00 EST.
    expect(effectAt(berlin, utc(2026, 2, 18, 20))).toBe('deny');
    expect(effectAt(ny, utc(2026, 2, 18, 20))).toBe('allow');
    // 14:30 UTC is 15:30 CET and 09:30 EST: both.
    expect(effectAt(berlin, utc(2026, 2, 18, 14, 30))).toBe('allow');
    expect(effectAt(ny, utc(2026, 2, 18, 14, 30))).toBe('allow');
  });

  it('each zone keeps its own DST dates (US changes on 2026-03-08, EU on 2026-03-29)', () => {
    const ny = only({ hours: '09:00-17:00', timezone: 'America/New_York' });
    // 13:30 UTC: Friday 2026-03-06 is 08:30 EST; Friday 2026-03-20 is 09:30 EDT.
    expect(effectAt(ny, utc(2026, 3, 6, 13, 30))).toBe('deny');
    expect(effectAt(ny, utc(2026, 3, 20, 13, 30))).toBe('allow');
    // New York falls back on 2026-11-01: 13:30 UTC on 2026-10-30 is 09:30 EDT, on 2026-11-02 08:30 EST.
    expect(effectAt(ny, utc(2026, 10, 30, 13, 30))).toBe('allow');
    expect(effectAt(ny, utc(2026, 11, 2, 13, 30))).toBe('deny');
  });

  describe('Europe/Berlin across DST', () => {
    const p = only({ hours: '09:00-17:00', timezone: 'Europe/Berlin' });

    it('spring: CET (UTC+1) before 2026-03-29, CEST (UTC+2) after', () => {
      // Friday 2026-03-27, CET.
      expect(effectAt(p, utc(2026, 3, 27, 7, 30))).toBe('deny'); // 08:30 CET
      expect(effectAt(p, utc(2026, 3, 27, 8, 0))).toBe('allow'); // 09:00 CET
      expect(effectAt(p, utc(2026, 3, 27, 8, 30))).toBe('allow'); // 09:30 CET
      expect(effectAt(p, utc(2026, 3, 27, 15, 30))).toBe('allow'); // 16:30 CET
      expect(effectAt(p, utc(2026, 3, 27, 16, 0))).toBe('deny'); // 17:00 CET
      // Monday 2026-03-30, CEST: the same UTC times now mean one hour later.
      expect(effectAt(p, utc(2026, 3, 30, 6, 30))).toBe('deny'); // 08:30 CEST
      expect(effectAt(p, utc(2026, 3, 30, 7, 0))).toBe('allow'); // 09:00 CEST
      expect(effectAt(p, utc(2026, 3, 30, 7, 30))).toBe('allow'); // 09:30 CEST
      expect(effectAt(p, utc(2026, 3, 30, 14, 59))).toBe('allow'); // 16:59 CEST
      expect(effectAt(p, utc(2026, 3, 30, 15, 0))).toBe('deny'); // 17:00 CEST
      expect(effectAt(p, utc(2026, 3, 30, 15, 30))).toBe('deny'); // 17:30 CEST
    });

    it('spring, the night of the change: 02:00-02:59 local never happens', () => {
      const night = only({ hours: '01:00-03:00', timezone: 'Europe/Berlin' });
      expect(effectAt(night, utc(2026, 3, 28, 23, 59))).toBe('deny'); // 00:59 CET
      expect(effectAt(night, utc(2026, 3, 29, 0, 0))).toBe('allow'); // 01:00 CET
      expect(effectAt(night, utc(2026, 3, 29, 0, 59))).toBe('allow'); // 01:59 CET
      expect(effectAt(night, utc(2026, 3, 29, 1, 0))).toBe('deny'); // 03:00 CEST
      const gap = only({ hours: '02:00-03:00', timezone: 'Europe/Berlin' });
      for (let t = utc(2026, 3, 28, 22); t < utc(2026, 3, 29, 4); t += 5 * MIN) {
        expect(effectAt(gap, t)).toBe('deny');
      }
      // The day before, the same window is open at 01:30 UTC (02:30 CET).
      expect(effectAt(gap, utc(2026, 3, 28, 1, 30))).toBe('allow');
    });

    it('autumn: CEST before 2026-10-25 03:00, CET after', () => {
      // Friday 2026-10-23, CEST.
      expect(effectAt(p, utc(2026, 10, 23, 6, 30))).toBe('deny'); // 08:30 CEST
      expect(effectAt(p, utc(2026, 10, 23, 7, 0))).toBe('allow'); // 09:00 CEST
      expect(effectAt(p, utc(2026, 10, 23, 7, 30))).toBe('allow'); // 09:30 CEST
      expect(effectAt(p, utc(2026, 10, 23, 15, 0))).toBe('deny'); // 17:00 CEST
      expect(effectAt(p, utc(2026, 10, 23, 15, 30))).toBe('deny'); // 17:30 CEST
      // Monday 2026-10-26, CET.
      expect(effectAt(p, utc(2026, 10, 26, 7, 30))).toBe('deny'); // 08:30 CET
      expect(effectAt(p, utc(2026, 10, 26, 8, 0))).toBe('allow'); // 09:00 CET
      expect(effectAt(p, utc(2026, 10, 26, 15, 30))).toBe('allow'); // 16:30 CET
      expect(effectAt(p, utc(2026, 10, 26, 16, 0))).toBe('deny'); // 17:00 CET
    });

    it('autumn, the night of the change: 02:00-02:59 local happens twice, both inside', () => {
      const twice = only({ hours: '02:00-03:00', timezone: 'Europe/Berlin' });
      expect(effectAt(twice, utc(2026, 10, 24, 23, 59))).toBe('deny'); // 01:59 CEST
      expect(effectAt(twice, utc(2026, 10, 25, 0, 0))).toBe('allow'); // 02:00 CEST
      expect(effectAt(twice, utc(2026, 10, 25, 0, 59))).toBe('allow'); // 02:59 CEST
      expect(effectAt(twice, utc(2026, 10, 25, 1, 0))).toBe('allow'); // 02:00 CET (again)
      expect(effectAt(twice, utc(2026, 10, 25, 1, 59))).toBe('allow'); // 02:59 CET
      expect(effectAt(twice, utc(2026, 10, 25, 2, 0))).toBe('deny'); // 03:00 CET
    });
  });

  it('asks in any order: a decision at one instant does not leak into another', () => {
    const p = only({ hours: '09:00-17:00', timezone: 'Europe/Berlin' });
    const instants: Array<[number, string]> = [
      [utc(2026, 3, 30, 7, 30), 'allow'],
      [utc(2026, 3, 27, 7, 30), 'deny'],
      [utc(2026, 3, 30, 7, 30, 30), 'allow'], // same minute as the first, after another minute
      [utc(2026, 3, 27, 7, 30, 45), 'deny'],
      [utc(2026, 3, 27, 8, 0), 'allow']
    ];
    for (const [now, expected] of instants) expect(effectAt(p, now)).toBe(expected);
  });

  it('two rules in different zones in one policy each use their own clock', () => {
    const p = compilePolicy([
      {
        id: 'eu',
        tool: 't',
        allowed_roles: ['analyst'],
        time: { hours: '09:00-17:00', timezone: 'Europe/Berlin' }
      },
      {
        id: 'us',
        tool: 't',
        allowed_roles: ['analyst'],
        time: { hours: '09:00-17:00', timezone: 'America/New_York' }
      }
    ]);
    expect(p.decide(call({ now: utc(2026, 2, 18, 10) })).rules).toEqual(['eu']);
    expect(p.decide(call({ now: utc(2026, 2, 18, 20) })).rules).toEqual(['us']);
    expect(p.decide(call({ now: utc(2026, 2, 18, 15) })).rules).toEqual(['eu', 'us']);
    expect(p.decide(call({ now: utc(2026, 2, 18, 23) })).code).toBe('no_rule');
  });

  it('days, hours, dates and zone must all hold together', () => {
    const p = only({
      days: ['mon', 'tue', 'wed', 'thu', 'fri'],
      hours: '09:00-17:00',
      from: '2026-03-01',
      until: '2026-03-31',
      timezone: 'Europe/Berlin'
    });
    expect(effectAt(p, utc(2026, 3, 18, 10))).toBe('allow'); // Wed 11:00 CET, in March
    expect(effectAt(p, utc(2026, 3, 21, 10))).toBe('deny'); // Saturday
    expect(effectAt(p, utc(2026, 3, 18, 17))).toBe('deny'); // 18:00 CET
    expect(effectAt(p, utc(2026, 4, 1, 10))).toBe('deny'); // April, a Wednesday
    expect(effectAt(p, utc(2026, 2, 18, 10))).toBe('deny'); // February, a Wednesday
  });

  it('a deny rule with a window denies only inside the window', () => {
    const p = compilePolicy([grant, { id: 'night', tool: 't', deny: true, time: { hours: '22:00-06:00' } }]);
    expect(p.decide(call({ now: utc(2026, 3, 18, 23) }))).toMatchObject({
      effect: 'deny',
      code: 'policy_denied',
      rules: ['night']
    });
    expect(p.decide(call({ now: utc(2026, 3, 19, 3) })).effect).toBe('deny');
    expect(p.decide(call({ now: utc(2026, 3, 18, 12) })).effect).toBe('allow');
    expect(p.decide(call({ now: utc(2026, 3, 19, 6) })).effect).toBe('allow');
  });

  it('an unknown time zone is refused at compile time, not ignored', () => {
    expect(() =>
      compilePolicy([{ tool: 't', allowed_roles: ['analyst'], time: { timezone: 'Mars/Olympus_Mons' } }])
    ).toThrow();
  });

  it('explain says which window does not hold', () => {
    const p = only({ hours: '09:00-17:00', timezone: 'Europe/Berlin' });
    const { trace } = p.explain(call({ now: utc(2026, 3, 18, 20) }));
    expect(trace[0]).toMatchObject({ rule: 'window', matched: false });
    expect(trace[0]?.notes.join(' ')).toContain('09:00-17:00 Europe/Berlin does not hold');
  });
});

// ---------------------------------------------------------------------------------------------
describe('session history (after)', () => {
  const rec = (tool: string, at = NOON - MIN, server = 'vault'): CallRecordView => ({ server, tool, at });
  let exfil: Policy;
  beforeAll(() => {
    exfil = compilePolicy([
      grant,
      { id: 'exfil', tool: 'http_*', deny: true, after: { tools: ['read_secret'] } }
    ]);
  });

  it('read a secret, then a network call: refused; before the secret: allowed', () => {
    expect(exfil.decide(call({ tool: 'http_get', history: [] })).effect).toBe('allow');
    expect(exfil.decide(call({ tool: 'http_get', history: [rec('list_files')] })).effect).toBe('allow');
    expect(exfil.decide(call({ tool: 'http_get', history: [rec('read_secret')] }))).toMatchObject({
      effect: 'deny',
      code: 'policy_denied',
      rules: ['exfil']
    });
    expect(
      exfil.decide(call({ tool: 'http_post', history: [rec('read_secret'), rec('list_files')] })).effect
    ).toBe('deny');
  });

  it('order matters: a network call followed by reading the secret is fine', () => {
    expect(exfil.decide(call({ tool: 'read_secret', history: [rec('http_get')] })).effect).toBe('allow');
  });

  it('only the named tool counts, on any server, and only the deny rule tools are refused', () => {
    expect(exfil.decide(call({ tool: 'http_get', history: [rec('read_secrets')] })).effect).toBe('allow');
    expect(exfil.decide(call({ tool: 'http_get', history: [rec('read_secret_meta')] })).effect).toBe('allow');
    expect(
      exfil.decide(call({ tool: 'http_get', history: [rec('read_secret', NOON, 'other')] })).effect
    ).toBe('deny');
    expect(exfil.decide(call({ tool: 'list_files', history: [rec('read_secret')] })).effect).toBe('allow');
  });

  it('within_calls: 3 remembers the third call back and forgets the fourth', () => {
    const p = compilePolicy([
      grant,
      { tool: 'http_*', deny: true, after: { tools: ['read_secret'], within_calls: 3 } }
    ]);
    const h = (...tools: string[]) => tools.map((t) => rec(t));
    expect(p.decide(call({ tool: 'http_get', history: h('read_secret') })).effect).toBe('deny');
    expect(p.decide(call({ tool: 'http_get', history: h('read_secret', 'a', 'b') })).effect).toBe('deny');
    expect(p.decide(call({ tool: 'http_get', history: h('read_secret', 'a', 'b', 'c') })).effect).toBe(
      'allow'
    );
    expect(
      p.decide(call({ tool: 'http_get', history: h('read_secret', 'a', 'b', 'c', 'read_secret') })).effect
    ).toBe('deny');
  });

  it("within: '10m' remembers 10 minutes back and forgets 11", () => {
    const p = compilePolicy([
      grant,
      { tool: 'http_*', deny: true, after: { tools: ['read_secret'], within: '10m' } }
    ]);
    const at = (ago: number) =>
      p.decide(call({ tool: 'http_get', history: [rec('read_secret', NOON - ago)] })).effect;
    expect(at(MIN)).toBe('deny');
    expect(at(9 * MIN)).toBe('deny');
    expect(at(10 * MIN)).toBe('deny');
    expect(at(10 * MIN + 1)).toBe('allow');
    expect(at(11 * MIN)).toBe('allow');
    expect(at(24 * 60 * MIN)).toBe('allow');
    // An old read followed by recent harmless calls is still forgotten.
    const history = [rec('read_secret', NOON - 11 * MIN), rec('a', NOON - 2 * MIN), rec('b', NOON - MIN)];
    expect(p.decide(call({ tool: 'http_get', history })).effect).toBe('allow');
  });

  it('within and within_calls together: both must hold', () => {
    const p = compilePolicy([
      grant,
      { tool: 'http_*', deny: true, after: { tools: ['read_secret'], within: '10m', within_calls: 2 } }
    ]);
    const d = (history: CallRecordView[]) => p.decide(call({ tool: 'http_get', history })).effect;
    expect(d([rec('read_secret', NOON - MIN)])).toBe('deny');
    expect(d([rec('read_secret', NOON - 20 * MIN)])).toBe('allow'); // within 2 calls, not 10 minutes
    expect(d([rec('read_secret', NOON - 3 * MIN), rec('a'), rec('b')])).toBe('allow'); // 10m, not 2 calls
  });

  it('min_count: the rule applies from the nth matching call on', () => {
    const p = compilePolicy([
      grant,
      { id: 'bulk', tool: 'export', require_approval: true, after: { tools: ['read_*'], min_count: 3 } }
    ]);
    const d = (...tools: string[]) =>
      p.decide(call({ tool: 'export', history: tools.map((t) => rec(t)) })).effect;
    expect(d()).toBe('allow');
    expect(d('read_a', 'read_b')).toBe('allow');
    expect(d('read_a', 'write', 'read_b', 'list')).toBe('allow');
    expect(d('read_a', 'read_b', 'read_c')).toBe('approval');
    expect(d('read_a', 'write', 'read_a', 'list', 'read_a')).toBe('approval');
    const windowed = compilePolicy([
      grant,
      { tool: 'export', deny: true, after: { tools: ['read_*'], min_count: 2, within_calls: 3 } }
    ]);
    const w = (...tools: string[]) =>
      windowed.decide(call({ tool: 'export', history: tools.map((t) => rec(t)) })).effect;
    expect(w('read_a', 'x', 'read_b')).toBe('deny');
    expect(w('read_a', 'x', 'y', 'read_b')).toBe('allow'); // the first read is 4 calls back
  });

  it('a glob with a server matches only that server', () => {
    const p = compilePolicy([grant, { tool: 'send_*', deny: true, after: { tools: ['files__read_*'] } }]);
    const d = (server: string, tool: string) =>
      p.decide(call({ tool: 'send_mail', history: [rec(tool, NOON - MIN, server)] })).effect;
    expect(d('files', 'read_file')).toBe('deny');
    expect(d('files', 'read_')).toBe('deny');
    expect(d('web', 'read_file')).toBe('allow');
    expect(d('files2', 'read_file')).toBe('allow');
    expect(d('myfiles', 'read_file')).toBe('allow');
    expect(d('files', 'write_file')).toBe('allow');
    expect(d('files', 'xread_file')).toBe('allow');
  });

  it('several tools in the list: any of them counts', () => {
    const p = compilePolicy([
      grant,
      { tool: 'http_*', deny: true, after: { tools: ['read_secret', 'vault__*'] } }
    ]);
    expect(p.decide(call({ tool: 'http_get', history: [rec('get_key', NOON, 'vault')] })).effect).toBe(
      'deny'
    );
    expect(p.decide(call({ tool: 'http_get', history: [rec('read_secret', NOON, 'x')] })).effect).toBe(
      'deny'
    );
    expect(p.decide(call({ tool: 'http_get', history: [rec('get_key', NOON, 'x')] })).effect).toBe('allow');
  });

  it('a sequence can escalate to approval instead of refusing', () => {
    const p = compilePolicy([
      grant,
      {
        id: 'ask',
        tool: 'send_email',
        require_approval: true,
        after: { tools: ['read_secret'], within: '1h' }
      }
    ]);
    expect(p.decide(call({ tool: 'send_email' })).effect).toBe('allow');
    expect(
      p.decide(call({ tool: 'send_email', history: [rec('read_secret', NOON - 30 * MIN)] }))
    ).toMatchObject({
      effect: 'approval',
      code: 'approval_required',
      rules: ['ask', 'rules[0]']
    });
    expect(
      p.decide(call({ tool: 'send_email', history: [rec('read_secret', NOON - 61 * MIN)] })).effect
    ).toBe('allow');
  });

  it('an after condition on a grant: a tool unlocked only by an earlier call', () => {
    const p = compilePolicy([
      { tool: 'commit', allowed_roles: ['analyst'], after: { tools: ['run_tests'] } }
    ]);
    expect(p.decide(call({ tool: 'commit' })).code).toBe('no_rule');
    expect(p.decide(call({ tool: 'commit', history: [rec('run_tests')] })).effect).toBe('allow');
  });

  it('a long history (1000 calls) still decides correctly', () => {
    const filler = (n: number, start: number) =>
      Array.from({ length: n }, (_, i) => rec(`tool_${i}`, start + i * 1000, 'files'));
    const t0 = NOON - 1000 * 1000;
    const oldest = [rec('read_secret', t0 - 1000), ...filler(999, t0)];
    expect(oldest).toHaveLength(1000);
    expect(exfil.decide(call({ tool: 'http_get', history: oldest })).effect).toBe('deny');
    expect(exfil.decide(call({ tool: 'http_get', history: filler(1000, t0) })).effect).toBe('allow');
    const newest = [...filler(999, t0), rec('read_secret', NOON - 1)];
    expect(exfil.decide(call({ tool: 'http_get', history: newest })).effect).toBe('deny');

    const byCalls = (n: number) =>
      compilePolicy([
        grant,
        { tool: 'http_*', deny: true, after: { tools: ['read_secret'], within_calls: n } }
      ]);
    expect(byCalls(999).decide(call({ tool: 'http_get', history: oldest })).effect).toBe('allow');
    expect(byCalls(1000).decide(call({ tool: 'http_get', history: oldest })).effect).toBe('deny');

    const byTime = compilePolicy([
      grant,
      { tool: 'http_*', deny: true, after: { tools: ['read_secret'], within: '10m' } }
    ]);
    expect(byTime.decide(call({ tool: 'http_get', history: oldest })).effect).toBe('allow');
    expect(byTime.decide(call({ tool: 'http_get', history: newest })).effect).toBe('deny');

    const counted = compilePolicy([
      grant,
      { tool: 'http_*', deny: true, after: { tools: ['tool_*'], min_count: 1000 } }
    ]);
    expect(counted.decide(call({ tool: 'http_get', history: filler(1000, t0) })).effect).toBe('deny');
    expect(counted.decide(call({ tool: 'http_get', history: filler(999, t0) })).effect).toBe('allow');
  });
});

// ---------------------------------------------------------------------------------------------
describe('principal', () => {
  type Who = NonNullable<PolicyInput['identity']>;
  const only = (principal: NonNullable<RuleConfig['principal']>) =>
    compilePolicy([{ tool: 't', allowed_roles: ['analyst'], principal }]);
  const as = (p: ReturnType<typeof compilePolicy>, identity?: Who) =>
    p.decide(call(identity ? { identity } : {})).effect;

  it('users: globs over the identity id', () => {
    const p = only({ users: ['alice', 'svc-*'] });
    expect(as(p, { id: 'alice' })).toBe('allow');
    expect(as(p, { id: 'svc-backup' })).toBe('allow');
    expect(as(p, { id: 'bob' })).toBe('deny');
    expect(as(p, { id: 'alice2' })).toBe('deny');
    expect(as(p, { id: 'Alice' })).toBe('deny');
    expect(as(p, { id: 'xsvc-backup' })).toBe('deny');
    expect(as(p, { id: '' })).toBe('deny');
    expect(as(p)).toBe('deny'); // no identity at all
  });

  it('agents: a missing agent never matches, not even "*"', () => {
    const p = only({ agents: ['claude-*'] });
    expect(as(p, { id: 'alice', agent: 'claude-code' })).toBe('allow');
    expect(as(p, { id: 'alice', agent: 'gpt-agent' })).toBe('deny');
    expect(as(p, { id: 'alice' })).toBe('deny');
    const any = only({ agents: ['*'] });
    expect(as(any, { id: 'alice', agent: 'x' })).toBe('allow');
    expect(as(any, { id: 'alice' })).toBe('deny');
  });

  it('auth: the method must be in the list', () => {
    const p = only({ auth: ['oauth', 'stdio'] });
    expect(as(p, { id: 'a', method: 'oauth' })).toBe('allow');
    expect(as(p, { id: 'a', method: 'stdio' })).toBe('allow');
    expect(as(p, { id: 'a', method: 'token' })).toBe('deny');
    expect(as(p, { id: 'a', method: 'OAUTH' })).toBe('deny');
    expect(as(p, { id: 'a' })).toBe('deny');
  });

  it('claims: a string claim or any element of an array claim must be allowed', () => {
    const p = only({ claims: { dept: ['eng', 'sec'] } });
    expect(as(p, { id: 'a', claims: { dept: 'eng' } })).toBe('allow');
    expect(as(p, { id: 'a', claims: { dept: ['ops', 'sec'] } })).toBe('allow');
    expect(as(p, { id: 'a', claims: { dept: 'ops' } })).toBe('deny');
    expect(as(p, { id: 'a', claims: { dept: 'ENG' } })).toBe('deny');
    expect(as(p, { id: 'a', claims: { dept: ['ops', 'hr'] } })).toBe('deny');
    expect(as(p, { id: 'a', claims: { dept: [] } })).toBe('deny');
    expect(as(p, { id: 'a', claims: { team: 'eng' } })).toBe('deny'); // missing claim
    expect(as(p, { id: 'a', claims: {} })).toBe('deny');
    expect(as(p, { id: 'a' })).toBe('deny'); // no claims at all
    expect(as(p, { id: 'a', claims: { dept: ['eng,sec'] } })).toBe('deny');
  });

  it('claims: every named claim must match', () => {
    const p = only({ claims: { dept: ['eng'], level: ['3', '4'] } });
    expect(as(p, { id: 'a', claims: { dept: 'eng', level: '3' } })).toBe('allow');
    expect(as(p, { id: 'a', claims: { dept: 'eng', level: 3 } })).toBe('allow'); // compared as text
    expect(as(p, { id: 'a', claims: { dept: 'eng', level: '2' } })).toBe('deny');
    expect(as(p, { id: 'a', claims: { dept: 'eng' } })).toBe('deny');
    expect(as(p, { id: 'a', claims: { level: '4' } })).toBe('deny');
  });

  it('every part of a principal must hold', () => {
    const p = only({ users: ['alice'], agents: ['claude-*'], auth: ['oauth'], claims: { dept: ['eng'] } });
    const full: Who = { id: 'alice', agent: 'claude-code', method: 'oauth', claims: { dept: 'eng' } };
    expect(as(p, full)).toBe('allow');
    expect(as(p, { ...full, id: 'bob' })).toBe('deny');
    expect(as(p, { ...full, agent: 'other' })).toBe('deny');
    expect(as(p, { ...full, method: 'token' })).toBe('deny');
    expect(as(p, { ...full, claims: { dept: 'ops' } })).toBe('deny');
  });

  it('as a deny condition: refuses only the named principals', () => {
    const p = compilePolicy([
      grant,
      { id: 'untrusted', tool: 't', deny: true, principal: { agents: ['untrusted-*'] } }
    ]);
    expect(p.decide(call({ identity: { id: 'a', agent: 'untrusted-bot' } }))).toMatchObject({
      effect: 'deny',
      rules: ['untrusted']
    });
    expect(p.decide(call({ identity: { id: 'a', agent: 'claude' } })).effect).toBe('allow');
  });
});

// ---------------------------------------------------------------------------------------------
describe('argument comparisons (where)', () => {
  type Where = NonNullable<RuleConfig['where']>[number];
  /** Does the rule apply (grant) with this comparison and these arguments? */
  const holds = (w: Where, args: Record<string, unknown>) =>
    compilePolicy([{ tool: 't', allowed_roles: ['analyst'], where: [w] }]).decide(call({ args })).effect ===
    'allow';

  it.each<[WhereOp, unknown, unknown, boolean]>([
    ['eq', 5, 5, true],
    ['eq', 5, 6, false],
    ['eq', 'a', 'a', true],
    ['eq', 'a', 'A', false],
    ['eq', true, true, true],
    ['eq', true, false, false],
    ['ne', 5, 6, true],
    ['ne', 5, 5, false],
    ['ne', 'a', 'a', false],
    ['lt', 4, 5, true],
    ['lt', 5, 5, false],
    ['lt', 6, 5, false],
    ['le', 5, 5, true],
    ['le', 4.5, 5, true],
    ['le', 5.0001, 5, false],
    ['gt', 6, 5, true],
    ['gt', 5, 5, false],
    ['gt', -6, 5, false],
    ['ge', 5, 5, true],
    ['ge', 4.999, 5, false],
    ['lt', 'apple', 'banana', true],
    ['lt', 'banana', 'apple', false],
    ['gt', 'b', 'a', true],
    ['ge', 'a', 'b', false],
    ['in', 'b', ['a', 'b'], true],
    ['in', 'c', ['a', 'b'], false],
    ['in', 2, [1, 2, 3], true],
    ['in', 4, [1, 2, 3], false],
    ['in', 'a', 'abc', false], // not a list: never a substring test
    ['not_in', 'c', ['a', 'b'], true],
    ['not_in', 'a', ['a', 'b'], false],
    ['not_in', 'a', 'xyz', false]
  ])('%s: %j against %j is %s', (op, left, value, expected) => {
    expect(holds({ arg: 'x', op, value }, { x: left })).toBe(expected);
  });

  it.each<[WhereOp, unknown, unknown]>([
    ['eq', '5', 5],
    ['eq', 5, '5'],
    ['eq', 1, true],
    ['eq', null, 0],
    ['lt', '4', 5],
    ['le', '5', 5],
    ['gt', '6', 5],
    ['ge', '6', 5],
    ['gt', 6, '5'],
    ['gt', true, 0],
    ['lt', null, 5],
    ['gt', [10], 5],
    ['gt', { v: 10 }, 5],
    ['in', '2', [1, 2, 3]],
    ['in', 2, ['1', '2']]
  ])('type mismatch makes %s false: %j against %j', (op, left, value) => {
    expect(holds({ arg: 'x', op, value }, { x: left })).toBe(false);
  });

  it.each(['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'in', 'not_in'] as const)(
    'an absent argument makes %s false',
    (op) => {
      const value = op === 'in' || op === 'not_in' ? ['a'] : 'a';
      expect(holds({ arg: 'x', op, value }, {})).toBe(false);
      expect(holds({ arg: 'x', op, value }, { x: undefined })).toBe(false);
      expect(holds({ arg: 'x', op, value }, { y: 'a' })).toBe(false);
    }
  );

  it('inherited properties are not arguments', () => {
    expect(holds({ arg: 'toString', op: 'ne', value: 'x' }, {})).toBe(false);
    expect(holds({ arg: 'constructor', op: 'ne', value: 'x' }, {})).toBe(false);
    expect(holds({ arg: 'p.__proto__', op: 'ne', value: 'x' }, { p: {} })).toBe(false);
    expect(holds({ arg: 'p.hasOwnProperty', op: 'ne', value: 'x' }, { p: { a: 1 } })).toBe(false);
  });

  it('arg2: compares two arguments', () => {
    const w: Where = { arg: 'amount', op: 'le', arg2: 'limit' };
    expect(holds(w, { amount: 5, limit: 10 })).toBe(true);
    expect(holds(w, { amount: 10, limit: 10 })).toBe(true);
    expect(holds(w, { amount: 11, limit: 10 })).toBe(false);
    expect(holds(w, { amount: 5 })).toBe(false); // the other argument is absent
    expect(holds(w, { limit: 5 })).toBe(false);
    expect(holds(w, { amount: 5, limit: '10' })).toBe(false); // type mismatch
    const same: Where = { arg: 'from', op: 'eq', arg2: 'to' };
    expect(holds(same, { from: 'acct-1', to: 'acct-1' })).toBe(true);
    expect(holds(same, { from: 'acct-1', to: 'acct-2' })).toBe(false);
    const member: Where = { arg: 'user', op: 'in', arg2: 'allowed' };
    expect(holds(member, { user: 'a', allowed: ['a', 'b'] })).toBe(true);
    expect(holds(member, { user: 'c', allowed: ['a', 'b'] })).toBe(false);
    expect(holds(member, { user: 'a', allowed: 'a' })).toBe(false);
  });

  it('dotted paths reach into nested arguments', () => {
    const w: Where = { arg: 'payment.amount', op: 'gt', value: 1000 };
    expect(holds(w, { payment: { amount: 1001 } })).toBe(true);
    expect(holds(w, { payment: { amount: 1000 } })).toBe(false);
    expect(holds(w, { payment: {} })).toBe(false);
    expect(holds(w, { payment: null })).toBe(false);
    expect(holds(w, { payment: 1001 })).toBe(false);
    expect(holds(w, { 'payment.amount': 1001 })).toBe(false); // a literal dotted key is not a path
    expect(holds({ arg: 'a.b.c', op: 'eq', value: 'deep' }, { a: { b: { c: 'deep' } } })).toBe(true);
    expect(holds({ arg: 'a.b.c', op: 'eq', value: 'deep' }, { a: { b: { c: 'shallow' } } })).toBe(false);
    expect(holds({ arg: 'a.b.c', op: 'eq', value: 'deep' }, { a: { b: 'deep' } })).toBe(false);
    expect(holds({ arg: 'items.0', op: 'eq', value: 'first' }, { items: ['first', 'second'] })).toBe(true);
    expect(holds({ arg: 'from.id', op: 'ne', arg2: 'to.id' }, { from: { id: 1 }, to: { id: 2 } })).toBe(true);
    expect(holds({ arg: 'from.id', op: 'ne', arg2: 'to.id' }, { from: { id: 1 }, to: { id: 1 } })).toBe(
      false
    );
  });

  it('eq compares structured values by value', () => {
    expect(holds({ arg: 'x', op: 'eq', value: [1, 2] }, { x: [1, 2] })).toBe(true);
    expect(holds({ arg: 'x', op: 'eq', value: [1, 2] }, { x: [2, 1] })).toBe(false);
    expect(holds({ arg: 'x', op: 'eq', value: null }, { x: null })).toBe(true);
    expect(holds({ arg: 'x', op: 'in', value: [{ a: 1 }] }, { x: { a: 1 } })).toBe(true);
  });

  it('all comparisons of a rule must hold', () => {
    const both: Where[] = [
      { arg: 'amount', op: 'ge', value: 10 },
      { arg: 'currency', op: 'in', value: ['EUR', 'USD'] }
    ];
    const p = compilePolicy([{ tool: 't', allowed_roles: ['analyst'], where: both }]);
    expect(p.decide(call({ args: { amount: 10, currency: 'EUR' } })).effect).toBe('allow');
    expect(p.decide(call({ args: { amount: 9, currency: 'EUR' } })).effect).toBe('deny');
    expect(p.decide(call({ args: { amount: 10, currency: 'GBP' } })).effect).toBe('deny');
  });

  it('as a grant condition: small transfers only', () => {
    const p = compilePolicy([
      { tool: 'transfer', allowed_roles: ['analyst'], where: [{ arg: 'amount', op: 'le', value: 1000 }] }
    ]);
    expect(p.decide(call({ tool: 'transfer', args: { amount: 1000 } })).effect).toBe('allow');
    expect(p.decide(call({ tool: 'transfer', args: { amount: 1000.01 } }))).toMatchObject({
      effect: 'deny',
      code: 'no_rule'
    });
    expect(p.decide(call({ tool: 'transfer', args: { amount: '5' } })).effect).toBe('deny');
    expect(p.decide(call({ tool: 'transfer', args: {} })).effect).toBe('deny');
  });

  it('as a deny condition: transfers over 1000 are refused', () => {
    const p = compilePolicy([
      { tool: 'transfer', allowed_roles: ['analyst'] },
      { id: 'big', tool: 'transfer', deny: true, where: [{ arg: 'amount', op: 'gt', value: 1000 }] }
    ]);
    expect(p.decide(call({ tool: 'transfer', args: { amount: 1001 } }))).toMatchObject({
      effect: 'deny',
      code: 'policy_denied',
      rules: ['big']
    });
    expect(p.decide(call({ tool: 'transfer', args: { amount: 1e9 } })).effect).toBe('deny');
    expect(p.decide(call({ tool: 'transfer', args: { amount: 1000 } })).effect).toBe('allow');
    expect(p.decide(call({ tool: 'transfer', args: { amount: 999.99 } })).effect).toBe('allow');
  });
});

// ---------------------------------------------------------------------------------------------
describe('CEL when', () => {
  const only = (when: string) =>
    compilePolicy([{ id: 'cel', tool: 't', allowed_roles: ['analyst', 'admin'], when }]);
  const effect = (when: string, over: Partial<PolicyInput> = {}) => only(when).decide(call(over)).effect;

  it('args: numeric comparison', () => {
    expect(effect('args.amount < 1000', { args: { amount: 999 } })).toBe('allow');
    expect(effect('args.amount < 1000', { args: { amount: 999.5 } })).toBe('allow');
    expect(effect('args.amount < 1000', { args: { amount: 1000 } })).toBe('deny');
    expect(effect('args.amount < 1000', { args: { amount: 5000 } })).toBe('deny');
  });

  it('identity.roles and other identity fields', () => {
    expect(effect("'admin' in identity.roles", { roles: ['admin'] })).toBe('allow');
    expect(effect("'admin' in identity.roles", { roles: ['analyst'] })).toBe('deny');
    expect(effect("identity.id == 'alice'", { identity: { id: 'alice' } })).toBe('allow');
    expect(effect("identity.id == 'alice'", { identity: { id: 'bob' } })).toBe('deny');
    expect(effect("identity.id == 'alice'")).toBe('deny'); // no identity: id is ''
    expect(effect("identity.auth == 'oauth'", { identity: { id: 'a', method: 'oauth' } })).toBe('allow');
    expect(effect("identity.auth == 'oauth'", { identity: { id: 'a', method: 'token' } })).toBe('deny');
    expect(effect("identity.claims.dept == 'eng'", { identity: { id: 'a', claims: { dept: 'eng' } } })).toBe(
      'allow'
    );
    expect(effect("identity.claims.dept == 'eng'", { identity: { id: 'a', claims: { dept: 'ops' } } })).toBe(
      'deny'
    );
  });

  it('has(): presence of an argument', () => {
    expect(effect('has(args.x)', { args: { x: 1 } })).toBe('allow');
    expect(effect('has(args.x)', { args: {} })).toBe('deny');
    expect(effect('!has(args.x)', { args: {} })).toBe('allow');
    expect(effect('has(args.x) && args.x < 3', { args: {} })).toBe('deny');
    expect(effect('has(args.x) && args.x < 3', { args: { x: 2 } })).toBe('allow');
    expect(effect('has(args.x) && args.x < 3', { args: { x: 3 } })).toBe('deny');
  });

  it('time fields are UTC', () => {
    const hours = 'time.hour >= 9 && time.hour < 17';
    expect(effect(hours, { now: utc(2026, 3, 18, 9) })).toBe('allow');
    expect(effect(hours, { now: utc(2026, 3, 18, 8, 59) })).toBe('deny');
    expect(effect(hours, { now: utc(2026, 3, 18, 17) })).toBe('deny');
    expect(effect('time.weekday == 3', { now: utc(2026, 3, 18, 12) })).toBe('allow'); // Wednesday
    expect(effect('time.weekday == 3', { now: utc(2026, 3, 19, 12) })).toBe('deny');
    expect(effect('time.minute == 30', { now: utc(2026, 3, 18, 12, 30) })).toBe('allow');
    expect(effect('time.minute == 30', { now: utc(2026, 3, 18, 12, 31) })).toBe('deny');
    const epoch = Math.floor(utc(2026, 3, 18, 12) / 1000);
    expect(effect(`time.epoch >= ${epoch}`, { now: utc(2026, 3, 18, 12) })).toBe('allow');
    expect(effect(`time.epoch >= ${epoch}`, { now: utc(2026, 3, 18, 11, 59, 59) })).toBe('deny');
  });

  it('session fields: calls and risk', () => {
    const two = [
      { server: 's', tool: 'a', at: NOON - 2 },
      { server: 's', tool: 'b', at: NOON - 1 }
    ];
    expect(effect('session.calls < 2', { history: two.slice(0, 1) })).toBe('allow');
    expect(effect('session.calls < 2', { history: two })).toBe('deny');
    expect(effect('session.risk < 5.0', { risk: 4.5 })).toBe('allow');
    expect(effect('session.risk < 5.0', { risk: 5 })).toBe('deny');
    expect(effect('session.risk < 5.0')).toBe('allow'); // no risk given: 0
  });

  it('tool and server', () => {
    expect(effect("tool == 't' && server == 'files'")).toBe('allow');
    expect(effect("server == 'other'")).toBe('deny');
  });

  it('a runtime error fails closed: a grant with it grants nothing', () => {
    const p = only('args.missing < 3');
    expect(p.decide(call({ args: {} }))).toMatchObject({ effect: 'deny', code: 'role_not_allowed' });
    expect(p.decide(call({ args: { missing: 2 } })).effect).toBe('allow');
    // A string where a number is compared is an error too: still nothing granted.
    expect(p.decide(call({ args: { missing: '2' } })).effect).toBe('deny');
    const { trace } = p.explain(call({ args: {} }));
    expect(trace[0]?.notes.join(' ')).toContain('could not be evaluated');
  });

  it('a runtime error fails closed: a deny rule with it still denies', () => {
    const p = compilePolicy([grant, { id: 'deny-small', tool: 't', deny: true, when: 'args.missing < 3' }]);
    expect(p.decide(call({ args: {} }))).toMatchObject({
      effect: 'deny',
      code: 'policy_denied',
      rules: ['deny-small']
    });
    expect(p.decide(call({ args: { missing: 'x' } })).effect).toBe('deny');
    expect(p.decide(call({ args: { missing: 5 } })).effect).toBe('allow'); // evaluates to false
    expect(p.decide(call({ args: { missing: 1 } })).effect).toBe('deny'); // evaluates to true
  });

  it('an erroring rule still restricts with its other parts: approval', () => {
    const p = compilePolicy([grant, { tool: 't', require_approval: true, when: 'args.missing < 3' }]);
    expect(p.decide(call({ args: {} })).effect).toBe('approval');
  });

  it('an error counts only when the rest of the rule applies', () => {
    const p = compilePolicy([
      grant,
      { tool: 't', deny: true, time: { hours: '22:00-06:00' }, when: 'args.missing < 3' }
    ]);
    expect(p.decide(call({ now: utc(2026, 3, 18, 12) })).effect).toBe('allow');
    expect(p.decide(call({ now: utc(2026, 3, 18, 23) })).effect).toBe('deny');
  });

  it('a non-boolean result is an error: grants nothing, a deny still denies', () => {
    for (const when of ['args.amount', "'yes'", '1', 'args']) {
      expect(only(when).decide(call({ args: { amount: 1 } })).effect).toBe('deny');
      const denyRule = compilePolicy([grant, { tool: 't', deny: true, when }]);
      expect(denyRule.decide(call({ args: { amount: 1 } }))).toMatchObject({
        effect: 'deny',
        code: 'policy_denied'
      });
    }
    const { trace } = only('args.amount').explain(call({ args: { amount: 1 } }));
    expect(trace[0]?.notes.join(' ')).toContain('not a boolean');
  });

  it('ruleIssues reports an unparsable expression, and accepts a valid one', () => {
    const issues = ruleIssues(
      [
        { tool: 'a', when: 'args.amount <' },
        { tool: 'b', when: 'args.amount < 1000 && has(args.x)' },
        { tool: 'c', when: '(((' }
      ],
      [],
      false
    );
    expect(issues.map((i) => [i.index, i.path])).toEqual([
      [0, ['when']],
      [2, ['when']]
    ]);
    expect(issues[0]?.message).toMatch(/^not a valid CEL expression/);
  });
});

// ---------------------------------------------------------------------------------------------
describe('observe mode', () => {
  it('an observed deny rule lets the call through and records the deny', () => {
    const p = compilePolicy([grant, { id: 'shadow', tool: 't', deny: true, mode: 'observe' }]);
    const d = p.decide(call());
    expect(d.effect).toBe('allow');
    expect(d.code).toBeUndefined();
    expect(d.rules).toEqual(['rules[0]']);
    expect(d.observed).toMatchObject({ effect: 'deny', code: 'policy_denied', rules: ['shadow'] });
    // Other tools are untouched, and have nothing observed.
    expect(p.decide(call({ tool: 'u' })).observed).toBeUndefined();
  });

  it('an observed failing constraint', () => {
    const p = compilePolicy([
      grant,
      { id: 'paths', tool: 't', mode: 'observe', parameter_constraints: { path: { prefix: '/data/' } } }
    ]);
    const bad = p.decide(call({ args: { path: '/etc/passwd' } }));
    expect(bad.effect).toBe('allow');
    expect(bad.observed).toMatchObject({ effect: 'deny', code: 'constraint_failed', rules: ['paths'] });
    expect(bad.observed?.reason).toContain('prefix');
    const good = p.decide(call({ args: { path: '/data/x' } }));
    expect(good.effect).toBe('allow');
    expect(good.observed).toBeUndefined();
  });

  it('an observed approval', () => {
    const p = compilePolicy([grant, { id: 'ask', tool: 't', mode: 'observe', require_approval: true }]);
    const d = p.decide(call());
    expect(d.effect).toBe('allow');
    expect(d.observed).toMatchObject({ effect: 'approval', code: 'approval_required' });
    expect(d.observed?.rules[0]).toBe('ask');
  });

  it('an observed session cap: allows past the cap, and counts nothing', () => {
    const p = compilePolicy([grant, { id: 'cap', tool: 't', mode: 'observe', max_calls_per_session: 2 }]);
    const over = p.decide(call({ sessionCount: () => 2 }));
    expect(over.effect).toBe('allow');
    expect(over.observed).toMatchObject({ effect: 'deny', code: 'call_limit', rules: ['cap'] });
    const under = p.decide(call({ sessionCount: () => 1 }));
    expect(under.effect).toBe('allow');
    expect(under.observed).toBeUndefined();
    expect(under.counters).toEqual([]);
  });

  it('observe-mode counters are not returned; enforce-mode ones are', () => {
    const p = compilePolicy([
      { id: 'live', tool: 't', allowed_roles: ['analyst'], max_calls_per_session: 5, rate_limit: '2/s' },
      { id: 'trial', tool: 't', mode: 'observe', max_calls_per_session: 1, rate_limit: '1/min' }
    ]);
    const d = p.decide(call({ sessionCount: () => 0 }));
    expect(d.effect).toBe('allow');
    expect(d.counters).toEqual([
      { kind: 'session', key: 'live', max: 5 },
      { kind: 'rate', key: 'live', max: 2, window_ms: 1000, scope: 'identity' }
    ]);
  });

  it('an enforce rule in the same policy still denies', () => {
    const p = compilePolicy([
      grant,
      { id: 'shadow', tool: 't', deny: true, mode: 'observe' },
      { id: 'hard', tool: 't', deny: true, where: [{ arg: 'x', op: 'eq', value: 1 }] },
      { id: 'paths', tool: 't', parameter_constraints: { path: { prefix: '/data/', optional: true } } }
    ]);
    expect(p.decide(call({ args: { x: 1 } }))).toMatchObject({
      effect: 'deny',
      code: 'policy_denied',
      rules: ['hard']
    });
    expect(p.decide(call({ args: { path: '/etc' } }))).toMatchObject({
      effect: 'deny',
      code: 'constraint_failed'
    });
    const ok = p.decide(call({ args: { x: 2 } }));
    expect(ok.effect).toBe('allow');
    expect(ok.observed).toMatchObject({ effect: 'deny', rules: ['shadow'] });
  });

  it('observe policy: default deny becomes allow, recorded as no_rule', () => {
    const p = compilePolicy([], settings({ mode: 'observe' }));
    const d = p.decide(call({ tool: 'anything' }));
    expect(d.effect).toBe('allow');
    expect(d.observed).toMatchObject({ effect: 'deny', code: 'no_rule', rules: [] });
  });

  it('observe policy: every kind of refusal is only recorded', () => {
    const p = compilePolicy(
      [
        { id: 'admins', tool: 'a', allowed_roles: ['admin'] },
        { id: 'never', tool: 'b', deny: true },
        { id: 'c', tool: 'c', allowed_roles: ['analyst'], parameter_constraints: { n: { max: 1 } } },
        { id: 'd', tool: 'd', allowed_roles: ['analyst'], require_approval: true },
        { id: 'e', tool: 'e', allowed_roles: ['analyst'], max_calls_per_session: 1 }
      ],
      settings({ mode: 'observe' })
    );
    const cases: Array<[Partial<PolicyInput>, string]> = [
      [{ tool: 'a' }, 'role_not_allowed'],
      [{ tool: 'b' }, 'policy_denied'],
      [{ tool: 'c', args: { n: 2 } }, 'constraint_failed'],
      [{ tool: 'd' }, 'approval_required'],
      [{ tool: 'e', sessionCount: () => 1 }, 'call_limit']
    ];
    for (const [over, code] of cases) {
      const d = p.decide(call(over));
      expect(d.effect).toBe('allow');
      expect(d.counters).toEqual([]);
      expect(d.observed?.code).toBe(code);
    }
    // Tools are listed to everyone in observe mode.
    expect(p.visible(['guest'], 'files', 'a')).toBe(true);
  });

  it("a rule with mode: 'enforce' inside an observe policy still enforces", () => {
    const p = compilePolicy(
      [
        grant,
        { id: 'hard', tool: 'drop', deny: true, mode: 'enforce' },
        { id: 'ask', tool: 'pay', require_approval: true, mode: 'enforce' },
        { id: 'path', tool: 'read', mode: 'enforce', parameter_constraints: { p: { prefix: '/data/' } } },
        { id: 'cap', tool: 'send', mode: 'enforce', max_calls_per_session: 1 },
        { id: 'soft', tool: 'drop_soft', deny: true }
      ],
      settings({ mode: 'observe' })
    );
    expect(p.decide(call({ tool: 'drop' }))).toMatchObject({
      effect: 'deny',
      code: 'policy_denied',
      rules: ['hard']
    });
    expect(p.decide(call({ tool: 'pay' }))).toMatchObject({ effect: 'approval', code: 'approval_required' });
    expect(p.decide(call({ tool: 'read', args: { p: '/etc' } }))).toMatchObject({
      effect: 'deny',
      code: 'constraint_failed'
    });
    expect(p.decide(call({ tool: 'read', args: { p: '/data/x' } })).effect).toBe('allow');
    expect(p.decide(call({ tool: 'send', sessionCount: () => 1 }))).toMatchObject({
      effect: 'deny',
      code: 'call_limit'
    });
    const underCap = p.decide(call({ tool: 'send', sessionCount: () => 0 }));
    expect(underCap.effect).toBe('allow');
    expect(underCap.counters).toEqual([{ kind: 'session', key: 'cap', max: 1 }]);
    // The policy default (observe) still applies to rules that do not say.
    expect(p.decide(call({ tool: 'drop_soft' }))).toMatchObject({
      effect: 'allow',
      observed: { effect: 'deny', rules: ['soft'] }
    });
  });

  it('observe policy: the risk budget is recorded, not enforced', () => {
    const p = compilePolicy(
      [{ tool: 't', allowed_roles: ['analyst'], risk: 5 }],
      settings({ mode: 'observe', risk: { budget: 10 } })
    );
    const d = p.decide(call({ risk: 8 }));
    expect(d.effect).toBe('allow');
    expect(d.observed).toMatchObject({ effect: 'deny', code: 'risk_budget' });
  });
});

// ---------------------------------------------------------------------------------------------
describe('risk', () => {
  it('rule weights and tool_risk sum into decision.risk', () => {
    const p = compilePolicy(
      [
        { tool: 'write_*', allowed_roles: ['analyst'], risk: 2 },
        { tool: 'write_file', risk: 3 },
        { tool: 'write_file', risk: 100, where: [{ arg: 'big', op: 'eq', value: true }] },
        { tool: 'other', risk: 50 }
      ],
      settings({ tool_risk: { 'files__write_*': 4, 'write_*': 1, 'db__*': 10, files: 7 } })
    );
    expect(p.decide(call({ server: 'files', tool: 'write_file' })).risk).toBe(2 + 3 + 4 + 1);
    expect(p.decide(call({ server: 'web', tool: 'write_file' })).risk).toBe(2 + 3 + 1);
    expect(p.decide(call({ server: 'files', tool: 'write_dir' })).risk).toBe(2 + 4 + 1);
    expect(p.decide(call({ server: 'db', tool: 'query' })).risk).toBe(10);
    expect(p.decide(call({ server: 'files', tool: 'read' })).risk).toBe(0); // bare "files" is a tool name
    expect(p.decide(call({ server: 'files', tool: 'write_file', args: { big: true } })).risk).toBe(110);
    // 'yes' cannot be compared with true: the condition fails closed, so the rule's risk counts.
    expect(p.decide(call({ server: 'files', tool: 'write_file', args: { big: 'yes' } })).risk).toBe(110);
  });

  it('a rule whose condition cannot be evaluated still adds its risk (fails closed)', () => {
    const p = compilePolicy([grant, { tool: 't', risk: 100, when: 'args.big == true' }]);
    expect(p.decide(call({ args: {} })).risk).toBe(100);
    expect(p.decide(call({ args: { big: false } })).risk).toBe(0);
    expect(p.decide(call({ args: { big: true } })).risk).toBe(100);
  });

  it('budget: refuses the call that would go over it, not the one that reaches it', () => {
    const p = compilePolicy(
      [{ id: 'w', tool: 't', allowed_roles: ['analyst'], risk: 3 }],
      settings({ risk: { budget: 10 } })
    );
    expect(p.decide(call({ risk: 0 })).effect).toBe('allow');
    expect(p.decide(call({ risk: 7 })).effect).toBe('allow'); // exactly 10
    const over = p.decide(call({ risk: 7.5 }));
    expect(over).toMatchObject({ effect: 'deny', code: 'risk_budget', rules: ['w'], counters: [] });
    expect(over.reason).toContain('10.5');
    // A session already over budget cannot make even a zero-risk call.
    const free = compilePolicy(
      [{ tool: 'free', allowed_roles: ['analyst'] }],
      settings({ risk: { budget: 10 } })
    );
    expect(free.decide(call({ tool: 'free', risk: 9 })).effect).toBe('allow');
    expect(free.decide(call({ tool: 'free', risk: 11 })).code).toBe('risk_budget');
  });

  it('approval_at: escalates to approval above the threshold; the budget still refuses', () => {
    const p = compilePolicy(
      [{ tool: 't', allowed_roles: ['analyst'], risk: 3 }],
      settings({ risk: { approval_at: 5, budget: 10 } })
    );
    expect(p.decide(call({ risk: 2 })).effect).toBe('allow'); // exactly 5
    expect(p.decide(call({ risk: 2.5 }))).toMatchObject({ effect: 'approval', code: 'approval_required' });
    expect(p.decide(call({ risk: 7.5 })).code).toBe('risk_budget');
    // A caller the rules do not allow is refused for that, not escalated.
    expect(p.decide(call({ roles: ['guest'], risk: 2.5 })).code).toBe('role_not_allowed');
  });

  const session = (): Session => ({ risk: 0, riskAt: 0 }) as unknown as Session;

  it('accumulates through a session: exactly the call that crosses the budget is refused', () => {
    const s = settings({ risk: { budget: 10 } });
    const p = compilePolicy([{ tool: 't', allowed_roles: ['analyst'], risk: 3 }], s);
    const model = createRiskModel(s);
    const sess = session();
    const effects: string[] = [];
    for (let i = 0; i < 6; i++) {
      const now = NOON + i * 1000;
      const d = p.decide(call({ now, risk: model.current(sess, now) }));
      effects.push(d.effect);
      if (d.effect === 'allow') model.add(sess, d.risk, now);
    }
    expect(effects).toEqual(['allow', 'allow', 'allow', 'deny', 'deny', 'deny']);
    expect(model.current(sess, NOON + 6000)).toBe(9);
  });

  it('accumulates to the approval threshold, then to the budget', () => {
    const s = settings({ risk: { approval_at: 4, budget: 8 } });
    const p = compilePolicy([{ tool: 't', allowed_roles: ['analyst'], risk: 2 }], s);
    const model = createRiskModel(s);
    const sess = session();
    const effects: string[] = [];
    for (let i = 0; i < 6; i++) {
      const now = NOON + i * 1000;
      const d = p.decide(call({ now, risk: model.current(sess, now) }));
      effects.push(d.effect);
      // An approved call is admitted and adds its risk too.
      if (d.effect !== 'deny') model.add(sess, d.risk, now);
    }
    // Risk before each call: 0, 2, 4, 6, 8, 8; after: 2, 4, 6 (> 4: approval), 8 (approval), 10 (> 8: deny).
    expect(effects).toEqual(['allow', 'allow', 'approval', 'approval', 'deny', 'deny']);
  });

  it('half_life: after one half-life the risk halves', () => {
    const model = createRiskModel(settings({ risk: { half_life: '10m' } }));
    const sess = session();
    expect(model.add(sess, 8, NOON)).toBe(8);
    expect(model.current(sess, NOON)).toBe(8);
    expect(model.current(sess, NOON + 5 * MIN)).toBeCloseTo(8 / Math.SQRT2, 10);
    expect(model.current(sess, NOON + 10 * MIN)).toBeCloseTo(4, 10);
    expect(model.current(sess, NOON + 20 * MIN)).toBeCloseTo(2, 10);
    // Adding decays what was there first, then adds.
    expect(model.add(sess, 4, NOON + 10 * MIN)).toBeCloseTo(8, 10);
    expect(model.current(sess, NOON + 20 * MIN)).toBeCloseTo(4, 10);
    // Time running backwards never increases risk.
    expect(model.current(sess, NOON)).toBeCloseTo(8, 10);
  });

  it('no half_life: risk does not decay', () => {
    const model = createRiskModel(settings());
    const sess = session();
    model.add(sess, 5, NOON);
    expect(model.current(sess, NOON + 365 * 24 * 60 * MIN)).toBe(5);
  });

  it('reset_after: back to zero after that long without risk', () => {
    const model = createRiskModel(settings({ risk: { reset_after: '1h' } }));
    const sess = session();
    model.add(sess, 8, NOON);
    expect(model.current(sess, NOON + 60 * MIN - 1)).toBe(8);
    expect(model.current(sess, NOON + 60 * MIN)).toBe(0);
    // A new call within the hour restarts the clock.
    model.add(sess, 1, NOON + 30 * MIN);
    expect(model.current(sess, NOON + 89 * MIN)).toBe(9);
    expect(model.current(sess, NOON + 90 * MIN)).toBe(0);
    // After a reset, adding starts from zero.
    expect(model.add(sess, 2, NOON + 120 * MIN)).toBe(2);
  });

  it('half_life and reset_after together', () => {
    const model = createRiskModel(settings({ risk: { half_life: '30m', reset_after: '1h' } }));
    const sess = session();
    model.add(sess, 8, NOON);
    expect(model.current(sess, NOON + 30 * MIN)).toBeCloseTo(4, 10);
    expect(model.current(sess, NOON + 59 * MIN)).toBeGreaterThan(2);
    expect(model.current(sess, NOON + 60 * MIN)).toBe(0);
  });

  it('with decay, a refused session is admitted again once its risk has decayed', () => {
    const s = settings({ risk: { budget: 10, half_life: '10m' } });
    const p = compilePolicy([{ tool: 't', allowed_roles: ['analyst'], risk: 4 }], s);
    const model = createRiskModel(s);
    const sess = session();
    const attempt = (now: number) => {
      const d = p.decide(call({ now, risk: model.current(sess, now) }));
      if (d.effect === 'allow') model.add(sess, d.risk, now);
      return d.effect;
    };
    expect(attempt(NOON)).toBe('allow'); // 4
    expect(attempt(NOON + MIN)).toBe('allow'); // 4 * 0.93 + 4 = 7.73
    expect(attempt(NOON + 2 * MIN)).toBe('deny'); // 7.21 + 4 > 10
    expect(attempt(NOON + 3 * MIN)).toBe('deny');
    // Ten minutes after the last admitted call the 7.73 has halved to 3.86: 7.86 fits.
    expect(attempt(NOON + 11 * MIN)).toBe('allow');
  });
});

// ---------------------------------------------------------------------------------------------
describe('rate limits', () => {
  it("a rule's rate_limit becomes a rate counter scoped to the identity by default", () => {
    const p = compilePolicy([{ id: 'r', tool: 't', allowed_roles: ['analyst'], rate_limit: '3/min' }]);
    expect(p.decide(call()).counters).toEqual([
      { kind: 'rate', key: 'r', max: 3, window_ms: 60_000, scope: 'identity' }
    ]);
  });

  it.each<[string, number, number]>([
    ['10/s', 10, 1000],
    ['10/sec', 10, 1000],
    ['10/second', 10, 1000],
    ['2/m', 2, 60_000],
    ['2/minute', 2, 60_000],
    ['5/h', 5, 3_600_000],
    ['5/hour', 5, 3_600_000]
  ])('%s is %d per %d ms', (rate_limit, max, window_ms) => {
    const p = compilePolicy([{ id: 'r', tool: 't', allowed_roles: ['analyst'], rate_limit }]);
    expect(p.decide(call()).counters).toEqual([
      { kind: 'rate', key: 'r', max, window_ms, scope: 'identity' }
    ]);
  });

  it.each(['identity', 'session', 'global'] as const)('rate_scope %s comes through', (rate_scope) => {
    const p = compilePolicy([
      { id: 'r', tool: 't', allowed_roles: ['analyst'], rate_limit: '1/s', rate_scope }
    ]);
    expect(p.decide(call()).counters[0]?.scope).toBe(rate_scope);
  });

  it('a refused call consumes nothing; an approval-bound call carries its counters', () => {
    const p = compilePolicy([
      { id: 'r', tool: 't', allowed_roles: ['analyst'], rate_limit: '1/s', max_calls_per_session: 3 },
      { tool: 't', deny: true, where: [{ arg: 'bad', op: 'eq', value: true }] },
      { tool: 't', require_approval: true, where: [{ arg: 'ask', op: 'eq', value: true }] }
    ]);
    expect(p.decide(call({ args: { bad: true } })).counters).toEqual([]);
    expect(p.decide(call({ args: { ask: true } })).counters).toHaveLength(2);
    expect(p.decide(call({ roles: ['guest'] })).counters).toEqual([]);
  });

  describe('createRateStore', () => {
    it('take() succeeds up to max, then refuses', () => {
      const store = createRateStore();
      const took = Array.from({ length: 5 }, (_, i) => store.take('k', 3, 60_000, NOON + i));
      expect(took).toEqual([true, true, true, false, false]);
    });

    it('peek() answers without consuming', () => {
      const store = createRateStore();
      for (let i = 0; i < 10; i++) expect(store.peek('k', 1, 60_000, NOON)).toBe(true);
      expect(store.take('k', 1, 60_000, NOON)).toBe(true);
      expect(store.peek('k', 1, 60_000, NOON)).toBe(false);
      expect(store.take('k', 1, 60_000, NOON)).toBe(false);
    });

    it('a fixed window: a new one starts window_ms after the first take', () => {
      const store = createRateStore();
      expect(store.take('k', 2, 60_000, NOON)).toBe(true);
      expect(store.take('k', 2, 60_000, NOON + 30_000)).toBe(true);
      expect(store.take('k', 2, 60_000, NOON + 59_999)).toBe(false);
      expect(store.take('k', 2, 60_000, NOON + 60_000)).toBe(true);
      expect(store.take('k', 2, 60_000, NOON + 60_001)).toBe(true);
      expect(store.take('k', 2, 60_000, NOON + 119_999)).toBe(false);
    });

    it('keys are independent', () => {
      const store = createRateStore();
      expect(store.take('a', 1, 60_000, NOON)).toBe(true);
      expect(store.take('a', 1, 60_000, NOON)).toBe(false);
      expect(store.take('b', 1, 60_000, NOON)).toBe(true);
      expect(store.take('b', 1, 60_000, NOON)).toBe(false);
      expect(store.take('a', 1, 60_000, NOON + 1)).toBe(false);
    });

    it('a max of zero refuses everything', () => {
      expect(createRateStore().take('k', 0, 60_000, NOON)).toBe(false);
    });
  });

  describe('limitsStage', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    const identity = (id: string, tokenId?: string): Identity => ({
      id,
      roles: ['analyst'],
      method: 'token',
      ...(tokenId ? { tokenId } : {})
    });
    const mkSession = (id: string, who: Identity): Session =>
      ({
        id,
        identity: who,
        counts: new Map<string, number>(),
        history: [],
        risk: 0,
        riskAt: 0
      }) as unknown as Session;
    const ctxFor = (session: Session, decision: Decision): Resolved =>
      ({ session, name: 'files__t', args: {}, decision }) as Resolved;
    const decisionWith = (
      scope: 'identity' | 'session' | 'global',
      extra: Decision['counters'] = []
    ): Decision => ({
      effect: 'allow',
      reason: 'test',
      rules: ['r'],
      risk: 0,
      counters: [{ kind: 'rate', key: 'r', max: 1, window_ms: 60_000, scope }, ...extra]
    });
    // Admitted, or refused by a spent budget; any other exception is a failure of the test.
    const admitted = (stage: ReturnType<typeof limitsStage>, session: Session, decision: Decision) => {
      try {
        const pending = stage.run(ctxFor(session, decision));
        expect(pending).toBeUndefined();
        return true;
      } catch (err) {
        if (err instanceof GatewayError && BUDGET_CODES.includes(err.code)) return false;
        throw err;
      }
    };

    it('identity scope is shared by the sessions of one identity, not by another identity', () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(NOON);
      const stage = limitsStage(createMemoryState(createRateStore()), () => riskSettingsOf(settings()));
      const alice = identity('alice', 'tok-a');
      const d = decisionWith('identity');
      expect(admitted(stage, mkSession('s1', alice), d)).toBe(true);
      expect(admitted(stage, mkSession('s2', alice), d)).toBe(false);
      expect(admitted(stage, mkSession('s3', identity('bob', 'tok-b')), d)).toBe(true);
      vi.setSystemTime(NOON + 60_000);
      expect(admitted(stage, mkSession('s2', alice), d)).toBe(true);
    });

    it('session scope is per session; global scope is shared by everyone', () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(NOON);
      const stage = limitsStage(createMemoryState(createRateStore()), () => riskSettingsOf(settings()));
      const alice = identity('alice');
      const s1 = mkSession('s1', alice);
      const s2 = mkSession('s2', alice);
      expect(admitted(stage, s1, decisionWith('session'))).toBe(true);
      expect(admitted(stage, s1, decisionWith('session'))).toBe(false);
      expect(admitted(stage, s2, decisionWith('session'))).toBe(true);
      const g = {
        ...decisionWith('global'),
        counters: [{ kind: 'rate' as const, key: 'g', max: 1, window_ms: 60_000, scope: 'global' as const }]
      };
      expect(admitted(stage, s1, g)).toBe(true);
      expect(admitted(stage, mkSession('s9', identity('bob')), g)).toBe(false);
    });

    it('checks every budget before consuming any', () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(NOON);
      const stage = limitsStage(createMemoryState(createRateStore()), () => riskSettingsOf(settings()));
      const s = mkSession('s1', identity('alice'));
      s.counts.set('cap', 1);
      const d = decisionWith('session', [{ kind: 'session', key: 'cap', max: 1 }]);
      expect(admitted(stage, s, d)).toBe(false); // the session cap is full
      // The rate counter was not consumed by the refused call.
      expect(admitted(stage, s, decisionWith('session'))).toBe(true);
      expect(s.counts.get('cap')).toBe(1);
    });

    it('consumes session counters and adds the decision risk', () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(NOON);
      const model = createRiskModel(settings());
      const stage = limitsStage(createMemoryState(createRateStore()), () => riskSettingsOf(settings()));
      const s = mkSession('s1', identity('alice'));
      const d: Decision = {
        ...decisionWith('session'),
        counters: [{ kind: 'session', key: 'cap', max: 2 }],
        risk: 2.5
      };
      expect(admitted(stage, s, d)).toBe(true);
      expect(admitted(stage, s, d)).toBe(true);
      expect(admitted(stage, s, d)).toBe(false);
      expect(s.counts.get('cap')).toBe(2);
      expect(model.current(s, NOON)).toBe(5);
    });

    it('re-checks the risk budget when it takes: a decision made on stale risk cannot overspend', () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(NOON);
      const s = settings({ risk: { budget: 5 } });
      const stage = limitsStage(createMemoryState(createRateStore()), () => riskSettingsOf(s));
      const sess = mkSession('s1', identity('alice'));
      // Two calls decided concurrently, both against risk 0: only the first fits the budget.
      const d: Decision = { ...decisionWith('session'), counters: [], risk: 3 };
      expect(admitted(stage, sess, d)).toBe(true);
      expect(admitted(stage, sess, d)).toBe(false);
      expect(sess.risk).toBe(3);
      // In observe mode the budget is on record only.
      const observe = limitsStage(createMemoryState(), () =>
        riskSettingsOf(settings({ mode: 'observe', risk: { budget: 5 } }))
      );
      expect(admitted(observe, sess, d)).toBe(true);
    });
  });
});

// ---------------------------------------------------------------------------------------------
describe('ruleIssues for conditions', () => {
  const issuesOf = (rule: Omit<RuleConfig, 'tool'>) =>
    ruleIssues([{ tool: 't', ...rule }], [], false).map((i) => ({
      path: i.path.join('.'),
      message: i.message
    }));

  it('accepts well-formed conditions', () => {
    expect(
      issuesOf({
        time: {
          days: ['mon', 'Tuesday', 'SUN'],
          hours: '22:00-06:00',
          timezone: 'Europe/Berlin',
          from: '2026-01-01',
          until: '2026-12-31'
        },
        after: { tools: ['read_secret'], within: '90s', within_calls: 3, min_count: 2 },
        principal: { users: ['a*'], claims: { dept: ['eng'] } },
        where: [
          { arg: 'a', op: 'in', value: [1, 2] },
          { arg: 'a', op: 'in', arg2: 'list' },
          { arg: 'b', op: 'lt', arg2: 'c' }
        ],
        when: 'has(args.x)',
        rate_limit: '3/min',
        rate_scope: 'session'
      })
    ).toEqual([]);
    expect(issuesOf({ time: { hours: '00:00-24:00' } })).toEqual([]);
    expect(issuesOf({ time: { hours: '9:00-17:30' } })).toEqual([]);
  });

  it('a bad time zone', () => {
    expect(issuesOf({ time: { timezone: 'Mars/Olympus_Mons' } })).toEqual([
      { path: 'time.timezone', message: 'unknown time zone "Mars/Olympus_Mons"' }
    ]);
    expect(issuesOf({ time: { timezone: 'CEST+2' } })[0]?.path).toBe('time.timezone');
  });

  it.each(['funday', 'mo', 'm', '', 'lundi', '1'])('a bad day: %j', (day) => {
    expect(issuesOf({ time: { days: ['mon', day] } })).toEqual([
      { path: 'time.days', message: expect.stringContaining(`unknown day "${day}"`) }
    ]);
  });

  it.each([
    '9-17',
    '09:00',
    '09:00-',
    '-17:00',
    '25:00-26:00',
    '09:00-24:01',
    '09:60-10:00',
    '0900-1700',
    'nine-five'
  ])('bad hours: %j', (hours) => {
    expect(issuesOf({ time: { hours } })).toEqual([
      { path: 'time.hours', message: expect.stringContaining('HH:MM-HH:MM') }
    ]);
  });

  it.each(['2026/03/01', '01-03-2026', '2026-3-1', 'tomorrow', '2026-03-01T00:00', ''])(
    'a bad date: %j',
    (date) => {
      expect(issuesOf({ time: { from: date } })).toEqual([
        { path: 'time.from', message: expect.stringContaining('YYYY-MM-DD') }
      ]);
      expect(issuesOf({ time: { until: date } })).toEqual([
        { path: 'time.until', message: expect.stringContaining('YYYY-MM-DD') }
      ]);
    }
  );

  it.each(['10 minutes', '1w', '-5m', 'm', '10', '1.5h', ''])('a bad within duration: %j', (within) => {
    expect(issuesOf({ after: { tools: ['x'], within } })).toEqual([
      { path: 'after.within', message: expect.stringContaining('duration') }
    ]);
  });

  it('where with both value and arg2, or neither', () => {
    expect(issuesOf({ where: [{ arg: 'a', op: 'eq', value: 1, arg2: 'b' }] })).toEqual([
      { path: 'where.0', message: 'expected exactly one of "value" or "arg2"' }
    ]);
    expect(
      issuesOf({
        where: [
          { arg: 'a', op: 'eq', value: 1 },
          { arg: 'a', op: 'eq' }
        ]
      })
    ).toEqual([{ path: 'where.1', message: 'expected exactly one of "value" or "arg2"' }]);
  });

  it.each(['in', 'not_in'] as const)('%s without a list', (op) => {
    expect(issuesOf({ where: [{ arg: 'a', op, value: 'abc' }] })).toEqual([
      { path: 'where.0.value', message: `"${op}" needs a list` }
    ]);
    expect(issuesOf({ where: [{ arg: 'a', op, value: { a: 1 } }] })).toHaveLength(1);
    expect(issuesOf({ where: [{ arg: 'a', op, value: ['abc'] }] })).toEqual([]);
  });

  it('rate_scope without rate_limit', () => {
    expect(issuesOf({ rate_scope: 'global' })).toEqual([
      { path: 'rate_scope', message: 'rate_scope needs a rate_limit' }
    ]);
    expect(issuesOf({ rate_scope: 'global', rate_limit: '1/s' })).toEqual([]);
  });

  it('reports the index of the rule at fault', () => {
    const issues = ruleIssues(
      [
        { tool: 'ok' },
        { tool: 'bad', time: { hours: 'x' } },
        { tool: 'bad2', after: { tools: ['x'], within: 'y' } }
      ],
      [],
      false
    );
    expect(issues.map((i) => i.index)).toEqual([1, 2]);
  });
});

describe('regressions: fail-closed edges', () => {
  const at = Date.UTC(2026, 10, 25, 12, 0);
  const base = (over: Partial<PolicyInput>): PolicyInput => ({
    roles: ['analyst'],
    server: 's',
    tool: 't',
    args: {},
    now: at,
    ...over
  });

  it('observe-mode risk is on record only: neither counted nor enforced', () => {
    const p = compilePolicy(
      [
        { tool: 't', allowed_roles: ['analyst'] },
        { id: 'trial', tool: 't', mode: 'observe', risk: 50 }
      ],
      { mode: 'enforce', tool_risk: {}, risk: { budget: 10 } }
    );
    const d = p.decide(base({}));
    expect(d.effect).toBe('allow');
    expect(d.risk).toBe(0);
    expect(d.observed).toMatchObject({ effect: 'deny', code: 'risk_budget' });
  });

  it('where compares objects regardless of key order', () => {
    const p = compilePolicy([
      { tool: 't', allowed_roles: ['analyst'] },
      { tool: 't', deny: true, where: [{ arg: 'target', op: 'eq', value: { host: 'prod', db: 'main' } }] }
    ]);
    expect(p.decide(base({ args: { target: { host: 'prod', db: 'main' } } })).effect).toBe('deny');
    expect(p.decide(base({ args: { target: { db: 'main', host: 'prod' } } })).effect).toBe('deny');
    expect(p.decide(base({ args: { target: { db: 'test', host: 'prod' } } })).effect).toBe('allow');
  });

  it.each([
    ['a string against a number', { amount: '5000' }, [{ arg: 'amount', op: 'gt', value: 1000 }]],
    ['a list against a string (ne)', { env: ['prod'] }, [{ arg: 'env', op: 'ne', value: 'dev' }]],
    [
      'a list against strings (not_in)',
      { env: ['prod'] },
      [{ arg: 'env', op: 'not_in', value: ['dev', 'test'] }]
    ]
  ])('a deny rule whose comparison cannot be made still denies: %s', (_what, args, where) => {
    const p = compilePolicy([
      { tool: 't', allowed_roles: ['analyst'] },
      { tool: 't', deny: true, where: where as RuleConfig['where'] }
    ]);
    expect(p.decide(base({ args })).effect).toBe('deny');
  });

  it('a grant whose comparison cannot be made grants nothing', () => {
    const p = compilePolicy([
      { tool: 't', allowed_roles: ['analyst'], where: [{ arg: 'env', op: 'ne', value: 'prod' }] }
    ]);
    expect(p.decide(base({ args: { env: 'dev' } })).effect).toBe('allow');
    expect(p.decide(base({ args: { env: ['prod'] } })).effect).toBe('deny');
  });

  it('a flood of new rate keys cannot reset another key’s window', () => {
    const store = createRateStore(3);
    expect([
      store.take('victim', 2, 60_000, 0),
      store.take('victim', 2, 60_000, 1),
      store.take('victim', 2, 60_000, 2)
    ]).toEqual([true, true, false]);
    store.take('x1', 2, 60_000, 3);
    store.take('x2', 2, 60_000, 3);
    expect(store.take('x3', 2, 60_000, 3)).toBe(false);
    expect(store.take('victim', 2, 60_000, 4)).toBe(false);
    // Once windows expire there is room again.
    expect(store.take('x3', 2, 60_000, 60_001)).toBe(true);
  });

  it('rejects malformed days, dates and hours instead of guessing', () => {
    const issues = ruleIssues(
      [
        { tool: 'a', time: { days: ['monkey', 'Satellite'] } },
        { tool: 'b', time: { from: '2026-13-45', until: '2026-02-30' } },
        { tool: 'c', time: { hours: '09:00-17:00-18:00' } },
        { tool: 'd', time: { hours: '9-17' } }
      ],
      [],
      false
    );
    expect(issues.map((i) => `${i.index}:${i.path.join('.')}`)).toEqual([
      '0:time.days',
      '0:time.days',
      '1:time.from',
      '1:time.until',
      '2:time.hours',
      '3:time.hours'
    ]);
    expect(() => compilePolicy([{ tool: 'd', allowed_roles: ['x'], time: { hours: '9-17' } }])).toThrow(
      /invalid time window/
    );
    expect(() => compilePolicy([{ tool: 'd', after: { tools: ['x'], within: '10 minutes' } }])).toThrow(
      /invalid duration/
    );
  });
});
