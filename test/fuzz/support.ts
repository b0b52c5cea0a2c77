/**
 * Shared pieces of the fuzz suite: run counts, hostile value generators, a byte-exact reader of the
 * tee fixture's capture, and an independent checker of what the upstreams in the end-to-end fuzz
 * tests may receive.
 *
 * Run counts: each property has a CI default sized so the whole suite stays under a minute on two
 * cores. `FUZZ_RUNS=N` sets every pure property to N runs and every end-to-end property to N / 20
 * (at least its default); `FUZZ_E2E_RUNS=N` sets the end-to-end ones directly. `FUZZ_SEED=S`
 * replays a seed that a failure printed (add `FUZZ_PATH=...` to replay exactly that case).
 *
 *   FUZZ_RUNS=100000 npx vitest run test/fuzz
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import fc from 'fast-check';

const envInt = (name: string): number | undefined => {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : undefined;
};

/** Runs for a pure-function property. */
export function pureRuns(ciDefault: number): number {
  return envInt('FUZZ_RUNS') ?? ciDefault;
}

/** Runs for an end-to-end property (real processes and sockets). */
export function e2eRuns(ciDefault: number): number {
  const direct = envInt('FUZZ_E2E_RUNS');
  if (direct !== undefined) return direct;
  const all = envInt('FUZZ_RUNS');
  return all !== undefined ? Math.max(ciDefault, Math.ceil(all / 20)) : ciDefault;
}

/** fast-check parameters: the run count, and a seed/path to replay when given. */
export function params<T>(numRuns: number): fc.Parameters<T> {
  const seed = envInt('FUZZ_SEED') ?? (process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined);
  return {
    numRuns,
    ...(seed !== undefined && Number.isFinite(seed) ? { seed } : {}),
    ...(process.env.FUZZ_PATH ? { path: process.env.FUZZ_PATH } : {}),
    // Counterexamples can hold megabyte strings; keep reports readable.
    includeErrorInReport: true,
    endOnFailure: false
  };
}

/** A per-test timeout that grows with the run count (vitest's default is 30 s). */
export function timeoutFor(runs: number, msPerRun: number, floor = 30_000): number {
  return Math.max(floor, runs * msPerRun + 20_000);
}

// ---------------------------------------------------------------------------------------------
// Hostile values

/** Arrays nested `depth` deep, emitted as raw JSON text (JS printers would overflow the stack). */
export class Deep {
  constructor(readonly depth: number) {}
  [fc.toStringMethod](): string {
    return `Deep(${this.depth})`;
  }
}

/** A string of `count` copies of `unit`, printed compactly in counterexamples. */
export class Huge {
  readonly value: string;
  constructor(
    readonly unit: string,
    readonly count: number
  ) {
    this.value = unit.repeat(count);
  }
  [fc.toStringMethod](): string {
    return `Huge(${JSON.stringify(this.unit)} x ${this.count})`;
  }
}

/** JSON text for a value that may contain Deep and Huge markers. */
export function toJsonText(value: unknown): string {
  if (value instanceof Deep) return '['.repeat(value.depth) + ']'.repeat(value.depth);
  if (value instanceof Huge) return JSON.stringify(value.value);
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const parts = Object.keys(value).map(
      (k) => `${JSON.stringify(k)}:${toJsonText((value as Record<string, unknown>)[k])}`
    );
    return `{${parts.join(',')}}`;
  }
  const text = JSON.stringify(value);
  return text === undefined ? 'null' : text;
}

/** Keys that have bitten JavaScript code before. */
export const NASTY_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
  'then',
  '',
  ' ',
  '\u0000',
  '$ref',
  '_meta',
  'length',
  '0'
] as const;

const FRAGMENTS = [
  '/',
  '..',
  '.',
  '//',
  '/../',
  './',
  'r-',
  'r-10',
  'r-1001',
  '0',
  '9',
  '-',
  ' ',
  'a',
  'z',
  'Z',
  '\u0000',
  '\n',
  '\r',
  '\t',
  '\u2028',
  '\u202e',
  '\ufeff',
  '\ud800',
  '\udfff',
  '\u00e9',
  'e\u0301',
  '\u{1d552}',
  '\u{1f600}',
  '\uffff',
  'http://',
  'file:///',
  '${HOME}',
  '$${X}',
  '%00',
  '%2e%2e',
  '\\',
  '"',
  "'",
  '*',
  '?',
  'low',
  'high',
  '/srv/public/',
  '/srv/private/'
] as const;

/** Strings that probe constraints: path tricks, unicode edge cases, near-misses of valid values. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string(), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary' }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }), weight: 1 },
  {
    arbitrary: fc
      .array(fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 3 })), { maxLength: 10 })
      .map((parts) => parts.join('')),
    weight: 6
  },
  { arbitrary: fc.constantFrom(...NASTY_KEYS), weight: 1 }
);

/** A key for an object: real parameter names, near misses, and the nasty ones. */
export const hostileKey = (known: readonly string[]): fc.Arbitrary<string> =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...known), weight: 6 },
    { arbitrary: fc.constantFrom(...NASTY_KEYS), weight: 2 },
    { arbitrary: hostileString, weight: 2 }
  );

const hugeString = fc
  .tuple(
    fc.constantFrom('a', '\u00e9', '\u{1f600}', '/..', 'r-1', '\\u0000'),
    fc.integer({ min: 1, max: 100_000 })
  )
  .map(([unit, count]) => new Huge(unit, count));

const hostileNumber = fc.oneof(
  fc.integer(),
  fc.integer({ min: -20, max: 20 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 1e308, -1e308, 5e-324, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 10, 10.000001, -5, -5.5)
);

/** Any JSON value, biased to the shapes that break code, with Deep/Huge markers. */
export const hostileValue = (keys: readonly string[] = []): fc.Arbitrary<unknown> =>
  fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      { arbitrary: hostileString, weight: 6 },
      { arbitrary: hostileNumber, weight: 3 },
      { arbitrary: fc.constantFrom(true, false, null), weight: 2 },
      { arbitrary: fc.array(tie('value'), { maxLength: 4 }), weight: 2 },
      {
        arbitrary: fc
          .array(fc.tuple(hostileKey(keys.length ? keys : ['a']), tie('value')), { maxLength: 4 })
          .map((entries) => Object.fromEntries(entries)),
        weight: 2
      },
      {
        // Around the transports' nesting bound (100 levels, counted from the message), and far past it.
        arbitrary: fc
          .oneof(fc.integer({ min: 80, max: 110 }), fc.integer({ min: 1, max: 20_000 }))
          .map((n) => new Deep(n)),
        weight: 1
      },
      { arbitrary: hugeString, weight: 1 }
    )
  })).value;

/** Arguments for a tool call: an object of hostile values over the tool's real names, or anything. */
export const hostileArguments = (keys: readonly string[]): fc.Arbitrary<unknown> =>
  fc.oneof(
    {
      arbitrary: fc
        .array(fc.tuple(hostileKey(keys), hostileValue(keys)), { maxLength: 5 })
        .map((entries) => Object.fromEntries(entries)),
      weight: 8
    },
    { arbitrary: hostileValue(keys), weight: 1 },
    { arbitrary: fc.constant(undefined), weight: 1 }
  );

/** Marks an optional argument left out. */
const ABSENT = Symbol('absent');
/** Present one time in three. */
const sometimes = (arb: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 2, arbitrary: fc.constant(ABSENT) }, { weight: 1, arbitrary: arb });

/** Wrap a value in the shapes constraints treat specially: lists (checked element-wise), nesting. */
const wrapped = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 10, arbitrary: arb },
    { weight: 1, arbitrary: fc.array(arb, { maxLength: 3 }) },
    { weight: 1, arbitrary: arb.map((v) => ({ value: v })) }
  );

/** Strings close to what the fuzz policy admits, with the tricks that might slip past it. */
const nearText = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[a-z0-9 ./-]{0,26}$/) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.stringMatching(/^[a-z0-9 ./-]{0,24}$/),
        fc.nat(),
        fc.constantFrom(...FRAGMENTS, 'A', '_', '\u0130')
      )
      .map(([s, at, frag]) => {
        const i = at % (s.length + 1);
        return s.slice(0, i) + frag + s.slice(i);
      })
  },
  { weight: 1, arbitrary: hostileString }
);

const nearId = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^r-10[0-9]{0,3}$/) },
  { weight: 2, arbitrary: fc.stringMatching(/^r-[0-9]{1,6}$/) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.constantFrom('r-1001', 'r-10', 'r-1', 'r-2001'),
        fc.constantFrom(
          '/..',
          '/../r-2001',
          '/./',
          '//',
          '\u0000',
          '\n',
          ' ',
          '0',
          '\u0661',
          '\uff10',
          '%00',
          '/'
        ),
        fc.boolean()
      )
      .map(([id, frag, before]) => (before ? frag + id : id + frag))
  },
  { weight: 1, arbitrary: hostileString }
);

const nearLevel = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom<unknown>('low', 'high', 3, true, null) },
  {
    weight: 3,
    arbitrary: fc.constantFrom<unknown>('LOW', 'low ', '3', 3.0000001, 1, false, 'null', {}, '', ['low'], [])
  },
  { weight: 1, arbitrary: hostileValue() }
);
const nearCount = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -7, max: 12 }) },
  { weight: 2, arbitrary: fc.double({ min: -6, max: 11, noNaN: true }) },
  { weight: 2, arbitrary: fc.constantFrom<unknown>('5', '1e1', 1e308, -0, null, true, [1, 20], []) },
  { weight: 1, arbitrary: hostileValue() }
);
const nearPath = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.stringMatching(/^[a-z]{1,8}(\/[a-z]{1,8}){0,2}$/).map((p) => `/srv/public/${p}`)
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom(
          '/srv/public/',
          '/srv/public',
          '/srv/private/',
          '/srv/public/../private/',
          'srv/public/'
        ),
        fc.stringMatching(/^[a-z./]{0,12}$/)
      )
      .map(([a, b]) => a + b)
  },
  { weight: 1, arbitrary: hostileString }
);

/**
 * Arguments one step from admissible, for the tools the fuzz policy allows: mostly valid values
 * with near misses, path tricks, lists and wrong types, plus stray keys.
 */
export const nearValidArguments = (tool: 'get_record' | 'list_records' | 'echo' | 'delete_record') => {
  const stray = fc.array(fc.tuple(fc.constantFrom(...NASTY_KEYS, 'extra', 'text', 'id'), hostileValue()), {
    maxLength: 1
  });
  let base: fc.Arbitrary<Record<string, unknown>>;
  if (tool === 'list_records') base = fc.constant({});
  else if (tool === 'echo')
    base = fc
      .tuple(
        fc.record({
          text: wrapped(nearText),
          level: sometimes(wrapped(nearLevel)),
          count: sometimes(wrapped(nearCount)),
          path: sometimes(wrapped(nearPath))
        }),
        fc.nat(15)
      )
      .map(([args, drop]) => {
        const present = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== ABSENT));
        if (drop !== 0) return present;
        const { text: _dropped, ...rest } = present;
        return rest;
      });
  else
    base = fc
      .tuple(fc.record({ id: wrapped(nearId) }), fc.nat(15))
      .map(([args, drop]): Record<string, unknown> => (drop === 0 ? {} : args));
  return fc
    .tuple(base, fc.oneof({ weight: 4, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: stray }))
    .map(([b, extra]) => Object.fromEntries([...Object.entries(b), ...extra]));
};

/** A tool name of the fuzz upstreams with arguments near what the policy admits. */
export const nearValidCall: fc.Arbitrary<{ name: string; arguments: Record<string, unknown> }> = fc.oneof(
  { weight: 4, arbitrary: nearValidArguments('echo').map((a) => ({ name: 'faulty__echo', arguments: a })) },
  {
    weight: 3,
    arbitrary: nearValidArguments('get_record').map((a) => ({ name: 'records__get_record', arguments: a }))
  },
  {
    weight: 1,
    arbitrary: nearValidArguments('delete_record').map((a) => ({
      name: 'records__delete_record',
      arguments: a
    }))
  },
  {
    weight: 1,
    arbitrary: nearValidArguments('list_records').map((a) => ({
      name: 'records__list_records',
      arguments: a
    }))
  }
);

// ---------------------------------------------------------------------------------------------
// The tee fixture's capture

/**
 * Reads what a tee'd upstream received, from where the last read stopped. Only complete lines are
 * returned; a partly written last line is left for the next read.
 */
export class CaptureReader {
  private offset = 0;
  constructor(readonly file: string) {}

  next(): Array<{ raw: string; message: unknown }> {
    if (!existsSync(this.file)) return [];
    const size = statSync(this.file).size;
    if (size <= this.offset) return [];
    const fd = openSync(this.file, 'r');
    const buf = Buffer.alloc(size - this.offset);
    try {
      readSync(fd, buf, 0, buf.length, this.offset);
    } finally {
      closeSync(fd);
    }
    const end = buf.lastIndexOf(0x0a);
    if (end === -1) return [];
    this.offset += end + 1;
    return buf
      .subarray(0, end)
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((raw) => ({ raw, message: JSON.parse(raw) as unknown }));
  }
}

// ---------------------------------------------------------------------------------------------
// What the end-to-end upstreams may receive

/**
 * The policy the end-to-end fuzz tests run. Constraints cover pattern (literal-prefix fast path and
 * a real RE2 pattern), prefix, enum, min/max and maxLength.
 */
export const FUZZ_RULES = `
rules:
  - id: read-records
    tool: get_record
    allowed_roles: [analyst, admin]
    parameter_constraints:
      id: { pattern: "^r-10", maxLength: 6 }
  - id: list-records
    tool: list_records
    allowed_roles: ["*"]
  - id: no-deletes
    tool: delete_record
    deny: true
  - id: echo
    tool: echo
    allowed_roles: [analyst]
    parameter_constraints:
      text: { pattern: "^[a-z0-9 ./-]{0,30}$", maxLength: 24 }
      level: { enum: [low, high, 3, true, null], optional: true }
      count: { min: -5, max: 10, optional: true }
      path: { prefix: /srv/public/, optional: true }
`;

/** The tools the fuzz policy can ever let through, by upstream tool name. */
export const FUZZ_TOOLS = ['get_record', 'list_records', 'echo'] as const;

const ECHO_TEXT = /^[a-z0-9 ./-]{0,30}$/;
const ECHO_LEVELS: unknown[] = ['low', 'high', 3, true, null];

/** Path normalisation as docs/policy.md defines it: NUL is unusable, URLs stay, the rest resolves. */
function normalised(s: string): string | undefined {
  if (s.includes('\0')) return undefined;
  if (s === '' || /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(s)) return s;
  return posix.normalize(s);
}

const codePoints = (s: string) => [...s].length;

/**
 * One constraint, as docs/policy.md states it: an absent argument fails unless optional; a list is
 * checked element by element; pattern and prefix see the normalised string.
 */
function constraintHolds(
  args: Record<string, unknown>,
  name: string,
  check: (v: unknown) => boolean,
  optional = false
): boolean {
  if (!Object.prototype.hasOwnProperty.call(args, name) || args[name] === undefined) return optional;
  const value = args[name];
  const values = Array.isArray(value) ? value : [value];
  return values.every(check);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A plain JSON object (not an array, not a Deep/Huge marker). */
export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  isObject(v) && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

/**
 * Why a tools/call an upstream received should never have been forwarded (the tool's own schema
 * or the policy forbids it), or undefined when it was admissible.
 */
export function violation(message: unknown): string | undefined {
  if (!isObject(message) || message.method !== 'tools/call') return undefined;
  const params = message.params;
  if (!isObject(params)) return 'tools/call without params object';
  const name = params.name;
  const args = params.arguments === undefined ? {} : params.arguments;
  if (!isObject(args)) return `arguments are not an object: ${typeof args}`;
  switch (name) {
    case 'get_record': {
      // Schema: { id: string matching ^r-[0-9]+$ }, required, additionalProperties false.
      const keys = Object.keys(args);
      if (keys.length !== 1 || keys[0] !== 'id') return `get_record schema: keys ${JSON.stringify(keys)}`;
      if (typeof args.id !== 'string' || !/^r-[0-9]+$/.test(args.id)) return 'get_record schema: id';
      if (
        !constraintHolds(args, 'id', (v) => {
          if (typeof v !== 'string') return false;
          const n = normalised(v);
          return n !== undefined && n.startsWith('r-10') && codePoints(v) <= 6;
        })
      )
        return 'get_record policy: id';
      return undefined;
    }
    case 'list_records':
      if (Object.keys(args).length !== 0) return 'list_records schema: no arguments allowed';
      return undefined;
    case 'echo': {
      // Schema: { text: string } required. Policy: the constraints in FUZZ_RULES.
      if (typeof args.text !== 'string') return 'echo schema: text';
      const text = constraintHolds(args, 'text', (v) => {
        if (typeof v !== 'string') return false;
        const n = normalised(v);
        return n !== undefined && ECHO_TEXT.test(n) && codePoints(v) <= 24;
      });
      if (!text) return 'echo policy: text';
      const level = constraintHolds(
        args,
        'level',
        (v) => ECHO_LEVELS.some((l) => JSON.stringify(l) === JSON.stringify(v)),
        true
      );
      if (!level) return 'echo policy: level';
      const count = constraintHolds(
        args,
        'count',
        (v) => typeof v === 'number' && Number.isFinite(v) && v >= -5 && v <= 10,
        true
      );
      if (!count) return 'echo policy: count';
      const path = constraintHolds(
        args,
        'path',
        (v) => {
          if (typeof v !== 'string') return false;
          const n = normalised(v);
          return n !== undefined && n.startsWith('/srv/public/');
        },
        true
      );
      if (!path) return 'echo policy: path';
      return undefined;
    }
    default:
      return `tool ${JSON.stringify(name)} is never allowed`;
  }
}

/** Every violation among the messages an upstream received. */
export function violations(received: Array<{ raw: string; message: unknown }>): string[] {
  const out: string[] = [];
  for (const { raw, message } of received) {
    const why = violation(message);
    if (why) out.push(`${why}: ${raw.length > 400 ? `${raw.slice(0, 400)}...` : raw}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// JSON-RPC shape checks (independent of the SDK's own schemas)

export type RpcId = string | number;

export const isRpcId = (v: unknown): v is RpcId =>
  typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v));

/** A JSON-RPC 2.0 response: result object, or error with an integer code and a string message. */
export function responseProblem(m: unknown): string | undefined {
  if (!isObject(m)) return 'not an object';
  if (m.jsonrpc !== '2.0') return 'jsonrpc is not "2.0"';
  if (!('id' in m)) return 'no id';
  if (!(m.id === null || typeof m.id === 'string' || typeof m.id === 'number')) return 'bad id';
  const hasResult = 'result' in m;
  const hasError = 'error' in m;
  if (hasResult === hasError) return 'exactly one of result and error expected';
  if (hasResult) return isObject(m.result) ? undefined : 'result is not an object';
  const e = m.error;
  if (!isObject(e)) return 'error is not an object';
  if (typeof e.code !== 'number' || !Number.isInteger(e.code)) return 'error.code is not an integer';
  if (typeof e.message !== 'string') return 'error.message is not a string';
  return undefined;
}

/** A server-to-client notification (progress, logging): method, no id. */
export function isNotification(m: unknown): boolean {
  return isObject(m) && m.jsonrpc === '2.0' && typeof m.method === 'string' && !('id' in m);
}
