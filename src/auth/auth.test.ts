import { describe, expect, it } from 'vitest';
import { hashToken } from '../config/index.js';
import { createAuthenticator } from './index.js';

const TOKEN = 'correct-horse-battery-staple-01';
const auth = createAuthenticator({
  tokens: [{ id: 't1', identity: 'alice', roles: ['admin'], sha256: hashToken(TOKEN) }],
  stdio: { identity: 'local', roles: ['analyst'] }
});

describe('bearer tokens', () => {
  it('maps a known token to its identity and roles, naming the token id', () => {
    expect(auth.bearer(`Bearer ${TOKEN}`)).toEqual({
      ok: true,
      identity: { id: 'alice', roles: ['admin'], method: 'token', tokenId: 't1' }
    });
    expect(auth.bearer(`bearer ${TOKEN}`).ok).toBe(true);
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
  ])('refuses %j', (header, reason) => {
    const r = auth.bearer(header);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(reason);
  });

  it('gives each call its own copy of the roles', () => {
    const a = auth.bearer(`Bearer ${TOKEN}`);
    if (a.ok) a.identity.roles.push('root');
    const b = auth.bearer(`Bearer ${TOKEN}`);
    expect(b.ok && b.identity.roles).toEqual(['admin']);
  });
});

describe('stdio identity', () => {
  it('comes from the config, or there is none', () => {
    expect(auth.stdio()).toEqual({ id: 'local', roles: ['analyst'], method: 'stdio' });
    expect(createAuthenticator({ tokens: [] }).stdio()).toBeUndefined();
  });
});
