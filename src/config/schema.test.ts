/**
 * The schema is the one source of the config's defaults: what a minimal file resolves to is
 * exactly what the schema's `default`s say, field for field, and nothing else is filled in behind
 * its back. The type-level half (types.ts against the schema) is schema-types.ts; here it is shown
 * to catch a difference.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { durationMs } from '../policy/conditions.js';
import { ConfigError, formatIssue } from '../errors.js';
import { configSchema, loadConfig, type GatewayConfig } from './index.js';
import type { Same, SchemaConfig } from './schema-types.js';
import type { RuleConfig, StateConfig } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'portcullis-schema-'));
let n = 0;
function load(doc: unknown): GatewayConfig {
  const path = join(dir, `c${n++}.yaml`);
  writeFileSync(path, stringify(doc));
  return loadConfig(path, { env: {} });
}

type Node = {
  default?: unknown;
  properties?: Record<string, Node>;
  additionalProperties?: boolean | Node;
  items?: Node;
  anyOf?: Node[];
  if?: { required?: string[] };
  then?: Node;
  else?: Node;
};

/** Where a default applies: its path (`*` for any key of a map), and the branch it belongs to. */
interface Default {
  path: string[];
  value: unknown;
  /** A section's `default: {}`, there so the defaults inside it apply. */
  section: boolean;
  /** Keys the object must (then) or must not (else) have for this default to apply. */
  when?: { keys: string[]; present: boolean };
}

function defaultsIn(node: Node, path: string[] = [], when?: Default['when']): Default[] {
  const found: Default[] = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    if (child.default !== undefined)
      found.push({ path: [...path, key], value: child.default, section: !!child.properties, when });
    found.push(...defaultsIn(child, [...path, key]));
  }
  if (typeof node.additionalProperties === 'object')
    found.push(...defaultsIn(node.additionalProperties, [...path, '*']));
  if (node.items) found.push(...defaultsIn(node.items, [...path, '[]']));
  const keys = node.if?.required ?? [];
  if (node.then) found.push(...defaultsIn(node.then, path, { keys, present: true }));
  if (node.else) found.push(...defaultsIn(node.else, path, { keys, present: false }));
  return found;
}

const schemaDefaults = defaultsIn(configSchema as unknown as Node);

/**
 * Minimal documents that between them reach every default: nothing at all, and each optional block
 * with only its required keys, once for each branch of an if/then/else. The server is always `s`.
 */
const documents: Record<string, unknown>[] = [
  {},
  {
    servers: { s: { command: 'node' } },
    auth: { stdio: { identity: 'me' } },
    approvals: { webhook: { url: 'https://hooks.example/held' } },
    telemetry: { otlp: { endpoint: 'http://collector.example:4318' } }
  },
  { servers: { s: { url: 'http://127.0.0.1:1/mcp' } }, audit: { postgres: { url: 'postgres://db/audit' } } }
];

/** The fields where build() turns the schema's value into the gateway's. */
const resolvedAs: Record<string, (value: unknown, config: GatewayConfig) => [unknown, unknown]> = {
  'servers.*.enabled': (value, config) => ['s' in config.servers, value],
  'audit.path': (value, config) => [config.audit.path, resolve(dir, value as string)],
  'scanning.pins.path': (value, config) => [config.scanning.pins.path, resolve(dir, value as string)],
  'state.session_ttl': (value, config) => [config.state.session_ttl_ms, durationMs(value as string)],
  'servers.*.idle_timeout': (value, config) => {
    const s = config.servers.s;
    return [s?.kind === 'stdio' ? s.idle_timeout_ms : undefined, durationMs(value as string)];
  }
};
/** Fields of a minimal config that no schema default gives, and why. */
const derived = new Set([
  'source', // the file itself
  'servers', // no servers: a file of rules alone has none
  'auth.tokens', // no tokens: none is the only way to have no tokens
  'state.session_ttl_ms' // state.session_ttl, parsed
]);

function written(doc: Record<string, unknown>, path: string[]): Record<string, unknown> | undefined {
  let node: unknown = doc;
  for (const part of path) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part === '*' ? 's' : part];
  }
  return node && typeof node === 'object' ? (node as Record<string, unknown>) : undefined;
}

function valueAt(config: unknown, path: string[]): unknown {
  let node = config;
  for (const part of path) node = (node as Record<string, unknown> | undefined)?.[part === '*' ? 's' : part];
  return node;
}

describe("the schema's defaults", () => {
  it('are the values a minimal config resolves to, every one of them', () => {
    expect(schemaDefaults.length).toBeGreaterThan(60);
    const configs = documents.map((doc) => ({ doc, config: load(doc) }));
    for (const d of schemaDefaults) {
      const name = d.path.join('.');
      expect(d.path, `${name}: a default inside a list needs a document here`).not.toContain('[]');
      const parent = d.path.slice(0, -1);
      // The documents where this default applies: its object is there (written, or defaulted by
      // the schema), and its branch is the one taken.
      const applies = configs.filter(({ doc, config }) => {
        if (valueAt(config, parent) === undefined && !(parent.length > 0 && written(doc, parent)))
          return false;
        if (!d.when) return true;
        const object = written(doc, parent) ?? {};
        return d.when.keys.every((k) => k in object) === d.when.present;
      });
      expect(applies.length, `${name}: no document reaches this default`).toBeGreaterThan(0);
      for (const { config } of applies) {
        const [actual, expected] = resolvedAs[name]?.(d.value, config) ?? [valueAt(config, d.path), d.value];
        if (d.section) expect(actual, name).toMatchObject(expected as object);
        else expect(actual, name).toEqual(expected);
      }
    }
  });

  it('are the only values a minimal config gets that the file did not say', () => {
    const config = load({});
    const explained = new Set(schemaDefaults.map((d) => d.path.join('.')));
    const leaves: string[] = [];
    const walk = (value: unknown, path: string[]) => {
      if (value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
        for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
      } else leaves.push(path.join('.'));
    };
    walk(config, []);
    expect(leaves.length).toBeGreaterThan(40);
    for (const leaf of leaves) {
      expect(explained.has(leaf) || derived.has(leaf), `${leaf} is filled in without a schema default`).toBe(
        true
      );
    }
  });

  it('sit only where ajv applies them: in properties, never under anyOf, oneOf or not', () => {
    const misplaced: string[] = [];
    const walk = (node: unknown, path: string, applied: boolean) => {
      if (!node || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      if ('default' in n && !applied) misplaced.push(path);
      for (const [k, v] of Object.entries(n)) {
        if (k === 'properties' && v && typeof v === 'object') {
          for (const [p, s] of Object.entries(v))
            walk(s, `${path}.${p}`, !/\/(anyOf|oneOf|not|if)(\/|\.|$)/.test(path));
        } else if (k !== 'default' && k !== 'enum') {
          walk(v, `${path}/${k}`, false);
        }
      }
    };
    walk(configSchema, '', false);
    expect(misplaced).toEqual([]);
  });

  it('are valid values themselves', () => {
    // A document that writes every default out loads to the same config as one that writes none.
    const explicit: Record<string, unknown> = {};
    const always = new Set(schemaDefaults.filter((d) => !d.when).map((d) => d.path.join('.')));
    for (const d of schemaDefaults) {
      // Unconditional defaults in sections that are themselves always there.
      const sections = d.path.slice(0, -1).map((_, i) => d.path.slice(0, i + 1).join('.'));
      if (d.when || !sections.every((s) => always.has(s))) continue;
      let node = explicit;
      for (const part of d.path.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
      node[d.path.at(-1)!] ??= d.value;
    }
    const { source: _a, ...fromDefaults } = load(explicit);
    const { source: _b, ...fromNothing } = load({});
    expect(fromDefaults).toEqual(fromNothing);
  });
});

describe('a config the old loader let through with a shape its types denied', () => {
  it('refuses an audit override that does not say how to record arguments', () => {
    const path = join(dir, 'override.yaml');
    writeFileSync(path, 'audit:\n  arguments: hash\n  overrides:\n    - { tool: "read_*" }\n');
    let found: string[] = [];
    try {
      loadConfig(path, { env: {} });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      found = err.issues.map((i) => formatIssue({ ...i, file: 'F' }));
    }
    expect(found).toEqual(['F:4:7 audit.overrides[0]: missing required key "arguments"']);
  });
});

// The compile-time check in schema-types.ts fails on each of these differences.
type Check<T extends true> = T;
type SchemaRule = SchemaConfig['rules'][number];
export type _SameCatchesDifferences = [
  Check<Same<RuleConfig, SchemaRule>>,
  // @ts-expect-error a field only the type has
  Check<Same<RuleConfig & { extra?: string }, SchemaRule>>,
  // @ts-expect-error a field only the schema has
  Check<Same<Omit<RuleConfig, 'when'>, SchemaRule>>,
  // @ts-expect-error optional on one side, required on the other
  Check<Same<RuleConfig & { id: string }, SchemaRule>>,
  // @ts-expect-error another type
  Check<Same<Omit<RuleConfig, 'risk'> & { risk?: string }, SchemaRule>>,
  // @ts-expect-error a narrower type, deep inside
  Check<Same<StateConfig, Omit<SchemaConfig['state'], 'session_ttl'> & { session_ttl_ms: 1 }>>,
  // readonly-ness aside
  Check<Same<Readonly<RuleConfig>, SchemaRule>>
];
