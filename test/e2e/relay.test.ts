/**
 * What an upstream sends about a call (log messages, sampling and elicitation requests, resource
 * updates) reaches the agent that made the call, or the agents that subscribed, and no one else:
 * two agents on one shared upstream, over Streamable HTTP (correlated by the call's response
 * stream) and over stdio (one pipe: only the one call in flight).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import {
  ADMIN_TOKEN,
  ANALYST_TOKEN,
  FIXTURES,
  NODE,
  connect,
  startGateway,
  tryCall,
  waitFor,
  type TestGateway
} from '../helpers.js';

const REFERENCE = join(FIXTURES, 'conformance-server.mjs');
const tokens = `
auth:
  tokens:
    - { id: a, identity: alice, roles: [user], token: ${ADMIN_TOKEN} }
    - { id: b, identity: bob, roles: [user], token: ${ANALYST_TOKEN} }
rules:
  - { tool: "*", allowed_roles: [user] }
  - { prompt: "*", allowed_roles: [user] }
  - { resource: "**", allowed_roles: [user] }
`;

/** Log messages a client receives, in order. */
function logsOf(client: Client): string[] {
  const seen: string[] = [];
  client.setNotificationHandler('notifications/message', (n) => {
    seen.push(String(n.params.data));
  });
  return seen;
}

const sampling = (client: Client, answer: () => Promise<void> = async () => undefined) => {
  const asked: string[] = [];
  client.setRequestHandler('sampling/createMessage', async (req) => {
    const first = req.params.messages[0]?.content;
    asked.push(first && 'text' in first ? String(first.text) : '');
    await answer();
    return { role: 'assistant', content: { type: 'text', text: 'sampled' }, model: 'test-model' };
  });
  return asked;
};

async function legacyClient(gw: TestGateway, token: string): Promise<Client> {
  const { Client: SdkClient, StreamableHTTPClientTransport } = await import('@modelcontextprotocol/client');
  const client = new SdkClient(
    { name: 'relay-test', version: '1.0.0' },
    { capabilities: { sampling: {}, elicitation: {} }, versionNegotiation: { mode: 'legacy' } }
  );
  await client.connect(
    new StreamableHTTPClientTransport(new URL(gw.mcp), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } }
    })
  );
  return client;
}

describe('an HTTP upstream shared by two agents', () => {
  let upstream: ChildProcess;
  let gw: TestGateway;

  beforeAll(async () => {
    upstream = spawn(NODE, [REFERENCE], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve) =>
      upstream.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
    );
    gw = await startGateway(`
servers:
  conf: { url: "http://127.0.0.1:${port}/mcp" }
${tokens}`);
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
    upstream?.kill();
  });

  it('gives each agent exactly the log messages of its own call, at its own level', async () => {
    const a = await legacyClient(gw, ADMIN_TOKEN);
    const b = await legacyClient(gw, ANALYST_TOKEN);
    const logsA = logsOf(a);
    const logsB = logsOf(b);
    await a.setLoggingLevel('info');
    await b.setLoggingLevel('error');
    const [ra, rb] = await Promise.all([
      tryCall(a, 'conf__test_tool_with_logging', {}),
      tryCall(b, 'conf__test_tool_with_logging', {})
    ]);
    expect(ra.ok && rb.ok).toBe(true);
    await waitFor(() => logsA.length === 3, 5000, 'three log messages');
    expect(logsA).toEqual(['Tool execution started', 'Tool processing data', 'Tool execution completed']);
    // b asked for errors only: the gateway applies its level, and never gives it a's messages.
    await new Promise((r) => setTimeout(r, 200));
    expect(logsB).toEqual([]);
    await Promise.all([a.close(), b.close()]);
  });

  it('relays a sampling request to the one agent whose call is in flight, and refuses it when it cannot tell whose it is', async () => {
    const a = await legacyClient(gw, ADMIN_TOKEN);
    const b = await legacyClient(gw, ANALYST_TOKEN);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const askedA = sampling(a, () => held);
    const askedB = sampling(b);
    // a's call waits in its sampling handler: the server sends the request on its standalone
    // stream (no correlation), and a's is the only call in flight, so it is a's.
    const callA = tryCall(a, 'conf__test_sampling', { prompt: 'for alice' });
    await waitFor(() => askedA.length === 1, 5000, 'a asked to sample');
    expect(askedA).toEqual(['for alice']);
    // Now two calls are in flight: b's request cannot be attributed, so it is refused, not guessed.
    const callB = await tryCall(b, 'conf__test_sampling', { prompt: 'for bob' });
    expect(callB.ok).toBe(false);
    expect(askedB).toEqual([]);
    release();
    const resultA = await callA;
    expect(resultA.ok && resultA.result.content?.[0]?.text).toBe('LLM response: sampled');
    // Alone again, b is asked.
    const again = await tryCall(b, 'conf__test_sampling', { prompt: 'for bob' });
    expect(again.ok).toBe(true);
    expect(askedB).toEqual(['for bob']);
    const records = gw.audit().filter((r) => r.event === 'sampling/createMessage');
    expect(records.map((r) => [r.identity, r.tool, r.outcome])).toEqual([
      ['alice', 'test_sampling', 'ok'],
      ['bob', 'test_sampling', 'ok']
    ]);
    await Promise.all([a.close(), b.close()]);
  });

  it('tells only the subscribed agent that a resource changed', async () => {
    const a = await legacyClient(gw, ADMIN_TOKEN);
    const b = await legacyClient(gw, ANALYST_TOKEN);
    const updates = { a: [] as string[], b: [] as string[] };
    a.setNotificationHandler('notifications/resources/updated', (n) => void updates.a.push(n.params.uri));
    b.setNotificationHandler('notifications/resources/updated', (n) => void updates.b.push(n.params.uri));
    const uri = 'portcullis://conf/test://watched-resource';
    await a.subscribeResource({ uri });
    const touched = await tryCall(b, 'conf__touch_watched_resource', {});
    expect(touched.ok && touched.result.content?.[0]?.text).toBe('told 1 subscriber(s)');
    await waitFor(() => updates.a.length === 1, 5000, 'update to the subscriber');
    expect(updates.a).toEqual([uri]);
    await a.unsubscribeResource({ uri });
    // The gateway's own upstream subscription ends with its last subscriber.
    const after = await tryCall(b, 'conf__touch_watched_resource', {});
    expect(after.ok && after.result.content?.[0]?.text).toBe('told 0 subscriber(s)');
    expect(updates.b).toEqual([]);
    await Promise.all([a.close(), b.close()]);
  });
});

describe('a stdio upstream', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startGateway(`
servers:
  conf: { command: ${NODE}, args: ["${REFERENCE}", "--stdio"] }
${tokens}`);
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
  });

  it('relays log messages and sampling requests to the only call in flight', async () => {
    const a = await legacyClient(gw, ADMIN_TOKEN);
    const logs = logsOf(a);
    const asked = sampling(a);
    expect((await tryCall(a, 'conf__test_tool_with_logging', {})).ok).toBe(true);
    await waitFor(() => logs.length === 3, 5000, 'three log messages');
    expect((await tryCall(a, 'conf__test_sampling', { prompt: 'over stdio' })).ok).toBe(true);
    expect(asked).toEqual(['over stdio']);
    await a.close();
  });

  it("scans the agent's answer on its way back: a secret in it is blocked, as in arguments", async () => {
    const a = await legacyClient(gw, ADMIN_TOKEN);
    a.setRequestHandler('sampling/createMessage', async () => ({
      role: 'assistant',
      content: { type: 'text', text: 'the deploy key is AKIALQMRZYJICEWHW53I' },
      model: 'test-model'
    }));
    const r = await tryCall(a, 'conf__test_sampling', { prompt: 'tell me a key' });
    // The server never gets the answer: its request fails, and so does the call.
    const text = r.ok ? JSON.stringify(r.result) : r.message;
    expect(r.ok ? r.result.isError : true).toBe(true);
    expect(text).not.toContain('AKIALQMRZYJICEWHW53I');
    const record = gw
      .audit()
      .find((x) => x.event === 'sampling/createMessage' && x.identity === 'alice' && x.code);
    expect(record).toMatchObject({ decision: 'deny', code: 'argument_blocked', tool: 'test_sampling' });
    expect(JSON.stringify(gw.audit())).not.toContain('AKIALQMRZYJICEWHW53I');
    await a.close();
  });

  it('is not asked by an agent that never declared sampling', async () => {
    const plain = await connect(gw.mcp, ADMIN_TOKEN, 'legacy');
    const r = await tryCall(plain, 'conf__test_sampling', { prompt: 'nobody to ask' });
    expect(r.ok).toBe(false);
    // The gateway refuses the server's request itself: the agent is never sent one it cannot answer.
    expect(!r.ok && r.message).toContain('the agent did not declare the sampling capability');
    await plain.close();
  });
});

describe('a stdio upstream that speaks the 2026-07-28 protocol', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startGateway(`
servers:
  conf: { command: ${NODE}, args: ["${REFERENCE}", "--stdio-any-era"] }
${tokens}`);
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
  });

  it('is asked for log messages with each call, and they reach the agent at its own level', async () => {
    const a = await legacyClient(gw, ADMIN_TOKEN);
    const logs = logsOf(a);
    await a.setLoggingLevel('info');
    expect((await tryCall(a, 'conf__test_tool_with_logging', {})).ok).toBe(true);
    await waitFor(() => logs.length === 3, 5000, 'three log messages');
    await a.setLoggingLevel('warning');
    expect((await tryCall(a, 'conf__test_tool_with_logging', {})).ok).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(logs).toHaveLength(3);
    await a.close();
  });
});
