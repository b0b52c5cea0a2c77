/**
 * Transport authentication against a real gateway: gateway tokens through their whole life
 * (revocation and rotation while it runs), OAuth 2.1 access tokens against a real JWKS endpoint
 * with real keys, scopes with step-up, PRM discovery by the SDK client, lockout, DNS-rebinding
 * guards, and proof that the agent's token never reaches an upstream.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needTool } from '../support/tools.js';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import {
  discoverOAuthProtectedResourceMetadata,
  extractWWWAuthenticateParams
} from '@modelcontextprotocol/client';
import {
  CLI,
  FIXTURES,
  NODE,
  RECORDS,
  connect,
  freePort,
  run,
  startGateway,
  tempDir,
  tryCall,
  waitFor,
  type TestGateway
} from '../helpers.js';

const withOpenssl = needTool('openssl').describe;

const ISSUER = 'http://127.0.0.1/issuer';
let jwks: Server;
let jwksUrl: string;
type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let signingKey: Key;
let otherKey: Key;
let publicJwk: JWK;
let gw: TestGateway;
let resource: string;
let tokensFile: string;
let recorder: ChildProcess;
let recorderLog: string;
const upstreamCredential = 'upstream-own-credential-123456';

const initBody = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } }
});

/** POST an initialize to /mcp with a bearer token; returns the status and headers. */
async function post(token: string | undefined, extra: Record<string, string> = {}, body = initBody) {
  const res = await fetch(gw.mcp, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...extra
    },
    body
  });
  await res.text();
  return res;
}

async function jwt(
  claims: Record<string, unknown>,
  options: { key?: Key; kid?: string; alg?: string; exp?: number | string; nbf?: number | string } = {}
) {
  const now = Math.floor(Date.now() / 1000);
  const builder = new SignJWT({ roles: ['analyst'], scope: 'tools:call', client_id: 'agent-7', ...claims })
    .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.kid ?? 'key-1', typ: 'at+jwt' })
    .setIssuer((claims.iss as string) ?? ISSUER)
    .setAudience((claims.aud as string) ?? resource)
    .setSubject((claims.sub as string) ?? 'user-42')
    .setIssuedAt(now)
    .setExpirationTime(options.exp ?? now + 300);
  if (options.nbf !== undefined) builder.setNotBefore(options.nbf);
  return builder.sign(options.key ?? signingKey);
}

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  signingKey = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' };
  jwks = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', () => r()));
  jwksUrl = `http://127.0.0.1:${(jwks.address() as { port: number }).port}/jwks`;

  const dir = tempDir();
  recorderLog = join(dir, 'upstream-headers.jsonl');
  recorder = spawn(NODE, [join(FIXTURES, 'header-recording-server.mjs'), recorderLog], {
    stdio: ['ignore', 'pipe', 'inherit']
  });
  let port = '';
  recorder.stdout!.on('data', (d: Buffer) => (port += d.toString()));
  await waitFor(() => port.includes('\n'), 10_000, 'recording upstream');

  tokensFile = join(dir, 'tokens.yaml');
  writeFileSync(tokensFile, 'tokens: []\n', { mode: 0o600 });
  const created = (args: string[]) =>
    execFileSync(NODE, [CLI, 'token', 'create', '--file', tokensFile, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore']
    }).trim();
  tokens.admin = created(['--identity', 'alice', '--role', 'admin']);
  tokens.reader = created(['--identity', 'rita', '--role', 'admin', '--scope', 'tools:read']);
  tokens.revokeMe = created(['--identity', 'rev', '--role', 'admin']);
  tokens.rotateMe = created(['--identity', 'rot', '--role', 'admin']);
  tokens.expired = created(['--identity', 'old', '--role', 'admin', '--expires', '1s']);

  const gwPort = await freePort();
  resource = `http://127.0.0.1:${gwPort}/mcp`;
  gw = await startGateway(
    `
servers:
  up:
    url: http://127.0.0.1:${port.trim()}/mcp
    headers: { Authorization: "Bearer ${upstreamCredential}" }
  records:
    command: ${NODE}
    args: ["${RECORDS}"]
auth:
  tokens: ${tokensFile}
  oauth:
    issuer: ${ISSUER}
    audience: ${resource}
    jwks_uri: ${jwksUrl}
    jwks_cooldown_s: 1
  lockout: { failures: 1000 }
rules:
  - { tool: "*", allowed_roles: [admin, analyst] }
  - { tool: "whoami", read_only: true }
  - { tool: "list_records", read_only: true }
`,
    { port: gwPort }
  );
}, 60_000);

const tokens: Record<string, string> = {};

afterAll(async () => {
  await gw?.close();
  jwks?.close();
  recorder?.kill();
});

describe('gateway tokens', () => {
  it('refuse a request with no token, a wrong token, or a malformed header (401 + challenge)', async () => {
    for (const header of [undefined, 'Bearer pcl_wrong-token-0123456789', `Basic ${tokens.admin}`]) {
      const res = await fetch(gw.mcp, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(header ? { Authorization: header } : {}) },
        body: initBody
      });
      expect(res.status, String(header)).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    }
  });

  it('accept a valid token', async () => {
    expect((await post(tokens.admin)).status).toBe(200);
  });

  it('refuse an expired token', async () => {
    await new Promise((r) => setTimeout(r, 1100));
    expect((await post(tokens.expired)).status).toBe(401);
    const audit = gw.audit().filter((r) => r.event === 'auth/failure' && r.reason === 'token expired');
    expect(audit.length).toBeGreaterThan(0);
    expect(audit[0]?.token_id).toMatch(/^tok_/);
    expect(JSON.stringify(gw.audit())).not.toContain(tokens.expired);
  });

  it('refuse a token revoked while the gateway runs, without a restart', async () => {
    expect((await post(tokens.revokeMe)).status).toBe(200);
    const id = /id: (tok_\w+)\n\s+identity: rev/.exec(readFileSync(tokensFile, 'utf8'))![1]!;
    const r = await run(NODE, [CLI, 'token', 'revoke', '--file', tokensFile, id]);
    expect(r.code).toBe(0);
    await waitFor(async () => (await post(tokens.revokeMe)).status === 401, 5000, 'revocation to apply');
  });

  it('refuse an OAuth token whose jti the token file revokes, without a restart; other jtis still work', async () => {
    const revoked = await jwt({ jti: 'jti-revoked-by-file' });
    const kept = await jwt({ jti: 'jti-kept' });
    expect((await post(revoked)).status).toBe(200);
    const revoke = () =>
      run(NODE, [CLI, 'token', 'revoke', '--jti', 'jti-revoked-by-file', '--file', tokensFile]);
    const r = await revoke();
    expect(r.code, r.stderr).toBe(0);
    await waitFor(async () => (await post(revoked)).status === 401, 5000, 'revocation to apply');
    expect((await post(kept)).status).toBe(200);
    // Recorded once, however often it is revoked; a token of the file is not a jti.
    expect((await revoke()).code).toBe(0);
    expect(readFileSync(tokensFile, 'utf8').match(/id: jti-revoked-by-file, revoked: /g)).toHaveLength(1);
    const own = /id: (tok_\w+)\n\s+identity: alice/.exec(readFileSync(tokensFile, 'utf8'))![1]!;
    const wrong = await run(NODE, [CLI, 'token', 'revoke', '--jti', own, '--file', tokensFile]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('revoke it without --jti');
    expect((await post(tokens.admin)).status).toBe(200);
    const refusal = gw
      .audit()
      .find((x) => x.event === 'auth/failure' && x.token_id === 'jti-revoked-by-file');
    expect(refusal).toMatchObject({ reason: 'token revoked' });
  });

  it('keep a rotated token valid for its grace period, then refuse it; the successor works', async () => {
    const id = /id: (tok_\w+)\n\s+identity: rot/.exec(readFileSync(tokensFile, 'utf8'))![1]!;
    const r = await run(NODE, [CLI, 'token', 'rotate', '--file', tokensFile, id, '--grace', '2s']);
    expect(r.code).toBe(0);
    const successor = r.stdout.trim();
    await waitFor(async () => (await post(successor)).status === 200, 5000, 'successor to be accepted');
    expect((await post(tokens.rotateMe)).status).toBe(200);
    await waitFor(async () => (await post(tokens.rotateMe)).status === 401, 6000, 'grace period to end');
    expect((await post(successor)).status).toBe(200);
    const list = await run(NODE, [CLI, 'token', 'list', '--file', tokensFile, '--json']);
    const rows = JSON.parse(list.stdout) as Array<{ id: string; status: string; last_used: string | null }>;
    expect(rows.find((row) => row.id === id)?.status).toBe('rotated out (grace period over)');
  });

  it('never writes a token to the token file, only its hash', () => {
    const text = readFileSync(tokensFile, 'utf8');
    for (const t of Object.values(tokens)) expect(text).not.toContain(t);
  });
});

describe('OAuth 2.1 access tokens (real JWKS, real keys)', () => {
  it('accepts a valid token and maps the user, the agent and the roles', async () => {
    const token = await jwt({});
    const client = await connect(gw.mcp, token);
    const r = await tryCall(client, 'up__whoami', {});
    expect(r.ok).toBe(true);
    await client.close();
    const record = gw.audit().find((x) => x.event === 'tools/call' && x.tool === 'whoami');
    expect(record).toMatchObject({ identity: 'user-42', roles: ['analyst'], agent: 'agent-7' });
  });

  const cases: Array<[string, () => Promise<string>]> = [
    [
      'alg none',
      async () => {
        const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
        const now = Math.floor(Date.now() / 1000);
        return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: ISSUER, aud: resource, sub: 'x', exp: now + 300, roles: ['admin'] })}.`;
      }
    ],
    [
      'HS256 signed with the public key (algorithm confusion)',
      async () => {
        const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
        const now = Math.floor(Date.now() / 1000);
        return new SignJWT({ roles: ['admin'] })
          .setProtectedHeader({ alg: 'HS256', kid: 'key-1' })
          .setIssuer(ISSUER)
          .setAudience(resource)
          .setSubject('x')
          .setExpirationTime(now + 300)
          .sign(secret);
      }
    ],
    ['wrong iss', () => jwt({ iss: 'http://127.0.0.1/evil' })],
    ['wrong aud', () => jwt({ aud: 'http://127.0.0.1:1/mcp' })],
    ['a token for another resource', () => jwt({ aud: 'https://other.example.com/mcp' })],
    ['expired', () => jwt({}, { exp: Math.floor(Date.now() / 1000) - 600 })],
    ['not yet valid', () => jwt({}, { nbf: Math.floor(Date.now() / 1000) + 600 })],
    ['unknown kid', () => jwt({}, { key: otherKey, kid: 'key-unknown' })],
    ['signed by another key under a known kid', () => jwt({}, { key: otherKey })],
    [
      'tampered payload',
      async () => {
        const [h, p, s] = (await jwt({})).split('.') as [string, string, string];
        const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
        claims.roles = ['admin', 'superuser'];
        return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
      }
    ]
  ];

  it.each(cases)('refuses %s with 401', async (_name, make) => {
    const res = await post(await make());
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });
});

describe('scopes and step-up', () => {
  it('lets a read-only token reach read-only tools and answers 403 insufficient_scope for others', async () => {
    const client = await connect(gw.mcp, tokens.reader!, 'legacy');
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(names).toEqual(['records__list_records', 'up__whoami']);
    expect((await tryCall(client, 'up__whoami', {})).ok).toBe(true);
    const sessionId = (client as unknown as { transport: { sessionId: string } }).transport.sessionId;
    const res = await fetch(gw.mcp, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${tokens.reader}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'Mcp-Session-Id': sessionId,
        'Mcp-Protocol-Version': '2025-11-25'
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 5,
        method: 'tools/call',
        params: { name: 'up__wipe', arguments: {} }
      })
    });
    expect(res.status).toBe(403);
    const params = extractWWWAuthenticateParams(res);
    expect(params.error).toBe('insufficient_scope');
    expect(params.scope).toBe('tools:call');
    const body = (await res.json()) as { error: { code: number } };
    expect(body.error.code).toBe(-32058);
    await client.close();
  });

  it('does not let an untrusted server widen a tool to read-only by its annotation', async () => {
    const client = await connect(gw.mcp, tokens.reader!, 'legacy');
    // records' get_record says readOnlyHint: true, but the server is not trusted and no rule marks it.
    const r = await tryCall(client, 'records__get_record', { id: 'r-1001' });
    expect(r.ok).toBe(false);
    await client.close();
  });

  it('refuses an OAuth token without the call scope for a destructive tool', async () => {
    const res = await post(
      await jwt({ scope: 'tools:read' }),
      {},
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'up__wipe', arguments: {} }
      })
    );
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toContain('insufficient_scope');
  });
});

describe('protected resource metadata (RFC 9728)', () => {
  it('is served at both well-known paths and found by the SDK from the 401', async () => {
    const res = await post(undefined);
    expect(res.status).toBe(401);
    const { resourceMetadataUrl } = extractWWWAuthenticateParams(res);
    expect(resourceMetadataUrl?.toString()).toBe(`${gw.url}/.well-known/oauth-protected-resource/mcp`);
    const prm = await discoverOAuthProtectedResourceMetadata(gw.mcp, {
      resourceMetadataUrl: resourceMetadataUrl!
    });
    expect(prm.resource).toBe(resource);
    expect(prm.authorization_servers).toEqual([ISSUER]);
    expect(prm.scopes_supported).toEqual(['tools:read', 'tools:call']);
    const root = await fetch(`${gw.url}/.well-known/oauth-protected-resource`);
    expect(root.status).toBe(200);
    const discovered = await discoverOAuthProtectedResourceMetadata(gw.mcp);
    expect(discovered.resource).toBe(resource);
  });
});

describe('no token passthrough', () => {
  it('the upstream sees its own credential and never the agent token', async () => {
    const agentToken = await jwt({});
    const client = await connect(gw.mcp, agentToken);
    expect((await tryCall(client, 'up__whoami', {})).ok).toBe(true);
    await client.close();
    const seen = readFileSync(recorderLog, 'utf8');
    expect(seen).toContain(upstreamCredential);
    expect(seen).not.toContain(agentToken);
    expect(seen).not.toContain(tokens.admin);
    for (const t of Object.values(tokens)) expect(seen).not.toContain(t);
  });
});

describe('HTTP hardening', () => {
  it('binds a session to the exact grant: the same user with other roles or scopes cannot use it', async () => {
    const admin = await jwt({ roles: ['admin'] });
    const client = await connect(gw.mcp, admin, 'legacy');
    const sessionId = (client as unknown as { transport: { sessionId: string } }).transport.sessionId;
    const listWith = async (token: string) =>
      (
        await fetch(gw.mcp, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${token}`,
            'Content-Type': 'application/json',
            Accept: 'application/json, text/event-stream',
            'Mcp-Session-Id': sessionId,
            'Mcp-Protocol-Version': '2025-11-25'
          },
          body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' })
        })
      ).status;
    expect(await listWith(await jwt({ roles: ['admin'] }))).toBe(200);
    expect(await listWith(await jwt({ roles: ['analyst'] }))).toBe(403);
    expect(await listWith(await jwt({ roles: ['admin'], scope: 'tools:read' }))).toBe(403);
    expect(await listWith(await jwt({ roles: ['admin'], sub: 'someone-else' }))).toBe(403);
    await client.close();
  });

  it('refuses a foreign Origin and a foreign Host', async () => {
    expect((await post(tokens.admin, { Origin: 'https://evil.example.com' })).status).toBe(403);
    expect((await post(tokens.admin, { Origin: 'http://localhost:3000' })).status).toBe(200);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        gw.mcp,
        { method: 'POST', headers: { Host: 'evil.example.com', Authorization: `Bearer ${tokens.admin}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }
      );
      req.on('error', reject);
      req.end(initBody);
    });
    expect(status).toBe(403);
  });

  it('locks out a flood of bad tokens from one address while other clients keep working', async () => {
    const strict = await startGateway(`
auth:
  tokens:
    - { id: t, roles: [admin], token: lockout-good-token-0123456789 }
  lockout: { failures: 5, window_s: 60, duration_s: 60 }
`);
    const fromAddress = (localAddress: string, token: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          strict.mcp,
          {
            method: 'POST',
            localAddress,
            headers: {
              Authorization: `Bearer ${token}`,
              'Content-Type': 'application/json',
              Accept: 'application/json, text/event-stream'
            }
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          }
        );
        req.on('error', reject);
        req.end(initBody);
      });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++)
        statuses.push(await fromAddress('127.0.0.2', `pcl_bad-${i}-0123456789abcdef`));
      expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
      expect(statuses.slice(5).every((s) => s === 429)).toBe(true);
      // Even a good token from the locked-out address is refused for now...
      expect(await fromAddress('127.0.0.2', 'lockout-good-token-0123456789')).toBe(429);
      // ...while other addresses are unaffected.
      expect(await fromAddress('127.0.0.3', 'lockout-good-token-0123456789')).toBe(200);
      expect(await fromAddress('127.0.0.1', 'lockout-good-token-0123456789')).toBe(200);
      const locked = strict
        .audit()
        .filter((r) => r.event === 'auth/failure' && r.reason?.includes('locked out'));
      expect(locked).toHaveLength(1);
      expect(locked[0]?.source).toBe('127.0.0.2');
    } finally {
      await strict.close();
    }
  });
});

describe('refusing to run on files others could change', () => {
  it('serve exits 1 on a group- or world-writable config and says how to fix it', async () => {
    const dir = tempDir();
    const file = join(dir, 'portcullis.yaml');
    writeFileSync(file, 'rules: []\n');
    chmodSync(file, 0o666);
    const r = await run(NODE, [CLI, 'serve', '--config', file, '--port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`chmod go-w ${file}`);
  });

  it('serve exits 1 on a group-writable token file named by a safe config', async () => {
    const dir = tempDir();
    const tokens = join(dir, 'tokens.yaml');
    writeFileSync(tokens, 'tokens:\n  - { id: t, roles: [admin], token: perm-token-0123456789abcdef }\n');
    chmodSync(tokens, 0o620);
    const file = join(dir, 'portcullis.yaml');
    writeFileSync(file, `auth:\n  tokens: ${tokens}\nrules: []\n`);
    chmodSync(file, 0o600);
    const r = await run(NODE, [CLI, 'serve', '--config', file, '--port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${tokens} is writable by its group`);
    expect(r.stderr).toContain(`chmod go-w ${tokens}`);
    expect(r.stderr).not.toContain(`chmod go-w ${file}`);
  });
});

withOpenssl('TLS termination', () => {
  it('serves HTTPS with the configured certificate', async () => {
    const dir = tempDir();
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem')
      ],
      { stdio: 'ignore' }
    );
    const tls = await startGateway(`
listen:
  tls: { cert: ${join(dir, 'cert.pem')}, key: ${join(dir, 'key.pem')} }
auth:
  tokens:
    - { id: t, roles: [admin], token: tls-token-0123456789abcdef }
`);
    try {
      expect(tls.url.startsWith('https://')).toBe(true);
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpsRequest(
          `${tls.url}/mcp`,
          {
            method: 'POST',
            ca: readFileSync(join(dir, 'cert.pem')),
            headers: {
              Authorization: 'Bearer tls-token-0123456789abcdef',
              'Content-Type': 'application/json',
              Accept: 'application/json, text/event-stream'
            }
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          }
        );
        req.on('error', reject);
        req.end(initBody);
      });
      expect(status).toBe(200);
    } finally {
      await tls.close();
    }
  });
});
