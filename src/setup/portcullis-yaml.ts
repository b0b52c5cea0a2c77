/**
 * Adds servers to a portcullis.yaml without disturbing it: the `yaml` Document API finds where the
 * `servers:` mapping sits, the new entries are rendered by `yaml` and spliced in there, so every
 * comment and every other line of the file stays as the user wrote it. The result must still load.
 */
import { Document, isMap, isPair, isScalar, LineCounter, parseDocument, type Pair, type YAMLMap } from 'yaml';
import { loadConfig } from '../config/index.js';
import { ConfigError } from '../errors.js';
import { SetupError } from './errors.js';

/** One `servers.<name>` entry of portcullis.yaml, as written in the file. */
export interface ServerEntry {
  command?: string;
  args?: string[];
  env?: Record<string, string>;
  env_passthrough?: string[];
  cwd?: string;
  url?: string;
  transport?: 'streamable-http' | 'sse';
  headers?: Record<string, string>;
  timeout_ms?: number;
  connect_timeout_ms?: number;
  trust_annotations?: boolean;
  enabled?: boolean;
}

interface Parsed {
  doc: Document.Parsed;
  top: YAMLMap | undefined;
}

function parse(text: string, file: string): Parsed {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const { line, col } = lines.linePos(first.pos[0]);
    throw new SetupError(`${file}:${line}:${col}: ${first.message.split('\n')[0]}`, file);
  }
  if (doc.contents === null) return { doc, top: undefined };
  if (!isMap(doc.contents)) {
    throw new SetupError(
      `${file}: expected a mapping at the top (a rules-only file cannot hold servers)`,
      file
    );
  }
  return { doc, top: doc.contents };
}

function serversPair(top: YAMLMap | undefined): Pair | undefined {
  return top?.items.find((p): p is Pair => isPair(p) && isScalar(p.key) && p.key.value === 'servers');
}

/** The servers a portcullis.yaml already has, as written (no ${ENV} substitution). */
export function existingServers(text: string, file: string): Record<string, unknown> {
  const { doc } = parse(text, file);
  const value = (doc.toJS() as { servers?: unknown } | null)?.servers;
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new SetupError(`${file}: "servers" must be a mapping`, file);
  }
  return value as Record<string, unknown>;
}

/** Column of `offset` in its line. */
function columnOf(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

/** YAML block text of the entries, each line indented by `indent` columns. */
function renderBlock(servers: Record<string, unknown>, indent: number, step: number, eol: string): string {
  const body = new Document(servers).toString({ indent: step, lineWidth: 0, singleQuote: true });
  const pad = ' '.repeat(indent);
  return body
    .trimEnd()
    .split('\n')
    .map((line) => pad + line)
    .join(eol)
    .concat(eol);
}

/** Indentation step the existing servers use (column of a server's key to its first field's). */
function stepOf(text: string, servers: YAMLMap): number {
  for (const item of servers.items) {
    const inner = item.value;
    if (isMap(inner) && !inner.flow && isPair(inner.items[0]) && isScalar(item.key)) {
      const key = inner.items[0].key as { range?: [number, number, number] } | null;
      const outer = item.key.range;
      if (key?.range && outer) return columnOf(text, key.range[0]) - columnOf(text, outer[0]);
    }
  }
  return 2;
}

function spliceInto(text: string, pair: Pair, servers: Record<string, ServerEntry>, file: string): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const key = pair.key as { range?: [number, number, number] };
  const keyStart = key.range?.[0] ?? 0;
  const keyEnd = key.range?.[1] ?? 0;
  const value = pair.value;
  const childIndent = columnOf(text, keyStart) + 2;
  if (isMap(value) && !value.flow && value.items.length > 0 && value.range) {
    const first = value.items[0]!.key as { range?: [number, number, number] };
    const indent = first.range ? columnOf(text, first.range[0]) : childIndent;
    const at = value.range[1];
    const lead = text[at - 1] === '\n' ? '' : eol;
    return text.slice(0, at) + lead + renderBlock(servers, indent, stepOf(text, value), eol) + text.slice(at);
  }
  if (isMap(value) && value.flow && value.range) {
    const all = { ...(value.toJSON() as Record<string, unknown>), ...servers };
    const block = renderBlock(all, childIndent, 2, eol).slice(0, -eol.length);
    return text.slice(0, keyEnd) + `:${eol}` + block + text.slice(value.range[1]);
  }
  if (value === null || (isScalar(value) && value.value === null)) {
    const nl = text.indexOf('\n', keyEnd);
    const at = nl < 0 ? text.length : nl + 1;
    const lead = nl < 0 ? eol : '';
    return text.slice(0, at) + lead + renderBlock(servers, childIndent, 2, eol) + text.slice(at);
  }
  throw new SetupError(`${file}: "servers" must be a mapping`, file);
}

/** The text of a portcullis.yaml with these servers added under `servers:` (created if missing). */
export function addServers(text: string, servers: Record<string, ServerEntry>, file: string): string {
  if (Object.keys(servers).length === 0) return text;
  const { top } = parse(text, file);
  const pair = serversPair(top);
  let out: string;
  if (pair) out = spliceInto(text, pair, servers, file);
  else {
    const eol = text.includes('\r\n') ? '\r\n' : '\n';
    const sep = text === '' ? '' : text.endsWith('\n') ? eol : eol + eol;
    out = `${text}${sep}servers:${eol}${renderBlock(servers, 2, 2, eol)}`;
  }
  assertAdded(out, servers, file);
  return out;
}

/** JSON with sorted keys: equal for equal values whatever the key order. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v
  );
}

/** The spliced text must read back with exactly the entries meant (a guard on the splice). */
function assertAdded(text: string, servers: Record<string, ServerEntry>, file: string): void {
  const now = existingServers(text, file);
  for (const [name, entry] of Object.entries(servers)) {
    if (canonical(now[name]) !== canonical(entry)) {
      throw new SetupError(`${file}: could not add server "${name}" without changing its meaning`, file);
    }
  }
}

/**
 * An environment where every variable is set, to check a config without its secrets. The value
 * passes every check a variable can meet: a URL (`${BASE}/mcp`), a token of 16 characters or more.
 */
function placeholderEnv(): NodeJS.ProcessEnv {
  return new Proxy({} as NodeJS.ProcessEnv, {
    get: (_target, name) => (typeof name === 'string' ? 'http://placeholder.invalid' : undefined)
  });
}

/** Refuse a portcullis.yaml that `loadConfig` would not accept (environment variables aside). */
export function assertLoads(text: string, file: string): void {
  try {
    loadConfig(file, { text, env: placeholderEnv() });
  } catch (e) {
    if (e instanceof ConfigError) {
      throw new SetupError(`${file} would not be a valid configuration:\n${e.message}`, file);
    }
    throw e;
  }
}
