import { userInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { hashToken } from '../config/index.js';
import { createAuthenticator } from './index.js';

const TOKEN = 'correct-horse-battery-staple-01';
const base = {
  scopes: { read: 'tools:read', call: 'tools:call' },
  lockout: { failures: 3, window_s: 60, duration_s: 300 }
};
const auth = createAuthenticator({
  ...base,
  tokens: [{ id: 't1', identity: 'alice', roles: ['admin'], sha256: hashToken(TOKEN) }],
  stdio: { identity: 'local', roles: ['analyst'] }
});

describe('bearer tokens', () => {
  it('maps a known token to its identity and roles, naming the token id', async () => {
    expect(await auth.bearer(`Bearer ${TOKEN}`)).toEqual({
      ok: true,
      identity: { id: 'alice', roles: ['admin'], method: 'token', tokenId: 't1' }
    });
    expect((await auth.bearer(`bearer ${TOKEN}`)).ok).toBe(true);
  });

  it.each([
    [undefined, 'no Authorization header'],
    ['', 'no Authorization header'],
    [`Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`, 'not a bearer token'],
    [`Bearer ${TOKEN}x`, 'unknown token'],
    [`Bearer ${TOKEN.slice(0, -1)}`, 'unknown token'],
    [`Bearer ${TOKEN.toUpperCase()}`, 'unknown token'],
    [`Bearer ${hashToken(TOKEN)}`, 'unknown token'],
    [`Bearer  `, 'not a bearer token'],
    [`Bearer ${TOKEN} extra`, 'not a bearer token'],
    [`Token ${TOKEN}`, 'not a bearer token']
  ])('refuses %j', async (header, reason) => {
    const r = await auth.bearer(header);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(reason);
  });

  it('gives each call its own copy of the roles', async () => {
    const a = await auth.bearer(`Bearer ${TOKEN}`);
    if (a.ok) a.identity.roles.push('root');
    const b = await auth.bearer(`Bearer ${TOKEN}`);
    expect(b.ok && b.identity.roles).toEqual(['admin']);
  });
});

describe('stdio identity', () => {
  it('comes from the config, or there is none', () => {
    expect(auth.stdio()).toEqual({
      ok: true,
      identity: { id: 'local', roles: ['analyst'], method: 'stdio' }
    });
    expect(createAuthenticator({ ...base, tokens: [] }).stdio().ok).toBe(false);
  });

  it('can be the token in an environment variable, checked against the store', () => {
    const viaEnv = createAuthenticator({
      ...base,
      tokens: [{ id: 't1', identity: 'alice', roles: ['admin'], sha256: hashToken(TOKEN) }],
      stdio: { token_env: 'AGENT_TOKEN', roles: [] }
    });
    expect(viaEnv.stdio({ AGENT_TOKEN: TOKEN })).toMatchObject({
      ok: true,
      identity: { id: 'alice', method: 'stdio' }
    });
    expect(viaEnv.stdio({ AGENT_TOKEN: 'wrong-token-0123456789' })).toMatchObject({
      ok: false,
      reason: 'unknown token'
    });
    expect(viaEnv.stdio({})).toMatchObject({ ok: false });
  });

  it('can be the OS user, mapped to roles; an unlisted user gets nothing', () => {
    const me = userInfo().username;
    const mapped = createAuthenticator({
      ...base,
      tokens: [],
      stdio: { os_users: { [me]: ['ops'] }, roles: [] }
    });
    expect(mapped.stdio()).toEqual({ ok: true, identity: { id: me, roles: ['ops'], method: 'stdio' } });
    const other = createAuthenticator({
      ...base,
      tokens: [],
      stdio: { os_users: { 'not-me': ['ops'] }, roles: [] }
    });
    expect(other.stdio().ok).toBe(false);
  });
});

describe('token lifetime', () => {
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  let now = t0;
  const timed = createAuthenticator(
    {
      ...base,
      tokens: [
        {
          id: 'exp',
          identity: 'e',
          roles: ['x'],
          sha256: hashToken('expiring-token-0123456789'),
          expires: '2026-01-01T01:00:00Z'
        },
        {
          id: 'rev',
          identity: 'r',
          roles: ['x'],
          sha256: hashToken('revoked-token-0123456789'),
          revoked: '2026-01-01T00:30:00Z'
        },
        {
          id: 'old',
          identity: 'o',
          roles: ['x'],
          sha256: hashToken('rotated-token-0123456789'),
          expires: '2026-01-01T00:10:00Z',
          rotated_to: 'new'
        }
      ]
    },
    { now: () => now }
  );
  it('accepts a token before its expiry, revocation or grace end, and refuses it after', async () => {
    expect((await timed.bearer('Bearer expiring-token-0123456789')).ok).toBe(true);
    expect((await timed.bearer('Bearer revoked-token-0123456789')).ok).toBe(true);
    expect((await timed.bearer('Bearer rotated-token-0123456789')).ok).toBe(true);
    now = t0 + 2 * 3600_000;
    expect(await timed.bearer('Bearer expiring-token-0123456789')).toMatchObject({
      ok: false,
      reason: 'token expired',
      tokenId: 'exp'
    });
    expect(await timed.bearer('Bearer revoked-token-0123456789')).toMatchObject({
      ok: false,
      reason: 'token revoked'
    });
    expect(await timed.bearer('Bearer rotated-token-0123456789')).toMatchObject({
      ok: false,
      reason: 'token rotated out (grace period over)'
    });
  });
});

describe('lockout and rate limits', () => {
  it('locks a source out after repeated failures, and only that source', () => {
    let now = 0;
    const a = createAuthenticator({ ...base, tokens: [] }, { now: () => now });
    a.fail('10.0.0.1');
    a.fail('10.0.0.1');
    expect(a.lockedOut('10.0.0.1')).toBeUndefined();
    a.fail('10.0.0.1');
    expect(a.lockedOut('10.0.0.1')).toBe(300_000);
    expect(a.lockedOut('10.0.0.2')).toBeUndefined();
    now = 300_001;
    expect(a.lockedOut('10.0.0.1')).toBeUndefined();
  });

  it('shares every failure, and honours a lockout that failures on other replicas caused', () => {
    const now = 0;
    const recorded: string[] = [];
    const elsewhere = new Map([['10.0.0.7', 120_000]]);
    const a = createAuthenticator(
      { ...base, tokens: [] },
      {
        now: () => now,
        lockouts: { record: (s) => void recorded.push(s), lockedUntil: (s) => elsewhere.get(s) }
      }
    );
    // One failure here, none before: locked out all the same, because the others saw enough.
    expect(a.lockedOut('10.0.0.7')).toBe(120_000);
    expect(a.lockedOut('10.0.0.8')).toBeUndefined();
    a.fail('10.0.0.8');
    a.fail('10.0.0.8');
    expect(recorded).toEqual(['10.0.0.8', '10.0.0.8']);
    // Its own count still locks out on its own when the shared store knows nothing.
    a.fail('10.0.0.8');
    expect(a.lockedOut('10.0.0.8')).toBe(300_000);
  });

  it('does not lock out for failures spread beyond the window', () => {
    let now = 0;
    const a = createAuthenticator({ ...base, tokens: [] }, { now: () => now });
    for (let i = 0; i < 5; i++) {
      a.fail('10.0.0.1');
      now += 31_000;
    }
    expect(a.lockedOut('10.0.0.1')).toBeUndefined();
  });

  it('admits an identity up to its rate, then refuses until the window passes', () => {
    let now = 0;
    const a = createAuthenticator(
      { ...base, tokens: [], rate_limit: { limit: 2, window_ms: 1000 } },
      { now: () => now }
    );
    const alice = { id: 'alice', roles: [], method: 'token' as const, tokenId: 't1' };
    const bob = { id: 'bob', roles: [], method: 'token' as const, tokenId: 't2' };
    expect([a.admit(alice), a.admit(alice), a.admit(alice)]).toEqual([true, true, false]);
    expect(a.admit(bob)).toBe(true);
    now = 1000;
    expect(a.admit(alice)).toBe(true);
  });
});

describe('scopes', () => {
  it('lets a read scope reach read-only tools only, and the call scope everything', () => {
    const read = { id: 'r', roles: [], method: 'token' as const, scopes: ['tools:read'] };
    const call = { id: 'c', roles: [], method: 'token' as const, scopes: ['tools:call'] };
    const none = { id: 'n', roles: [], method: 'oauth' as const, scopes: [] };
    const all = { id: 'a', roles: [], method: 'token' as const };
    expect(auth.missingScope(read, true)).toBeUndefined();
    expect(auth.missingScope(read, false)).toBe('tools:call');
    expect(auth.missingScope(call, false)).toBeUndefined();
    expect(auth.missingScope(none, true)).toBe('tools:read');
    expect(auth.missingScope(all, false)).toBeUndefined();
  });
});

describe('shared revocations', () => {
  const revokedSet = new Set<string>();
  let readable = true;
  const shared = createAuthenticator(
    {
      ...base,
      tokens: [{ id: 't1', identity: 'alice', roles: ['admin'], sha256: hashToken(TOKEN) }],
      stdio: { token_env: 'PORTCULLIS_TOKEN', roles: [] }
    },
    { revoked: (id) => (readable ? revokedSet.has(id) : undefined) }
  );

  it("refuses a token another replica revoked, though this replica's token file still lists it", async () => {
    expect((await shared.bearer(`Bearer ${TOKEN}`)).ok).toBe(true);
    revokedSet.add('t1');
    expect(await shared.bearer(`Bearer ${TOKEN}`)).toEqual({
      ok: false,
      reason: 'token revoked',
      tokenId: 't1'
    });
    // The stdio identity taken from a token is checked the same way.
    expect(shared.stdio({ PORTCULLIS_TOKEN: TOKEN }).ok).toBe(false);
    revokedSet.delete('t1');
  });

  it("fails closed when revocations cannot be read, and says it is not the caller's fault", async () => {
    readable = false;
    try {
      const r = await shared.bearer(`Bearer ${TOKEN}`);
      expect(r).toMatchObject({ ok: false, unavailable: true, tokenId: 't1' });
      // An unknown token is still just unknown.
      expect(await shared.bearer('Bearer not-a-known-token-at-all')).toEqual({
        ok: false,
        reason: 'unknown token'
      });
    } finally {
      readable = true;
    }
  });
});

describe("the token file's revocations", () => {
  it('refuses a credential the file lists under revocations, here and after a reload, and nothing else', async () => {
    const OTHER = 'another-horse-battery-staple-02';
    const tokens = [
      { id: 't1', identity: 'alice', roles: ['admin'], sha256: hashToken(TOKEN) },
      { id: 't2', identity: 'bob', roles: ['admin'], sha256: hashToken(OTHER) }
    ];
    const a = createAuthenticator({
      ...base,
      tokens,
      revocations: [{ id: 't1', revoked: '2026-01-01T00:00:00Z' }]
    });
    expect(await a.bearer(`Bearer ${TOKEN}`)).toEqual({ ok: false, reason: 'token revoked', tokenId: 't1' });
    expect((await a.bearer(`Bearer ${OTHER}`)).ok).toBe(true);
    expect([...a.tokens.revoked]).toEqual([['t1', '2026-01-01T00:00:00Z']]);
    // A reload that names another credential (an OAuth jti) and a revoked token: both are carried.
    a.tokens.replace(
      [{ ...tokens[1]!, revoked: '2026-02-01T00:00:00Z' }, tokens[0]!],
      [{ id: 'jti-9', revoked: '2026-03-01T00:00:00Z' }]
    );
    expect(Object.fromEntries(a.tokens.revoked)).toEqual({
      t2: '2026-02-01T00:00:00Z',
      'jti-9': '2026-03-01T00:00:00Z'
    });
    expect((await a.bearer(`Bearer ${TOKEN}`)).ok).toBe(true);
    expect((await a.bearer(`Bearer ${OTHER}`)).ok).toBe(false);
  });
});
