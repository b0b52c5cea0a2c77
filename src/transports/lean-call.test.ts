import { ProtocolError, type JSONRPCMessage } from '@modelcontextprotocol/server';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { CallOptions, Gateway } from '../core/gateway.js';
import type { Session } from '../core/session.js';
import { GatewayError } from '../errors.js';
import { createLeanCalls } from './lean-call.js';

describe('createLeanCalls', () => {
  const log = pino({ level: 'silent' });
  const session = { id: 's' } as Session;
  const request = (params: Record<string, unknown>) =>
    ({ jsonrpc: '2.0', id: 3, method: 'tools/call', params }) as never;

  function lean(callTool: (name: string, args: unknown, opts: CallOptions) => Promise<unknown>) {
    const written: JSONRPCMessage[] = [];
    const gateway = { callTool: (_s: Session, n: string, a: unknown, o: CallOptions) => callTool(n, a, o) };
    const calls = createLeanCalls(
      gateway as unknown as Gateway,
      session,
      log,
      async (m) => void written.push(m)
    );
    return { calls, written };
  }

  it('answers with the result, as the 2025 wire has it', async () => {
    const { calls } = lean(async (name, args) => ({
      content: [{ type: 'text', text: `${name} ${JSON.stringify(args)}` }]
    }));
    expect(await calls.answer(request({ name: 'a__b', arguments: { x: 1 } }))).toEqual({
      jsonrpc: '2.0',
      id: 3,
      result: { content: [{ type: 'text', text: 'a__b {"x":1}' }] }
    });
    const bare = lean(async () => ({ structuredContent: { a: 1 } }));
    expect(await bare.calls.answer(request({ name: 'a__b' }))).toEqual({
      jsonrpc: '2.0',
      id: 3,
      result: { structuredContent: { a: 1 }, content: [] }
    });
  });

  it('maps errors as the server does', async () => {
    const answer = (err: unknown) => lean(() => Promise.reject(err)).calls.answer(request({ name: 'a__b' }));
    expect(await answer(new GatewayError('policy_denied', 'rule r'))).toEqual({
      jsonrpc: '2.0',
      id: 3,
      error: { code: -32051, message: 'denied by policy', data: { code: 'policy_denied' } }
    });
    expect(await answer(new ProtocolError(-32010, 'upstream says no', { why: 1 }))).toEqual({
      jsonrpc: '2.0',
      id: 3,
      error: { code: -32010, message: 'upstream says no', data: { why: 1 } }
    });
    expect(await answer(new ProtocolError(-32002, 'not found'))).toEqual({
      jsonrpc: '2.0',
      id: 3,
      error: { code: -32602, message: 'not found' }
    });
    expect(await answer(new Error('secret detail'))).toEqual({
      jsonrpc: '2.0',
      id: 3,
      error: { code: -32603, message: 'internal error' }
    });
  });

  it('reports progress under the agent token, and answers nothing once cancelled', async () => {
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const { calls, written } = lean(
      (_n, _a, opts) =>
        new Promise((_resolve, reject) => {
          opts.onprogress?.({ progress: 1, total: 2 });
          opts.signal?.addEventListener('abort', () => reject(new GatewayError('upstream_failed')));
          started();
        })
    );
    const answered = calls.answer(request({ name: 'a__b', _meta: { progressToken: 'tok' } }));
    await running;
    expect(written).toEqual([
      {
        jsonrpc: '2.0',
        method: 'notifications/progress',
        params: { progressToken: 'tok', progress: 1, total: 2 }
      }
    ]);
    expect(calls.cancel(4, 'other')).toBe(false);
    expect(calls.cancel(3, 'stop')).toBe(true);
    expect(await answered).toBeUndefined();
    expect(calls.cancel(3, 'again')).toBe(false);
  });

  it('takes nothing until a 2025-era server has completed its handshake', () => {
    const { calls } = lean(async () => ({ content: [] }));
    expect(calls.takes({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'a__b' } })).toBe(
      false
    );
  });
});
