/**
 * Pins: the canonical form of everything a model can read from a server — its tools, prompts,
 * resources and resource templates — is hashed when first approved (trust on first use, or by an
 * admin) and every later listing is compared with it. A pin covers the server's whole set of each
 * kind: an item that appears, disappears or changes after approval is a change to review, not a
 * new first use.
 *
 * What a hash covers, per kind (canonical JSON, keys sorted at every level, a missing field is null):
 * - tool: name, title, description, inputSchema, outputSchema, annotations, _meta
 *   (`portcullis-tool-v2`; v1 covered all but outputSchema and _meta);
 * - prompt: name, title, description, arguments, _meta;
 * - resource: uri, name, title, description, mimeType, _meta (not size or annotations, which change
 *   with the content, not with what the model is told);
 * - resource template: uriTemplate, name, title, description, mimeType, _meta.
 *
 * Pins live in a JSON file (default `./portcullis-pins.json` beside the config), written
 * atomically; `portcullis pins list/approve` reads and edits the same pins through the admin API,
 * and a running gateway reloads the file when it changes. The file format is `version: 1`
 * throughout: each entry names its hash version (`hashVersion`, absent in files written before
 * tools were hashed with v2), and a server's `prompts`, `resources` and `resourceTemplates`
 * sections are optional (absent in older files: the first listing of that kind is its first use).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, unwatchFile, watchFile, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { canonicalJson } from '../audit/canonical.js';
import type { PinBus } from '../state/bus.js';
import type { PinEntry, PinSection, ServerPins } from './types.js';

/** The kinds of definition a server offers, by the name of their section in the pin file. */
export type PinKind = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';
const PIN_KINDS: readonly PinKind[] = ['tools', 'prompts', 'resources', 'resourceTemplates'];

/** A definition as a server lists it (a tool, prompt, resource or resource template). */
export type Definition = { readonly [field: string]: unknown };

interface PinnableTool {
  name: string;
  title?: unknown;
  description?: unknown;
  inputSchema?: unknown;
  outputSchema?: unknown;
  annotations?: unknown;
  _meta?: unknown;
}

export type { PinEntry, PinSection, ServerPins } from './types.js';

export interface PinFile {
  version: 1;
  servers: Record<string, ServerPins>;
}

export type PinStatus = 'pinned' | 'new' | 'changed';

export interface PinCheck {
  /** True when the server had no pins of this kind yet. */
  firstUse: boolean;
  status: Map<string, PinStatus>;
  /** Pinned items the server no longer offers. */
  removed: string[];
  /** The current hash of each item, by key. */
  hashes: Map<string, string>;
  /**
   * Items pinned with an earlier hash version that they still match: pinned, and their pins are
   * to be rewritten with the current hash (see `upgradedEntries`).
   */
  upgraded: string[];
}

/** The items of each kind, for pinning several kinds at once. */
export type PinSets = Partial<Record<PinKind, readonly Definition[]>>;

/** The fields each kind's hash covers, and the scheme (name and version) of its current hash. */
const SCHEMES: Record<PinKind, { fields: readonly string[]; tag: string; version: number }> = {
  tools: {
    fields: ['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations', '_meta'],
    tag: 'portcullis-tool-v2',
    version: 2
  },
  prompts: {
    fields: ['name', 'title', 'description', 'arguments', '_meta'],
    tag: 'portcullis-prompt-v1',
    version: 1
  },
  resources: {
    fields: ['uri', 'name', 'title', 'description', 'mimeType', '_meta'],
    tag: 'portcullis-resource-v1',
    version: 1
  },
  resourceTemplates: {
    fields: ['uriTemplate', 'name', 'title', 'description', 'mimeType', '_meta'],
    tag: 'portcullis-resource-template-v1',
    version: 1
  }
};

function digest(tag: string, value: unknown): string {
  return createHash('sha256')
    .update(`${tag}\n${canonicalJson(value) ?? 'null'}`)
    .digest('hex');
}

/** The current hash of a definition of this kind: every field of it a model can read. */
export function definitionHash(kind: PinKind, item: Definition): string {
  const scheme = SCHEMES[kind];
  const covered: Record<string, unknown> = {};
  for (const field of scheme.fields) covered[field] = item[field] ?? null;
  return digest(scheme.tag, covered);
}

/** The current (v2) hash of a tool: name, title, description, input and output schemas, annotations, _meta. */
export function toolHash(tool: PinnableTool): string {
  return definitionHash('tools', tool as unknown as Definition);
}

/**
 * The v1 hash of a tool (name, title, description, inputSchema, annotations), as pin files written
 * before v2 hold it: used only to recognise such a pin, never to write one.
 */
export function toolHashV1(tool: PinnableTool): string {
  return digest('portcullis-tool-v1', {
    name: tool.name,
    title: tool.title ?? null,
    description: tool.description ?? null,
    inputSchema: tool.inputSchema ?? null,
    annotations: tool.annotations ?? null
  });
}

/** What identifies an item within its kind: a tool's or prompt's name, a resource's URI, a template. */
export function pinKey(kind: PinKind, item: Definition): string {
  const key = kind === 'resources' ? item.uri : kind === 'resourceTemplates' ? item.uriTemplate : item.name;
  return typeof key === 'string' ? key : String(key ?? '');
}

export function readPinFile(path: string): PinFile {
  if (!existsSync(path)) return { version: 1, servers: {} };
  const data = JSON.parse(readFileSync(path, 'utf8')) as PinFile;
  if (data.version !== 1 || typeof data.servers !== 'object' || data.servers === null) {
    throw new Error(`${path}: not a Portcullis pin file (version 1)`);
  }
  return data;
}

export function writePinFile(path: string, pins: PinFile): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(pins, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}

/** Does an item still match its pin? A pin of an earlier hash version that matches is `upgrade`. */
function compare(
  kind: PinKind,
  pinned: PinEntry,
  item: Definition,
  hash: string
): 'pinned' | 'upgrade' | 'changed' {
  const version = pinned.hashVersion ?? 1;
  if (version === SCHEMES[kind].version) return pinned.hash === hash ? 'pinned' : 'changed';
  // A v1 tool pin vouches for what v1 covered; what it did not (the output schema, _meta) is
  // taken as it is now, once, when the pin is rewritten as v2.
  if (kind === 'tools' && version === 1)
    return pinned.hash === toolHashV1(item as unknown as PinnableTool) ? 'upgrade' : 'changed';
  // A version this gateway does not know (written by a newer one): a change to review.
  return 'changed';
}

/** Compare a server's current items of one kind (tools by default) with its pins. */
export function checkPins(
  pins: ServerPins | undefined,
  items: readonly Definition[],
  kind: PinKind = 'tools'
): PinCheck {
  const hashes = new Map(items.map((t) => [pinKey(kind, t), definitionHash(kind, t)]));
  const status = new Map<string, PinStatus>();
  const section = pins?.[kind];
  if (!section) {
    for (const key of hashes.keys()) status.set(key, 'new');
    return { firstUse: true, status, removed: [], hashes, upgraded: [] };
  }
  const upgraded: string[] = [];
  for (const item of items) {
    const key = pinKey(kind, item);
    const pinned = Object.hasOwn(section, key) ? section[key] : undefined;
    if (!pinned) {
      status.set(key, 'new');
      continue;
    }
    const verdict = compare(kind, pinned, item, hashes.get(key)!);
    if (verdict === 'upgrade') upgraded.push(key);
    status.set(key, verdict === 'changed' ? 'changed' : 'pinned');
  }
  const removed = Object.keys(section).filter((key) => !hashes.has(key));
  return { firstUse: false, status, removed, hashes, upgraded };
}

/** The largest input schema (as JSON) a pin keeps to show what changed. */
const MAX_PINNED_SCHEMA = 8000;

function entryFor(kind: PinKind, item: Definition, hash = definitionHash(kind, item)): PinEntry {
  const schema = kind === 'tools' && item.inputSchema !== undefined ? JSON.stringify(item.inputSchema) : '';
  return {
    hash,
    hashVersion: SCHEMES[kind].version,
    ...(typeof item.description === 'string' ? { description: item.description.slice(0, 2000) } : {}),
    ...(schema && schema.length <= MAX_PINNED_SCHEMA ? { inputSchema: JSON.parse(schema) as unknown } : {})
  };
}

/** Pins for the items of one kind. */
function sectionFor(kind: PinKind, items: readonly Definition[]): PinSection {
  // fromEntries defines own properties, so even an item named `__proto__` is pinned as itself.
  return Object.fromEntries(items.map((item) => [pinKey(kind, item), entryFor(kind, item)]));
}

/** The entries `check.upgraded` names, rewritten with their current hash. */
export function upgradedEntries(
  kind: PinKind,
  pins: ServerPins,
  items: readonly Definition[],
  check: PinCheck
): PinSection {
  const wanted = new Set(check.upgraded);
  const section = pins[kind] ?? {};
  return Object.fromEntries(
    items
      .filter((item) => wanted.has(pinKey(kind, item)))
      .map((item) => {
        const key = pinKey(kind, item);
        const before = Object.hasOwn(section, key) ? section[key] : undefined;
        const { inputSchema: _now, ...rest }: PinEntry = {
          ...entryFor(kind, item, check.hashes.get(key)),
          // The description it was approved with (the same text: the hash matched).
          ...(before?.description !== undefined ? { description: before.description } : {})
        };
        // The schema as the pin kept it: none for a pin written before schemas were kept.
        const entry: PinEntry =
          before?.inputSchema !== undefined ? { ...rest, inputSchema: before.inputSchema } : rest;
        return [key, entry];
      })
  );
}

/** A server's pins for the given kinds; kinds not given are left unpinned. */
export function pinsFor(sets: PinSets, by: string, now = new Date()): ServerPins {
  const pins: ServerPins = { pinnedAt: now.toISOString(), approvedBy: by };
  for (const kind of PIN_KINDS) {
    const items = sets[kind];
    if (items) pins[kind] = sectionFor(kind, items);
  }
  return pins;
}

export interface PinStore {
  get(server: string): ServerPins | undefined;
  /**
   * Pin the given kinds of a server's definitions: an approval (every kind), or the first use of a
   * kind. Kinds not given keep their pins; a server pinned for the first time is pinned `by` now,
   * one already pinned keeps its `pinnedAt`/`approvedBy` unless every kind is given.
   */
  pin(server: string, sets: PinSets, by: string): void;
  /** Rewrite entries of one kind that still match an earlier hash version with their current hash. */
  upgrade(server: string, kind: PinKind, entries: PinSection): void;
  all(): PinFile;
  close(): void;
}

/**
 * Pins in a file (or only in memory when `path` is undefined), reloaded when the file changes.
 * With shared state, the store's pins win: a first use on two replicas keeps whichever pinned
 * first, an approval on one replica is the pin on all, and the file is this replica's copy.
 */
export function createPinStore(
  path: string | undefined,
  log: Logger,
  onChange?: () => void,
  shared?: PinBus
): PinStore {
  let pins: PinFile = { version: 1, servers: {} };
  const save = () => {
    if (!path) return;
    try {
      writePinFile(path, pins);
    } catch (err) {
      log.error({ file: path, err: (err as Error).message }, 'cannot write the pin file');
    }
  };
  const adopt = (server: string, p: ServerPins) => {
    if (JSON.stringify(pins.servers[server]) === JSON.stringify(p)) return;
    pins = { version: 1, servers: { ...pins.servers, [server]: p } };
    save();
    onChange?.();
  };
  const load = () => {
    if (!path) return;
    try {
      pins = readPinFile(path);
      onChange?.();
    } catch (err) {
      log.error(
        { file: path, err: (err as Error).message },
        'pin file unreadable; keeping the pins in memory'
      );
    }
  };
  /** Store a server's new pins here, and share them: a first pin is claimed, anything else replaces. */
  const put = (server: string, next: ServerPins, claim: boolean) => {
    pins = { version: 1, servers: { ...pins.servers, [server]: next } };
    save();
    if (!shared) return;
    const stored = claim ? shared.claim(server, next) : shared.set(server, next).then(() => next);
    stored.then(
      (held) => adopt(server, held),
      (err: Error) =>
        log.error({ server, err: err.message }, 'pins not shared: other replicas keep their own')
    );
  };
  load();
  if (shared) {
    shared.onChange(adopt);
    shared.onResync(() => {
      shared.load().then(
        (all) => {
          for (const [server, p] of Object.entries(all)) adopt(server, p);
          // Pinned here before this replica joined: offer them, first pin wins.
          for (const [server, p] of Object.entries(pins.servers)) {
            if (!(server in all))
              void shared.claim(server, p).then(
                (held) => adopt(server, held),
                () => {}
              );
          }
        },
        (err: Error) => log.warn({ err: err.message }, 'pins: resync failed')
      );
    });
  }
  if (path) {
    watchFile(path, { interval: 500, persistent: false }, (curr, prev) => {
      if (curr.mtimeMs !== prev.mtimeMs || curr.size !== prev.size) load();
    });
  }
  return {
    get: (server) => pins.servers[server],
    pin(server, sets, by) {
      const before = pins.servers[server];
      const fresh = pinsFor(sets, by);
      const whole = PIN_KINDS.every((kind) => sets[kind] !== undefined);
      const next =
        before === undefined || whole
          ? fresh
          : { ...before, ...fresh, pinnedAt: before.pinnedAt, approvedBy: before.approvedBy };
      put(server, next, before === undefined);
    },
    upgrade(server, kind, entries) {
      const before = pins.servers[server];
      if (!before?.[kind] || Object.keys(entries).length === 0) return;
      put(server, { ...before, [kind]: { ...before[kind], ...entries } }, false);
    },
    all: () => pins,
    close() {
      if (path) unwatchFile(path);
    }
  };
}
