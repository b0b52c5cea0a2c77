/**
 * End-to-end fuzz of the Streamable HTTP surface: a real gateway on a socket (in this process), in
 * front of the records demo server and the faulty fixture's echo, each behind the tee fixture so
 * the test sees every byte an upstream received. Random requests to /mcp (valid tokens, with and
 * without a session, both protocol eras, random headers and bodies: JSON-RPC-shaped calls with
 * hostile arguments, batches, arbitrary JSON, not-JSON, oversized bodies) must each get a
 * well-formed JSON-RPC answer or a 4xx with a JSON body (never a 5xx), the gateway must still
 * answer a valid call after every case, and no call the schema or the policy forbids may ever
 * reach an upstream.
 *
 * More runs: FUZZ_E2E_RUNS=5000 npx vitest run test/fuzz/gateway-http.test.ts
 *   (or FUZZ_RUNS=100000 npx vitest run test/fuzz, which gives the end-to-end tests 5,000 runs)
 * Replay a failure: FUZZ_SEED=<seed> FUZZ_PATH=<path> npx vitest run test/fuzz/gateway-http.test.ts
 */
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import {
  ADMIN_TOKEN,
  ANALYST_TOKEN,
  FIXTURES,
  GUEST_TOKEN,
  NODE,
  RECORDS,
  TEE,
  connect,
  startGateway,
  tempDir,
  tokensYaml,
  tryCall,
  type TestGateway
} from '../helpers.js';
import {
  CaptureReader,
  FUZZ_RULES,
  Huge,
  e2eRuns,
  hostileArguments,
  hostileString,
  hostileValue,
  isNotification,
  isPlainObject,
  nearValidCall,
  params,
  responseProblem,
  timeoutFor,
  toJsonText,
  violations
} from './support.js';

const FAULTY = join(FIXTURES, 'faulty-server.mjs');
const MODERN = '2026-07-28';
const LEGACY = '2025-11-25';

let gw: TestGateway;
let health: Client;
let captures: CaptureReader[];
let url: URL;

beforeAll(async () => {
  const logs = tempDir('portcullis-fuzz-http-');
  const recordsLog = join(logs, 'records.jsonl');
  const faultyLog = join(logs, 'faulty.jsonl');
  gw = await startGateway(`
servers:
  records:
    command: ${NODE}
    args: ["${TEE}", "${recordsLog}", "${NODE}", "${RECORDS}"]
  faulty:
    command: ${NODE}
    args: ["${TEE}", "${faultyLog}", "${NODE}", "${FAULTY}"]
auth:${tokensYaml}
audit: { path: ${join(logs, 'audit.jsonl')} }
${FUZZ_RULES}`);
  url = new URL(gw.mcp);
  health = await connect(gw.mcp, ANALYST_TOKEN);
  captures = [new CaptureReader(recordsLog), new CaptureReader(faultyLog)];
  // Warm both upstreams so every case meets a connected gateway.
  expect((await tryCall(health, 'records__get_record', { id: 'r-1001' })).ok).toBe(true);
  expect((await tryCall(health, 'faulty__echo', { text: 'warm' })).ok).toBe(true);
  for (const c of captures) c.next();
}, 60_000);

afterAll(async () => {
  await health?.close();
  await gw?.close();
});

// ---------------------------------------------------------------------------------------------
// Raw HTTP

interface Reply {
  status: number;
  type: string;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

function send(
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs = 15_000
): Promise<Reply> {
  // Frame every body explicitly: Node sends GET/DELETE/OPTIONS bodies unframed by default.
  const framed =
    body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname, method, headers: framed },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers
          })
        );
        res.on('error', reject);
      }
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no complete answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      // The gateway may stop reading an oversized body and answer early; that answer counts.
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') reject(new Error(`connection ${err.code}`));
      else reject(err);
    });
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

/** Messages in a 2xx answer: JSON (one message or a batch) or an SSE stream of them. */
function messagesOf(reply: Reply): unknown[] {
  if (reply.body.trim() === '') return [];
  if (reply.type.includes('text/event-stream')) {
    const out: unknown[] = [];
    for (const event of reply.body.split(/\r?\n\r?\n/)) {
      const data = event
        .split(/\r?\n/)
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''))
        .join('\n');
      if (data !== '') out.push(JSON.parse(data));
    }
    return out;
  }
  const value = JSON.parse(reply.body) as unknown;
  return Array.isArray(value) ? value : [value];
}

async function openLegacySession(token: string): Promise<string> {
  const headers = {
    Authorization: `Bearer ${token}`,
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream'
  };
  const init = await send(
    'POST',
    headers,
    JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } }
    })
  );
  const id = init.headers['mcp-session-id'];
  if (init.status !== 200 || typeof id !== 'string') throw new Error(`initialize failed: ${init.status}`);
  await send(
    'POST',
    { ...headers, 'Mcp-Session-Id': id, 'Mcp-Protocol-Version': LEGACY },
    JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })
  );
  return id;
}

// ---------------------------------------------------------------------------------------------
// Generators

const TOOL_NAMES = [
  'records__get_record',
  'records__list_records',
  'records__delete_record',
  'faulty__echo',
  'faulty__pid',
  'faulty__crash',
  'faulty__env',
  'echo',
  'records__',
  '__get_record',
  'records__get_record__x',
  'RECORDS__GET_RECORD'
];
const ARG_KEYS = ['id', 'text', 'level', 'count', 'path', 'extra'];
const TOKENS = { analyst: ANALYST_TOKEN, admin: ADMIN_TOKEN, guest: GUEST_TOKEN } as const;
type Role = keyof typeof TOKENS;
const MAY_CALL: Record<Role, string[]> = {
  analyst: ['get_record', 'list_records', 'echo'],
  admin: ['get_record', 'list_records'],
  guest: ['list_records']
};

const envelope = (version: string) => ({
  'io.modelcontextprotocol/protocolVersion': version,
  'io.modelcontextprotocol/clientInfo': { name: 'fuzz', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {}
});

const rpcId = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 1_000_000 }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 10 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, 1.5, -1, true, {}, [], 2 ** 60) }
);

const METHODS = [
  'tools/call',
  'tools/list',
  'initialize',
  'ping',
  'server/discover',
  'resources/list',
  'resources/read',
  'prompts/get',
  'completion/complete',
  'notifications/initialized',
  'notifications/cancelled',
  'logging/setLevel'
];

/** A JSON-RPC-shaped message, mostly tools/call with hostile arguments. */
const rpcMessage = fc
  .record(
    {
      jsonrpc: fc.oneof(
        { weight: 12, arbitrary: fc.constant('2.0') },
        { weight: 1, arbitrary: fc.constantFrom<unknown>('1.0', 2, null) }
      ),
      id: rpcId,
      method: fc.oneof(
        { weight: 10, arbitrary: fc.constant('tools/call') },
        { weight: 4, arbitrary: fc.constantFrom(...METHODS) },
        { weight: 1, arbitrary: hostileString }
      ),
      call: fc.oneof(
        { weight: 3, arbitrary: nearValidCall },
        {
          weight: 2,
          arbitrary: fc.record({
            name: fc.oneof(
              { weight: 8, arbitrary: fc.constantFrom<unknown>(...TOOL_NAMES) },
              { weight: 1, arbitrary: hostileValue() }
            ),
            arguments: hostileArguments(ARG_KEYS)
          })
        }
      ),
      meta: fc.oneof(
        fc.constant<'modern' | 'legacy' | 'none'>('modern'),
        fc.constant<'modern' | 'legacy' | 'none'>('none'),
        hostileValue(['progressToken', 'io.modelcontextprotocol/protocolVersion'])
      ),
      extraParams: fc.option(
        fc.dictionary(fc.constantFrom('task', 'uri', 'cursor', '__proto__', 'ref'), hostileValue()),
        {
          nil: undefined
        }
      ),
      paramsOverride: fc.option(hostileValue(), { nil: undefined, freq: 12 })
    },
    { requiredKeys: ['jsonrpc', 'method', 'call', 'meta'] }
  )
  .map((r) => {
    const paramsValue =
      r.paramsOverride !== undefined
        ? r.paramsOverride
        : {
            ...(r.extraParams ?? {}),
            name: r.call.name,
            ...(r.call.arguments !== undefined ? { arguments: r.call.arguments } : {}),
            ...(r.meta === 'modern'
              ? { _meta: envelope(MODERN) }
              : r.meta === 'none'
                ? {}
                : { _meta: r.meta })
          };
    return {
      jsonrpc: r.jsonrpc,
      ...(r.id !== undefined ? { id: r.id } : {}),
      method: r.method,
      params: paramsValue
    } as Record<string, unknown>;
  });

type Body =
  | { kind: 'rpc'; message: Record<string, unknown> }
  | { kind: 'batch'; messages: Array<Record<string, unknown>> }
  | { kind: 'json'; value: unknown }
  | { kind: 'text'; text: string }
  | { kind: 'none' }
  | { kind: 'oversize'; size: Huge };

const body: fc.Arbitrary<Body> = fc.oneof(
  { weight: 14, arbitrary: rpcMessage.map((message): Body => ({ kind: 'rpc', message })) },
  {
    weight: 1,
    arbitrary: fc.array(rpcMessage, { maxLength: 3 }).map((messages): Body => ({ kind: 'batch', messages }))
  },
  { weight: 2, arbitrary: hostileValue().map((value): Body => ({ kind: 'json', value })) },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.string({ unit: 'binary' }),
        fc.constantFrom('{', '{"jsonrpc":"2.0",', 'null', '', '\u0000', '[]')
      )
      .map((text): Body => ({ kind: 'text', text }))
  },
  { weight: 1, arbitrary: fc.constant<Body>({ kind: 'none' }) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 4 * 1024 * 1024 - 200, max: 5 * 1024 * 1024 })
      .map((n): Body => ({ kind: 'oversize', size: new Huge('a', n) }))
  }
);

function bodyText(b: Body): string | undefined {
  switch (b.kind) {
    case 'rpc':
      return toJsonText(b.message);
    case 'batch':
      return toJsonText(b.messages);
    case 'json':
      return toJsonText(b.value);
    case 'text':
      return b.text;
    case 'none':
      return undefined;
    case 'oversize':
      return JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'faulty__echo', arguments: { text: b.size.value } }
      });
  }
}

const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,40}$/);

const requestCase = fc.record({
  method: fc.oneof(
    { weight: 14, arbitrary: fc.constant('POST') },
    { weight: 1, arbitrary: fc.constantFrom('GET', 'DELETE', 'PUT', 'PATCH', 'OPTIONS') }
  ),
  role: fc.oneof(
    { weight: 6, arbitrary: fc.constant<Role>('analyst') },
    { weight: 1, arbitrary: fc.constantFrom<Role>('admin', 'guest') }
  ),
  session: fc.constantFrom('none', 'none', 'valid', 'valid', 'unknown', 'garbage'),
  version: fc.constantFrom<string | undefined>(MODERN, MODERN, LEGACY, undefined, '1999-01-01', 'x'),
  mcpHeaders: fc.constantFrom('match', 'match', 'none', 'mismatch'),
  contentType: fc.constantFrom<string | undefined>(
    'application/json',
    'application/json',
    'application/json',
    undefined,
    'text/plain',
    'application/json; charset=utf-16',
    'multipart/form-data'
  ),
  accept: fc.constantFrom<string | undefined>(
    'application/json, text/event-stream',
    'application/json, text/event-stream',
    'application/json',
    'text/event-stream',
    '*/*',
    undefined
  ),
  extra: fc.dictionary(
    fc.constantFrom('origin', 'x-forwarded-for', 'mcp-name', 'mcp-method', 'last-event-id', 'x-custom'),
    headerValue,
    { maxKeys: 2 }
  ),
  body
});

type RequestCase = typeof requestCase extends fc.Arbitrary<infer T> ? T : never;

/** Never a hang: GET with a live session opens a server-to-client stream that stays open by design. */
const hangsByDesign = (c: RequestCase) => c.method === 'GET' && c.session === 'valid';

// ---------------------------------------------------------------------------------------------
// The property

async function runCase(c: RequestCase): Promise<void> {
  const token = TOKENS[c.role];
  const sessionId =
    c.session === 'valid'
      ? await openLegacySession(token)
      : c.session === 'unknown'
        ? '00000000-0000-4000-8000-000000000000'
        : c.session === 'garbage'
          ? 'x y\u007f'.replace(/[^\x20-\x7e]/g, '?')
          : undefined;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.extra)) headers[k] = v;
  if (c.contentType) headers['content-type'] = c.contentType;
  if (c.accept) headers.accept = c.accept;
  if (c.version) headers['mcp-protocol-version'] = c.version;
  if (sessionId) headers['mcp-session-id'] = sessionId;
  const message = c.body.kind === 'rpc' ? c.body.message : undefined;
  if (message && c.mcpHeaders !== 'none') {
    const method = String(message.method);
    if (/^[\x20-\x7e]*$/.test(method))
      headers['mcp-method'] = c.mcpHeaders === 'match' ? method : 'tools/list';
    const name = (message.params as { name?: unknown } | null)?.name;
    if (typeof name === 'string' && /^[\x20-\x7e]*$/.test(name))
      headers['mcp-name'] = c.mcpHeaders === 'match' ? name : 'faulty__pid';
  }
  headers.authorization = `Bearer ${token}`;
  const text = bodyText(c.body);

  let reply: Reply;
  try {
    reply = await send(c.method, headers, c.method === 'GET' ? undefined : text);
  } catch (err) {
    // An oversized body may be cut off by a 413 while it is still being sent.
    if (c.body.kind === 'oversize' && /ECONNRESET|EPIPE/.test((err as Error).message)) reply = undefined!;
    else throw err;
  }
  try {
    if (reply) {
      expect(reply.status, `5xx for client input: ${reply.body.slice(0, 300)}`).toBeLessThan(500);
      if (reply.status >= 400) {
        expect(
          () => JSON.parse(reply.body),
          `a ${reply.status} without a JSON body: ${reply.body}`
        ).not.toThrow();
      } else {
        for (const m of messagesOf(reply)) {
          const problem = isNotification(m) ? undefined : responseProblem(m);
          expect(problem, `not a JSON-RPC response: ${JSON.stringify(m).slice(0, 300)}`).toBeUndefined();
        }
      }
      // Only POST bodies are read (a DELETE's or PUT's body is never buffered, so it needs no limit).
      const sent = c.method !== 'POST' || text === undefined ? 0 : Buffer.byteLength(text);
      // Refused (413, or earlier for another reason such as a foreign Origin), never processed.
      if (sent > gw.gateway.config.listen.max_body_bytes) expect(reply.status).toBeGreaterThanOrEqual(400);
    }
  } finally {
    if (sessionId && c.session === 'valid')
      await send(
        'DELETE',
        { authorization: `Bearer ${token}`, 'mcp-session-id': sessionId },
        undefined
      ).catch(() => undefined);
  }

  // Nothing the schema, the policy or the caller's role forbids reached an upstream.
  const got = captures.flatMap((r) => r.next());
  expect(violations(got)).toStrictEqual([]);
  for (const { raw, message: m } of got) {
    const p = m as { method?: string; params?: { name?: string } };
    if (p.method === 'tools/call')
      expect(MAY_CALL[c.role], `${c.role} reached ${p.params?.name}: ${raw.slice(0, 300)}`).toContain(
        p.params?.name
      );
  }

  // Still serving: a valid call goes through (and is read off the capture so it counts for nobody).
  const ok = await tryCall(health, 'records__get_record', { id: 'r-1001' });
  expect(ok.ok, JSON.stringify(ok)).toBe(true);
  expect(violations(captures.flatMap((r) => r.next()))).toStrictEqual([]);
}

const runs = e2eRuns(120);

describe('Streamable HTTP gateway (fuzz)', () => {
  it(
    'answers random requests with JSON-RPC or a JSON 4xx, keeps serving, and forwards nothing forbidden',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          requestCase.filter((c) => !hangsByDesign(c)),
          async (c) => {
            await runCase(c);
          }
        ),
        params(runs)
      );
    },
    timeoutFor(runs, 150)
  );

  it(
    'forwards nothing forbidden when a valid client sends hostile arguments in both eras',
    async () => {
      const clients = {
        modern: await connect(gw.mcp, ANALYST_TOKEN),
        legacy: await connect(gw.mcp, ANALYST_TOKEN, 'legacy')
      };
      try {
        await fc.assert(
          fc.asyncProperty(
            fc.constantFrom<'modern' | 'legacy'>('modern', 'legacy'),
            fc.oneof(
              { weight: 3, arbitrary: nearValidCall },
              {
                weight: 1,
                arbitrary: fc.record({
                  name: fc.constantFrom('records__get_record', 'faulty__echo', 'records__delete_record'),
                  arguments: hostileArguments(ARG_KEYS).filter(isPlainObject)
                })
              }
            ),
            async (era, { name, arguments: args }) => {
              // Markers (Deep/Huge) cannot go through an SDK client: use their JSON form.
              const plain = JSON.parse(toJsonText(args)) as Record<string, unknown>;
              const r = await tryCall(clients[era], name, plain);
              const http = r.ok ? undefined : (r.data as { status?: number; text?: string } | undefined);
              if (!r.ok && !Number.isInteger(r.code) && http?.status === undefined) {
                // The client could not even send it (its JSON.stringify overflows on deep nesting).
                expect(r.message, JSON.stringify(r).slice(0, 400)).toMatch(/call stack|nested|JSON/i);
              } else if (!r.ok && !Number.isInteger(r.code)) {
                // Not a JSON-RPC error: then an HTTP 4xx (never a 5xx) with a JSON body.
                expect(http?.status, JSON.stringify(r).slice(0, 400)).toBeGreaterThanOrEqual(400);
                expect(http?.status, JSON.stringify(r).slice(0, 400)).toBeLessThan(500);
                expect(() => JSON.parse(http?.text ?? ''), JSON.stringify(r).slice(0, 400)).not.toThrow();
              }
              expect(violations(captures.flatMap((c) => c.next()))).toStrictEqual([]);
            }
          ),
          params(runs)
        );
      } finally {
        await clients.modern.close();
        await clients.legacy.close();
      }
      const ok = await tryCall(health, 'records__get_record', { id: 'r-1002' });
      expect(ok.ok).toBe(true);
    },
    timeoutFor(runs, 100)
  );

  it('answers a body nested 5,000 levels deep with a 4xx, not a 5xx', async () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const statuses: string[] = [];
    for (const [era, version] of [
      ['modern', MODERN],
      ['legacy', LEGACY]
    ] as const) {
      const headers: Record<string, string> = {
        authorization: `Bearer ${ANALYST_TOKEN}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': version
      };
      if (era === 'legacy') headers['mcp-session-id'] = await openLegacySession(ANALYST_TOKEN);
      const reply = await send(
        'POST',
        headers,
        `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"faulty__echo","arguments":{"text":"hi","x":${deep}}` +
          (era === 'modern' ? `,"_meta":${JSON.stringify(envelope(MODERN))}` : '') +
          '}}'
      );
      statuses.push(`${era}: ${reply.status} ${reply.body.slice(0, 120)}`);
    }
    expect(statuses.filter((s) => / 5\d\d /.test(s))).toStrictEqual([]);
  });
});
