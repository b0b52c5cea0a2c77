import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { AuditInput } from '../audit/index.js';
import { hashToken } from '../config/index.js';
import { GatewayError } from '../errors.js';
import { createAuthenticator } from './index.js';
import { createRequestAuthentication, type AuthSurface } from './request.js';

const ADMIN = 'admin-gateway-token-0123456789';
const READER = 'reader-gateway-token-0123456789';
const METRICS = 'metrics-scrape-token-0123456789';
const ADMIN_API = 'admin-api-token-0123456789abcd';
const SURFACES: AuthSurface[] = ['mcp', 'metrics', 'admin'];

function setup(
  options: {
    rate?: number;
    revoked?: (id: string) => boolean | undefined;
    requests?: () => Promise<boolean>;
    maxTracked?: number;
  } = {}
) {
  let t = 1_000_000;
  const now = () => t;
  const auth = createAuthenticator(
    {
      tokens: [
        { id: 'tok_admin', identity: 'alice', roles: ['admin'], sha256: hashToken(ADMIN) },
        { id: 'tok_reader', identity: 'rita', roles: ['analyst'], sha256: hashToken(READER) },
        {
          id: 'tok_old',
          identity: 'olga',
          roles: ['admin'],
          sha256: hashToken('expired-gateway-token-01234567'),
          expires: new Date(t - 1000).toISOString()
        }
      ],
      scopes: { read: 'tools:read', call: 'tools:call' },
      lockout: { failures: 3, window_s: 60, duration_s: 300 },
      ...(options.rate ? { rate_limit: { limit: options.rate, window_ms: 60_000 } } : {})
    },
    {
      now,
      ...(options.revoked ? { revoked: options.revoked } : {}),
      ...(options.requests ? { requests: options.requests } : {}),
      ...(options.maxTracked ? { maxTracked: options.maxTracked } : {})
    }
  );
  const records: AuditInput[] = [];
  const authenticate = createRequestAuthentication({
    auth,
    config: {
      metrics: { enabled: true, token_sha256: hashToken(METRICS), roles: ['admin'] },
      admin: { enabled: true, token_sha256: hashToken(ADMIN_API), identity: 'console', roles: ['admin'] }
    },
    audit: (r) => records.push(r),
    now
  });
  return { authenticate, records, advance: (ms: number) => (t += ms) };
}

describe('authenticateRequest', () => {
  it('admits a valid token on /mcp and writes nothing', async () => {
    const { authenticate, records } = setup();
    const outcome = await authenticate(`Bearer ${ADMIN}`, '10.0.0.1');
    expect(outcome).toEqual({
      ok: true,
      identity: { id: 'alice', roles: ['admin'], method: 'token', tokenId: 'tok_admin' }
    });
    expect(records).toEqual([]);
  });

  it('tells a missing credential from an invalid one, and audits each once with its reason', async () => {
    const { authenticate, records } = setup();
    expect(await authenticate(undefined, '10.0.0.1')).toEqual({
      ok: false,
      reason: 'missing',
      code: 'unauthenticated'
    });
    expect(await authenticate('Bearer expired-gateway-token-01234567', '10.0.0.1')).toEqual({
      ok: false,
      reason: 'invalid',
      code: 'unauthenticated'
    });
    expect(records).toEqual([
      {
        event: 'auth/failure',
        source: '10.0.0.1',
        reason: 'no Authorization header',
        outcome: 'denied',
        decision: 'deny',
        code: 'unauthenticated'
      },
      {
        event: 'auth/failure',
        token_id: 'tok_old',
        source: '10.0.0.1',
        reason: 'token expired',
        outcome: 'denied',
        decision: 'deny',
        code: 'unauthenticated'
      }
    ]);
    expect(JSON.stringify(records)).not.toContain('expired-gateway-token');
  });

  it('locks a source out after repeated failures on any surface, and refuses it on every surface', async () => {
    const { authenticate, records, advance } = setup();
    // One failure on each surface: they strike one lockout.
    for (const surface of SURFACES) {
      const outcome = await authenticate('Bearer pcl_wrong-0123456789abcdef', '10.0.0.9', surface);
      expect(outcome.ok, surface).toBe(false);
    }
    expect(records.map((r) => r.reason)).toEqual([
      'unknown token',
      'metrics: no metrics credential',
      'admin API: no admin credential; source locked out'
    ]);
    advance(100_000);
    const before = records.length;
    for (const surface of [...SURFACES, ...SURFACES]) {
      // A credential every surface would take is refused all the same.
      const outcome = await authenticate(`Bearer ${ADMIN}`, '10.0.0.9', surface);
      expect(outcome, surface).toEqual({
        ok: false,
        reason: 'locked-out',
        code: 'locked_out',
        retryAfter: 200
      });
    }
    // Recorded once per lockout (the first refusal), not once per request.
    expect(records.slice(before)).toEqual([
      {
        event: 'auth/failure',
        source: '10.0.0.9',
        reason: 'too many failed authentication attempts',
        outcome: 'denied',
        decision: 'deny',
        code: 'locked_out'
      }
    ]);
    // Another source is unaffected; the lockout ends when its time is up.
    expect((await authenticate(`Bearer ${ADMIN}`, '10.0.0.10')).ok).toBe(true);
    advance(200_000);
    expect((await authenticate(`Bearer ${ADMIN}`, '10.0.0.9')).ok).toBe(true);
    // A later lockout of the same source is recorded again.
    for (let i = 0; i < 3; i++) await authenticate('Bearer pcl_wrong-0123456789abcdef', '10.0.0.9');
    const again = records.length;
    await authenticate(`Bearer ${ADMIN}`, '10.0.0.9');
    await authenticate(`Bearer ${ADMIN}`, '10.0.0.9', 'admin');
    expect(records.slice(again).map((r) => r.code)).toEqual(['locked_out']);
  });

  it('refuses a new source as locked out while the failures table is full, and the tracked ones not', async () => {
    const { authenticate, records, advance } = setup({ maxTracked: 2 });
    await authenticate('Bearer pcl_wrong-0123456789abcdef', '10.0.0.1');
    await authenticate('Bearer pcl_wrong-0123456789abcdef', '10.0.0.2');
    advance(30_000);
    const before = records.length;
    // Not counted, so not let try: even a good credential waits until a record ends.
    for (let i = 0; i < 2; i++) {
      expect(await authenticate(`Bearer ${ADMIN}`, '10.0.0.3')).toEqual({
        ok: false,
        reason: 'locked-out',
        code: 'locked_out',
        retryAfter: 30
      });
    }
    expect(records.slice(before).map((r) => [r.source, r.code])).toEqual([['10.0.0.3', 'locked_out']]);
    expect((await authenticate(`Bearer ${ADMIN}`, '10.0.0.1')).ok).toBe(true);
    advance(30_000);
    expect((await authenticate(`Bearer ${ADMIN}`, '10.0.0.3')).ok).toBe(true);
  });

  it('admits /mcp requests against the identity rate, and refuses beyond it with the identity named', async () => {
    const { authenticate, records } = setup({ rate: 2 });
    expect((await authenticate(`Bearer ${ADMIN}`, '10.0.0.1')).ok).toBe(true);
    expect((await authenticate(`Bearer ${ADMIN}`, '10.0.0.1')).ok).toBe(true);
    expect(await authenticate(`Bearer ${ADMIN}`, '10.0.0.1')).toEqual({
      ok: false,
      reason: 'rate-limited',
      code: 'rate_limited',
      retryAfter: 1
    });
    expect(records).toEqual([
      {
        event: 'auth/failure',
        identity: 'alice',
        source: '10.0.0.1',
        reason: 'rate limit exceeded',
        outcome: 'denied',
        decision: 'deny',
        code: 'rate_limited'
      }
    ]);
    // Being over the rate is no authentication failure: no lockout strike, whatever the count.
    for (let i = 0; i < 5; i++) await authenticate(`Bearer ${ADMIN}`, '10.0.0.1');
    expect((await authenticate(`Bearer ${ADMIN}`, '10.0.0.1')).ok).toBe(false);
    expect((await authenticate(`Bearer ${ADMIN}`, '10.0.0.1', 'admin')).ok).toBe(true);
  });

  it('does not rate-count /metrics and the admin API', async () => {
    const { authenticate } = setup({ rate: 1 });
    for (let i = 0; i < 3; i++) {
      expect((await authenticate(`Bearer ${ADMIN}`, '10.0.0.1', 'metrics')).ok).toBe(true);
      expect((await authenticate(`Bearer ${ADMIN}`, '10.0.0.1', 'admin')).ok).toBe(true);
    }
    expect((await authenticate(`Bearer ${ADMIN}`, '10.0.0.1')).ok).toBe(true);
  });

  it("refuses without a strike when the credential or the rate cannot be checked, audited as a fault: not the caller's fault", async () => {
    const revocationsDown = setup({ revoked: () => undefined });
    for (let i = 0; i < 5; i++) {
      expect(await revocationsDown.authenticate(`Bearer ${ADMIN}`, '10.0.0.1')).toEqual({
        ok: false,
        reason: 'unavailable',
        code: 'state_unavailable',
        retryAfter: 1
      });
    }
    expect(revocationsDown.records[0]).toEqual({
      event: 'auth/failure',
      token_id: 'tok_admin',
      source: '10.0.0.1',
      reason: 'revocations cannot be checked: shared state unreachable',
      outcome: 'error',
      code: 'state_unavailable'
    });
    // Five refusals, and the source is not locked out (three failures would lock it).
    expect(await revocationsDown.authenticate(undefined, '10.0.0.1')).toMatchObject({ reason: 'missing' });

    const countDown = setup({
      rate: 10,
      requests: () => Promise.reject(new GatewayError('state_unavailable', 'redis down'))
    });
    expect(await countDown.authenticate(`Bearer ${ADMIN}`, '10.0.0.1')).toEqual({
      ok: false,
      reason: 'unavailable',
      code: 'state_unavailable',
      retryAfter: 1
    });
    expect(countDown.records).toEqual([
      {
        event: 'auth/failure',
        identity: 'alice',
        source: '10.0.0.1',
        reason: 'request rate cannot be counted: shared state unreachable',
        outcome: 'error',
        code: 'state_unavailable'
      }
    ]);
  });

  it('lets a rate count that fails for another reason surface as a fault', async () => {
    const { authenticate } = setup({ rate: 10, requests: () => Promise.reject(new Error('bug')) });
    await expect(authenticate(`Bearer ${ADMIN}`, '10.0.0.1')).rejects.toThrow('bug');
  });

  it('takes on /metrics and the admin API their own token, or a token with their role, and nothing else', async () => {
    const { authenticate, records } = setup();
    expect(await authenticate(`Bearer ${METRICS}`, '10.0.0.1', 'metrics')).toMatchObject({
      ok: true,
      identity: { id: 'metrics', tokenId: 'metrics' }
    });
    expect(await authenticate(`Bearer ${ADMIN_API}`, '10.0.0.1', 'admin')).toMatchObject({
      ok: true,
      identity: { id: 'console', roles: ['admin'], tokenId: 'admin' }
    });
    expect(await authenticate(`Bearer ${ADMIN}`, '10.0.0.1', 'metrics')).toMatchObject({
      ok: true,
      identity: { id: 'alice' }
    });
    expect(records).toEqual([]);
    // Each surface's own token is good there only; a token without the role is good on /mcp only.
    expect(await authenticate(`Bearer ${METRICS}`, '10.0.0.2', 'admin')).toEqual({
      ok: false,
      reason: 'invalid',
      code: 'admin_unauthenticated'
    });
    expect(await authenticate(`Bearer ${ADMIN_API}`, '10.0.0.3', 'metrics')).toEqual({
      ok: false,
      reason: 'invalid',
      code: 'metrics_unauthenticated'
    });
    expect((await authenticate(`Bearer ${ADMIN_API}`, '10.0.0.4')).ok).toBe(false);
    expect((await authenticate(`Bearer ${READER}`, '10.0.0.5', 'metrics')).ok).toBe(false);
    expect((await authenticate(`Bearer ${READER}`, '10.0.0.5', 'admin')).ok).toBe(false);
    expect((await authenticate(`Bearer ${READER}`, '10.0.0.6')).ok).toBe(true);
    expect(records.map((r) => [r.source, r.code, r.reason])).toEqual([
      ['10.0.0.2', 'unauthenticated', 'admin API: no admin credential'],
      ['10.0.0.3', 'unauthenticated', 'metrics: no metrics credential'],
      ['10.0.0.4', 'unauthenticated', 'unknown token'],
      ['10.0.0.5', 'unauthenticated', 'metrics: no metrics credential'],
      ['10.0.0.5', 'unauthenticated', 'admin API: no admin credential']
    ]);
  });
});

describe('authenticateRequest, each answer in full', () => {
  it('records a missing credential on /metrics and the admin API as unauthenticated, and answers without a retry time', async () => {
    const { authenticate, records } = setup();
    expect(await authenticate(undefined, '10.0.0.1', 'metrics')).toStrictEqual({
      ok: false,
      reason: 'missing',
      code: 'metrics_unauthenticated'
    });
    expect(await authenticate(undefined, '10.0.0.2', 'admin')).toStrictEqual({
      ok: false,
      reason: 'missing',
      code: 'admin_unauthenticated'
    });
    expect(records).toEqual([
      {
        event: 'auth/failure',
        source: '10.0.0.1',
        reason: 'metrics: no metrics credential',
        outcome: 'denied',
        decision: 'deny',
        code: 'unauthenticated'
      },
      {
        event: 'auth/failure',
        source: '10.0.0.2',
        reason: 'admin API: no admin credential',
        outcome: 'denied',
        decision: 'deny',
        code: 'unauthenticated'
      }
    ]);
  });

  it("gives the surfaces' own tokens their own identities, with no roles for /metrics", async () => {
    const { authenticate } = setup();
    expect(await authenticate(`Bearer ${METRICS}`, '10.0.0.1', 'metrics')).toStrictEqual({
      ok: true,
      identity: { id: 'metrics', roles: [], method: 'token', tokenId: 'metrics' }
    });
    expect(await authenticate(`Bearer ${ADMIN_API}`, '10.0.0.1', 'admin')).toStrictEqual({
      ok: true,
      identity: { id: 'console', roles: ['admin'], method: 'token', tokenId: 'admin' }
    });
  });

  it('lets a rate count that fails with another gateway error surface as it is', async () => {
    const error = new GatewayError('rate_limited', 'counted elsewhere');
    const { authenticate, records } = setup({ rate: 10, requests: () => Promise.reject(error) });
    await expect(authenticate(`Bearer ${ADMIN}`, '10.0.0.1')).rejects.toBe(error);
    expect(records).toEqual([]);
  });

  it('logs each failure with the source, the surface, the reason and the token id, never the token', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const auth = createAuthenticator(
      {
        tokens: [
          {
            id: 'tok_old',
            identity: 'olga',
            roles: ['admin'],
            sha256: hashToken('expired-gateway-token-01234567'),
            expires: '2000-01-01T00:00:00Z'
          }
        ],
        scopes: { read: 'tools:read', call: 'tools:call' },
        lockout: { failures: 3, window_s: 60, duration_s: 300 }
      },
      {}
    );
    const authenticate = createRequestAuthentication({
      auth,
      config: {
        metrics: { enabled: true, roles: ['admin'] },
        admin: { enabled: true, identity: 'console', roles: ['admin'] }
      },
      audit: () => undefined,
      log: pino(
        { level: 'info', base: undefined, timestamp: false },
        { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) }
      )
    });
    await authenticate('Bearer expired-gateway-token-01234567', '10.0.0.9');
    expect(lines).toEqual([
      {
        level: 30,
        source: '10.0.0.9',
        surface: 'mcp',
        reason: 'token expired',
        tokenId: 'tok_old',
        msg: 'authentication failed'
      }
    ]);
  });
});

describe('lockouts recorded once each, in a bounded table', () => {
  /** Every source is locked out by the shared store, until the time `until` gives for it. */
  function lockedEverywhere(until: (source: string) => number) {
    let t = 1_000_000;
    const auth = createAuthenticator(
      {
        tokens: [],
        scopes: { read: 'tools:read', call: 'tools:call' },
        lockout: { failures: 3, window_s: 60, duration_s: 300 }
      },
      { now: () => t, lockouts: { record: () => undefined, lockedUntil: until } }
    );
    const records: AuditInput[] = [];
    const authenticate = createRequestAuthentication({
      auth,
      config: {
        metrics: { enabled: true, roles: ['admin'] },
        admin: { enabled: true, identity: 'console', roles: ['admin'] }
      },
      audit: (r) => records.push(r),
      now: () => t
    });
    const recordsOf = (source: string) => records.filter((r) => r.source === source).length;
    return { authenticate, recordsOf, setTime: (ms: number) => (t = ms) };
  }

  it('records a lockout once, however often the source asks', async () => {
    const { authenticate, recordsOf } = lockedEverywhere(() => 2_000_000);
    for (let i = 0; i < 3; i++) {
      expect(await authenticate(undefined, 's0')).toEqual({
        ok: false,
        reason: 'locked-out',
        code: 'locked_out',
        retryAfter: 1000
      });
    }
    expect(recordsOf('s0')).toBe(1);
  });

  it('with 10,000 live lockouts recorded, starts the table afresh: each is recorded once more', async () => {
    const { authenticate, recordsOf } = lockedEverywhere(() => 2_000_000);
    for (let i = 0; i < 10_000; i++) await authenticate(undefined, `s${i}`);
    await authenticate(undefined, 's0');
    expect(recordsOf('s0')).toBe(1);
    await authenticate(undefined, 'newcomer');
    await authenticate(undefined, 's0');
    expect(recordsOf('s0')).toBe(2);
  });

  it('with 10,000 recorded, drops the lockouts that have ended (at that instant too) and keeps the live ones', async () => {
    const { authenticate, recordsOf, setTime } = lockedEverywhere((s) =>
      s === 'ended' ? 1_500_000 : 2_000_000
    );
    await authenticate(undefined, 'ended');
    for (let i = 1; i < 10_000; i++) await authenticate(undefined, `s${i}`);
    setTime(1_500_000);
    await authenticate(undefined, 'newcomer');
    await authenticate(undefined, 's1');
    expect(recordsOf('s1')).toBe(1);
    expect(recordsOf('newcomer')).toBe(1);
  });
});
