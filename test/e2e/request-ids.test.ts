/**
 * Request ids in a 2025-era Streamable HTTP session, through a running gateway with a slow upstream
 * tool: a second request under an id still in flight is answered at once with
 * `request_id_in_use`, the first is answered normally, and an id is free again once answered.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANALYST_TOKEN, FIXTURES, NODE, startGateway, tokensYaml, type TestGateway } from '../helpers.js';
import { ERRORS } from '../../src/errors.js';

const VERSION = '2025-11-25';
let gw: TestGateway;

beforeAll(async () => {
  gw = await startGateway(`
servers:
  faulty:
    command: ${NODE}
    args: ["${join(FIXTURES, 'faulty-server.mjs')}"]
auth:${tokensYaml}
rules:
  - { tool: "*", allowed_roles: [analyst] }
`);
});

afterAll(async () => {
  await gw?.close();
});

const base = {
  Authorization: `Bearer ${ANALYST_TOKEN}`,
  'Content-Type': 'application/json',
  Accept: 'application/json, text/event-stream'
};

interface Answer {
  status: number;
  messages: Array<{
    id?: unknown;
    result?: { content?: Array<{ text?: string }> };
    error?: { code: number };
  }>;
}

/** POST one body; resolves once the answer's headers are in (the request's ids are claimed by then). */
function send(session: string | undefined, body: unknown): Promise<Response> {
  return fetch(gw.mcp, {
    method: 'POST',
    headers: session ? { ...base, 'Mcp-Session-Id': session, 'Mcp-Protocol-Version': VERSION } : base,
    body: JSON.stringify(body)
  });
}

/** POST one body and read the whole answer: a JSON body, or every `data:` event of an SSE stream. */
async function post(session: string | undefined, body: unknown): Promise<Answer & { session?: string }> {
  return read(await send(session, body));
}

async function read(res: Response): Promise<Answer & { session?: string }> {
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  const messages = type.startsWith('text/event-stream')
    ? text
        .split('\n')
        .filter((l) => l.startsWith('data:') && l.length > 5)
        .map((l) => JSON.parse(l.slice(5)) as Answer['messages'][number])
    : text
      ? [JSON.parse(text) as Answer['messages'][number]]
      : [];
  return { status: res.status, messages, session: res.headers.get('mcp-session-id') ?? undefined };
}

async function openSession(): Promise<string> {
  const init = await post(undefined, {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1.0.0' } }
  });
  expect(init.status).toBe(200);
  expect(init.session).toBeTruthy();
  expect((await post(init.session, { jsonrpc: '2.0', method: 'notifications/initialized' })).status).toBe(
    202
  );
  return init.session!;
}

const slow = (id: number | string, ms: number) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'faulty__slow', arguments: { ms } }
});

describe('duplicate request ids in one session', () => {
  it('answers the duplicate at once with request_id_in_use and the first normally', async () => {
    const session = await openSession();
    let firstAnswered = false;
    // The answer's headers are in: the first request is in flight. The same id again:
    const first = read(await send(session, slow(7, 3000))).then((a) => {
      firstAnswered = true;
      return a;
    });
    const duplicate = await post(session, slow(7, 10));
    expect(firstAnswered).toBe(false);
    expect(duplicate.status).toBe(409);
    expect(duplicate.messages).toEqual([
      {
        jsonrpc: '2.0',
        id: 7,
        error: { code: ERRORS.request_id_in_use.rpc, message: ERRORS.request_id_in_use.message }
      }
    ]);
    const answered = await first;
    expect(answered.status).toBe(200);
    expect(answered.messages).toHaveLength(1);
    expect(answered.messages[0]).toMatchObject({ id: 7, result: { content: [{ text: 'done' }] } });
    // Answered: the id is free again.
    const again = await post(session, slow(7, 10));
    expect(again.messages[0]).toMatchObject({ id: 7, result: { content: [{ text: 'done' }] } });
  }, 30_000);

  it('serves other ids, the same id in another session, and the string "7" beside the number 7', async () => {
    const [one, two] = [await openSession(), await openSession()];
    const slowOne = read(await send(one, slow(7, 1500)));
    const others = await Promise.all([
      post(one, slow(8, 10)),
      post(two, slow(7, 10)),
      post(one, slow('7', 10))
    ]);
    for (const a of others) {
      expect(a.status).toBe(200);
      expect(a.messages[0]).toMatchObject({ result: { content: [{ text: 'done' }] } });
    }
    expect((await slowOne).messages[0]).toMatchObject({ id: 7, result: { content: [{ text: 'done' }] } });
  }, 30_000);

  it('refuses a batch that repeats an id, and one that reuses an id in flight', async () => {
    const session = await openSession();
    const repeated = await post(session, [slow(3, 10), slow(3, 10)]);
    expect(repeated.status).toBe(409);
    expect(repeated.messages).toEqual([
      {
        jsonrpc: '2.0',
        id: null,
        error: { code: ERRORS.request_id_in_use.rpc, message: ERRORS.request_id_in_use.message }
      }
    ]);
    const first = read(await send(session, slow(4, 1500)));
    const reused = await post(session, [slow(5, 10), slow(4, 10)]);
    expect(reused.status).toBe(409);
    expect((await first).messages[0]).toMatchObject({ id: 4, result: { content: [{ text: 'done' }] } });
    // Nothing of the refused batch was claimed: 5 is free.
    expect((await post(session, slow(5, 10))).messages[0]).toMatchObject({ id: 5 });
  }, 30_000);
});
