import { userInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { hashToken } from '../config/index.js';
import { createAuthenticator, identityKey, type Identity } from './index.js';

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

describe('identityKey', () => {
  const who: Identity = {
    id: 'alice',
    roles: ['b', 'a'],
    method: 'token',
    tokenId: 't1',
    scopes: ['y', 'x']
  };

  it('is 22 characters of base64url, the same for the same grants in any order', () => {
    const key = identityKey(who);
    expect(key).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(identityKey({ ...who, roles: ['a', 'b'], scopes: ['x', 'y'] })).toBe(key);
    // The identity itself is left as it was.
    expect(who.roles).toEqual(['b', 'a']);
  });

  it('differs for anything authorisation reads', () => {
    const keys = [
      who,
      { ...who, id: 'bob' },
      { ...who, method: 'oauth' as const },
      { ...who, tokenId: 't2' },
      { ...who, tokenId: undefined },
      { ...who, agent: 'cursor' },
      { ...who, roles: ['a'] },
      { ...who, roles: ['a', 'c'] },
      { ...who, scopes: ['x'] },
      { ...who, scopes: [] },
      { ...who, scopes: undefined }
    ].map(identityKey);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('takes an absent token id or agent as empty', () => {
    const bare: Identity = { id: 'alice', roles: [], method: 'token' };
    expect(identityKey({ ...bare, tokenId: '', agent: '' })).toBe(identityKey(bare));
  });
});

describe('the token table', () => {
  it('starts with no revocations when the config lists none, and a reload without any clears them', () => {
    const a = createAuthenticator({
      ...base,
      tokens: [{ id: 't1', identity: 'alice', roles: ['admin'], sha256: hashToken(TOKEN) }]
    });
    expect([...a.tokens.revoked]).toEqual([]);
    a.tokens.replace(a.tokens.find(TOKEN) ? [a.tokens.find(TOKEN)!] : [], [
      { id: 'j', revoked: '2026-01-01T00:00:00Z' }
    ]);
    expect([...a.tokens.revoked]).toEqual([['j', '2026-01-01T00:00:00Z']]);
    a.tokens.replace([]);
    expect([...a.tokens.revoked]).toEqual([]);
    expect(a.tokens.find(TOKEN)).toBeUndefined();
  });

  it('maps a token with scopes and an expiry to an identity carrying both, as copies, and records its use', async () => {
    const t = Date.parse('2026-01-01T00:00:00Z');
    const a = createAuthenticator(
      {
        ...base,
        tokens: [
          {
            id: 't1',
            identity: 'alice',
            roles: ['admin'],
            scopes: ['tools:read'],
            sha256: hashToken(TOKEN),
            expires: '2026-01-02T00:00:00Z'
          }
        ]
      },
      { now: () => t }
    );
    const r = await a.bearer(`Bearer ${TOKEN}`);
    expect(r).toStrictEqual({
      ok: true,
      identity: {
        id: 'alice',
        roles: ['admin'],
        scopes: ['tools:read'],
        method: 'token',
        tokenId: 't1',
        expiresAt: Date.parse('2026-01-02T00:00:00Z')
      }
    });
    if (r.ok) r.identity.scopes?.push('tools:call');
    expect(((await a.bearer(`Bearer ${TOKEN}`)) as { identity: Identity }).identity.scopes).toEqual([
      'tools:read'
    ]);
    expect([...a.tokens.lastUsed]).toEqual([['t1', t]]);
  });
});

describe('the bearer header', () => {
  it.each([
    `Bearer  ${TOKEN}`,
    `Bearer\t${TOKEN}`,
    `Bearer ${TOKEN} `,
    `Bearer ${TOKEN}\t`,
    `BEARER ${TOKEN}`
  ])('takes %j', async (header) => {
    expect((await auth.bearer(header)).ok).toBe(true);
  });

  it.each([`XBearer ${TOKEN}`, ` Bearer ${TOKEN}`, `Bearer${TOKEN}`, `Bearer ${TOKEN}, Bearer ${TOKEN}`])(
    'refuses %j',
    async (header) => {
      expect(await auth.bearer(header)).toEqual({
        ok: false,
        reason: 'Authorization header is not a bearer token'
      });
    }
  );
});

describe('stdio identity, each answer', () => {
  const stdio = (s: Record<string, unknown> | undefined, env: NodeJS.ProcessEnv = {}) =>
    createAuthenticator({ ...base, tokens: [], ...(s ? { stdio: s as never } : {}) }).stdio(env);

  it('says what is missing', () => {
    expect(stdio(undefined)).toEqual({ ok: false, reason: 'no stdio identity configured: set auth.stdio' });
    expect(stdio({ roles: ['r'] })).toEqual({ ok: false, reason: 'auth.stdio names no identity' });
    expect(stdio({ token_env: 'AGENT_TOKEN', roles: [] })).toEqual({
      ok: false,
      reason: 'environment variable AGENT_TOKEN holds no token'
    });
    expect(stdio({ token_env: 'AGENT_TOKEN', roles: [] }, { AGENT_TOKEN: '' })).toEqual({
      ok: false,
      reason: 'environment variable AGENT_TOKEN holds no token'
    });
    const me = userInfo().username;
    expect(stdio({ os_users: { 'not-me': ['ops'] }, roles: [] })).toEqual({
      ok: false,
      reason: `OS user "${me}" is not listed in auth.stdio.os_users`
    });
  });

  it('carries the scopes the config names, as a copy', () => {
    const config = { identity: 'local', roles: ['analyst'], scopes: ['tools:read'] };
    const a = createAuthenticator({ ...base, tokens: [], stdio: config });
    const first = a.stdio();
    expect(first).toStrictEqual({
      ok: true,
      identity: { id: 'local', roles: ['analyst'], scopes: ['tools:read'], method: 'stdio' }
    });
    if (first.ok) first.identity.scopes?.push('tools:call');
    expect(config.scopes).toEqual(['tools:read']);
  });
});

describe('lockout, at its edges', () => {
  const lockout = { failures: 3, window_s: 60, duration_s: 300 };

  it('counts failures within the window, and not one exactly window_s old', () => {
    let now = 0;
    const a = createAuthenticator({ ...base, tokens: [], lockout }, { now: () => now });
    a.fail('s');
    now = 20_000;
    a.fail('s');
    now = 40_000;
    a.fail('s');
    expect(a.lockedOut('s')).toBe(340_000);

    const b = createAuthenticator({ ...base, tokens: [], lockout }, { now: () => now });
    now = 0;
    b.fail('s');
    b.fail('s');
    now = 60_000;
    b.fail('s');
    expect(b.lockedOut('s')).toBeUndefined();
  });

  it('starts a source afresh once its lockout has ended', () => {
    let now = 0;
    const a = createAuthenticator(
      { ...base, tokens: [], lockout: { failures: 3, window_s: 600, duration_s: 60 } },
      { now: () => now }
    );
    for (let i = 0; i < 3; i++) a.fail('s');
    expect(a.lockedOut('s')).toBe(60_000);
    now = 60_000;
    expect(a.lockedOut('s')).toBeUndefined();
    now = 60_001;
    a.fail('s');
    expect(a.lockedOut('s')).toBeUndefined();
  });

  it("keeps each source's count apart, however failures interleave", () => {
    const a = createAuthenticator({ ...base, tokens: [], lockout }, { now: () => 0 });
    a.fail('a');
    a.fail('a');
    a.fail('b');
    a.fail('b');
    a.fail('a');
    a.fail('b');
    expect([a.lockedOut('a'), a.lockedOut('b')]).toEqual([300_000, 300_000]);
  });

  it('keeps the count and the lockout of a source however many others fail, refusing newcomers', () => {
    let now = 0;
    const full: number[] = [];
    const a = createAuthenticator(
      { ...base, tokens: [], lockout },
      { now: () => now, full: (until) => void full.push(until) }
    );
    a.fail('attacked');
    a.fail('attacked');
    for (let i = 0; i < 3; i++) a.fail('locked');
    now = 1000;
    for (let i = 0; i < 99_998; i++) a.fail(`10.${i}`);
    expect(full).toEqual([]);
    // 100,000 live records: a new source is refused as locked out until the first record ends,
    // and its failures are not counted anywhere (nothing is dropped to make room for them).
    for (let i = 0; i < 10; i++) a.fail(`new.${i}`);
    expect(a.lockedOut('new.0')).toBe(60_000);
    expect(full).toEqual([60_000]);
    // The sources already counted carry on: the third failure locks out, the lockout stands.
    expect(a.lockedOut('attacked')).toBeUndefined();
    a.fail('attacked');
    expect([a.lockedOut('attacked'), a.lockedOut('locked')]).toEqual([301_000, 300_000]);
    // At 60,000 it looks again: the records of `attacked` and `locked` last with their lockouts,
    // the others until their failures leave the window. Once those end, they make room.
    now = 60_000;
    expect(a.lockedOut('new.0')).toBe(61_000);
    expect(full).toEqual([60_000, 61_000]);
    now = 61_000;
    expect(a.lockedOut('new.0')).toBeUndefined();
    for (let i = 0; i < 3; i++) a.fail('new.0');
    expect(a.lockedOut('new.0')).toBe(361_000);
    expect(a.lockedOut('attacked')).toBe(301_000);
  });

  it('makes room from ended records only, and looks again only once one may have ended', () => {
    let now = 0;
    const full: number[] = [];
    const a = createAuthenticator(
      { ...base, tokens: [], lockout },
      { now: () => now, full: (until) => void full.push(until), maxTracked: 2 }
    );
    a.fail('a');
    now = 10_000;
    a.fail('b');
    now = 59_999;
    expect(a.lockedOut('c')).toBe(60_000);
    for (let i = 0; i < 3; i++) a.fail('c');
    expect(a.lockedOut('c')).toBe(60_000);
    expect(full).toEqual([60_000]);
    // A source the table holds is not refused for the table being full.
    expect(a.lockedOut('a')).toBeUndefined();
    // The failure of `a` leaves the window: its room goes to `c`; `b` keeps its count.
    now = 60_000;
    expect(a.lockedOut('c')).toBeUndefined();
    a.fail('c');
    a.fail('b');
    a.fail('b');
    expect(a.lockedOut('b')).toBe(360_000);
    expect(a.lockedOut('c')).toBeUndefined();
    // Full again, of records that last until `b`'s lockout and `c`'s failure end.
    expect(a.lockedOut('a')).toBe(120_000);
    expect(full).toEqual([60_000, 120_000]);
  });

  it('keeps a locked-out source in the table for as long as its lockout lasts', () => {
    let now = 0;
    const a = createAuthenticator({ ...base, tokens: [], lockout }, { now: () => now, maxTracked: 1 });
    for (let i = 0; i < 3; i++) a.fail('s');
    now = 200_000;
    expect(a.lockedOut('n')).toBe(300_000);
    now = 299_999;
    expect(a.lockedOut('n')).toBe(300_000);
    now = 300_000;
    expect(a.lockedOut('n')).toBeUndefined();
    a.fail('n');
    expect(a.lockedOut('s')).toBe(360_000);
  });

  it('gives the room of a source whose lockout ends to the next, and looks afresh', () => {
    let now = 0;
    const a = createAuthenticator(
      { ...base, tokens: [], lockout: { failures: 2, window_s: 600, duration_s: 60 } },
      { now: () => now, maxTracked: 2 }
    );
    a.fail('a');
    a.fail('a');
    now = 1;
    a.fail('b');
    // `a` is locked out for a minute, but its failures count for ten: its record lasts as long.
    expect(a.lockedOut('c')).toBe(600_000);
    now = 60_000;
    expect(a.lockedOut('a')).toBeUndefined();
    expect(a.lockedOut('c')).toBeUndefined();
    a.fail('c');
    expect(a.lockedOut('d')).toBe(600_001);
  });
});

describe('rate limit, at its edges', () => {
  const alice: Identity = { id: 'alice', roles: [], method: 'token' };

  it("keeps each identity's window apart", () => {
    const a = createAuthenticator(
      { ...base, tokens: [], rate_limit: { limit: 2, window_ms: 1000 } },
      { now: () => 0 }
    );
    expect([a.admit(alice), a.admit(alice)]).toEqual([true, true]);
    expect(a.admit({ id: 'bob', roles: [], method: 'token' })).toBe(true);
    expect(a.admit(alice)).toBe(false);
  });

  it('keeps every live window however many identities call, refusing a new one meanwhile', () => {
    let now = 0;
    const a = createAuthenticator(
      { ...base, tokens: [], rate_limit: { limit: 2, window_ms: 1000 } },
      { now: () => now }
    );
    a.admit(alice);
    a.admit(alice);
    expect(a.admit(alice)).toBe(false);
    now = 500;
    for (let i = 0; i < 99_999; i++) a.admit({ id: `u${i}`, roles: [], method: 'token' });
    // 100,000 live windows: a new identity is refused, and no one's window is dropped for it.
    expect(a.admit({ id: 'new', roles: [], method: 'token' })).toBe(false);
    expect(a.admit(alice)).toBe(false);
    expect(a.admit({ id: 'u0', roles: [], method: 'token' })).toBe(true);
    expect(a.admit({ id: 'u0', roles: [], method: 'token' })).toBe(false);
    // Alice's window has ended: it makes room for the new identity.
    now = 1000;
    expect(a.admit({ id: 'new', roles: [], method: 'token' })).toBe(true);
    expect(a.admit(alice)).toBe(false);
    now = 1500;
    expect(a.admit(alice)).toBe(true);
  });

  it('keeps the identities apart by how they authenticated, within the bound the table has', () => {
    const a = createAuthenticator(
      { ...base, tokens: [], rate_limit: { limit: 1, window_ms: 1000 } },
      { now: () => 0, maxTracked: 2 }
    );
    expect(a.admit(alice)).toBe(true);
    expect(a.admit({ ...alice, method: 'oauth' })).toBe(true);
    expect(a.admit({ ...alice, method: 'stdio' })).toBe(false);
    expect(a.admit({ ...alice, roles: ['admin'] })).toBe(false);
  });
});

describe('surfaces with their own credential', () => {
  const own: Identity = { id: 'metrics', roles: [], method: 'token', tokenId: 'metrics' };
  const OWN = 'metrics-scrape-token-0123456789';
  const a = createAuthenticator({
    ...base,
    tokens: [
      { id: 't1', identity: 'alice', roles: ['ops', 'admin'], sha256: hashToken(TOKEN) },
      { id: 't2', identity: 'rita', roles: ['analyst'], sha256: hashToken('reader-token-0123456789') }
    ]
  });

  it('takes the surface token, or a token with one of the roles', async () => {
    expect(await a.surface(`Bearer ${OWN}`, hashToken(OWN), ['admin'], own)).toBe(own);
    expect(await a.surface(`Bearer ${TOKEN}`, hashToken(OWN), ['admin'], own)).toMatchObject({ id: 'alice' });
    expect(await a.surface(`Bearer ${TOKEN}`, undefined, ['admin'], own)).toMatchObject({ id: 'alice' });
  });

  it('refuses no header, a header that is not a bearer token, and a token without the role', async () => {
    expect(await a.surface(undefined, hashToken(OWN), ['admin'], own)).toBeUndefined();
    expect(await a.surface('', hashToken(OWN), ['admin'], own)).toBeUndefined();
    expect(await a.surface(`Basic ${OWN}`, hashToken(OWN), ['admin'], own)).toBeUndefined();
    expect(await a.surface('Bearer reader-token-0123456789', hashToken(OWN), ['admin'], own)).toBeUndefined();
    expect(await a.surface(`Bearer ${OWN}`, undefined, ['admin'], own)).toBeUndefined();
  });
});

describe('OAuth access tokens beside the gateway tokens', () => {
  const ISSUER = 'https://auth.example.test';
  const RESOURCE = 'https://mcp.example.test/mcp';
  const t = Date.parse('2026-06-01T00:00:00Z');
  const EXPIRED = 'expired-gateway-token-0123456789';
  const answers: Record<string, Record<string, unknown>> = {
    'oauth-full': {
      active: true,
      sub: 'bob',
      client_id: 'vscode',
      jti: 'jti-1',
      exp: t / 1000 + 600,
      aud: RESOURCE,
      roles: ['dev'],
      scope: 'tools:read'
    },
    'oauth-bare': { active: true, sub: 'carol', exp: t / 1000 + 600, aud: RESOURCE },
    'oauth-revoked': { active: true, sub: 'dave', jti: 'jti-gone', exp: t / 1000 + 600, aud: RESOURCE }
  };
  let introspected: string[] = [];

  const oauthAuth = (options: { revoked?: (id: string) => boolean | undefined } = {}) =>
    createAuthenticator(
      {
        ...base,
        tokens: [
          { id: 't1', identity: 'alice', roles: ['admin'], sha256: hashToken(TOKEN) },
          {
            id: 'old',
            identity: 'olga',
            roles: ['admin'],
            sha256: hashToken(EXPIRED),
            expires: '2026-01-01T00:00:00Z'
          }
        ],
        revocations: [{ id: 'jti-gone', revoked: '2026-05-01T00:00:00Z' }],
        oauth: {
          issuer: ISSUER,
          audience: RESOURCE,
          introspection: { url: `${ISSUER}/introspect`, client_id: 'c', client_secret: 's' }
        }
      },
      {
        now: () => t,
        ...options,
        fetch: (_url, init) => {
          const token = new URLSearchParams(String(init?.body)).get('token') ?? '';
          introspected.push(token);
          return Promise.resolve(Response.json(answers[token] ?? { active: false }));
        }
      }
    );

  it('maps a verified access token to an identity: user, roles, scopes, agent, token id, expiry in ms, claims', async () => {
    introspected = [];
    const r = await oauthAuth().bearer('Bearer oauth-full');
    expect(r).toStrictEqual({
      ok: true,
      identity: {
        id: 'bob',
        roles: ['dev'],
        scopes: ['tools:read'],
        method: 'oauth',
        agent: 'vscode',
        tokenId: 'jti-1',
        expiresAt: t + 600_000,
        claims: {
          sub: 'bob',
          client_id: 'vscode',
          jti: 'jti-1',
          exp: t / 1000 + 600,
          aud: RESOURCE,
          roles: ['dev'],
          scope: 'tools:read'
        }
      }
    });
    expect(introspected).toEqual(['oauth-full']);
  });

  it('leaves out the agent and token id a token does not carry, and checks no revocation for it', async () => {
    const r = await oauthAuth({ revoked: () => undefined }).bearer('Bearer oauth-bare');
    expect(r.ok && Object.keys(r.identity).sort()).toEqual([
      'claims',
      'expiresAt',
      'id',
      'method',
      'roles',
      'scopes'
    ]);
  });

  it('refuses an access token whose jti the token file revokes, or another replica did, or that cannot be checked', async () => {
    expect(await oauthAuth().bearer('Bearer oauth-revoked')).toEqual({
      ok: false,
      reason: 'token revoked',
      tokenId: 'jti-gone'
    });
    expect(await oauthAuth({ revoked: (id) => id === 'jti-1' }).bearer('Bearer oauth-full')).toEqual({
      ok: false,
      reason: 'token revoked',
      tokenId: 'jti-1'
    });
    expect(await oauthAuth({ revoked: () => undefined }).bearer('Bearer oauth-full')).toEqual({
      ok: false,
      reason: 'revocations cannot be checked: shared state unreachable',
      tokenId: 'jti-1',
      unavailable: true
    });
  });

  it('says why the issuer refused a token', async () => {
    expect(await oauthAuth().bearer('Bearer oauth-unknown')).toEqual({
      ok: false,
      reason: 'oauth: introspection: token inactive'
    });
  });

  it('answers a gateway token itself, good or bad, without asking the issuer', async () => {
    introspected = [];
    const a = oauthAuth();
    expect(await a.bearer(`Bearer ${TOKEN}`)).toMatchObject({
      ok: true,
      identity: { id: 'alice', method: 'token' }
    });
    expect(await a.bearer(`Bearer ${EXPIRED}`)).toEqual({
      ok: false,
      reason: 'token expired',
      tokenId: 'old'
    });
    expect(introspected).toEqual([]);
  });
});
