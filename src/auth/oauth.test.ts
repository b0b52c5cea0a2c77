import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  base64url,
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
