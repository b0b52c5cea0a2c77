/**
 * Property-based tests of the config loader (src/config): arbitrary documents, documents built
 * from the real JSON Schema with near-miss keys, wrong types, `${...}` strings, anchors and
 * aliases, huge numbers and unicode, and raw text. `loadConfig` must return a config or throw a
 * ConfigError whose every issue has a file, a line and a column >= 1 and a message; `readYaml` must
 * return a source whose issues are as well-formed. Nothing else may be thrown, and nothing may hang.
 *
 * More runs: FUZZ_RUNS=100000 npx vitest run test/fuzz/config.test.ts
 * Replay a failure: FUZZ_SEED=<seed> FUZZ_PATH=<path> npx vitest run test/fuzz/config.test.ts
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as yamlStringify } from 'yaml';
import { loadConfig } from '../../src/config/index.js';
import { configSchema } from '../../src/config/schema.js';
import { readYaml } from '../../src/config/source.js';
import { ConfigError, type ConfigIssue } from '../../src/errors.js';
import { NODE, ROOT, tempDir } from '../helpers.js';
import { e2eRuns, hostileString, NASTY_KEYS, params, pureRuns, timeoutFor } from './support.js';

/** A case must finish well within this (the loader is synchronous: a hang shows as a slow case). */
const SLOW_MS = 5_000;

let dir: string;
let file: string;

// The yaml library warns on stderr for every mapping key that is itself a collection (`? [a]: 1`);
// the fuzzer writes thousands of those. Keep the output readable; every other warning still shows.
const emitWarning = process.emitWarning;
afterAll(() => {
  process.emitWarning = emitWarning;
});

beforeAll(() => {
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (String(warning).startsWith('Keys with collection values will be stringified')) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  dir = tempDir('portcullis-fuzz-config-');
  file = join(dir, 'portcullis.yaml');
  // A real token file the documents may point at (directly or through ${TOKENS}).
  writeFileSync(
    join(dir, 'tokens.yaml'),
    'tokens:\n  - { id: t1, roles: [a], token: "${TOKEN}" }\n  - { id: t2, roles: [b], sha256: "' +
      'a'.repeat(64) +
      '" }\n'
  );
});

// ---------------------------------------------------------------------------------------------
// Generators

const ENV_NAMES = ['TOKEN', 'HOME', 'X', 'A_B', 'PORT', 'TOKENS', 'EMPTY', 'lower', '_U'] as const;

const env = fc
  .dictionary(
    fc.constantFrom(...ENV_NAMES),
    fc.oneof(
      hostileString,
      fc.constantFrom('tokens.yaml', 'admin-token-0123456789abcdef', '8080', '', '${X}', '$${X}', '/')
    ),
    { maxKeys: 6 }
  )
  .map((e) => ({ TOKEN: 'fuzz-token-0123456789abcdef', ...e }));

/** Strings a config author (or an attacker with a typo) might write. */
const configString = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '${TOKEN}',
      '${TOKENS}',
      '${UNSET_VAR}',
      '${}',
      '${1A}',
      '${A',
      '$${X}',
      '$$${TOKEN}',
      '${X}${X}',
      'prefix-${HOME}-suffix',
      'tokens.yaml',
      './tokens.yaml',
      '*',
      '?',
      'read_*',
      'files__read_file',
      'a__b',
      '^/data/public/',
      '(',
      '[a-',
      '(?P<x>a)',
      'a{1000}{1000}',
      '\\p{L}+',
      '90s',
      '10m',
      '1h',
      '-1s',
      '1y',
      '09:00-17:00',
      '25:00-26:00',
      '23:00-01:00',
      'Europe/Berlin',
      'UTC',
      'Not/AZone',
      '2026-01-01',
      '2026-02-30',
      '2026-01-01T00:00:00Z',
      'not a date',
      '10/min',
      '0/s',
      '99999999999999999999/hour',
      'http://127.0.0.1:1/mcp',
      'https://id.example.com',
      'ftp://x',
      'not a url',
      'admin',
      'analyst',
      'args.amount >= 10000',
      'args.x ==',
      'true',
      'RS256',
      'none',
      'HS256',
      'admin-token-0123456789abcdef',
      'short',
      'a'.repeat(64)
    )
  }
);

/** Numbers, the huge and the odd ones included (YAML adds .inf and .nan below). */
const configNumber = fc.oneof(
  fc.integer({ min: -3, max: 70_000 }),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.constantFrom(0, -0, 1, 1024, 65535, 65536, 2 ** 31, 2 ** 53 + 1, 1e21, 1e308, -1e308, 0.5)
);

const jsonAny = fc.jsonValue({ maxDepth: 3 });

type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  enum?: readonly unknown[];
  anyOf?: readonly Schema[];
  required?: readonly string[];
  minimum?: number;
  maximum?: number;
};

/** A key one edit away from a real one (the did-you-mean case), or a nasty one. */
const nearKey = (known: string[]): fc.Arbitrary<string> =>
  fc.oneof(
    fc
      .tuple(fc.constantFrom(...known), fc.nat(), fc.constantFrom('drop', 'dup', 'case', 'plural', 'dash'))
      .map(([k, at, how]) => {
        const i = at % Math.max(1, k.length);
        if (how === 'drop') return k.slice(0, i) + k.slice(i + 1);
        if (how === 'dup') return k.slice(0, i) + k[i] + k.slice(i);
        if (how === 'case') return k.toUpperCase();
        if (how === 'plural') return `${k}s`;
        return k.replace(/_/g, '-');
      }),
    fc.constantFrom(...NASTY_KEYS),
    fc.string({ unit: 'binary', maxLength: 6 })
  );

const SERVER_NAMES = ['files', 'records', 'a-b', 'a_b', 'a__b', '_x', 'x_', 'web', '1', ''] as const;

/** Values shaped by the schema, wrong in some places on purpose. */
function fromSchema(schema: Schema, depth: number): fc.Arbitrary<unknown> {
  const wrong = depth > 5 ? jsonAny : fc.oneof(jsonAny, configString, configNumber);
  let right: fc.Arbitrary<unknown>;
  if (schema.enum) {
    right = fc.oneof(fc.constantFrom(...schema.enum), configString);
  } else if (schema.anyOf) {
    right = fc.oneof(...schema.anyOf.map((s) => fromSchema(s, depth + 1)));
  } else if (
    schema.type === 'object' ||
    schema.properties ||
    typeof schema.additionalProperties === 'object'
  ) {
    const props = schema.properties ?? {};
    const names = Object.keys(props);
    const known =
      names.length > 0
        ? fc
            .subarray(names)
            .chain((chosen) =>
              fc.tuple(...chosen.map((n) => fromSchema(props[n]!, depth + 1).map((v) => [n, v] as const)))
            )
        : fc.constant([] as Array<readonly [string, unknown]>);
    const mapEntries =
      typeof schema.additionalProperties === 'object' && depth < 6
        ? fc.array(
            fc.tuple(
              fc.oneof(fc.constantFrom(...SERVER_NAMES), nearKey(['files', 'records'])),
              fromSchema(schema.additionalProperties, depth + 1)
            ),
            { maxLength: 3 }
          )
        : fc.constant([] as Array<[string, unknown]>);
    const extra = fc.oneof(
      { weight: 5, arbitrary: fc.constant([] as Array<[string, unknown]>) },
      {
        weight: 1,
        arbitrary: fc.array(fc.tuple(nearKey(names.length ? names : ['x']), jsonAny), { maxLength: 2 })
      }
    );
    right = fc
      .tuple(known, mapEntries, extra)
      .map(([a, b, c]) => Object.fromEntries([...a, ...b, ...c] as Array<[string, unknown]>));
  } else if (schema.type === 'array') {
    right = fc.array(schema.items ? fromSchema(schema.items, depth + 1) : jsonAny, { maxLength: 3 });
  } else if (schema.type === 'string') {
    right = configString;
  } else if (schema.type === 'integer' || schema.type === 'number') {
    right = configNumber;
  } else if (schema.type === 'boolean') {
    right = fc.boolean();
  } else {
    right = jsonAny;
  }
  return fc.oneof({ weight: 12, arbitrary: right }, { weight: 1, arbitrary: wrong });
}

const schemaDocument = fromSchema(configSchema as unknown as Schema, 0);

/** Numbers as YAML writes them that JSON cannot: infinities, NaN, hex, octal. */
const YAML_NUMBERS = ['.inf', '-.inf', '.nan', '0x7fffffff', '0o777', '1e400', '-1e400', '1_000', '+12'];

/** Render a document as JSON or YAML text, sometimes with YAML-only scalars spliced in. */
const rendered = (doc: fc.Arbitrary<unknown>) =>
  fc
    .tuple(doc, fc.constantFrom('json', 'yaml', 'yaml-flow'), fc.array(fc.nat(), { maxLength: 3 }))
    .map(([value, how, splices]) => {
      let text =
        how === 'json'
          ? JSON.stringify(value, null, 1)
          : yamlStringify(value, {
              collectionStyle: how === 'yaml-flow' ? 'flow' : 'any',
              aliasDuplicateObjects: false
            });
      // Replace some numbers with YAML-only spellings.
      let n = 0;
      text = text.replace(/(:\s)(-?\d+(?:\.\d+)?)(?=\s*[,\n}\]])/g, (m, pre: string) => {
        const hit = splices.find((s) => s % 7 === n++ % 7);
        return hit !== undefined ? `${pre}${YAML_NUMBERS[hit % YAML_NUMBERS.length]}` : m;
      });
      return text;
    });

/** YAML with anchors and aliases: shared, nested, merged, and self-referencing. */
const aliasDocument = fc
  .tuple(
    fc.constantFrom('servers', 'rules', 'auth', 'policy', 'listen', 'x'),
    fc.constantFrom(
      'servers: &a { files: *a }',
      'rules: &r [ { tool: x, where: *r } ]',
      'rules: [ &c { tool: x, parameter_constraints: { p: { enum: [ *c ] } } } ]',
      'auth: &a { stdio: { identity: x, roles: *a } }',
      'policy: { tool_risk: &t { a: 1, b: *t } }',
      'base: &b { command: node }\nservers: { files: { <<: *b, args: [] } }',
      'servers: { files: &s { command: node } , records: *s }',
      'rules:\n  - &r1 { tool: a, allowed_roles: [x] }\n  - *r1',
      'x: &a [ *a, *a ]',
      'rules: [ { tool: a, parameter_constraints: &p { q: *p } } ]'
    ),
    fc.nat(3)
  )
  .map(([, text, extra]) => text + '\n'.repeat(extra));

/** Token soup: fragments of YAML syntax in random order. */
const yamlSoup = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        ':',
        ': ',
        '- ',
        '? ',
        '{',
        '}',
        '[',
        ']',
        ',',
        '&a ',
        '*a',
        '<<: ',
        '!!str ',
        '!!int ',
        '!!binary ',
        '!tag ',
        '|',
        '>',
        '#',
        '---',
        '...',
        '%YAML 1.2',
        '%TAG ! tag:x,2000:',
        '"',
        "'",
        '\\',
        '\t',
        '  ',
        '\n',
        '\r\n',
        '\u00a0',
        '\ufeff',
        'servers',
        'rules',
        'tool',
        'auth',
        '.inf',
        '~',
        '${X}'
      ),
      fc.string({ unit: 'binary', maxLength: 4 })
    ),
    { maxLength: 40 }
  )
  .map((parts) => parts.join(''));

/** A valid config whose every numeric setting is drawn from huge, odd and YAML-only numbers. */
const numericValue = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: configNumber.map((n) => JSON.stringify(n)) },
  { weight: 2, arbitrary: fc.constantFrom(...YAML_NUMBERS, '2147483648', '4294967296', '1e10', '3e6') }
);
const NUMERIC_KEYS = [
  'timeout_ms_a',
  'timeout_ms_b',
  'failures',
  'window_s',
  'duration_s',
  'timeout_s',
  'progress_interval_s',
  'approvers',
  'port',
  'max_body_bytes',
  'budget',
  'approval_at',
  'tool_risk',
  'max_calls',
  'risk',
  'min',
  'max',
  'maxLength'
] as const;
const numericDocument = fc.tuple(...NUMERIC_KEYS.map(() => numericValue)).map((values) => {
  const v = Object.fromEntries(NUMERIC_KEYS.map((k, i) => [k, values[i]]));
  const kv = (key: string, name: string) => (v[name] === undefined ? '' : `${key}: ${v[name]}, `);
  return [
    'servers:',
    `  files: { ${kv('timeout_ms', 'timeout_ms_a')}command: node, args: [x] }`,
    `  web: { ${kv('timeout_ms', 'timeout_ms_b')}url: "http://127.0.0.1:1/mcp" }`,
    'auth:',
    '  tokens: [ { id: t, roles: [a], token: "${TOKEN}" } ]',
    '  stdio: { identity: me, roles: [a] }',
    `  lockout: { ${kv('failures', 'failures')}${kv('window_s', 'window_s')}${kv('duration_s', 'duration_s')} }`,
    `approvals: { ${kv('timeout_s', 'timeout_s')}${kv('progress_interval_s', 'progress_interval_s')}${kv('approvers', 'approvers')} }`,
    `listen: { ${kv('port', 'port')}${kv('max_body_bytes', 'max_body_bytes')} }`,
    `policy: { risk: { ${kv('budget', 'budget')}${kv('approval_at', 'approval_at')} }, tool_risk: { ${kv('a', 'tool_risk')} } }`,
    'rules:',
    `  - { tool: a, allowed_roles: [a], ${kv('max_calls_per_session', 'max_calls')}${kv('risk', 'risk')}parameter_constraints: { p: { ${kv('min', 'min')}${kv('max', 'max')}${kv('maxLength', 'maxLength')}optional: true } } }`,
    ''
  ].join('\n');
});

// ---------------------------------------------------------------------------------------------
// The property

function checkIssue(issue: ConfigIssue): void {
  expect(typeof issue.file).toBe('string');
  expect(issue.file.length).toBeGreaterThan(0);
  expect(Number.isInteger(issue.line), `line ${issue.line}`).toBe(true);
  expect(Number.isInteger(issue.col), `col ${issue.col}`).toBe(true);
  expect(issue.line).toBeGreaterThanOrEqual(1);
  expect(issue.col).toBeGreaterThanOrEqual(1);
  expect(typeof issue.message).toBe('string');
  expect(issue.message.trim().length).toBeGreaterThan(0);
  expect(typeof issue.path).toBe('string');
}

/** Load `text`: a config, or a well-formed ConfigError; anything else fails the property. */
function loadsOrExplains(
  text: string,
  environment: NodeJS.ProcessEnv
): ReturnType<typeof loadConfig> | undefined {
  const started = performance.now();
  let config: ReturnType<typeof loadConfig> | undefined;
  try {
    config = loadConfig(file, { text, env: environment });
  } catch (err) {
    if (!(err instanceof ConfigError)) {
      throw new Error(
        `loadConfig threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}\n--- document ---\n${text.slice(0, 2000)}`
      );
    }
    expect(err.issues.length).toBeGreaterThan(0);
    for (const issue of err.issues) checkIssue(issue);
  }
  expect(performance.now() - started).toBeLessThan(SLOW_MS);
  return config;
}

const runs = pureRuns(800);
/** The schema-shaped documents are the slowest to generate and load. */
const schemaRuns = pureRuns(600);

describe('loadConfig (fuzz)', () => {
  it(
    'returns a config or throws a ConfigError with positions, for arbitrary JSON documents',
    () => {
      fc.assert(
        fc.property(rendered(fc.oneof(fc.jsonValue(), fc.object())), env, (text, e) => {
          loadsOrExplains(text, e);
        }),
        params(runs)
      );
    },
    timeoutFor(runs, 10)
  );

  it(
    'returns a config or throws a ConfigError with positions, for documents near the real schema',
    () => {
      fc.assert(
        fc.property(rendered(schemaDocument), env, (text, e) => {
          loadsOrExplains(text, e);
        }),
        params(schemaRuns)
      );
    },
    timeoutFor(schemaRuns, 30)
  );

  it(
    'returns a config or throws a ConfigError with positions, for YAML with anchors and aliases',
    () => {
      fc.assert(
        fc.property(aliasDocument, env, (text, e) => {
          loadsOrExplains(text, e);
        }),
        params(pureRuns(200))
      );
    },
    timeoutFor(pureRuns(200), 10)
  );

  it(
    'returns a config or throws a ConfigError with positions, for YAML token soup and raw text',
    () => {
      fc.assert(
        fc.property(fc.oneof(yamlSoup, fc.string({ unit: 'binary' }), fc.string()), env, (text, e) => {
          loadsOrExplains(text, e);
        }),
        params(runs)
      );
    },
    timeoutFor(runs, 10)
  );

  it(
    'returns configs whose numbers are finite and whose timers fit a Node timer',
    () => {
      // A timer over 2^31-1 ms fires after 1 ms (TimeoutOverflowWarning): an upstream timeout of
      // .inf or 1e10 would time out every request at once.
      const TIMER_MAX = 2 ** 31 - 1;
      fc.assert(
        fc.property(numericDocument, (text) => {
          const config = loadsOrExplains(text, { TOKEN: 'fuzz-token-0123456789abcdef' });
          if (!config) return;
          const numbers: Array<[string, number]> = [];
          const walk = (v: unknown, path: string) => {
            if (typeof v === 'number') numbers.push([path, v]);
            else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
            else if (v && typeof v === 'object')
              for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
          };
          walk(config, '');
          for (const [path, n] of numbers) expect(Number.isFinite(n), `${path} = ${n}`).toBe(true);
          for (const [name, s] of Object.entries(config.servers))
            expect(s.timeout_ms, `servers.${name}.timeout_ms`).toBeLessThanOrEqual(TIMER_MAX);
          expect(config.approvals.timeout_s * 1000, 'approvals.timeout_s').toBeLessThanOrEqual(TIMER_MAX);
          expect(
            config.approvals.progress_interval_s * 1000,
            'approvals.progress_interval_s'
          ).toBeLessThanOrEqual(TIMER_MAX);
        }),
        params(runs)
      );
    },
    timeoutFor(runs, 10)
  );
});

describe('loadConfig keeps what it is given (fuzz)', () => {
  it(
    'loads every server and every parameter constraint the file names, or says why not',
    () => {
      const name = fc.oneof(
        fc.constantFrom('path', 'id', 'text', 'a-b', 'x_y', ...NASTY_KEYS),
        fc.string({ minLength: 1, maxLength: 6 })
      );
      fc.assert(
        fc.property(
          fc.uniqueArray(name, { minLength: 1, maxLength: 4 }),
          fc.uniqueArray(name, { minLength: 1, maxLength: 4 }),
          (servers, params) => {
            const q = (s: string) => JSON.stringify(s);
            const text = [
              'servers:',
              ...servers.map((s) => `  ${q(s)}: { command: node }`),
              'rules:',
              '  - tool: t',
              '    allowed_roles: [r]',
              '    parameter_constraints:',
              ...params.map((p) => `      ${q(p)}: { maxLength: 3 }`),
              ''
            ].join('\n');
            const config = loadsOrExplains(text, {});
            if (!config) return; // refused, with positions: fine
            // Loaded: then nothing was dropped on the way.
            expect(Object.keys(config.servers).sort(), text).toStrictEqual([...servers].sort());
            expect(Object.keys(config.rules[0]?.parameter_constraints ?? {}).sort(), text).toStrictEqual(
              [...params].sort()
            );
          }
        ),
        params(pureRuns(300))
      );
    },
    timeoutFor(pureRuns(300), 10)
  );
});

describe('loadConfig on deeply nested documents (fuzz, in a child process)', () => {
  // Deep nesting exhausts the stack inside the YAML parser; a crash there would take the test
  // worker down, so each sequence of loads runs in its own `node` process (from dist/: build
  // first). The gateway loads its config again on every change (hot reload), so one process must
  // survive any sequence of files.
  const loadInChild = (docs: Array<{ shape: string; depth: number }>) => {
    const script = `
      import { loadConfig } from ${JSON.stringify(join(ROOT, 'dist/config/index.js'))};
      const make = ({ shape, depth }) =>
        shape === 'flow' ? 'x: ' + '['.repeat(depth) + ']'.repeat(depth)
        : shape === 'map' ? 'x: ' + '{a: '.repeat(depth) + '1' + '}'.repeat(depth)
        : Array.from({ length: depth }, (_, i) => ' '.repeat(i) + 'a:').join('\\n') + ' 1';
      const out = [];
      for (const doc of ${JSON.stringify(docs)}) {
        try { loadConfig('/tmp/portcullis-deep.yaml', { text: make(doc) }); out.push('ok'); }
        catch (e) {
          const good = e?.name === 'ConfigError' && e.issues.length > 0 &&
            e.issues.every((i) => i.line >= 1 && i.col >= 1 && String(i.message).length > 0);
          out.push(good ? 'config-error' : 'threw ' + e?.name + ': ' + e?.message);
        }
      }
      process.stdout.write(JSON.stringify(out));`;
    const r = spawnSync(NODE, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    return {
      status: r.status,
      signal: r.signal,
      out: r.stdout,
      err: r.stderr.split('\n').slice(0, 3).join(' | ')
    };
  };

  it('survives a 1,000-deep then a 50,000-deep flow sequence (found while fuzzing nesting depth)', () => {
    // Node aborts here (FATAL ERROR: RegExpCompiler Allocation failed - process out of memory):
    // the YAML parser's recursion overflows the stack, and on the second document the overflow
    // lands inside V8's regexp compiler, which treats it as out-of-memory and kills the process.
    const r = loadInChild([
      { shape: 'flow', depth: 1000 },
      { shape: 'flow', depth: 50_000 }
    ]);
    expect(r, JSON.stringify(r)).toMatchObject({ status: 0, out: '["config-error","config-error"]' });
  });

  it(
    'survives any sequence of deeply nested documents, each refused with a positioned ConfigError',
    () => {
      const doc = fc.record({
        shape: fc.constantFrom('flow', 'map', 'block'),
        depth: fc.oneof(fc.integer({ min: 50, max: 3000 }), fc.integer({ min: 3000, max: 60_000 }))
      });
      fc.assert(
        fc.property(fc.array(doc, { minLength: 1, maxLength: 4 }), (docs) => {
          const sized = docs.map((d) => (d.shape === 'block' ? { ...d, depth: Math.min(d.depth, 2500) } : d));
          const r = loadInChild(sized);
          expect(r.status, JSON.stringify(r)).toBe(0);
          for (const outcome of JSON.parse(r.out) as string[])
            expect(['ok', 'config-error']).toContain(outcome);
        }),
        // Every shrink step starts a process (and an abort takes a while): report the first failure.
        { ...params(e2eRuns(4)), endOnFailure: true }
      );
    },
    timeoutFor(e2eRuns(4), 5_000)
  );
});

describe('readYaml (fuzz)', () => {
  it(
    'returns a source whose issues have positions, for arbitrary text, and throws nothing',
    () => {
      fc.assert(
        fc.property(
          fc.oneof(
            yamlSoup,
            aliasDocument,
            fc.string({ unit: 'binary' }),
            fc.string(),
            rendered(fc.jsonValue())
          ),
          (text) => {
            const src = readYaml(file, text);
            for (const issue of src.issues) checkIssue(issue);
            if (src.issues.length > 0) expect(src.value).toBeUndefined();
          }
        ),
        params(pureRuns(3000))
      );
    },
    timeoutFor(pureRuns(3000), 5)
  );

  it(
    'survives alias expansion bombs without throwing',
    () => {
      // The yaml library refuses documents whose aliases would expand past maxAliasCount by throwing.
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 4 }), (count, levels) => {
          let text = 'a0: &a0 [x, y]\n';
          for (let l = 1; l <= levels; l++)
            text += `a${l}: &a${l} [${Array(count)
              .fill(`*a${l - 1}`)
              .join(', ')}]\n`;
          const src = readYaml(file, text);
          for (const issue of src.issues) checkIssue(issue);
        }),
        params(pureRuns(100))
      );
    },
    timeoutFor(pureRuns(100), 20)
  );
});
