import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  base64url,
  CompactSign,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload
} from 'jose';
import { createOAuthVerifier, OAuthConfigError, validateOAuthConfig, type OAuthConfig } from './oauth.js';

const ISSUER = 'https://auth.example.test/realms/main';
const RESOURCE = 'https://mcp.example.test/mcp';
const NOW = Math.floor(Date.now() / 1000);
const now = () => NOW * 1000;

interface TestServer {
  url: string;
  requests: number;
  close(): Promise<void>;
}

async function startServer(handler: (req: IncomingMessage, body: string, res: ServerResponse) => void) {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.requests++;
      handler(req, Buffer.concat(chunks).toString('utf8'), res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const state: TestServer = {
    url: `http://127.0.0.1:${port}`,
    requests: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      })
  };
  return state;
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

interface Key {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

async function makeKey(alg: string, kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, jwk };
}

function claims(extra: JWTPayload = {}): JWTPayload {
  return {
    iss: ISSUER,
    aud: RESOURCE,
    sub: 'alice',
    client_id: 'claude-agent',
    iat: NOW - 10,
    exp: NOW + 600,
    jti: 'tok-1',
    roles: ['analyst'],
    scope: 'mcp:read mcp:call',
    ...extra
  };
}

async function sign(
  key: Key,
  payload: JWTPayload,
  header: Record<string, unknown> = {},
  signWith: CryptoKey | Uint8Array = key.privateKey
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header })
    .sign(signWith);
}

const encodeJson = (v: unknown) => base64url.encode(JSON.stringify(v));

let rsa: Key;
let ec: Key;
let stranger: Key; // never published
let rotated: Key; // published later
let jwks: TestServer;
let published: JWK[];
let jwksStatus = 200;

beforeAll(async () => {
  [rsa, ec, stranger, rotated] = await Promise.all([
    makeKey('RS256', 'rsa-1'),
    makeKey('ES256', 'ec-1'),
    makeKey('RS256', 'stranger'),
    makeKey('RS256', 'rsa-2')
  ]);
  published = [rsa.jwk, ec.jwk];
  jwks = await startServer((_req, _body, res) =>
    jwksStatus === 200 ? json(res, 200, { keys: published }) : json(res, jwksStatus, { error: 'down' })
  );
});

afterAll(async () => {
  await jwks.close();
});

function config(extra: Partial<OAuthConfig> = {}): OAuthConfig {
  return { issuer: ISSUER, audience: RESOURCE, jwks_uri: `${jwks.url}/jwks`, ...extra };
}

function verifier(extra: Partial<OAuthConfig> = {}) {
  return createOAuthVerifier(config(extra), { now });
}

async function refused(v: { verify(t: string): Promise<unknown> }, token: string, reason: string) {
  const result = (await v.verify(token)) as { ok: boolean; reason?: string };
  expect(result).toEqual({ ok: false, reason });
  expect(result.reason).not.toContain(token);
}

describe('valid JWT access tokens', () => {
  it('accepts RS256 and maps user, agent, roles, scopes, expiry and token id', async () => {
    const result = await verifier().verify(await sign(rsa, claims()));
    expect(result).toEqual({
      ok: true,
      identity: {
        user: 'alice',
        agent: 'claude-agent',
        roles: ['analyst'],
        scopes: ['mcp:read', 'mcp:call'],
        expiresAt: NOW + 600,
        tokenId: 'tok-1',
        claims: expect.objectContaining({ sub: 'alice', iss: ISSUER }) as unknown
      }
    });
  });

  it('accepts ES256 with a dotted roles claim, azp as the agent and array scopes under scp', async () => {
    const v = verifier({ roles_claim: 'realm_access.roles' });
    const token = await sign(
      ec,
      claims({
        client_id: undefined,
        azp: 'cursor',
        roles: ['not-these'],
        realm_access: { roles: ['admin', 'auditor'] },
        scope: undefined,
        scp: ['files:read', 'files:write']
      })
    );
    const result = await v.verify(token);
    expect(result.ok && result.identity).toMatchObject({
      user: 'alice',
      agent: 'cursor',
      roles: ['admin', 'auditor'],
      scopes: ['files:read', 'files:write']
    });
  });

  it('accepts roles as a space-separated string and scopes from a custom claim as an array', async () => {
    const v = verifier({ roles_claim: 'groups', scopes_claim: 'permissions' });
    const token = await sign(rsa, claims({ groups: 'dev  ops', permissions: ['a', 'b'], scope: 'ignored' }));
    const result = await v.verify(token);
    expect(result.ok && [result.identity.roles, result.identity.scopes]).toEqual([
      ['dev', 'ops'],
      ['a', 'b']
    ]);
  });

  it('accepts an audience list that contains this resource, and configured audience lists', async () => {
    const aud = ['https://other.example.test/api', RESOURCE];
    expect((await verifier().verify(await sign(rsa, claims({ aud })))).ok).toBe(true);
    const v = verifier({ audience: ['https://alias.example.test/mcp', RESOURCE] });
    expect((await v.verify(await sign(rsa, claims()))).ok).toBe(true);
  });

  it.each([undefined, 'JWT', 'at+jwt', 'AT+JWT', 'application/at+jwt'])('accepts typ %s', async (typ) => {
    const token = await sign(rsa, claims(), { typ });
    expect((await verifier().verify(token)).ok).toBe(true);
  });
});

describe('refused JWTs', () => {
  it('refuses alg none before any key lookup', async () => {
    const v = verifier();
    const before = jwks.requests;
    const token = `${encodeJson({ alg: 'none', typ: 'JWT' })}.${encodeJson(claims())}.`;
    await refused(v, token, 'algorithm not allowed');
    const noneWithKid = `${encodeJson({ alg: 'none', kid: 'rsa-1' })}.${encodeJson(claims())}.`;
    await refused(v, noneWithKid, 'algorithm not allowed');
    expect(jwks.requests).toBe(before);
  });

  it('refuses HS256 signed with the RSA public key as the HMAC secret (algorithm confusion)', async () => {
    const v = verifier();
    const before = jwks.requests;
    for (const secret of [
      new TextEncoder().encode(await exportSPKI(rsa.publicKey)),
      new TextEncoder().encode(JSON.stringify(rsa.jwk))
    ]) {
      const token = await sign(rsa, claims(), { alg: 'HS256' }, secret);
      await refused(v, token, 'algorithm not allowed');
    }
    expect(jwks.requests).toBe(before);
  });

  it('refuses an algorithm outside a narrowed allowlist', async () => {
    await refused(verifier({ algorithms: ['ES256'] }), await sign(rsa, claims()), 'algorithm not allowed');
  });

  it('refuses the wrong issuer, including near misses', async () => {
    for (const iss of ['https://evil.example.test/realms/main', `${ISSUER}/`, ISSUER.toUpperCase()]) {
      await refused(verifier(), await sign(rsa, claims({ iss })), 'wrong issuer');
    }
    await refused(verifier(), await sign(rsa, claims({ iss: undefined })), 'missing claim iss');
  });

  it('refuses the wrong audience and tokens minted for another resource', async () => {
    await refused(verifier(), await sign(rsa, claims({ aud: 'account' })), 'wrong audience');
    await refused(
      verifier(),
      await sign(rsa, claims({ aud: ['https://other.example.test/mcp', 'https://mcp.example.test/mcp/x'] })),
      'wrong audience'
    );
    await refused(verifier(), await sign(rsa, claims({ aud: undefined })), 'missing claim aud');
  });

  it('refuses a token expired beyond the clock skew, accepts one expired within it', async () => {
    await refused(verifier(), await sign(rsa, claims({ exp: NOW - 31 })), 'token expired');
    expect((await verifier().verify(await sign(rsa, claims({ exp: NOW - 20 })))).ok).toBe(true);
    await refused(verifier({ clock_skew_s: 0 }), await sign(rsa, claims({ exp: NOW - 1 })), 'token expired');
  });

  it('refuses nbf in the future beyond the skew, accepts it within', async () => {
    await refused(verifier(), await sign(rsa, claims({ nbf: NOW + 31 })), 'token not yet valid');
    expect((await verifier().verify(await sign(rsa, claims({ nbf: NOW + 20 })))).ok).toBe(true);
  });

  it('refuses iat far in the future', async () => {
    await refused(verifier(), await sign(rsa, claims({ iat: NOW + 3600 })), 'token issued in the future');
  });

  it('refuses a token signed by a key not in the JWKS', async () => {
    await refused(verifier(), await sign(stranger, claims()), 'unknown signing key');
  });

  it('refuses a token signed by another key under a published kid', async () => {
    const token = await sign(rsa, claims(), {}, stranger.privateKey);
    await refused(verifier(), token, 'signature invalid');
  });

  it('refuses a tampered payload that keeps the original signature', async () => {
    const token = await sign(rsa, claims());
    const [h, , sig] = token.split('.');
    const forged = `${h}.${encodeJson(claims({ roles: ['admin'] }))}.${sig}`;
    await refused(verifier(), forged, 'signature invalid');
  });

  it('refuses missing sub, missing exp and missing configured claims', async () => {
    await refused(verifier(), await sign(rsa, claims({ sub: undefined })), 'missing claim sub');
    await refused(verifier(), await sign(rsa, claims({ exp: undefined })), 'missing claim exp');
    await refused(
      verifier({ required_claims: ['jti'] }),
      await sign(rsa, claims({ jti: undefined })),
      'missing claim jti'
    );
    await refused(verifier(), await sign(rsa, claims({ sub: '' })), 'invalid claim sub');
  });

  it.each(['id_token+jwt', 'dpop+jwt', 'logout+jwt', 'JOSE'])('refuses typ %s', async (typ) => {
    await refused(verifier(), await sign(rsa, claims(), { typ }), 'wrong token type');
  });

  it('refuses malformed and oversized input without throwing', async () => {
    const v = verifier();
    for (const token of ['', 'a.b', 'a.b.c.d.e', '!!!.???.###', 'x'.repeat(20_000)]) {
      const result = await v.verify(token);
      expect(result.ok).toBe(false);
    }
    await refused(v, `bm90IGpzb24.${encodeJson(claims())}.c2ln`, 'malformed token');
  });
});

describe('the JWKS cache', () => {
  it('picks up a key added to the JWKS once the cooldown has passed', async () => {
    const v = verifier({ jwks_cooldown_s: 0.4 });
    const start = jwks.requests;
    expect((await v.verify(await sign(rsa, claims()))).ok).toBe(true);
    expect(jwks.requests - start).toBe(1);
    published = [rsa.jwk, ec.jwk, rotated.jwk];
    try {
      const token = await sign(rotated, claims());
      // Within the cooldown the unknown kid is refused without another fetch.
      await refused(v, token, 'unknown signing key');
      expect(jwks.requests - start).toBe(1);
      await new Promise((r) => setTimeout(r, 500));
      expect((await v.verify(token)).ok).toBe(true);
      expect(jwks.requests - start).toBe(2);
    } finally {
      published = [rsa.jwk, ec.jwk];
    }
  });

  it('fetches the JWKS at most twice for a flood of 50 unknown kids', async () => {
    const v = verifier({ jwks_cooldown_s: 30 });
    const start = jwks.requests;
    const tokens = await Promise.all(
      Array.from({ length: 50 }, (_, i) => sign(stranger, claims(), { kid: `random-${i}-${Math.random()}` }))
    );
    const concurrent = await Promise.all(tokens.slice(0, 25).map((t) => v.verify(t)));
    for (const t of tokens.slice(25)) concurrent.push(await v.verify(t));
    expect(concurrent.every((r) => !r.ok && r.reason === 'unknown signing key')).toBe(true);
    const fetches = jwks.requests - start;
    expect(fetches).toBeGreaterThanOrEqual(1);
    expect(fetches).toBeLessThanOrEqual(2);
    // Valid tokens still pass on the cached keys.
    expect((await v.verify(await sign(rsa, claims()))).ok).toBe(true);
    expect(jwks.requests - start).toBe(fetches);
  });

  it('fails closed when the JWKS server is unreachable', async () => {
    const gone = await startServer((_req, _body, res) => json(res, 200, { keys: [] }));
    await gone.close();
    const v = createOAuthVerifier(config({ jwks_uri: `${gone.url}/jwks` }), { now });
    await expect(v.verify(await sign(rsa, claims()))).resolves.toEqual({
      ok: false,
      reason: 'jwks unavailable'
    });
  });

  it('fails closed on JWKS errors and backs off instead of refetching for every token', async () => {
    jwksStatus = 503;
    try {
      const v = verifier({ jwks_cooldown_s: 30 });
      const start = jwks.requests;
      for (let i = 0; i < 20; i++) await refused(v, await sign(rsa, claims()), 'jwks unavailable');
      expect(jwks.requests - start).toBe(1);
    } finally {
      jwksStatus = 200;
    }
  });

  it('keeps verifying with cached keys while the JWKS server is failing', async () => {
    const v = verifier({ jwks_cooldown_s: 0 });
    expect((await v.verify(await sign(rsa, claims()))).ok).toBe(true);
    jwksStatus = 500;
    try {
      const start = jwks.requests;
      await refused(v, await sign(stranger, claims()), 'jwks unavailable');
      expect((await v.verify(await sign(ec, claims()))).ok).toBe(true);
      // Backing off: the held keys decide, and the failing endpoint is left alone.
      await refused(v, await sign(stranger, claims()), 'unknown signing key');
      expect(jwks.requests - start).toBe(1);
    } finally {
      jwksStatus = 200;
    }
  });

  it('after a failed fetch, backs off for a second when the cooldown is shorter, then fetches again', async () => {
    const v = verifier({ jwks_cooldown_s: 0 });
    jwksStatus = 500;
    try {
      const start = jwks.requests;
      await refused(v, await sign(rsa, claims()), 'jwks unavailable');
      await refused(v, await sign(rsa, claims()), 'jwks unavailable');
      expect(jwks.requests - start).toBe(1);
      jwksStatus = 200;
      // The back-off runs on the real clock, as jose's own cache does.
      await new Promise((r) => setTimeout(r, 1_100));
      expect((await v.verify(await sign(rsa, claims()))).ok).toBe(true);
      expect(jwks.requests - start).toBe(2);
    } finally {
      jwksStatus = 200;
    }
  });

  it('passes the fetch option to the JWKS client', async () => {
    let calls = 0;
    const v = createOAuthVerifier(config(), {
      now,
      fetch: (input, init) => {
        calls++;
        return fetch(input, init);
      }
    });
    expect((await v.verify(await sign(rsa, claims()))).ok).toBe(true);
    expect(calls).toBe(1);
  });
});

describe('config validation', () => {
  it('accepts a sound config', () => {
    expect(validateOAuthConfig(config())).toEqual([]);
    expect(validateOAuthConfig(config({ issuer: 'http://localhost:8080/realms/x' }))).toEqual([]);
    expect(validateOAuthConfig(config({ algorithms: ['ES256', 'PS512', 'EdDSA'] }))).toEqual([]);
  });

  it.each([['none'], ['NONE'], ['HS256'], ['hs512']])('rejects algorithm %s, at config time', (alg) => {
    const c = config({ algorithms: ['RS256', alg] });
    expect(validateOAuthConfig(c)).toEqual([expect.stringContaining(alg)]);
    expect(() => createOAuthVerifier(c)).toThrow(OAuthConfigError);
  });

  it('rejects a config with neither jwks_uri nor introspection', () => {
    const problems = validateOAuthConfig({ issuer: ISSUER, audience: RESOURCE });
    expect(problems).toEqual([expect.stringContaining('jwks_uri is required')]);
    expect(() => createOAuthVerifier({ issuer: ISSUER, audience: RESOURCE })).toThrow(/jwks_uri/);
  });

  it('allows plain http only on loopback hosts', () => {
    for (const issuer of ['http://127.0.0.1:9000', 'http://localhost/realms/x', 'http://[::1]:8080']) {
      expect(validateOAuthConfig(config({ issuer }))).toEqual([]);
    }
    for (const issuer of ['http://auth.example.test', 'http://10.0.0.5', 'http://127.0.0.1.evil.test']) {
      expect(validateOAuthConfig(config({ issuer }))).toEqual([
        expect.stringContaining('issuer must use https')
      ]);
    }
    expect(validateOAuthConfig(config({ jwks_uri: 'http://auth.example.test/jwks' }))).toEqual([
      expect.stringContaining('jwks_uri must use https')
    ]);
    expect(
      validateOAuthConfig(
        config({ introspection: { url: 'http://auth.example.test/i', client_id: 'c', client_secret: 's' } })
      )
    ).toEqual([expect.stringContaining('introspection.url must use https')]);
  });

  it('rejects bad numbers, audiences and claim settings', () => {
    expect(validateOAuthConfig(config({ clock_skew_s: 301 }))).toHaveLength(1);
    expect(validateOAuthConfig(config({ clock_skew_s: -1 }))).toHaveLength(1);
    expect(validateOAuthConfig(config({ audience: [] }))).toHaveLength(1);
    expect(validateOAuthConfig(config({ algorithms: [] }))).toHaveLength(1);
    expect(validateOAuthConfig(config({ algorithms: ['RS1'] }))).toHaveLength(1);
    expect(validateOAuthConfig(config({ roles_claim: '' }))).toHaveLength(1);
    expect(
      validateOAuthConfig(
        config({
          introspection: {
            url: 'https://auth.example.test/i',
            client_id: 'c',
            client_secret: 's',
            accept_missing_audience: 'yes' as unknown as boolean
          }
        })
      )
    ).toEqual([expect.stringContaining('accept_missing_audience must be true or false')]);
    expect(validateOAuthConfig(config({ issuer: `${ISSUER}?x=1` }))).toHaveLength(1);
  });
});

describe('introspection (RFC 7662)', () => {
  const CLIENT = 'portcullis';
  const SECRET = 's3cret:with space';
  let endpoint: TestServer;
  const answers: Record<string, Record<string, unknown>> = {};
  const sent: string[] = [];

  beforeAll(async () => {
    Object.assign(answers, {
      'opaque-active': {
        active: true,
        sub: 'bob',
        client_id: 'vscode',
        scope: 'mcp:read',
        iss: ISSUER,
        aud: [RESOURCE],
        exp: NOW + 3600,
        jti: 'op-1',
        realm_access: { roles: ['dev'] }
      },
      'opaque-short': { active: true, sub: 'bob', exp: NOW + 5, aud: RESOURCE },
      'opaque-inactive': { active: false },
      'opaque-other-aud': { active: true, sub: 'bob', exp: NOW + 60, aud: 'https://other.example.test/mcp' },
      'opaque-other-iss': { active: true, sub: 'bob', exp: NOW + 60, iss: 'https://evil.example.test' },
      'opaque-expired': { active: true, sub: 'bob', exp: NOW - 120 },
      'opaque-no-sub': { active: true, exp: NOW + 60, aud: RESOURCE },
      'opaque-no-aud': { active: true, sub: 'bob', exp: NOW + 60, iss: ISSUER },
      'opaque-resource': { active: true, sub: 'bob', exp: NOW + 60, resource: RESOURCE },
      'opaque-other-resource': {
        active: true,
        sub: 'bob',
        exp: NOW + 60,
        resource: 'https://other.example.test/mcp'
      },
      'opaque-aud-but-other-resource': {
        active: true,
        sub: 'bob',
        exp: NOW + 60,
        aud: RESOURCE,
        resource: 'https://other.example.test/mcp'
      },
      'opaque-aud-not-a-name': { active: true, sub: 'bob', exp: NOW + 60, aud: 42 }
    });
    const formSecret = encodeURIComponent(SECRET).replace(/%20/g, '+');
    const expected = `Basic ${Buffer.from(`${CLIENT}:${formSecret}`).toString('base64')}`;
    endpoint = await startServer((req, body, res) => {
      if (req.method !== 'POST' || req.headers['content-type'] !== 'application/x-www-form-urlencoded') {
        return json(res, 400, { error: 'invalid_request' });
      }
      if (req.headers.authorization !== expected) return json(res, 401, { error: 'invalid_client' });
      const token = new URLSearchParams(body).get('token') ?? '';
      sent.push(token);
      json(res, 200, answers[token] ?? { active: false });
    });
  });

  afterAll(async () => {
    await endpoint.close();
  });

  let clock = NOW * 1000;
  const introspecting = (extra: Partial<OAuthConfig> = {}, secret = SECRET) =>
    createOAuthVerifier(
      {
        issuer: ISSUER,
        audience: RESOURCE,
        roles_claim: 'realm_access.roles',
        introspection: {
          url: `${endpoint.url}/introspect`,
          client_id: CLIENT,
          client_secret: secret,
          cache_s: 30
        },
        ...extra
      },
      { now: () => clock }
    );

  it('maps an active token, sending it in a form body with client credentials', async () => {
    clock = NOW * 1000;
    const result = await introspecting().verify('opaque-active');
    expect(result).toEqual({
      ok: true,
      identity: {
        user: 'bob',
        agent: 'vscode',
        roles: ['dev'],
        scopes: ['mcp:read'],
        expiresAt: NOW + 3600,
        tokenId: 'op-1',
        claims: expect.objectContaining({ sub: 'bob' }) as unknown
      }
    });
    expect(sent.at(-1)).toBe('opaque-active');
  });

  it.each([
    ['opaque-inactive', 'introspection: token inactive'],
    ['opaque-unknown', 'introspection: token inactive'],
    ['opaque-other-aud', 'wrong audience'],
    ['opaque-other-iss', 'wrong issuer'],
    ['opaque-expired', 'token expired'],
    ['opaque-no-sub', 'missing claim sub'],
    ['opaque-no-aud', 'missing audience'],
    ['opaque-other-resource', 'wrong audience'],
    ['opaque-aud-but-other-resource', 'wrong audience'],
    ['opaque-aud-not-a-name', 'wrong audience']
  ])('refuses %s', async (token, reason) => {
    clock = NOW * 1000;
    await refused(introspecting(), token, reason);
  });

  it('accepts an answer whose resource names the gateway', async () => {
    clock = NOW * 1000;
    expect((await introspecting().verify('opaque-resource')).ok).toBe(true);
  });

  it('accepts a missing audience only when accept_missing_audience says so, never a wrong one', async () => {
    clock = NOW * 1000;
    const lenient = (accept: boolean) =>
      introspecting({
        introspection: {
          url: `${endpoint.url}/introspect`,
          client_id: CLIENT,
          client_secret: SECRET,
          accept_missing_audience: accept
        }
      });
    expect((await lenient(true).verify('opaque-no-aud')).ok).toBe(true);
    await refused(lenient(false), 'opaque-no-aud', 'missing audience');
    await refused(lenient(true), 'opaque-other-aud', 'wrong audience');
    await refused(lenient(true), 'opaque-other-resource', 'wrong audience');
  });

  it('caches positive answers for cache_s, and not inactive ones', async () => {
    clock = NOW * 1000;
    const v = introspecting();
    const start = endpoint.requests;
    for (let i = 0; i < 3; i++) expect((await v.verify('opaque-active')).ok).toBe(true);
    expect(endpoint.requests - start).toBe(1);
    clock += 31_000;
    expect((await v.verify('opaque-active')).ok).toBe(true);
    expect(endpoint.requests - start).toBe(2);
    for (let i = 0; i < 2; i++) await refused(v, 'opaque-inactive', 'introspection: token inactive');
    expect(endpoint.requests - start).toBe(4);
  });

  it('never caches beyond the token expiry', async () => {
    clock = NOW * 1000;
    const v = introspecting({ clock_skew_s: 0 });
    const start = endpoint.requests;
    expect((await v.verify('opaque-short')).ok).toBe(true);
    expect((await v.verify('opaque-short')).ok).toBe(true);
    expect(endpoint.requests - start).toBe(1);
    clock += 6_000;
    await refused(v, 'opaque-short', 'token expired');
    expect(endpoint.requests - start).toBe(2);
  });

  it('refuses when the endpoint rejects the client credentials (401)', async () => {
    clock = NOW * 1000;
    const v = introspecting({}, 'wrong-secret');
    await refused(v, 'opaque-active', 'introspection failed (HTTP 401)');
  });

  it('fails closed when the endpoint is unreachable', async () => {
    const gone = await startServer((_req, _body, res) => json(res, 200, { active: true }));
    await gone.close();
    const v = createOAuthVerifier({
      issuer: ISSUER,
      audience: RESOURCE,
      introspection: { url: `${gone.url}/introspect`, client_id: CLIENT, client_secret: SECRET }
    });
    await refused(v, 'opaque-active', 'introspection unavailable');
  });

  it('introspects opaque tokens but verifies JWTs locally when both are configured', async () => {
    clock = NOW * 1000;
    const v = introspecting({ jwks_uri: `${jwks.url}/jwks` });
    const start = endpoint.requests;
    expect((await v.verify(await sign(rsa, claims()))).ok).toBe(true);
    await refused(v, await sign(stranger, claims()), 'unknown signing key');
    expect(endpoint.requests - start).toBe(0);
    expect((await v.verify('opaque-active')).ok).toBe(true);
    expect(endpoint.requests - start).toBe(1);
  });

  it('refuses opaque tokens when only a JWKS is configured', async () => {
    await refused(verifier(), 'opaque-active', 'token is not a JWT');
  });
});

describe('config validation, each problem named', () => {
  const problems = (extra: Record<string, unknown>) =>
    validateOAuthConfig({ ...config(), ...extra } as unknown as OAuthConfig);

  it('says which problems a config has, in the error createOAuthVerifier throws', () => {
    let thrown: unknown;
    try {
      createOAuthVerifier(config({ clock_skew_s: 301, roles_claim: '' }));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(OAuthConfigError);
    expect((thrown as OAuthConfigError).code).toBe('oauth_config');
    expect((thrown as OAuthConfigError).problems).toEqual([
      'clock_skew_s must be between 0 and 300',
      'roles_claim must be a non-empty string'
    ]);
    expect((thrown as OAuthConfigError).message).toBe(
      'invalid OAuth config: clock_skew_s must be between 0 and 300; roles_claim must be a non-empty string'
    );
  });

  it('accepts every asymmetric algorithm jose verifies', () => {
    const all = [
      'RS256',
      'RS384',
      'RS512',
      'PS256',
      'PS384',
      'PS512',
      'ES256',
      'ES384',
      'ES512',
      'EdDSA',
      'Ed25519'
    ];
    for (const alg of all) expect(problems({ algorithms: [alg] })).toEqual([]);
  });

  it('refuses none and symmetric algorithms by name, whatever their case, and anything unknown', () => {
    expect(problems({ algorithms: ['None', 'nOnE'] })).toEqual([
      'algorithm "None" is never allowed',
      'algorithm "nOnE" is never allowed'
    ]);
    expect(problems({ algorithms: ['HS256', 'hs384'] })).toEqual([
      'algorithm "HS256" is symmetric: a resource server must not share the issuer\'s secret',
      'algorithm "hs384" is symmetric: a resource server must not share the issuer\'s secret'
    ]);
    expect(problems({ algorithms: ['RS1', 'xHS256', 'rs256'] })).toEqual([
      'algorithm "RS1" is not supported',
      'algorithm "xHS256" is not supported',
      'algorithm "rs256" is not supported'
    ]);
    expect(problems({ algorithms: [5, 'RS256'] })).toEqual(['algorithms must be strings']);
    expect(problems({ algorithms: [] })).toEqual(['algorithms must be a non-empty list']);
    expect(problems({ algorithms: 'RS256' })).toEqual(['algorithms must be a non-empty list']);
  });

  it('names a missing, relative or non-https URL', () => {
    expect(problems({ issuer: '' })).toEqual(['issuer is required']);
    expect(problems({ issuer: 5 })).toEqual(['issuer is required']);
    expect(problems({ issuer: undefined })).toEqual(['issuer is required']);
    expect(problems({ issuer: 'realms/main' })).toEqual(['issuer is not an absolute URL']);
    for (const issuer of ['ftp://localhost/x', 'ws://127.0.0.1/x', 'file:///etc/issuer']) {
      expect(problems({ issuer })).toEqual([
        'issuer must use https (http only for localhost, 127.0.0.1 or [::1])'
      ]);
    }
    expect(problems({ issuer: `${ISSUER}#frag` })).toEqual([
      'issuer must not have a query or fragment (RFC 8414)'
    ]);
    expect(problems({ jwks_uri: '' })).toEqual(['jwks_uri is required']);
  });

  it('names a bad audience', () => {
    for (const audience of ['', [], ['', RESOURCE], [RESOURCE, 5], 5]) {
      expect(problems({ audience })).toEqual(['audience must be a non-empty string or list of strings']);
    }
  });

  it('names each bad number, with its bounds', () => {
    expect(problems({ clock_skew_s: 300, jwks_cooldown_s: 0, jwks_cache_s: 0 })).toEqual([]);
    expect(problems({ clock_skew_s: Number.NaN })).toEqual(['clock_skew_s must be between 0 and 300']);
    expect(problems({ clock_skew_s: '30' })).toEqual(['clock_skew_s must be between 0 and 300']);
    expect(problems({ jwks_cooldown_s: Number.POSITIVE_INFINITY })).toEqual([
      'jwks_cooldown_s must be a number >= 0'
    ]);
    expect(problems({ jwks_cache_s: -1 })).toEqual(['jwks_cache_s must be a number >= 0']);
  });

  it('names bad claim settings', () => {
    expect(problems({ required_claims: [] })).toEqual([]);
    expect(problems({ required_claims: ['jti', 'tenant'] })).toEqual([]);
    for (const required_claims of ['jti', ['jti', ''], [5], null]) {
      expect(problems({ required_claims })).toEqual(['required_claims must be a list of claim names']);
    }
    expect(problems({ scopes_claim: '' })).toEqual(['scopes_claim must be a non-empty string']);
    expect(problems({ roles_claim: ['roles'] })).toEqual(['roles_claim must be a non-empty string']);
  });

  it('names each problem of the introspection settings', () => {
    expect(problems({ introspection: 'https://auth.example.test/i' })).toEqual([
      'introspection must be an object'
    ]);
    expect(problems({ introspection: null })).toEqual(['introspection must be an object']);
    expect(problems({ introspection: { url: 'not a url', client_id: '', cache_s: -1 } })).toEqual([
      'introspection.url is not an absolute URL',
      'introspection.client_id is required',
      'introspection.client_secret is required',
      'introspection.cache_s must be a number >= 0'
    ]);
    expect(
      problems({
        introspection: { url: 'https://auth.example.test/i', client_id: 'c', client_secret: 's', cache_s: 0 }
      })
    ).toEqual([]);
  });
});

describe('JWT checks, each named', () => {
  it('accepts the default algorithms: RS256, PS256, ES256 and EdDSA, and no other', async () => {
    const keys = await Promise.all([
      makeKey('PS256', 'ps-1'),
      makeKey('EdDSA', 'ed-1'),
      makeKey('RS384', 'rs384')
    ]);
    published = [rsa.jwk, ec.jwk, ...keys.map((k) => k.jwk)];
    try {
      const v = verifier();
      const [ps, ed, rs384] = keys as [Key, Key, Key];
      expect((await v.verify(await sign(ps, claims()))).ok).toBe(true);
      expect((await v.verify(await sign(ed, claims()))).ok).toBe(true);
      const before = jwks.requests;
      await refused(v, await sign(rs384, claims()), 'algorithm not allowed');
      expect(jwks.requests).toBe(before);
      // Listed explicitly, it is accepted.
      expect((await verifier({ algorithms: ['RS384'] }).verify(await sign(rs384, claims()))).ok).toBe(true);
    } finally {
      published = [rsa.jwk, ec.jwk];
    }
  });

  it('refuses an algorithm outside a narrowed allowlist without fetching keys', async () => {
    const v = verifier({ algorithms: ['ES256'] });
    const before = jwks.requests;
    await refused(v, await sign(rsa, claims()), 'algorithm not allowed');
    expect(jwks.requests).toBe(before);
  });

  it('refuses a header whose alg is missing or not a string', async () => {
    const v = verifier();
    const sig = (await sign(rsa, claims())).split('.')[2] ?? '';
    for (const header of [{ typ: 'JWT' }, { alg: 5 }, { alg: ['RS256'] }, { alg: null }]) {
      await refused(v, `${encodeJson(header)}.${encodeJson(claims())}.${sig}`, 'algorithm not allowed');
    }
  });

  it('refuses a typ that is not a string', async () => {
    await refused(verifier(), await sign(rsa, claims(), { typ: 5 }), 'wrong token type');
  });

  it('refuses a token issued more than the clock skew in the future; at the skew it is fine', async () => {
    expect((await verifier().verify(await sign(rsa, claims({ iat: NOW + 30 })))).ok).toBe(true);
    await refused(verifier(), await sign(rsa, claims({ iat: NOW + 31 })), 'token issued in the future');
  });

  it('refuses an nbf that is not a number', async () => {
    await refused(
      verifier(),
      await sign(rsa, claims({ nbf: 'soon' as unknown as number })),
      'invalid claim nbf'
    );
  });

  it('names a missing required claim only when its name is plain', async () => {
    const missing = async (name: string) =>
      ((await verifier({ required_claims: [name] }).verify(await sign(rsa, claims()))) as { reason: string })
        .reason;
    expect(await missing('tenant.id:x-1')).toBe('missing claim tenant.id:x-1');
    expect(await missing('a'.repeat(64))).toBe(`missing claim ${'a'.repeat(64)}`);
    expect(await missing('a'.repeat(65))).toBe('missing claim claim');
    expect(await missing('bad!claim')).toBe('missing claim claim');
    expect(await missing('claim!bad')).toBe('missing claim claim');
  });

  it('refuses a token whose published key cannot be read as invalid, naming nothing else', async () => {
    // An RSA key whose modulus is no key: jose hands on the error of Node's key import.
    const broken = { kty: 'RSA', n: 'AAAA', e: 'AQAB', alg: 'RS256', kid: 'broken', use: 'sig' };
    const before = published;
    published = [...published, broken];
    try {
      await refused(verifier(), await sign(rsa, claims(), { kid: 'broken' }), 'token invalid');
    } finally {
      published = before;
    }
  });

  it('refuses a token naming an extension it must understand', async () => {
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'RS256', kid: rsa.kid, crit: ['x-portcullis'], 'x-portcullis': 1 })
      .sign(rsa.privateKey, { crit: { 'x-portcullis': true } });
    await refused(verifier(), token, 'token not supported');
  });

  it('refuses a signed payload that is not a claims object', async () => {
    const token = await new CompactSign(new TextEncoder().encode(JSON.stringify(['not', 'claims'])))
      .setProtectedHeader({ alg: 'RS256', kid: rsa.kid })
      .sign(rsa.privateKey);
    await refused(verifier(), token, 'malformed token');
  });

  it('refuses a token whose kid matches several keys none of which signed it, without treating it as an outage', async () => {
    const [a, b] = await Promise.all([makeKey('RS256', 'twin'), makeKey('RS256', 'twin')]);
    // Both keys are published under one kid.
    published = [rsa.jwk, ec.jwk, a.jwk, b.jwk];
    try {
      const v = verifier({ jwks_cooldown_s: 0 });
      const forged = await sign(stranger, claims(), { kid: 'twin' });
      await refused(v, forged, 'ambiguous signing key');
      // The issuer answered: no back-off, so a key published since is fetched and used.
      published = [rsa.jwk, ec.jwk, rotated.jwk];
      expect(await v.verify(await sign(rotated, claims()))).toMatchObject({ ok: true });
    } finally {
      published = [rsa.jwk, ec.jwk];
    }
  });

  it('maps only the claims present: no agent and no token id when the token names none', async () => {
    const result = await verifier().verify(await sign(rsa, claims({ client_id: undefined, jti: undefined })));
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(Object.keys(result.identity).sort()).toEqual(['claims', 'expiresAt', 'roles', 'scopes', 'user']);
    }
  });

  it('reads a claim named with dots before a dotted path, and never walks into arrays, strings or null', async () => {
    const roles = async (rolesClaim: string, extra: JWTPayload) => {
      const result = await verifier({ roles_claim: rolesClaim }).verify(await sign(rsa, claims(extra)));
      return result.ok ? result.identity.roles : result.reason;
    };
    expect(
      await roles('https://example.test/roles', {
        'https://example.test/roles': ['named'],
        'https://example': { 'test/roles': ['walked'] }
      })
    ).toEqual(['named']);
    expect(await roles('groups.0', { groups: ['admin'] })).toEqual([]);
    expect(await roles('realm.0', { realm: 'admin' })).toEqual([]);
    expect(await roles('realm.length', { realm: 'admin' })).toEqual([]);
    expect(await roles('realm.roles', { realm: null })).toEqual([]);
    expect(await roles('realm.roles', { realm: 5 })).toEqual([]);
  });

  it('keeps only non-empty names, once each, and nothing from a claim that is not a list', async () => {
    const roles = async (value: unknown) => {
      const result = await verifier().verify(await sign(rsa, claims({ roles: value })));
      return result.ok ? result.identity.roles : result.reason;
    };
    expect(await roles(['a', 5, '', 'a', null, 'b'])).toEqual(['a', 'b']);
    expect(await roles(' a  b a ')).toEqual(['a', 'b']);
    expect(await roles(5)).toEqual([]);
    expect(await roles({ admin: true })).toEqual([]);
  });
});

describe('verify: what is not a token at all', () => {
  it('refuses an empty or absent token', async () => {
    const v = verifier();
    expect(await v.verify('')).toEqual({ ok: false, reason: 'no token' });
    expect(await v.verify(undefined as unknown as string)).toEqual({ ok: false, reason: 'no token' });
  });

  it('refuses a token over 16 KiB, and takes one of exactly 16 KiB as a token', async () => {
    const v = verifier();
    await refused(v, 'a'.repeat(16 * 1024 + 1), 'token too large');
    await refused(v, 'a'.repeat(16 * 1024), 'token is not a JWT');
  });

  it('takes only three whole base64url segments for a JWT, and refuses what is not a bearer token', async () => {
    const v = verifier();
    await refused(v, '~a.b.c', 'token is not a JWT');
    await refused(v, 'a.b.c~', 'token is not a JWT');
    for (const token of ['!abc', 'abc!', 'a b', 'abc\n', '=abc']) await refused(v, token, 'malformed token');
  });

  it('never sends a malformed token to the introspection endpoint', async () => {
    let calls = 0;
    const v = createOAuthVerifier(
      {
        issuer: ISSUER,
        audience: RESOURCE,
        introspection: { url: 'https://auth.example.test/introspect', client_id: 'c', client_secret: 's' }
      },
      {
        fetch: () => {
          calls++;
          return Promise.resolve(Response.json({ active: true, sub: 'x', exp: NOW + 60, aud: RESOURCE }));
        },
        now
      }
    );
    for (const token of ['!abc', 'abc!', 'abc\r\nx-injected: 1']) await refused(v, token, 'malformed token');
    expect(calls).toBe(0);
  });
});

describe('introspection answers, each check named', () => {
  type Reply = (res: ServerResponse) => void;
  let server: TestServer;
  let reply: Reply = (res) => json(res, 200, { active: false });
  const seen: Array<{ headers: IncomingMessage['headers']; body: string }> = [];
  let clock = NOW * 1000;

  beforeAll(async () => {
    server = await startServer((req, body, res) => {
      seen.push({ headers: req.headers, body });
      reply(res);
    });
  });
  afterAll(async () => {
    await server.close();
  });

  const answer =
    (body: Record<string, unknown>): Reply =>
    (res) =>
      json(res, 200, body);
  const active = (extra: Record<string, unknown> = {}) =>
    answer({ active: true, sub: 'bob', exp: NOW + 600, aud: RESOURCE, ...extra });
  const introspecting = (extra: Partial<OAuthConfig> = {}, introspection: Record<string, unknown> = {}) =>
    createOAuthVerifier(
      {
        issuer: ISSUER,
        audience: RESOURCE,
        introspection: {
          url: `${server.url}/introspect`,
          client_id: 'gate way',
          client_secret: 'pa:ss word',
          cache_s: 30,
          ...introspection
        },
        ...extra
      },
      { now: () => clock }
    );

  it('posts the token as a form with its type hint, asking for JSON, with form-encoded client credentials', async () => {
    clock = NOW * 1000;
    reply = active();
    seen.length = 0;
    expect((await introspecting().verify('opaque+/token=')).ok).toBe(true);
    expect(seen).toHaveLength(1);
    const [request] = seen as [(typeof seen)[number]];
    expect(request.headers.accept).toBe('application/json');
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request.headers.authorization).toBe(
      `Basic ${Buffer.from('gate+way:pa%3Ass+word').toString('base64')}`
    );
    expect(Object.fromEntries(new URLSearchParams(request.body))).toEqual({
      token: 'opaque+/token=',
      token_type_hint: 'access_token'
    });
  });

  it('maps only the claims present, without the active flag', async () => {
    clock = NOW * 1000;
    reply = active({ scope: 'a b' });
    const result = await introspecting().verify('minimal');
    expect(result).toStrictEqual({
      ok: true,
      identity: {
        user: 'bob',
        roles: [],
        scopes: ['a', 'b'],
        expiresAt: NOW + 600,
        claims: { sub: 'bob', exp: NOW + 600, aud: RESOURCE, scope: 'a b' }
      }
    });
  });

  it.each([
    ['no exp', { exp: undefined }, 'missing claim exp'],
    ['exp not a number', { exp: String(NOW + 600) }, 'invalid claim exp'],
    ['exp beyond the skew', { exp: NOW - 31 }, 'token expired'],
    ['exp at the skew', { exp: NOW - 30 }, 'token expired'],
    ['nbf not a number', { nbf: 'soon' }, 'invalid claim nbf'],
    ['nbf null', { nbf: null }, 'invalid claim nbf'],
    ['nbf beyond the skew', { nbf: NOW + 31 }, 'token not yet valid'],
    ['sub not a string', { sub: 5 }, 'invalid claim sub'],
    ['sub empty', { sub: '' }, 'invalid claim sub'],
    ['active as a string', { active: 'true' }, 'introspection: token inactive']
  ])('refuses an answer with %s', async (_name, extra, reason) => {
    clock = NOW * 1000;
    reply = active(extra);
    await refused(introspecting(), 'opaque-token', reason);
  });

  it('accepts exp and nbf within the skew', async () => {
    clock = NOW * 1000;
    reply = active({ exp: NOW - 29, nbf: NOW + 30 });
    expect((await introspecting().verify('opaque-token')).ok).toBe(true);
    reply = active({ nbf: NOW - 3600 });
    expect((await introspecting().verify('opaque-token')).ok).toBe(true);
  });

  it('refuses an answer missing a configured claim, naming it', async () => {
    clock = NOW * 1000;
    reply = active();
    await refused(introspecting({ required_claims: ['jti'] }), 'opaque-token', 'missing claim jti');
    reply = active({ jti: 'j-1' });
    expect(await introspecting({ required_claims: ['jti'] }).verify('opaque-token')).toMatchObject({
      ok: true,
      identity: { tokenId: 'j-1' }
    });
  });

  it('accepts an audience that names any one of the configured audiences', async () => {
    clock = NOW * 1000;
    reply = active({ aud: RESOURCE });
    const v = introspecting({ audience: ['https://alias.example.test/mcp', RESOURCE] });
    expect((await v.verify('opaque-token')).ok).toBe(true);
  });

  it.each([
    [
      'a status other than 200',
      (res: ServerResponse) => json(res, 500, { active: true }),
      'introspection failed (HTTP 500)'
    ],
    [
      'no body at all',
      (res: ServerResponse) => {
        res.writeHead(204);
        res.end();
      },
      'introspection failed (HTTP 204)'
    ],
    [
      'a body that is not JSON',
      (res: ServerResponse) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{ active: true');
      },
      'introspection: response is not JSON'
    ],
    [
      'a JSON array',
      (res: ServerResponse) => json(res, 200, [{ active: true }]),
      'introspection: response is not a JSON object'
    ],
    [
      'JSON null',
      (res: ServerResponse) => json(res, 200, null),
      'introspection: response is not a JSON object'
    ],
    [
      'a JSON string',
      (res: ServerResponse) => json(res, 200, 'active'),
      'introspection: response is not a JSON object'
    ],
    [
      'a body cut short',
      (res: ServerResponse) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"active": true');
        setTimeout(() => res.destroy(), 20);
      },
      'introspection unavailable'
    ]
  ])('refuses %s', async (_name, answerWith, reason) => {
    clock = NOW * 1000;
    reply = answerWith;
    await refused(introspecting(), 'opaque-token', reason);
  });

  it('refuses an answer over 64 KiB, and reads one of exactly 64 KiB', async () => {
    clock = NOW * 1000;
    const body = (size: number) => {
      const base = JSON.stringify({ active: true, sub: 'bob', exp: NOW + 600, aud: RESOURCE, pad: '' });
      return base.replace('"pad":""', `"pad":"${'x'.repeat(size - base.length)}"`);
    };
    const sendText =
      (text: string): Reply =>
      (res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(text);
      };
    expect(body(64 * 1024)).toHaveLength(64 * 1024);
    reply = sendText(body(64 * 1024));
    expect((await introspecting().verify('opaque-token')).ok).toBe(true);
    reply = sendText(body(64 * 1024 + 1));
    await refused(introspecting(), 'opaque-token', 'introspection: response too large');
  });

  it('serves a cached answer until cache_s has passed, not at that instant, and hands out copies', async () => {
    clock = NOW * 1000;
    reply = active({ roles: ['dev'] });
    const v = introspecting();
    seen.length = 0;
    const first = await v.verify('cached-token');
    if (!first.ok) throw new Error(first.reason);
    first.identity.roles.push('admin');
    clock = (NOW + 29) * 1000;
    expect(await v.verify('cached-token')).toEqual({
      ok: true,
      identity: {
        user: 'bob',
        roles: ['dev'],
        scopes: [],
        expiresAt: NOW + 600,
        claims: { sub: 'bob', exp: NOW + 600, aud: RESOURCE, roles: ['dev'] }
      }
    });
    expect(seen).toHaveLength(1);
    clock = (NOW + 30) * 1000;
    expect((await v.verify('cached-token')).ok).toBe(true);
    expect(seen).toHaveLength(2);
  });

  it('caches nothing with cache_s 0', async () => {
    clock = NOW * 1000;
    reply = active();
    const v = introspecting({}, { cache_s: 0 });
    seen.length = 0;
    for (let i = 0; i < 3; i++) expect((await v.verify('opaque-token')).ok).toBe(true);
    expect(seen).toHaveLength(3);
  });

  it('drops a stale answer: a token found inactive is not served from the old answer, even if the clock steps back', async () => {
    clock = NOW * 1000;
    reply = active();
    const v = introspecting();
    seen.length = 0;
    expect((await v.verify('revoked-later')).ok).toBe(true);
    clock = (NOW + 31) * 1000;
    reply = answer({ active: false });
    await refused(v, 'revoked-later', 'introspection: token inactive');
    clock = (NOW + 10) * 1000;
    await refused(v, 'revoked-later', 'introspection: token inactive');
    expect(seen).toHaveLength(3);
  });

  it('never caches an answer already at or past its expiry (accepted within the skew), even if the clock steps back', async () => {
    for (const exp of [NOW, NOW - 10]) {
      clock = NOW * 1000;
      reply = active({ exp });
      const v = introspecting();
      seen.length = 0;
      expect((await v.verify('at-expiry')).ok).toBe(true);
      clock = (NOW - 20) * 1000;
      expect((await v.verify('at-expiry')).ok).toBe(true);
      expect(seen).toHaveLength(2);
    }
  });

  it('keeps at most 10,000 answers, dropping the oldest first', async () => {
    clock = NOW * 1000;
    let calls = 0;
    const v = createOAuthVerifier(
      {
        issuer: ISSUER,
        audience: RESOURCE,
        introspection: { url: 'https://auth.example.test/introspect', client_id: 'c', client_secret: 's' }
      },
      {
        now: () => clock,
        fetch: () => {
          calls++;
          return Promise.resolve(Response.json({ active: true, sub: 'bob', exp: NOW + 600, aud: RESOURCE }));
        }
      }
    );
    // Two answers: both kept.
    await v.verify('t-a');
    await v.verify('t-b');
    await v.verify('t-a');
    expect(calls).toBe(2);
    for (let i = 0; i < 10_000; i++) await v.verify(`t-${i}`);
    expect(calls).toBe(10_002);
    // t-a and t-b were the oldest: t-a went, then t-b. The rest are all still there.
    calls = 0;
    await v.verify('t-1');
    await v.verify('t-9999');
    expect(calls).toBe(0);
    await v.verify('t-b');
    expect(calls).toBe(1);
  });
});
