/**
 * Tool pins: the canonical form of every tool a server offers (name, title, description, input
 * schema, annotations) is hashed when first approved — trust on first use, or by an admin — and
 * every later listing is compared with it. A pin covers the server's whole tool set: a tool that
 * appears, disappears or changes after approval is a change to review, not a new first use.
 *
 * Pins live in a JSON file (default `./portcullis-pins.json` beside the config), written
 * atomically; `portcullis pins list/approve` reads and edits the same file, and a running gateway
 * reloads it when it changes.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, unwatchFile, watchFile, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { canonicalJson } from '../audit/canonical.js';
import type { PinBus } from '../state/bus.js';

export interface PinnableTool {
  name: string;
  title?: unknown;
  description?: unknown;
  inputSchema?: unknown;
  annotations?: unknown;
}

export interface ServerPins {
  pinnedAt: string;
  approvedBy: string;
  tools: Record<string, { hash: string; description?: string }>;
}

export interface PinFile {
  version: 1;
  servers: Record<string, ServerPins>;
}

export type PinStatus = 'pinned' | 'new' | 'changed';

export interface PinCheck {
  /** True when the server had no pins yet. */
  firstUse: boolean;
  status: Map<string, PinStatus>;
  /** Pinned tools the server no longer offers. */
  removed: string[];
  hashes: Map<string, string>;
}

export function toolHash(tool: PinnableTool): string {
  const canonical = canonicalJson({
    name: tool.name,
    title: tool.title ?? null,
    description: tool.description ?? null,
    inputSchema: tool.inputSchema ?? null,
    annotations: tool.annotations ?? null
  });
  return createHash('sha256')
    .update(`portcullis-tool-v1\n${canonical ?? 'null'}`)
    .digest('hex');
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

/** Compare a server's current tools with its pins. */
export function checkPins(pins: ServerPins | undefined, tools: readonly PinnableTool[]): PinCheck {
  const hashes = new Map(tools.map((t) => [t.name, toolHash(t)]));
  const status = new Map<string, PinStatus>();
  if (!pins) {
    for (const t of tools) status.set(t.name, 'new');
    return { firstUse: true, status, removed: [], hashes };
  }
  for (const [name, hash] of hashes) {
    const pinned = pins.tools[name];
    status.set(name, !pinned ? 'new' : pinned.hash === hash ? 'pinned' : 'changed');
  }
  const removed = Object.keys(pins.tools).filter((name) => !hashes.has(name));
  return { firstUse: false, status, removed, hashes };
}

export function pinsFor(tools: readonly PinnableTool[], by: string, now = new Date()): ServerPins {
  const entries: ServerPins['tools'] = {};
  for (const t of tools) {
    entries[t.name] = {
      hash: toolHash(t),
      ...(typeof t.description === 'string' ? { description: t.description.slice(0, 2000) } : {})
    };
  }
  return { pinnedAt: now.toISOString(), approvedBy: by, tools: entries };
}

export interface PinStore {
  get(server: string): ServerPins | undefined;
  /** Pin a server's current tool set (first use, or an approval). */
  pin(server: string, tools: readonly PinnableTool[], by: string): void;
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
    pin(server, tools, by) {
      const firstUse = pins.servers[server] === undefined;
      const next = pinsFor(tools, by);
      pins = { version: 1, servers: { ...pins.servers, [server]: next } };
      save();
      if (!shared) return;
      const shared_ = firstUse ? shared.claim(server, next) : shared.set(server, next).then(() => next);
      shared_.then(
        (held) => adopt(server, held),
        (err: Error) =>
          log.error({ server, err: err.message }, 'pins not shared: other replicas keep their own')
      );
    },
    all: () => pins,
    close() {
      if (path) unwatchFile(path);
    }
  };
}
