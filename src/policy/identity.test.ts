/**
 * Budgets that survive a new session: `after` with `scope: identity` reads the calls of every
 * session of the identity, `policy.risk.scope: identity` keeps one score per identity, and
 * `max_calls` caps an identity in a sliding window, in the engine and in the memory store. The
 * default scope stays the session.
 */
import { describe, expect, it } from 'vitest';
import type { Identity } from '../auth/index.js';
import type { PolicySettings, RuleConfig } from '../config/types.js';
import { createSessionStore } from '../core/session.js';
import { GatewayError } from '../errors.js';
import { createCapStore } from '../limits/cap-store.js';
import { riskSettingsOf } from '../limits/risk.js';
import { createMemoryState } from '../state/index.js';
import { compilePolicy, ruleIssues, type CallRecordView } from './index.js';

const NOON = Date.UTC(2026, 2, 18, 12);
const alice: Identity = { id: 'alice', roles: ['analyst'], method: 'token', tokenId: 'tok-a' };
const bob: Identity = { id: 'bob', roles: ['analyst'], method: 'token', tokenId: 'tok-b' };
const call = (tool: string, at = NOON - 1000): CallRecordView => ({ server: 'vault', tool, at });
const settings = (risk?: PolicySettings['risk']): PolicySettings => ({
  mode: 'enforce',
  tool_risk: {},
  ...(risk ? { risk } : {})
});

const sequence = (scope?: 'session' | 'identity'): RuleConfig[] => [
  { tool: '*', allowed_roles: ['analyst'] },
  {
    id: 'no-exfil',
    tool: 'http_post',
    deny: true,
    after: { tools: ['read_secret'], within: '1h', ...(scope ? { scope } : {}) }
  }
];

const decide = (rules: RuleConfig[], history: CallRecordView[], identityHistory: CallRecordView[]) =>
  compilePolicy(rules).decide({
    roles: ['analyst'],
    server: 'net',
    tool: 'http_post',
    args: {},
    now: NOON,
    history,
    identityHistory
  });

const code = async (work: () => unknown) => {
  try {
    await work();
    return 'ok';
  } catch (err) {
    return err instanceof GatewayError ? err.code : `unexpected: ${String(err)}`;
  }
};

describe('after, by scope', () => {
  it('scope: identity refuses a sequence begun in another session of the identity', () => {
    const d = decide(sequence('identity'), [], [call('read_secret')]);
    expect(d.effect).toBe('deny');
    expect(d.rules).toEqual(['no-exfil']);
  });

  it('the default scope (and scope: session) reads only this session: another session does not count', () => {
    for (const rules of [sequence(), sequence('session')]) {
      expect(decide(rules, [], [call('read_secret')]).effect).toBe('allow');
      expect(decide(rules, [call('read_secret')], [call('read_secret')]).effect).toBe('deny');
    }
  });

  it('scope: identity keeps the window and the tools: an old or unrelated call does not count', () => {
    expect(decide(sequence('identity'), [], [call('read_secret', NOON - 2 * 3_600_000)]).effect).toBe(
      'allow'
    );
    expect(decide(sequence('identity'), [], [call('list_secrets')]).effect).toBe('allow');
  });

  it('without an identity history (policy test, explain) the session history stands in for it', () => {
    const d = compilePolicy(sequence('identity')).decide({
      roles: ['analyst'],
      server: 'net',
      tool: 'http_post',
      args: {},
      now: NOON,
      history: [call('read_secret')]
    });
    expect(d.effect).toBe('deny');
  });

  it('explains which history the condition read', () => {
    const { trace } = compilePolicy(sequence('identity')).explain({
      roles: ['analyst'],
      server: 'net',
      tool: 'http_post',
      args: {},
      now: NOON,
      identityHistory: [call('read_secret')]
    });
    expect(trace.find((t) => t.rule === 'no-exfil')?.notes).toContain(
      'condition after read_secret within 1h in any session of the identity holds'
    );
  });
});

describe('what a policy reads of the identity', () => {
  it('identityNeeds names identity history and identity risk only when a rule or threshold reads them', () => {
    expect(compilePolicy(sequence()).identityNeeds).toEqual({ history: false, risk: false });
    expect(compilePolicy(sequence('identity')).identityNeeds).toEqual({ history: true, risk: false });
    expect(compilePolicy([], settings({ budget: 5 })).identityNeeds).toEqual({ history: false, risk: false });
    expect(compilePolicy([], settings({ budget: 5, scope: 'identity' })).identityNeeds).toEqual({
      history: false,
      risk: true
    });
    expect(compilePolicy([], settings({ approval_at: 5, scope: 'identity' })).identityNeeds.risk).toBe(true);
    // Identity history is read with the session's: the stage syncs before deciding.
    expect(compilePolicy(sequence('identity')).needs).toEqual({ session: true, history: true });
  });
});

describe('max_calls per identity', () => {
  const capped = (mode?: 'observe'): RuleConfig[] => [
    {
      id: 'daily',
      tool: 'export',
      allowed_roles: ['analyst'],
      max_calls: { count: 3, per: 'identity', within: '1h' },
      ...(mode ? { mode } : {})
    }
  ];
  const exportCall = { roles: ['analyst'], server: 'crm', tool: 'export', args: {}, now: NOON };

  it('a decision carries an identity counter with the window; an observe-mode rule takes none', () => {
    expect(compilePolicy(capped()).decide(exportCall).counters).toEqual([
      { kind: 'identity', key: 'daily', max: 3, window_ms: 3_600_000, scope: 'identity' }
    ]);
    expect(compilePolicy(capped('observe')).decide(exportCall).counters).toEqual([]);
    const { trace } = compilePolicy(capped()).explain(exportCall);
    expect(trace[0]!.notes).toContain('identity cap 3 calls within 1h');
  });

  it('policy check refuses a window that is not a duration', () => {
    const rule: RuleConfig = {
      tool: 'export',
      allowed_roles: ['analyst'],
      max_calls: { count: 3, per: 'identity', within: 'soon' }
    };
    expect(ruleIssues([rule], [], false)).toEqual([
      { index: 0, path: ['max_calls', 'within'], message: 'expected a duration such as 90s, 10m, 1h' }
    ]);
    expect(
      ruleIssues([{ ...rule, max_calls: { count: 3, per: 'identity', within: '0s' } }], [], false)
    ).toHaveLength(1);
    expect(ruleIssues(capped(), [], false)).toEqual([]);
  });

  it('the memory store: a new session of the identity finds the cap spent; another identity does not', async () => {
    const state = createMemoryState();
    const sessions = createSessionStore();
    const [counter] = compilePolicy(capped()).decide(exportCall).counters;
    const results: string[] = [];
    for (let i = 0; i < 5; i++) {
      const s = sessions.open(alice, 'http', `a${i}`);
      results.push(await code(() => state.consume(s, [counter!], 0, NOON + i, {})));
    }
    expect(results).toEqual(['ok', 'ok', 'ok', 'call_limit', 'call_limit']);
    expect(await code(() => state.consume(sessions.open(bob, 'http', 'b'), [counter!], 0, NOON, {}))).toBe(
      'ok'
    );
    // A sliding window: each call frees its slot one window after it was made, not before.
    const later = sessions.open(alice, 'http', 'later');
    expect(await code(() => state.consume(later, [counter!], 0, NOON + 3_600_000, {}))).toBe('ok');
    expect(await code(() => state.consume(later, [counter!], 0, NOON + 3_600_000, {}))).toBe('call_limit');
    expect(await code(() => state.consume(later, [counter!], 0, NOON + 3_600_001, {}))).toBe('ok');
  });

  it('checks every budget before taking any: a refused per-session cap leaves the identity cap untouched', async () => {
    const state = createMemoryState();
    const s = createSessionStore().open(alice, 'http', 's');
    const identityCap = {
      kind: 'identity' as const,
      key: 'c',
      max: 1,
      window_ms: 60_000,
      scope: 'identity' as const
    };
    const sessionCap = { kind: 'session' as const, key: 'p', max: 0 };
    expect(await code(() => state.consume(s, [identityCap, sessionCap], 0, NOON, {}))).toBe('call_limit');
    expect(await code(() => state.consume(s, [identityCap], 0, NOON, {}))).toBe('ok');
  });

  it('the cap table is bounded: full of live logs, a new key is refused rather than another log dropped', () => {
    const caps = createCapStore(2);
    caps.take('a', 1000, NOON);
    caps.take('b', 1000, NOON);
    expect(caps.peek('c', 5, 1000, NOON)).toBe(false);
    expect(caps.peek('a', 5, 1000, NOON)).toBe(true);
    // Once a log's calls leave the window, its room goes to a new key.
    expect(caps.peek('c', 5, 1000, NOON + 1000)).toBe(true);
  });
});

describe('risk per identity', () => {
  it('policy.risk.scope: identity spends one budget across sessions; per session each has its own', async () => {
    const sessions = createSessionStore();
    const perIdentity = riskSettingsOf(settings({ budget: 10, scope: 'identity' }));
    const perSession = riskSettingsOf(settings({ budget: 10 }));
    expect(perIdentity.perIdentity).toBe(true);
    expect(perSession.perIdentity).toBeUndefined();

    const state = createMemoryState();
    const s1 = sessions.open(alice, 'http', 's1');
    expect(await code(() => state.consume(s1, [], 8, NOON, perIdentity))).toBe('ok');
    const s2 = sessions.open(alice, 'http', 's2');
    expect(await code(() => state.consume(s2, [], 8, NOON, perIdentity))).toBe('risk_budget');
    expect(s2.shared.risk).toBe(8);
    // Scanner findings land on the identity too.
    expect(await state.addRisk(s2, 1, NOON, perIdentity)).toBe(9);
    expect(s1.shared.risk).toBe(9);
    // Another identity has its own score.
    expect(await code(() => state.consume(sessions.open(bob, 'http', 'b'), [], 8, NOON, perIdentity))).toBe(
      'ok'
    );

    const other = createMemoryState();
    const t1 = sessions.open({ ...alice, id: 'carol' }, 'http', 't1');
    const t2 = sessions.open({ ...alice, id: 'carol' }, 'http', 't2');
    expect(await code(() => other.consume(t1, [], 8, NOON, perSession))).toBe('ok');
    expect(await code(() => other.consume(t2, [], 8, NOON, perSession))).toBe('ok');
  });

  it('a session opened after the others closed still finds the identity, its history and its risk', () => {
    const sessions = createSessionStore();
    const state = createMemoryState();
    const first = sessions.open(alice, 'http', 'one');
    void state.record(first, call('read_secret'));
    first.shared.risk = 4;
    sessions.close('one');
    const next = sessions.open(alice, 'http', 'two');
    expect(next.history).toEqual([]);
    expect(next.shared.history).toEqual([call('read_secret')]);
    expect(next.shared.risk).toBe(4);
    expect(sessions.open(bob, 'http', 'three').shared.history).toEqual([]);
  });
});
