/**
 * Opaque OAuth tokens checked by RFC 7662 introspection, through running gateways and a real local
 * introspection endpoint: the answer must name this gateway as the token's audience (`aud`, or
 * `resource`). A token whose answer names none is refused unless the issuer's introspection config
 * sets `accept_missing_audience`, and a named audience that is another resource is refused either way.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE, RECORDS, connect, freePort, startGateway, tryCall, type TestGateway } from '../helpers.js';
import { initializeStatus } from '../support/initialize.js';

const ISSUER = 'https://id.example.test';
const CLIENT = 'portcullis-gw';
const SECRET = 'introspection-secret';
const OTHER = 'https://other.example.test/mcp';

let endpoint: Server;
let introspectUrl: string;
let strict: TestGateway;
let lenient: TestGateway;
const resource: { strict?: string; lenient?: string } = {};

/** What the authorization server says of each token, by token and the gateway asked about it. */
function answer(token: string, aud: string): Record<string, unknown> | undefined {
  const exp = Math.floor(Date.now() / 1000) + 600;
  const base = {
    active: true,
    iss: ISSUER,
    sub: 'dana',
    roles: ['analyst'],
    scope: 'tools:read tools:call',
    exp
  };
  switch (token) {
    case 'opaque-matching-aud-0123':
      return { ...base, aud };
    case 'opaque-matching-resource-0123':
      return { ...base, resource: aud };
    case 'opaque-no-audience-0123':
      return base;
    case 'opaque-wrong-aud-0123':
      return { ...base, aud: OTHER };
    case 'opaque-wrong-resource-0123':
      return { ...base, resource: OTHER };
    default:
      return undefined;
  }
}

beforeAll(async () => {
  // One endpoint for both gateways: each presents its own client id, so the answer's audience can
  // be that gateway's own resource URL.
  endpoint = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const credentials = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64')
        .toString()
        .split(':');
      const which = credentials[0] === `${CLIENT}-strict` ? resource.strict : resource.lenient;
      const ok = credentials[1] === SECRET && which !== undefined;
      const token = new URLSearchParams(body).get('token') ?? '';
      res.writeHead(ok ? 200 : 401, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(ok ? (answer(token, which) ?? { active: false }) : { error: 'invalid_client' }));
    });
  });
  await new Promise<void>((r) => endpoint.listen(0, '127.0.0.1', () => r()));
  introspectUrl = `http://127.0.0.1:${(endpoint.address() as { port: number }).port}/introspect`;

  const gateway = async (name: 'strict' | 'lenient', extra: string) => {
    const port = await freePort();
    resource[name] = `http://127.0.0.1:${port}/mcp`;
    return startGateway(
      `
servers:
  records: { command: ${NODE}, args: ["${RECORDS}"] }
auth:
  oauth:
    issuer: ${ISSUER}
    audience: ${resource[name]}
    introspection:
      url: ${introspectUrl}
      client_id: ${CLIENT}-${name}
      client_secret: ${SECRET}
${extra}
  lockout: { failures: 1000 }
rules:
  - { tool: "*", allowed_roles: [analyst] }
`,
      { port }
    );
  };
  [strict, lenient] = await Promise.all([
    gateway('strict', ''),
    gateway('lenient', '      accept_missing_audience: true')
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([strict?.close(), lenient?.close()]);
  endpoint?.close();
});

/** The HTTP status of an initialize: 200 when the token is accepted, 401 when refused. */
const status = (gw: TestGateway, token: string): Promise<number> => initializeStatus(gw.mcp, token);

const refusals = (gw: TestGateway) =>
  gw
    .audit()
    .filter((r) => r.event === 'auth/failure')
    .map((r) => r.reason);

describe('the audience of an introspected token', () => {
  it('accepts a token whose answer names this gateway in aud, and calls go through', async () => {
    const client = await connect(strict.mcp, 'opaque-matching-aud-0123');
    expect((await tryCall(client, 'records__list_records', {})).ok).toBe(true);
    await client.close();
    expect(await status(strict, 'opaque-matching-resource-0123')).toBe(200);
  });

  it('refuses a token whose answer names no audience, by default', async () => {
    expect(await status(strict, 'opaque-no-audience-0123')).toBe(401);
    expect(refusals(strict)).toContain('oauth: missing audience');
  });

  it('refuses a token whose answer names another resource, in aud or in resource', async () => {
    expect(await status(strict, 'opaque-wrong-aud-0123')).toBe(401);
    expect(await status(strict, 'opaque-wrong-resource-0123')).toBe(401);
    expect(refusals(strict).filter((r) => r === 'oauth: wrong audience')).toHaveLength(2);
  });

  it('with accept_missing_audience: accepts the audience-less token, and still refuses a wrong audience', async () => {
    expect(await status(lenient, 'opaque-no-audience-0123')).toBe(200);
    expect(await status(lenient, 'opaque-matching-aud-0123')).toBe(200);
    expect(await status(lenient, 'opaque-wrong-aud-0123')).toBe(401);
    expect(await status(lenient, 'opaque-wrong-resource-0123')).toBe(401);
    expect(refusals(lenient).filter((r) => r === 'oauth: wrong audience')).toHaveLength(2);
  });
});
