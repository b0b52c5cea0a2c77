/**
 * The request check of the lean stdio path: it takes exactly the `tools/call` requests the SDK's
 * schemas accept, and leaves everything it is not sure of to the SDK server.
 */
import fc from 'fast-check';
import { isJSONRPCRequest, isSpecType } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { isPlainToolCall } from './tool-call.js';

const call = (params: unknown, extra: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id: 7,
  method: 'tools/call',
  params,
  ...extra
});

describe('isPlainToolCall', () => {
  it('takes well-formed calls and leaves everything it is not sure of to the server', () => {
    expect(isPlainToolCall(call({ name: 'a__b' }))).toBe(true);
    expect(
      isPlainToolCall(call({ name: 'a__b', arguments: { x: [1] }, _meta: { progressToken: 't' } }))
    ).toBe(true);
    expect(isPlainToolCall({ ...call({ name: 'a' }), id: 'x' })).toBe(true);
    for (const v of [
      call({ name: 1 }),
      call({ name: 'a', arguments: [] }),
      call({ name: 'a', arguments: null }),
      call([]),
      call(undefined),
      call({ name: 'a' }, { extra: 1 }),
      call({ name: 'a', task: { ttl: 1 } }),
      call({ name: 'a', requestState: 's' }),
      call({ name: 'a', _meta: { progressToken: 1.5 } }),
      call({ name: 'a', _meta: [] }),
      call({ name: 'a', _meta: { 'io.modelcontextprotocol/related-task': { taskId: 'x' } } }),
      { ...call({ name: 'a' }), id: null },
      { ...call({ name: 'a' }), id: 2 ** 60 },
      { ...call({ name: 'a' }), jsonrpc: '1.0' },
      { ...call({ name: 'a' }), method: 'tools/list' },
      [call({ name: 'a' })],
      null
    ]) {
      expect(isPlainToolCall(v), JSON.stringify(v)).toBe(false);
    }
  });

  it('takes only what the SDK schemas accept as a tools/call request', () => {
    const anyValue = fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 2 }));
    const shape = fc.record(
      {
        jsonrpc: fc.oneof(fc.constant('2.0'), anyValue),
        id: fc.oneof(fc.integer(), fc.string(), fc.double(), anyValue),
        method: fc.oneof(fc.constant('tools/call'), fc.string()),
        params: fc.oneof(
          fc.record(
            {
              name: fc.oneof(fc.string(), anyValue),
              arguments: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 1 })), anyValue),
              _meta: fc.oneof(
                fc.record(
                  { progressToken: fc.oneof(fc.integer(), fc.string(), anyValue), other: anyValue },
                  { requiredKeys: [] }
                ),
                anyValue
              ),
              task: anyValue
            },
            { requiredKeys: [] }
          ),
          anyValue
        ),
        extra: anyValue
      },
      { requiredKeys: [] }
    );
    let taken = 0;
    fc.assert(
      fc.property(shape, (raw) => {
        // As a line would hold it: JSON, so no undefined values.
        const value = JSON.parse(JSON.stringify(raw)) as { method?: unknown; params?: unknown };
        if (!isPlainToolCall(value)) return true;
        taken++;
        return (
          isJSONRPCRequest(value) &&
          isSpecType.CallToolRequest({ method: value.method, params: value.params })
        );
      }),
      { numRuns: 2000 }
    );
    expect(taken).toBeGreaterThan(0);
  });
});
