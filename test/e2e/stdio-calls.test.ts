/**
 * tools/call over `portcullis stdio` once a 2025-era agent has completed its handshake: answered
 * beside the SDK server (src/transports/lean-call.ts), with everything the server did for a call
 * kept: the same answers and errors, progress under the agent's token, cancellation with no
 * answer, log messages at the agent's level, sampling and elicitation relayed to the agent, the
 * transport's in-flight bound, and malformed calls refused as before. Real processes throughout:
 * the built CLI (`npm run build` first) in front of the conformance fixture and the faulty one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/client';
import { CLI, FIXTURES, NODE, readAudit, stdioGateway, tempDir, tryCall, waitFor } from '../helpers.js';

const REFERENCE = join(FIXTURES, 'conformance-server.mjs');
const FAULTY = join(FIXTURES, 'faulty-server.mjs');
/** The transport's MAX_REQUESTS_IN_FLIGHT. */
const IN_FLIGHT = 32;

let dir: string;
let configFile: string;

beforeAll(() => {
  dir = tempDir();
  configFile = join(dir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    `servers:
  conf: { command: ${NODE}, args: ["${REFERENCE}", "--stdio"] }
  f: { command: ${NODE}, args: ["${FAULTY}"] }
auth:
  stdio: { identity: local, roles: [user] }
audit: { path: ./audit.jsonl }
rules:
  - { tool: "*", allowed_roles: [user] }
  - tool: echo
    allowed_roles: [user]
    parameter_constraints:
      text: { maxLength: 20 }
`,
    { mode: 0o600 }
  );
});

type Message = {
  jsonrpc?: string;
  id?: string | number | null;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
};

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** `portcullis stdio` driven line by line. */
function gateway() {
  const child = spawn(NODE, [CLI, 'stdio', '--config', configFile], {
    cwd: dir,
    stdio: ['pipe', 'pipe', 'pipe']
  });
  children.push(child);
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
  child.stderr!.resume();
  const messages = () => lines.map((l) => JSON.parse(l) as Message);
  const send = (obj: unknown) =>
    child.stdin!.write(`${typeof obj === 'string' ? obj : JSON.stringify(obj)}\n`);
  const line = async (id: string | number, ms = 15_000) => {
    const find = () =>
      lines.find((l) => (JSON.parse(l) as Message).id === id && !('method' in JSON.parse(l)));
    await waitFor(() => find() !== undefined, ms, `the answer to ${id}`);
    return find()!;
  };
  const answer = async (id: string | number, ms?: number) => JSON.parse(await line(id, ms)) as Message;
  const call = (id: string | number, name: string, args: Record<string, unknown> = {}, meta?: object) =>
    send({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) }
    });
  const cancel = (requestId: string | number) =>
    send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, reason: 'test' } });
  const initialize = async () => {
    send({
      jsonrpc: '2.0',
      id: 'init',
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } }
    });
    await answer('init', 30_000);
  };
  const initialized = async () => {
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    // The server takes the notification on its own queue; a ping behind it is answered after it.
    send({ jsonrpc: '2.0', id: 'ping-after-initialized', method: 'ping' });
    await answer('ping-after-initialized');
  };
  const end = async () => {
    child.stdin!.end();
    const [code] = await once(child, 'exit');
    return code as number;
  };
  return { child, lines, messages, send, line, answer, call, cancel, initialize, initialized, end };
}

const audit = () => readAudit(join(dir, 'audit.jsonl'));

describe('tools/call over stdio once the 2025-era handshake is complete', () => {
  it('answers exactly as the SDK server answers the same calls', async () => {
    const gw = gateway();
    await gw.initialize();
    const calls: Array<[string, Record<string, unknown>]> = [
      ['f__echo', { text: 'hello' }],
      ['conf__test_image_content', {}],
      ['conf__test_embedded_resource', {}],
      ['conf__test_multiple_content_types', {}],
      ['conf__test_error_handling', {}],
      ['f__echo', { text: 'far longer than twenty characters' }],
      ['f__echo', { text: 5 }],
      ['f__nothing', {}],
      ['nothing', {}]
    ];
    // Before `notifications/initialized` the SDK server answers tools/call itself.
    const bySdk: string[] = [];
    for (const [i, [name, args]] of calls.entries()) {
      gw.call(`sdk-${i}`, name, args);
      bySdk.push(await gw.line(`sdk-${i}`));
    }
    await gw.initialized();
    const byLean: string[] = [];
    for (const [i, [name, args]] of calls.entries()) {
      gw.call(`lean-${i}`, name, args);
      byLean.push(await gw.line(`lean-${i}`));
    }
    const body = (l: string) => {
      const { result, error } = JSON.parse(l) as Message;
      return { result, error };
    };
    expect(byLean.map(body)).toEqual(bySdk.map(body));
    // The server writes `result` first; the lean path writes the envelope first: the second set
    // of answers did not come from the server.
    expect(bySdk[0]).toMatch(/^\{"result":/);
    expect(byLean[0]).toMatch(/^\{"jsonrpc":"2\.0","id":"lean-0","result":/);

    const answers = byLean.map((l) => JSON.parse(l) as Message);
    expect(answers[0]!.result!.content).toEqual([{ type: 'text', text: 'hello' }]);
    expect(answers[4]!.result!.isError).toBe(true);
    // Gateway refusals: the registry code, its short message (with what the agent can correct),
    // and the stable code as data.
    expect(answers[5]!.error).toEqual({
      code: -32052,
      message: 'denied by policy: parameter constraint: argument "text" must be at most 20 characters long',
      data: { code: 'constraint_failed' }
    });
    expect(answers[6]!.error?.data).toEqual({ code: expect.any(String) });
    expect(answers[7]!.error?.data).toEqual({ code: 'unknown_tool' });
    expect(answers[8]!.error?.data).toEqual({ code: 'unknown_tool' });
    expect(await gw.end()).toBe(0);
  }, 90_000);

  it('reports progress under the agent token, and none when it gave no token', async () => {
    const gw = gateway();
    await gw.initialize();
    await gw.initialized();
    gw.call('p1', 'conf__test_tool_with_progress', {}, { progressToken: 'tok-1' });
    gw.call('p2', 'conf__test_tool_with_progress', {}, { progressToken: 42 });
    await gw.answer('p1');
    await gw.answer('p2');
    gw.call('p3', 'conf__test_tool_with_progress', {});
    await gw.answer('p3');
    const progress = gw.messages().filter((m) => m.method === 'notifications/progress');
    const of = (token: unknown) =>
      progress.filter((m) => m.params!.progressToken === token).map((m) => m.params!.progress);
    // The upstream reports 0, 50 and 100. The last one can be lost before it reaches the gateway
    // on any path: when it arrives together with the result, the SDK client has closed the call's
    // progress handler by the time it handles the notification.
    for (const token of ['tok-1', 42]) {
      expect([
        [0, 50],
        [0, 50, 100]
      ]).toContainEqual(of(token));
    }
    expect(progress.every((m) => ['tok-1', 42].includes(m.params!.progressToken as never))).toBe(true);
    // Every progress notification came before its call's answer.
    const at = (pred: (m: Message) => boolean) => gw.messages().findIndex(pred);
    const lastOf = (token: unknown) =>
      gw
        .messages()
        .findLastIndex((m) => m.method === 'notifications/progress' && m.params!.progressToken === token);
    expect(lastOf('tok-1')).toBeLessThan(at((m) => m.id === 'p1'));
    expect(lastOf(42)).toBeLessThan(at((m) => m.id === 'p2'));
    expect(await gw.end()).toBe(0);
  }, 60_000);

  it('aborts a cancelled call, never answers it, and keeps serving', async () => {
    const gw = gateway();
    await gw.initialize();
    await gw.initialized();
    gw.call('slow', 'f__slow', { ms: 3000 });
    await new Promise((r) => setTimeout(r, 300));
    gw.cancel('slow');
    gw.call('after', 'f__echo', { text: 'after' });
    expect((await gw.answer('after')).result!.content).toEqual([{ type: 'text', text: 'after' }]);
    // The call was aborted, not waited for: its audit record is written well before the 3 s.
    await waitFor(
      () => audit().some((r) => r.event === 'tools/call' && r.tool === 'slow' && r.outcome === 'error'),
      2500,
      'the aborted call in the audit log'
    );
    await new Promise((r) => setTimeout(r, 3500));
    expect(gw.lines.some((l) => (JSON.parse(l) as Message).id === 'slow')).toBe(false);
    expect(await gw.end()).toBe(0);
  }, 60_000);

  it(`holds calls past ${IN_FLIGHT} in flight, and frees a slot for each call cancelled, answered by the server or not`, async () => {
    const gw = gateway();
    await gw.initialize();
    // Before the handshake completes the server answers calls: cancelling more of them than the
    // bound must not use it up (the server never answers a cancelled request).
    for (let i = 0; i < IN_FLIGHT + 8; i++) {
      gw.call(`sdk-hang-${i}`, 'f__hang');
      gw.cancel(`sdk-hang-${i}`);
    }
    gw.call('sdk-echo', 'f__echo', { text: 'sdk' });
    expect((await gw.answer('sdk-echo')).result).toBeTruthy();
    await gw.initialized();

    for (let i = 0; i < IN_FLIGHT; i++) gw.call(`hang-${i}`, 'f__hang');
    gw.call('held', 'f__echo', { text: 'held' });
    gw.call('held-cancelled', 'f__echo', { text: 'never' });
    gw.cancel('held-cancelled');
    await new Promise((r) => setTimeout(r, 1500));
    // All slots are taken by calls that never end: the echo waits.
    expect(gw.lines.some((l) => l.includes('"held"'))).toBe(false);
    gw.cancel('hang-0');
    expect((await gw.answer('held')).result!.content).toEqual([{ type: 'text', text: 'held' }]);
    for (let i = 1; i < IN_FLIGHT; i++) gw.cancel(`hang-${i}`);
    // Many more cancelled calls than the bound: every slot comes back each time.
    for (let i = 0; i < IN_FLIGHT + 8; i++) {
      gw.call(`again-${i}`, 'f__hang');
      gw.cancel(`again-${i}`);
    }
    gw.call('last', 'f__echo', { text: 'last' });
    expect((await gw.answer('last')).result!.content).toEqual([{ type: 'text', text: 'last' }]);
    await new Promise((r) => setTimeout(r, 500));
    const ids = gw.messages().map((m) => String(m.id));
    expect(ids.filter((id) => /hang|again|held-cancelled/.test(id))).toEqual([]);
    // The held call that was cancelled never reached the gateway core, so it has no record.
    expect(
      audit().filter(
        (r) => r.event === 'tools/call' && (r.arguments as { text?: unknown } | undefined)?.text === 'never'
      )
    ).toEqual([]);
    expect(await gw.end()).toBe(0);
  }, 120_000);

  it('refuses malformed calls as before, and keeps serving', async () => {
    const gw = gateway();
    await gw.initialize();
    await gw.initialized();
    gw.send({ jsonrpc: '2.0', id: 'm1', method: 'tools/call', params: [] });
    gw.send({ jsonrpc: '2.0', id: 'm2', method: 'tools/call', params: { name: 5 } });
    gw.send({ jsonrpc: '2.0', id: 'm3', method: 'tools/call', params: { name: 'f__echo', arguments: [] } });
    gw.send({ jsonrpc: '2.0', id: 'm4', method: 'tools/call', params: { name: 'f__echo' }, extra: 1 });
    gw.send(
      `{"jsonrpc":"2.0","id":"m5","method":"tools/call","params":{"name":"f__echo","arguments":{"text":${'['.repeat(200)}${']'.repeat(200)}}}}`
    );
    gw.send({ jsonrpc: '2.0', id: 'm6', method: 'tools/call' });
    gw.call('ok', 'f__echo', { text: 'still here' });
    expect((await gw.answer('m1')).error?.code).toBe(-32600);
    expect((await gw.answer('m2')).error?.code).toBe(-32602);
    expect((await gw.answer('m3')).error?.code).toBe(-32602);
    expect((await gw.answer('m4')).error?.code).toBe(-32600);
    expect((await gw.answer('m5')).error?.code).toBe(-32600);
    expect((await gw.answer('m6')).error?.code).toBe(-32602);
    expect((await gw.answer('ok')).result!.content).toEqual([{ type: 'text', text: 'still here' }]);
    expect(await gw.end()).toBe(0);
  }, 60_000);
});

describe('what an upstream sends during a call over stdio, once the 2025-era handshake is complete', () => {
  async function sdkClient(capabilities: Record<string, object> = { sampling: {}, elicitation: {} }) {
    const client = new Client(
      { name: 'stdio-relay-test', version: '1.0.0' },
      { capabilities, versionNegotiation: { mode: 'legacy' } }
    );
    await client.connect(stdioGateway(configFile, dir));
    return client;
  }

  it('gives the agent log messages at the level it set', async () => {
    const client = await sdkClient();
    const logs: string[] = [];
    client.setNotificationHandler('notifications/message', (n) => void logs.push(String(n.params.data)));
    // No level set: every message.
    expect((await tryCall(client, 'conf__test_tool_with_logging', {})).ok).toBe(true);
    await waitFor(() => logs.length === 3, 5000, 'three log messages');
    await client.setLoggingLevel('warning');
    expect((await tryCall(client, 'conf__test_tool_with_logging', {})).ok).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(logs).toHaveLength(3);
    await client.setLoggingLevel('info');
    expect((await tryCall(client, 'conf__test_tool_with_logging', {})).ok).toBe(true);
    await waitFor(() => logs.length === 6, 5000, 'three more log messages');
    expect(logs.slice(3)).toEqual([
      'Tool execution started',
      'Tool processing data',
      'Tool execution completed'
    ]);
    await client.close();
  }, 60_000);

  it('relays sampling and elicitation requests to the agent and its answers back', async () => {
    const client = await sdkClient();
    const asked: string[] = [];
    client.setRequestHandler('sampling/createMessage', async (req) => {
      const first = req.params.messages[0]?.content;
      asked.push(first && 'text' in first ? String(first.text) : '');
      return { role: 'assistant', content: { type: 'text', text: 'sampled' }, model: 'test-model' };
    });
    client.setRequestHandler('elicitation/create', async (req) => {
      asked.push(req.params.message);
      return { action: 'accept', content: { username: 'ada', email: 'ada@example.com' } };
    });
    const sampled = await tryCall(client, 'conf__test_sampling', { prompt: 'over stdio' });
    expect(sampled.ok && sampled.result.content?.[0]?.text).toBe('LLM response: sampled');
    const elicited = await tryCall(client, 'conf__test_elicitation', { message: 'who are you?' });
    expect(elicited.ok && elicited.result.content?.[0]?.text).toBe(
      'User response: action=accept, content={"username":"ada","email":"ada@example.com"}'
    );
    expect(asked).toEqual(['over stdio', 'who are you?']);
    await client.close();
    const relayed = audit().filter(
      (r) => r.event === 'sampling/createMessage' || r.event === 'elicitation/create'
    );
    expect(relayed.slice(-2).map((r) => [r.event, r.tool, r.outcome])).toEqual([
      ['sampling/createMessage', 'test_sampling', 'ok'],
      ['elicitation/create', 'test_elicitation', 'ok']
    ]);
  }, 60_000);

  it('asks an agent only for what it declared, and the server learns why it was not asked', async () => {
    const client = await sdkClient({ elicitation: {} });
    const sampled = await tryCall(client, 'conf__test_sampling', { prompt: 'nobody to ask' });
    const said = sampled.ok ? JSON.stringify(sampled.result) : sampled.message;
    expect(sampled.ok ? sampled.result.isError : true).toBe(true);
    expect(said).toContain('the agent did not declare the sampling capability');
    await client.close();
  }, 60_000);
});
