/**
 * Property-based tests of the stdio framing (src/transports/stdio-transport.ts), driven through
 * in-memory streams: arbitrary lines (valid messages, JSON that is not JSON-RPC, not-JSON, empty
 * lines, invalid UTF-8, over-long lines, CRLF) cut into arbitrary chunks. Every output line must be
 * a JSON-RPC error response, exactly one per unusable line and in order, and every valid message
 * must reach onmessage exactly as sent.
 *
 * More runs: FUZZ_RUNS=100000 npx vitest run test/fuzz/stdio-framing.test.ts
 * Replay a failure: FUZZ_SEED=<seed> FUZZ_PATH=<path> npx vitest run test/fuzz/stdio-framing.test.ts
 */
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { MAX_JSON_DEPTH } from '../../src/transports/limits.js';
import { LineStdioTransport } from '../../src/transports/stdio-transport.js';
import { hostileString, isRpcId, params, pureRuns, responseProblem, timeoutFor } from './support.js';

/** The line limit the transport under test runs with (small, so over-long lines are cheap). */
const MAX = 2048;

type Expected =
  | { kind: 'deliver'; message: unknown }
  | { kind: 'error'; code: -32700 | -32600; id: string | number | null }
  | { kind: 'none' };

interface Line {
  /** The line's bytes, without its terminator. */
  bytes: Buffer;
  eol: '\n' | '\r\n';
  expected: Expected;
  /** What the line was meant to be, for readable counterexamples. */
  what: string;
}

const plainKey = fc
  .oneof(fc.string({ maxLength: 8 }), fc.constantFrom('name', 'arguments', 'cursor', 'x', 'constructor'))
  .filter((k) => k !== '_meta' && k !== '__proto__');

const jsonLeaf = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }),
  hostileString,
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null)
);

/** A JSON value (no -0: it does not survive JSON text), keys given by `key`. */
const jsonOf = (key: fc.Arbitrary<string>) =>
  fc.letrec<{ v: unknown }>((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      jsonLeaf,
      fc.array(tie('v'), { maxLength: 3 }),
      fc.array(fc.tuple(key, tie('v')), { maxLength: 3 }).map((e) => Object.fromEntries(e))
    )
  })).v;

const objectOf = (key: fc.Arbitrary<string>) =>
  fc.array(fc.tuple(key, jsonOf(key)), { maxLength: 4 }).map((e) => Object.fromEntries(e));

const rpcId = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.maxSafeInteger());
const method = fc.oneof(
  fc.constantFrom('tools/call', 'tools/list', 'initialize', 'notifications/initialized', 'ping'),
  fc.string({ maxLength: 16 })
);

/** Valid JSON-RPC 2.0 messages as MCP uses them (params and results are objects). */
const validMessage = (key: fc.Arbitrary<string>) =>
  fc.oneof(
    fc
      .record(
        { id: rpcId, method, params: objectOf(key), meta: fc.option(objectOf(key), { nil: undefined }) },
        { requiredKeys: ['id', 'method'] }
      )
      .map(({ id, method, params, meta }) => ({
        jsonrpc: '2.0',
        id,
        method,
        ...(params ? { params: meta ? { ...params, _meta: meta } : params } : {})
      })),
    fc
      .record({ method, params: objectOf(key) }, { requiredKeys: ['method'] })
      .map(({ method, params }) => ({ jsonrpc: '2.0', method, ...(params ? { params } : {}) })),
    fc.record({ id: rpcId, result: objectOf(key) }).map(({ id, result }) => ({ jsonrpc: '2.0', id, result })),
    fc
      .record(
        { id: rpcId, code: fc.integer(), message: fc.string(), data: jsonOf(key) },
        { requiredKeys: ['id', 'code', 'message'] }
      )
      .map(({ id, code, message, data }) => ({
        jsonrpc: '2.0',
        id,
        error: { code, message, ...(data !== undefined ? { data } : {}) }
      }))
  );

/** JSON that is clearly not a JSON-RPC 2.0 message, and the id an answer should carry. */
const notJsonRpc: fc.Arbitrary<unknown> = fc.oneof(
  jsonLeaf,
  fc.array(jsonOf(plainKey), { maxLength: 3 }),
  objectOf(plainKey).filter((o) => !('jsonrpc' in o)),
  validMessage(plainKey).chain((m) =>
    fc
      .constantFrom<(m: Record<string, unknown>) => unknown>(
        ({ jsonrpc: _j, ...rest }) => rest,
        (m) => ({ ...m, jsonrpc: '1.0' }),
        (m) => ({ ...m, jsonrpc: 2 }),
        (m) => ('id' in m ? { ...m, id: 1.5 } : { ...m, id: true }),
        (m) => ('id' in m ? { ...m, id: { nested: 1 } } : { ...m, id: [1] }),
        (m) => ('method' in m ? { ...m, method: 42 } : { ...m, method: 'x', result: {}, error: {} }),
        (m) => ('method' in m ? { ...m, params: 'a string' } : { ...m, result: undefined, error: undefined }),
        (m) => ('result' in m ? { ...m, error: { code: 1, message: 'both' } } : { ...m, result: 7 }),
        (m) => ('error' in m ? { ...m, error: { code: 1.5, message: 'x' } } : { ...m, result: [1] }),
        (m) => [m]
      )
      .map((mutate) => mutate(m as Record<string, unknown>))
  )
);

const utf8 = (s: string) => Buffer.from(s, 'utf8');
const INVALID_UTF8 = [
  Buffer.from([0xff]),
  Buffer.from([0xc0, 0x80]),
  Buffer.from([0x80]),
  Buffer.from([0xe2, 0x82]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xf4, 0x90, 0x80, 0x80])
];

/** The answer expected for a line that is valid JSON but maybe not a message. */
function expectForJson(value: unknown, asMessage: boolean): Expected {
  if (asMessage) return { kind: 'deliver', message: value };
  const id = (value as { id?: unknown } | null)?.id;
  return { kind: 'error', code: -32600, id: typeof id === 'string' || typeof id === 'number' ? id : null };
}

const eol = fc.constantFrom<'\n' | '\r\n'>('\n', '\r\n');

/** Containers on the deepest path of a JSON value (a bare array or object is 1). Iterative. */
function nesting(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    max = Math.max(max, depth);
    for (const child of Object.values(v as object)) stack.push([child, depth + 1]);
  }
  return max;
}

/**
 * The bounds every line meets first: over the byte limit is -32600 whatever it holds (its \r
 * counts); JSON nested past MAX_JSON_DEPTH levels is -32600, answered with its id when it has one.
 */
const withBounds = (l: Line): Line => {
  if (l.bytes.length + (l.eol === '\r\n' ? 1 : 0) > MAX) {
    return { ...l, expected: { kind: 'error', code: -32600, id: null } };
  }
  let value: unknown;
  try {
    value = JSON.parse(l.bytes.toString('utf8').replace(/\r$/, ''));
  } catch {
    return l;
  }
  if (nesting(value) <= MAX_JSON_DEPTH) return l;
  const id = (value as { id?: unknown } | null)?.id;
  return {
    ...l,
    expected: {
      kind: 'error',
      code: -32600,
      id: typeof id === 'string' || typeof id === 'number' ? id : null
    }
  };
};

const line: fc.Arbitrary<Line> = fc
  .oneof(
    // A valid message, compact, with whitespace around it, or with invalid UTF-8 inside a string.
    {
      weight: 6,
      arbitrary: fc
        .tuple(validMessage(plainKey), eol, fc.constantFrom('', ' ', '\t', '  \t'), fc.nat(4))
        .map(([message, e, pad, bad]): Line => {
          // -0 and other values JSON cannot carry are normalised by the round trip.
          const normal = JSON.parse(JSON.stringify(message)) as unknown;
          if (bad > 0) {
            // Put invalid bytes inside an extra string: it decodes to U+FFFD and stays valid JSON.
            const holder = { ...(normal as Record<string, unknown>) };
            if ('params' in holder) {
              const marker = 'MARKER\u0001';
              const withMarker = {
                ...holder,
                params: { ...(holder.params as Record<string, unknown>), s: marker }
              };
              const text = JSON.stringify(withMarker);
              const at = text.indexOf('MARKER\\u0001');
              const bytes = Buffer.concat([
                utf8(text.slice(0, at)),
                INVALID_UTF8[bad % INVALID_UTF8.length]!,
                utf8(text.slice(at + 'MARKER\\u0001'.length))
              ]);
              const decoded = JSON.parse(bytes.toString('utf8')) as unknown;
              return {
                bytes,
                eol: e,
                expected: { kind: 'deliver', message: decoded },
                what: 'message+badutf8'
              };
            }
          }
          return {
            bytes: utf8(`${pad}${JSON.stringify(message)}${pad}`),
            eol: e,
            expected: { kind: 'deliver', message: normal },
            what: 'message'
          };
        })
    },
    // Valid JSON that is not a JSON-RPC message.
    {
      weight: 3,
      arbitrary: fc.tuple(notJsonRpc, eol).map(([value, e]): Line => {
        const bytes = utf8(JSON.stringify(value));
        return { bytes, eol: e, expected: classify(bytes), what: 'not-jsonrpc' };
      })
    },
    // Not JSON at all: random text (no newline), or JSON with its tail cut off.
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          fc.oneof(
            fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
            validMessage(plainKey).map((m) => JSON.stringify(m).slice(0, -1)),
            fc.constantFrom(
              '{',
              '[',
              '{"jsonrpc":"2.0"',
              'undefined',
              'NaN',
              "{'a':1}",
              '\u0000',
              '"\\u',
              '1 2'
            )
          ),
          eol
        )
        .map(([s, e]) => [s.replace(/[\n]/g, ' '), e] as const)
        .filter(([s]) => s.trim() !== '' && !parses(s.replace(/\r$/, '')))
        .map(([s, e]): Line => ({
          bytes: utf8(s),
          eol: e,
          expected: { kind: 'error', code: -32700, id: null },
          what: 'not-json'
        }))
    },
    // Raw bytes, invalid UTF-8 included: whatever they decode to decides.
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.uint8Array({ maxLength: 30 }), fc.constantFrom(...INVALID_UTF8), eol)
        .map(([raw, bad, e]): Line => {
          const bytes = Buffer.concat([Buffer.from(raw.filter((b) => b !== 0x0a)), bad]);
          return { bytes, eol: e, expected: classify(bytes), what: 'bytes' };
        })
    },
    // Empty and blank lines: no answer.
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom('', ' ', '\t', '   ', ' \t '), eol)
        .map(([s, e]): Line => ({ bytes: utf8(s), eol: e, expected: { kind: 'none' }, what: 'blank' }))
    },
    // Nested around the depth bound and far past it, as a message or as bare JSON.
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.oneof(
            fc.integer({ min: MAX_JSON_DEPTH - 5, max: MAX_JSON_DEPTH + 5 }),
            fc.integer({ min: 1, max: 600 })
          ),
          fc.oneof(rpcId, fc.constant(undefined)),
          fc.boolean(),
          eol
        )
        .map(([depth, id, asMessage, e]): Line => {
          const inner = '['.repeat(depth) + ']'.repeat(depth);
          const text = asMessage
            ? `{"jsonrpc":"2.0",${id === undefined ? '' : `"id":${JSON.stringify(id)},`}"method":"m","params":{"x":${inner}}}`
            : inner;
          return { bytes: utf8(text), eol: e, expected: classify(utf8(text)), what: `deep(${depth})` };
        })
    },
    // Lines at and over the limit (the terminator's \r counts as part of the line).
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: MAX - 3, max: MAX * 3 }), eol, fc.boolean())
        .map(([size, e, asMessage]): Line => {
          let bytes: Buffer;
          if (asMessage) {
            const base = JSON.stringify({ jsonrpc: '2.0', method: 'm', params: { s: '' } });
            bytes = utf8(base.replace('"s":""', `"s":"${'x'.repeat(Math.max(0, size - base.length))}"`));
          } else {
            bytes = Buffer.alloc(size, 0x61);
          }
          return { bytes, eol: e, expected: classify(bytes), what: `long(${bytes.length})` };
        })
    }
  )
  .map(withBounds)
  .map((l): Line => Object.assign(l, { [fc.toStringMethod]: () => describeLine(l) }));

/** A short, readable form of a line for counterexamples. */
function describeLine(l: Line): string {
  const text = l.bytes.toString('utf8');
  const shown =
    text.length > 160 ? `${text.slice(0, 80)}...(${l.bytes.length} bytes)...${text.slice(-40)}` : text;
  return `${l.what}${l.eol === '\r\n' ? '+CRLF' : ''} ${JSON.stringify(shown)} -> ${JSON.stringify(l.expected)}`;
}

/**
 * A message as text with sorted keys: every own key (an own "__proto__" included), every value, and
 * nothing else. (Deep equality helpers compare `constructor` properties as types, which a message
 * may legitimately carry as data.)
 */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const proto = Object.getPrototypeOf(v) as unknown;
    const tag = proto === Object.prototype || proto === null ? '' : '!proto';
    const body = Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`);
    return `${tag}{${body.join(',')}}`;
  }
  return Object.is(v, -0) ? '-0' : JSON.stringify(v);
}

function parses(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

/** Independent validator of a JSON-RPC 2.0 message as MCP frames them. */
function isJsonRpcMessage(v: unknown): boolean {
  const obj = (x: unknown): x is Record<string, unknown> =>
    typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!obj(v) || v.jsonrpc !== '2.0') return false;
  const keys = Object.keys(v).sort().join(',');
  const paramsOk =
    !('params' in v) || (obj(v.params) && (v.params._meta === undefined || obj(v.params._meta)));
  if (keys === 'id,jsonrpc,method' || keys === 'id,jsonrpc,method,params')
    return isRpcId(v.id) && typeof v.method === 'string' && paramsOk;
  if (keys === 'jsonrpc,method' || keys === 'jsonrpc,method,params')
    return typeof v.method === 'string' && paramsOk;
  if (keys === 'id,jsonrpc,result') return isRpcId(v.id) && obj(v.result);
  if (keys === 'error,id,jsonrpc') {
    const e = v.error;
    if (!isRpcId(v.id) || !obj(e) || typeof e.message !== 'string') return false;
    if (typeof e.code !== 'number' || !Number.isSafeInteger(e.code)) return false;
    return Object.keys(e).every((k) => k === 'code' || k === 'message' || k === 'data');
  }
  return false;
}

/** What a line of raw bytes should produce (for lines whose meaning is not known by construction). */
function classify(bytes: Buffer): Expected {
  const text = bytes.toString('utf8').replace(/\r$/, '');
  if (text.trim() === '') return { kind: 'none' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'error', code: -32700, id: null };
  }
  return expectForJson(value, isJsonRpcMessage(value));
}

/** Cut `data` at the given relative points. */
function chunk(data: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * data.length)))]
    .filter((p) => p > 0 && p < data.length)
    .sort((a, b) => a - b);
  const out: Buffer[] = [];
  let start = 0;
  for (const p of points) {
    out.push(data.subarray(start, p));
    start = p;
  }
  out.push(data.subarray(start));
  return out;
}

async function drive(lines: Line[], cuts: number[]) {
  const input = new PassThrough();
  const output = new PassThrough();
  const written: Buffer[] = [];
  output.on('data', (d: Buffer) => written.push(d));
  const transport = new LineStdioTransport(input, output, MAX);
  const delivered: JSONRPCMessage[] = [];
  transport.onmessage = (m) => delivered.push(m);
  transport.onerror = () => undefined;
  let closed = false;
  const done = new Promise<void>((resolve) => {
    transport.onclose = () => {
      closed = true;
      resolve();
    };
  });
  await transport.start();
  const data = Buffer.concat(lines.flatMap((l) => [l.bytes, Buffer.from(l.eol)]));
  for (const part of chunk(data, cuts)) input.write(part);
  input.end();
  await Promise.race([done, new Promise((r) => setTimeout(r, 2000))]);
  await new Promise((r) => setImmediate(r));
  return { out: Buffer.concat(written).toString('utf8'), delivered, closed };
}

const runs = pureRuns(1000);

describe('LineStdioTransport framing (fuzz)', () => {
  it(
    'answers every unusable line with one JSON-RPC error, in order, and delivers every message exactly',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(line, { minLength: 1, maxLength: 12 }),
          fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
          async (lines, cuts) => {
            const { out, delivered, closed } = await drive(lines, cuts);
            expect(closed).toBe(true);
            // Output: complete lines only, each a JSON-RPC error response.
            expect(out === '' || out.endsWith('\n')).toBe(true);
            const outLines = out === '' ? [] : out.slice(0, -1).split('\n');
            const answers = outLines.map((l) => JSON.parse(l) as Record<string, unknown>);
            for (const a of answers) expect(responseProblem(a)).toBeUndefined();
            const wantErrors = lines.flatMap((l) => (l.expected.kind === 'error' ? [l.expected] : []));
            const wantMessages = lines.flatMap((l) =>
              l.expected.kind === 'deliver' ? [l.expected.message] : []
            );
            expect(answers.map((a) => [(a.error as { code: number }).code, a.id])).toStrictEqual(
              wantErrors.map((e) => [e.code, e.id])
            );
            expect(delivered.map(canonical)).toStrictEqual(wantMessages.map(canonical));
          }
        ),
        params(runs)
      );
    },
    timeoutFor(runs, 5)
  );

  it(
    'delivers messages whose params carry an own "__proto__" key exactly',
    async () => {
      // Same property, for the one key the JSON-RPC layer treats specially.
      const protoKey = fc.oneof(plainKey, fc.constant('__proto__'));
      await fc.assert(
        fc.asyncProperty(validMessage(protoKey), async (message) => {
          const text = JSON.stringify(message);
          const expected = JSON.parse(text) as unknown;
          const { out, delivered } = await drive(
            [
              {
                bytes: utf8(text),
                eol: '\n',
                expected: { kind: 'deliver', message: expected },
                what: 'message'
              }
            ],
            []
          );
          expect(out).toBe('');
          expect(delivered.map(canonical)).toStrictEqual([canonical(expected)]);
        }),
        params(pureRuns(300))
      );
    },
    timeoutFor(pureRuns(300), 5)
  );

  it('keeps framing after an over-long line and never buffers past the limit', async () => {
    const big = Buffer.alloc(MAX * 50, 0x7b);
    const ok = { jsonrpc: '2.0', id: 1, method: 'ping' };
    const { out, delivered } = await drive(
      [
        { bytes: big, eol: '\n', expected: { kind: 'error', code: -32600, id: null }, what: 'big' },
        { bytes: utf8(JSON.stringify(ok)), eol: '\n', expected: { kind: 'deliver', message: ok }, what: 'ok' }
      ],
      [0.1, 0.2, 0.3, 0.99]
    );
    expect(out.trim().split('\n')).toHaveLength(1);
    expect(delivered.map(canonical)).toStrictEqual([canonical(ok)]);
  });
});
