/**
 * The tool-result check of the lean paths against the SDK's own `CallToolResult` schema: for any
 * value, it accepts exactly what the schema accepts, bar the two rules of the 2025-era wire it
 * adds on purpose (see tool-result.ts).
 */
import fc from 'fast-check';
import { specTypeSchemas } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { isObject } from './json.js';
import { checkCallToolResult, TOOL_RESULT_FOREIGN_KEYS, withEmptyContent } from './tool-result.js';

/** The SDK's verdict and output for a value, through its exported schema (synchronous by contract). */
function sdkParse(value: unknown): { ok: true; value: Record<string, unknown> } | { ok: false } {
  const outcome = specTypeSchemas.CallToolResult['~standard'].validate(value);
  if (outcome instanceof Promise) throw new Error('the SDK schema for CallToolResult became asynchronous');
  return outcome.issues ? { ok: false } : { ok: true, value: outcome.value as Record<string, unknown> };
}

// Values near the protocol's shapes, each field sometimes right, sometimes anything at all.
const anyValue = fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 2 }));
/** Mostly `valid`, now and then anything: most values are near valid, so each rule gets its turn. */
const mostly = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: anyValue, weight: 1 });
const text = mostly(fc.string());
const base64 = mostly(fc.oneof(fc.base64String(), fc.constantFrom('AAAA', 'QQ', 'not base64!', '%%%', '')));
const dateTime = fc.oneof(
  fc
    .date({
      noInvalidDate: true,
      min: new Date('0001-01-01T00:00:00Z'),
      max: new Date('9999-12-31T23:59:59Z')
    })
    .map((d) => d.toISOString()),
  fc.constantFrom(
    '2025-01-01',
    '2025-01-01T10:00Z',
    '2025-01-01T10:00:00',
    '2025-01-01T10:00:00.123456+05:30',
    '2025-01-01t10:00:00z',
    '2025-01-01T24:00:00Z',
    '2025-02-29T00:00:00Z',
    '2024-02-29T23:59:59-01:00',
    '1900-02-29T00:00:00Z',
    '2000-02-29T00:00:00Z',
    '2025-04-31T00:00:00Z',
    '2025-13-01T00:00:00Z',
    '2025-01-01T10:00:00+24:00'
  ),
  anyValue
);
const meta = mostly(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }));
const annotations = mostly(
  fc.record(
    {
      audience: mostly(
        fc.array(fc.constantFrom('user', 'assistant', 'assistant', 'user', 'system'), { maxLength: 2 })
      ),
      priority: mostly(fc.double({ min: -0.5, max: 1.5, noNaN: true })),
      lastModified: dateTime
    },
    { requiredKeys: [] }
  )
);
const icon = mostly(
  fc.record(
    {
      src: text,
      mimeType: text,
      sizes: mostly(fc.array(text, { maxLength: 2 })),
      theme: mostly(fc.constantFrom('light', 'dark', 'blue'))
    },
    { requiredKeys: ['src'] }
  )
);
const block = fc.oneof(
  fc.record(
    { type: fc.constant('text'), text, annotations, _meta: meta },
    { requiredKeys: ['type', 'text'] }
  ),
  fc.record(
    { type: fc.constantFrom('image', 'audio'), data: base64, mimeType: text, annotations, _meta: meta },
    { requiredKeys: ['type', 'data', 'mimeType'] }
  ),
  fc.record(
    {
      type: fc.constant('resource_link'),
      uri: text,
      name: text,
      title: text,
      description: text,
      mimeType: text,
      size: mostly(fc.double()),
      icons: mostly(fc.array(icon, { maxLength: 2 })),
      annotations,
      _meta: meta
    },
    { requiredKeys: ['type', 'uri', 'name'] }
  ),
  fc.record(
    {
      type: fc.constant('resource'),
      resource: mostly(
        fc.record({ uri: text, mimeType: text, _meta: meta, text, blob: base64 }, { requiredKeys: ['uri'] })
      ),
      annotations,
      _meta: meta
    },
    { requiredKeys: ['type', 'resource'] }
  ),
  fc.record({ type: mostly(fc.string()), text, data: base64 }, { requiredKeys: [] }),
  anyValue
);
const result = fc.record(
  {
    content: mostly(fc.array(block, { maxLength: 3 })),
    structuredContent: anyValue,
    isError: mostly(fc.boolean()),
    _meta: meta,
    task: anyValue,
    inputRequests: anyValue,
    requestState: anyValue,
    other: anyValue
  },
  { requiredKeys: [] }
);

describe('checkCallToolResult against the SDK schema', () => {
  it('accepts exactly what the SDK accepts, but for the two 2025-era wire rules', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(result, fc.boolean(), (raw, modern) => {
        // As it arrives off the wire: JSON, so no undefined values.
        const value = JSON.parse(JSON.stringify(raw)) as Record<string, unknown>;
        const sdk = sdkParse(value);
        // A result without content that carries another result family's key is not an empty
        // success (the SDK's 2025 wire seam refuses it too; its neutral schema defaults it).
        const foreign = value.content === undefined && TOOL_RESULT_FOREIGN_KEYS.some((k) => k in value);
        // Before the modern era, structured content is an object (the SDK's 2025 wire schema).
        const scOk = modern || value.structuredContent === undefined || isObject(value.structuredContent);
        const expected = sdk.ok && !foreign && scOk;
        const ours = checkCallToolResult(value, modern) === undefined;
        if (ours) accepted++;
        else refused++;
        if (ours !== expected) return false;
        // What is accepted gets the content the SDK's parse gives it, when it had none.
        if (ours && sdk.ok && value.content === undefined) {
          expect(withEmptyContent(value).content).toEqual(sdk.value.content);
        }
        return true;
      }),
      { numRuns: 3000 }
    );
    expect(accepted).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });

  it('agrees with the SDK on every calendar edge of lastModified', () => {
    const at = (lastModified: string) => ({
      content: [{ type: 'text', text: 'a', annotations: { lastModified } }]
    });
    for (const lastModified of [
      '2025-01-01T10:00:00Z',
      '2025-01-01T10:00:00.5+05:30',
      '2024-02-29T00:00:00Z',
      '2000-02-29T00:00:00Z',
      '1900-02-29T00:00:00Z',
      '2025-02-29T00:00:00Z',
      '2025-04-31T00:00:00Z',
      '2025-01-01T10:00Z',
      '2025-01-01T10:00:00',
      '2025-01-01'
    ]) {
      const value = at(lastModified);
      expect(checkCallToolResult(value) === undefined, lastModified).toBe(sdkParse(value).ok);
    }
  });
});

describe('checkCallToolResult', () => {
  it('accepts every content type the protocol has', () => {
    expect(
      checkCallToolResult({
        content: [
          { type: 'text', text: 'a', annotations: { audience: ['user'] } },
          { type: 'image', data: 'AAAA', mimeType: 'image/png' },
          { type: 'audio', data: 'AAAA', mimeType: 'audio/wav' },
          { type: 'resource_link', uri: 'file:///a', name: 'a' },
          { type: 'resource', resource: { uri: 'file:///a', text: 'x' } },
          { type: 'resource', resource: { uri: 'file:///b', blob: 'AAAA' } }
        ],
        isError: false,
        structuredContent: { a: 1 },
        _meta: {}
      })
    ).toBeUndefined();
  });

  it('names the first problem', () => {
    expect(
      checkCallToolResult({
        content: [
          { type: 'text', text: 'a' },
          { type: 'image', data: 1 }
        ]
      })
    ).toBe('content[1]: data must be base64 and mimeType a string');
    expect(
      checkCallToolResult({ content: [{ type: 'image', data: 'not base64!', mimeType: 'image/png' }] })
    ).toBe('content[0]: data must be base64 and mimeType a string');
    expect(
      checkCallToolResult({ content: [{ type: 'resource', resource: { uri: 'u', blob: '%%%' } }] })
    ).toBe('content[0]: resource blob is not base64');
    expect(
      checkCallToolResult({ content: [{ type: 'text', text: 'a', annotations: { priority: 2 } }] })
    ).toBe('content[0]: annotations.priority must be a number from 0 to 1');
    expect(
      checkCallToolResult({ content: [{ type: 'text', text: 'a', annotations: { audience: ['system'] } }] })
    ).toBe('content[0]: annotations.audience must list user or assistant');
    expect(checkCallToolResult({ content: [{ type: 'resource', resource: { uri: 'u' } }] })).toBe(
      'content[0]: resource needs text or blob'
    );
    expect(checkCallToolResult({ content: [], _meta: 'x' })).toBe('_meta is not an object');
  });

  it('allows any structuredContent from 2026-07-28 on', () => {
    expect(checkCallToolResult({ content: [], structuredContent: 5 }, true)).toBeUndefined();
    expect(checkCallToolResult({ content: [], structuredContent: 5 })).toBe(
      'structuredContent is not an object'
    );
  });
});
