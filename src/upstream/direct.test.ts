/**
 * Direct tool calls beside a real SDK client. The server side is scripted message by message over
 * the SDK's in-memory transport pair, so each test can send exactly the answer it is about:
 * well-formed, malformed, late, or none.
 */
import { Client, InMemoryTransport, type JSONRPCMessage } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { clientEnvelope } from '../protocol/sdk-private.js';
import { DirectCallError, DirectCallFailure, DirectCalls, NeedsClient } from './direct.js';

interface Msg {
  id?: number;
  method?: string;
  params?: Record<string, unknown> & { _meta?: Record<string, unknown> };
  [key: string]: unknown;
}

interface Rig {
  direct: DirectCalls;
  client: Client;
  /** Messages the server side received, in order. */
  seen: Msg[];
  /** Send a message from the server side. */
  reply(m: Msg): Promise<void>;
  /** Resolves with the next request the server side receives for `method`. */
  next(method: string): Promise<Msg>;
  close(): Promise<void>;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.close();
});

async function rig(protocolVersion = '2025-11-25'): Promise<Rig> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const seen: Msg[] = [];
  const waiters: Array<{ method: string; resolve: (m: Msg) => void }> = [];
  serverSide.onmessage = (m) => {
    const msg = m as Msg;
    seen.push(msg);
    if (msg.method === 'server/discover') {
      void serverSide.send({
        jsonrpc: '2.0',
        id: msg.id,
        result: {
          resultType: 'complete',
          ttlMs: 0,
          cacheScope: 'private',
          supportedVersions: [protocolVersion],
          capabilities: { tools: {} },
          serverInfo: { name: 'scripted', version: '1.0.0' }
        }
      } as JSONRPCMessage);
      return;
    }
    if (msg.method === 'initialize') {
      void serverSide.send({
        jsonrpc: '2.0',
        id: msg.id,
        result: {
          protocolVersion,
          capabilities: { tools: {} },
          serverInfo: { name: 'scripted', version: '1.0.0' }
        }
      } as JSONRPCMessage);
      return;
    }
    const i = waiters.findIndex((w) => w.method === msg.method);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(msg);
  };
  await serverSide.start();
  const client = new Client(
    { name: 'test', version: '1.0.0' },
    protocolVersion >= '2026-07-28' ? { versionNegotiation: { mode: 'auto' } } : {}
  );
  await client.connect(clientSide);
  const version = client.getNegotiatedProtocolVersion()!;
  const envelope = clientEnvelope(client);
  if (!envelope) throw new Error('the SDK client has no outbound envelope');
  const direct = new DirectCalls(clientSide, version, envelope);
  const r: Rig = {
    direct,
    client,
    seen,
    reply: (m) => serverSide.send({ jsonrpc: '2.0', ...m } as JSONRPCMessage),
    next: (method) => {
      const already = seen.find((m) => m.method === method && !(m as { taken?: boolean }).taken);
      if (already) {
        (already as { taken?: boolean }).taken = true;
        return Promise.resolve(already);
      }
      return new Promise((resolve) =>
        waiters.push({
          method,
          resolve: (m) => {
            (m as { taken?: boolean }).taken = true;
            resolve(m);
          }
        })
      );
    },
    close: () => client.close()
  };
  rigs.push(r);
  return r;
}

describe('direct tool calls', () => {
  it('sends tools/call with an id outside the client range and returns the result', async () => {
    const r = await rig();
    const pending = r.direct.call({ name: 'echo', arguments: { text: 'hi' } }, { timeoutMs: 5000 });
    const req = await r.next('tools/call');
    expect(req.id).toBeGreaterThanOrEqual(2 ** 40);
    expect(req.params).toEqual({ name: 'echo', arguments: { text: 'hi' } });
    await r.reply({ id: req.id, result: { content: [{ type: 'text', text: 'hi' }] } });
    await expect(pending).resolves.toEqual({ content: [{ type: 'text', text: 'hi' }] });
  });

  it('passes an upstream JSON-RPC error through with its code, message and data', async () => {
    const r = await rig();
    const pending = r.direct.call({ name: 'x' }, { timeoutMs: 5000 });
    const req = await r.next('tools/call');
    await r.reply({ id: req.id, error: { code: -32602, message: 'bad args', data: { field: 'a' } } });
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DirectCallError);
    expect(err).toMatchObject({ code: -32602, message: 'bad args', data: { field: 'a' } });
  });

  it('refuses a result that is not a tool result instead of forwarding it', async () => {
    const r = await rig();
    for (const bad of [
      'text',
      { content: 'not an array' },
      { content: [{ type: 'text', text: 5 }] },
      { content: [{ type: 'script', src: 'x' }] },
      { content: [], isError: 'yes' },
      { content: [], structuredContent: [1, 2] },
      { inputRequests: {} }
    ]) {
      const pending = r.direct.call({ name: 'x' }, { timeoutMs: 5000 });
      const req = await r.next('tools/call');
      await r.reply({ id: req.id, result: bad });
      const err = await pending.catch((e: unknown) => e);
      expect(err, JSON.stringify(bad)).toBeInstanceOf(DirectCallFailure);
      expect((err as Error).message).toMatch(/^Invalid result for tools\/call/);
    }
  });

  it('gives a result without content an empty one', async () => {
    const r = await rig();
    const pending = r.direct.call({ name: 'x' }, { timeoutMs: 5000 });
    const req = await r.next('tools/call');
    await r.reply({ id: req.id, result: { structuredContent: { n: 1 } } });
    await expect(pending).resolves.toEqual({ structuredContent: { n: 1 }, content: [] });
  });

  it('delivers progress for its own token, restarting the timeout, and leaves other progress to the client', async () => {
    const r = await rig();
    const progress: unknown[] = [];
    const pending = r.direct.call(
      { name: 'x', _meta: { keep: true } },
      { timeoutMs: 300, onprogress: (p) => progress.push(p) }
    );
    const req = await r.next('tools/call');
    expect(req.params!._meta).toEqual({ keep: true, progressToken: req.id });
    // Four progress messages 150 ms apart outlast the 300 ms timeout only if each one restarts it.
    for (let i = 1; i <= 4; i++) {
      await new Promise((res) => setTimeout(res, 150));
      await r.reply({
        method: 'notifications/progress',
        params: { progressToken: req.id, progress: i, total: 4 }
      });
    }
    await r.reply({ id: req.id, result: { content: [] } });
    await expect(pending).resolves.toEqual({ content: [] });
    expect(progress).toEqual([1, 2, 3, 4].map((i) => ({ progress: i, total: 4 })));
  });

  it('times out, tells the server it cancelled, and ignores a late answer', async () => {
    const r = await rig();
    const pending = r.direct.call({ name: 'x' }, { timeoutMs: 100 });
    const req = await r.next('tools/call');
    await expect(pending).rejects.toThrow('Request timed out');
    const cancelled = await r.next('notifications/cancelled');
    expect(cancelled.params).toEqual({ requestId: req.id, reason: 'Request timed out' });
    await r.reply({ id: req.id, result: { content: [] } });
    // The client never saw the late answer as one of its own: it still works.
    const next = r.direct.call({ name: 'y' }, { timeoutMs: 5000 });
    const req2 = await r.next('tools/call');
    await r.reply({ id: req2.id, result: { content: [] } });
    await expect(next).resolves.toEqual({ content: [] });
  });

  it('is cancelled by its signal, before or after sending', async () => {
    const r = await rig();
    const early = new AbortController();
    early.abort(new Error('agent went away'));
    await expect(r.direct.call({ name: 'x' }, { timeoutMs: 5000, signal: early.signal })).rejects.toThrow(
      'agent went away'
    );
    expect(r.seen.some((m) => m.method === 'tools/call')).toBe(false);
    const late = new AbortController();
    const pending = r.direct.call({ name: 'x' }, { timeoutMs: 5000, signal: late.signal });
    const req = await r.next('tools/call');
    late.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
    expect((await r.next('notifications/cancelled')).params).toEqual({ requestId: req.id, reason: 'stop' });
  });

  it("leaves the client's own requests and responses to the client", async () => {
    const r = await rig();
    const listed = r.client.request({ method: 'tools/list', params: {} });
    const req = await r.next('tools/list');
    expect(req.id).toBeLessThan(2 ** 40);
    await r.reply({ id: req.id, result: { tools: [] } });
    await expect(listed).resolves.toMatchObject({ tools: [] });
  });

  it('fails every call in flight when the connection closes, and refuses new ones', async () => {
    const r = await rig();
    const pending = r.direct.call({ name: 'x' }, { timeoutMs: 5000 });
    await r.next('tools/call');
    await r.client.close();
    await expect(pending).rejects.toThrow('connection closed');
    await expect(r.direct.call({ name: 'y' }, { timeoutMs: 5000 })).rejects.toThrow('connection closed');
  });
});

describe('direct tool calls, 2026-07-28', () => {
  it('carries the envelope, unwraps a complete result, and hands input_required back', async () => {
    const r = await rig('2026-07-28');
    expect(r.client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    const pending = r.direct.call({ name: 'x' }, { timeoutMs: 5000 });
    const req = await r.next('tools/call');
    expect(Object.keys(req.params!._meta!)).toEqual(
      expect.arrayContaining([
        'io.modelcontextprotocol/protocolVersion',
        'io.modelcontextprotocol/clientCapabilities'
      ])
    );
    await r.reply({ id: req.id, result: { resultType: 'complete', content: [] } });
    await expect(pending).resolves.toEqual({ content: [] });

    const second = r.direct.call({ name: 'x' }, { timeoutMs: 5000 });
    const req2 = await r.next('tools/call');
    await r.reply({ id: req2.id, result: { resultType: 'input_required', inputRequests: { a: {} } } });
    await expect(second).rejects.toBeInstanceOf(NeedsClient);

    const third = r.direct.call({ name: 'x' }, { timeoutMs: 5000 });
    const req3 = await r.next('tools/call');
    await r.reply({ id: req3.id, result: { content: [] } });
    await expect(third).rejects.toThrow('missing required resultType');
  });
});
