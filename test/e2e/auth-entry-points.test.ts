/**
 * Every HTTP entry point that takes a bearer token authenticates through one function: a failure on
 * any of them strikes the same lockout, a locked-out address is refused the same way on /mcp,
 * /metrics and the admin API, and each refusal writes one auth/failure record. A call refused for a
 * missing scope is answered 403 with a step-up challenge and audited once, by the gateway.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  NODE,
  RECORDS,
  connect,
  connectSse,
  startGateway,
  tryCall,
  type TestGateway
} from '../helpers.js';

const READER_TOKEN = 'reader-token-0123456789abcdef';
const METRICS_TOKEN = 'metrics-scrape-token-0123456789';
const ADMIN_API_TOKEN = 'the-admin-api-token-0123456789';
let gw: TestGateway;

beforeAll(async () => {
  gw = await startGateway(`
servers:
  records: { command: ${NODE}, args: ["${RECORDS}"] }
auth:
  tokens:
    - { id: admin, identity: alice, roles: [admin], token: ${ADMIN_TOKEN} }
    - { id: reader, identity: rita, roles: [admin], scopes: [tools:read], token: ${READER_TOKEN} }
  lockout: { failures: 3, window_s: 60, duration_s: 60 }
metrics: { token: ${METRICS_TOKEN} }
admin: { token: ${ADMIN_API_TOKEN} }
rules:
  - { tool: "*", allowed_roles: [admin] }
  - { tool: list_records, read_only: true }
`);
}, 60_000);
afterAll(() => gw?.close());

const initBody = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } }
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request from a chosen loopback address, so lockouts can be told apart. */
function send(
  path: string,
  options: { from: string; token?: string; method?: string; body?: string; headers?: Record<string, string> }
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${gw.url}${path}`,
      {
        method: options.method ?? 'GET',
        localAddress: options.from,
        headers: {
          ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
          ...(options.body
            ? { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' }
            : {}),
          ...options.headers
        }
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      }
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The three surfaces, each asked for something a valid admin credential would get. */
const SURFACES = {
  '/mcp': (from: string, token: string) => send('/mcp', { from, token, method: 'POST', body: initBody }),
  '/metrics': (from: string, token: string) => send('/metrics', { from, token }),
  '/admin/api': (from: string, token: string) => send('/admin/api/whoami', { from, token })
};

const failuresFrom = (source: string) =>
  gw.audit().filter((r) => r.event === 'auth/failure' && r.source === source);

/** The wire message of a refusal: a JSON-RPC error, or the admin API's `{ error }`. */
function message(reply: Reply): string | undefined {
  const body = JSON.parse(reply.body) as { error?: string | { message?: string } };
  return typeof body.error === 'string' ? body.error : body.error?.message;
}

describe('one authentication for every entry point', () => {
  it('counts failures on any surface toward one lockout, each refusal audited once', async () => {
    const from = '127.0.0.7';
    const challenges: Array<string | string[] | undefined> = [];
    for (const [path, ask] of Object.entries(SURFACES)) {
      const before = failuresFrom(from).length;
      const reply = await ask(from, 'pcl_wrong-token-0123456789abcdef');
      expect(reply.status, path).toBe(401);
      challenges.push(reply.headers['www-authenticate']);
      expect(failuresFrom(from).length - before, path).toBe(1);
    }
    expect(challenges).toEqual([
      'Bearer realm="portcullis", error="invalid_token"',
      'Bearer realm="portcullis-metrics"',
      'Bearer realm="portcullis-admin"'
    ]);
    // The third failure, on the admin API, locked the address out: recorded as such, once.
    const records = failuresFrom(from);
    expect(records.map((r) => r.code)).toEqual(['unauthenticated', 'unauthenticated', 'unauthenticated']);
    expect(records.filter((r) => r.reason?.includes('locked out'))).toHaveLength(1);
    expect(records[2]?.reason).toBe('admin API: no admin credential; source locked out');
    expect(JSON.stringify(records)).not.toContain('wrong-token');
  });

  it('refuses a locked-out address the same way on /mcp, /metrics and the admin API, recording the lockout once', async () => {
    const from = '127.0.0.8';
    for (let i = 0; i < 3; i++) {
      expect((await SURFACES['/mcp'](from, `pcl_bad-${i}-0123456789abcdef`)).status).toBe(401);
    }
    const before = failuresFrom(from).length;
    for (const [path, ask] of [...Object.entries(SURFACES), ...Object.entries(SURFACES)]) {
      // A credential good on every surface is refused all the same.
      const reply = await ask(from, ADMIN_TOKEN);
      expect(reply.status, path).toBe(429);
      const retry = Number(reply.headers['retry-after']);
      expect(Number.isInteger(retry) && retry >= 1 && retry <= 60, `${path} Retry-After ${retry}`).toBe(true);
      expect(reply.headers['www-authenticate'], path).toBeUndefined();
      expect(message(reply), path).toBe('too many failed authentication attempts');
    }
    // Six refusals, one record: a locked-out address cannot grow the audit log at its request rate.
    const added = failuresFrom(from).slice(before);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ decision: 'deny', outcome: 'denied', code: 'locked_out' });
    // Refused before the credential is looked at: the lockout is not extended, and no record says
    // the admin token failed.
    expect(failuresFrom(from).filter((r) => r.reason?.includes('locked out'))).toHaveLength(1);
    // Other addresses are unaffected, on every surface.
    for (const [path, ask] of Object.entries(SURFACES)) {
      expect((await ask('127.0.0.1', ADMIN_TOKEN)).status, path).toBe(200);
    }
  });

  it('answers JSON-RPC errors from the registry on /mcp and /metrics', async () => {
    const mcp = await send('/mcp', { from: '127.0.0.9', method: 'POST', body: initBody });
    expect(mcp.status).toBe(401);
    expect(JSON.parse(mcp.body)).toEqual({
      jsonrpc: '2.0',
      error: { code: -32050, message: 'authentication required' },
      id: null
    });
    // No token sent: the challenge does not call a token invalid.
    expect(mcp.headers['www-authenticate']).toBe('Bearer realm="portcullis"');
    const metrics = await send('/metrics', { from: '127.0.0.9' });
    expect(JSON.parse(metrics.body)).toEqual({
      jsonrpc: '2.0',
      error: { code: -32050, message: 'metrics need their own credential' },
      id: null
    });
    const admin = await send('/admin/api/whoami', { from: '127.0.0.9' });
    expect(JSON.parse(admin.body)).toEqual({ error: 'admin credentials required' });
    expect(failuresFrom('127.0.0.9').map((r) => r.reason)).toEqual([
      'no Authorization header',
      'metrics: no metrics credential',
      'admin API: no admin credential; source locked out'
    ]);
  });
});

describe('a call refused for a missing scope', () => {
  const refusals = () =>
    gw.audit().filter((r) => r.event === 'tools/call' && r.code === 'insufficient_scope');

  it('is answered 403 with a step-up challenge on Streamable HTTP and audited once, by the gateway', async () => {
    const client = await connect(gw.mcp, READER_TOKEN, 'legacy');
    expect((await tryCall(client, 'records__list_records', {})).ok).toBe(true);
    const sessionId = (client as unknown as { transport: { sessionId: string } }).transport.sessionId;
    const before = gw.audit().length;
    const reply = await send('/mcp', {
      from: '127.0.0.1',
      token: READER_TOKEN,
      method: 'POST',
      headers: { 'Mcp-Session-Id': sessionId, 'Mcp-Protocol-Version': '2025-11-25' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 9,
        method: 'tools/call',
        params: { name: 'records__delete_record', arguments: { id: 'r-1001' } }
      })
    });
    expect(reply.status).toBe(403);
    expect(reply.headers['www-authenticate']).toContain('error="insufficient_scope", scope="tools:call"');
    expect(JSON.parse(reply.body)).toEqual({
      jsonrpc: '2.0',
      id: 9,
      error: { code: -32058, message: 'insufficient scope', data: { scope: 'tools:call' } }
    });
    const added = gw.audit().slice(before);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({
      event: 'tools/call',
      identity: 'rita',
      auth: 'token',
      roles: ['admin'],
      transport: 'http',
      name: 'records__delete_record',
      server: 'records',
      tool: 'delete_record',
      decision: 'deny',
      outcome: 'denied',
      code: 'insufficient_scope',
      reason: 'credential lacks scope "tools:call" for records__delete_record'
    });
    // The call never reached the server: the record is still there.
    const admin = await connect(gw.mcp, ADMIN_TOKEN, 'legacy');
    const list = await tryCall(admin, 'records__list_records', {});
    expect(list.ok && JSON.stringify(list.result)).toContain('r-1001');
    await admin.close();
    await client.close();
  });

  it('is refused on SSE too, with one record naming the transport', async () => {
    const client = await connectSse(gw.url, READER_TOKEN);
    const before = refusals().length;
    const r = await tryCall(client, 'records__delete_record', { id: 'r-1002' });
    expect(r.ok).toBe(false);
    const added = refusals().slice(before);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ transport: 'sse', identity: 'rita', tool: 'delete_record' });
    await client.close();
  });

  it("is the scope stage's decision: a call that reaches the pipeline is refused with the same code and reason", async () => {
    const outcome = await gw.gateway.authenticateRequest(`Bearer ${READER_TOKEN}`, '127.0.0.1');
    if (!outcome.ok) throw new Error(`reader token refused: ${outcome.reason}`);
    const session = gw.gateway.openSession(outcome.identity, 'http');
    const before = refusals().length;
    await expect(
      gw.gateway.callTool(session, 'records__delete_record', { id: 'r-1003' })
    ).rejects.toMatchObject({ code: 'insufficient_scope' });
    const added = refusals().slice(before);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({
      session: session.id,
      reason: 'credential lacks scope "tools:call" for records__delete_record'
    });
    gw.gateway.closeSession(session);
  });
});
