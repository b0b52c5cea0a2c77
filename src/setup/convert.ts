/**
 * Turns one client server entry into a Portcullis server entry: stdio entries keep command, args
 * and env; HTTP entries become url, transport and headers. `${...}` variables keep their meaning:
 * literal text is escaped, environment reads stay `${NAME}`, and variables only the client can
 * expand (VS Code inputs, folders, defaults) are passed in through the portcullis entry's env.
 */
import type { ClientSpec } from './clients.js';
import { SetupError } from './errors.js';
import type { ServerEntry } from './portcullis-yaml.js';

/** A secret found in clear, moved as it was. */
export interface SecretRef {
  server: string;
  name: string;
  in: 'env' | 'headers';
}

/** State shared by every server of one wrap. */
export interface Conversion {
  spec: ClientSpec;
  file: string;
  /** Client expression → the variable the portcullis entry passes it in. */
  routed: Map<string, string>;
  warnings: string[];
  secrets: SecretRef[];
}

export function newConversion(spec: ClientSpec, file: string): Conversion {
  return { spec, file, routed: new Map(), warnings: [], secrets: [] };
}

const HANDLED = new Set(['type', 'command', 'args', 'env', 'cwd', 'url', 'serverUrl', 'headers', 'disabled']);
const SECRET_ENV = /TOKEN|KEY|SECRET|PASSWORD/i;
const SECRET_HEADER = /^authorization$|^cookie$|TOKEN|KEY|SECRET|PASSWORD/i;
const VARIABLE = /\$\{([^}]*)\}/g;

/**
 * The variable a client-only expression travels in: `${input:gh-token}` → PORTCULLIS_VAR_INPUT_GH_TOKEN,
 * `${BASE:-https://x}` → PORTCULLIS_VAR_BASE.
 */
function routedName(expr: string, conv: Conversion): string {
  const known = conv.routed.get(expr);
  if (known) return known;
  const head = expr.replace(/:-[^]*$/, '');
  const base = `PORTCULLIS_VAR_${head.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}`.replace(/_+$/, '');
  const taken = new Set(conv.routed.values());
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  conv.routed.set(expr, name);
  return name;
}

/** A client string in Portcullis terms. */
function translate(text: string, conv: Conversion): string {
  return text.replace(VARIABLE, (match, expr: string) => {
    const v = conv.spec.variable(expr);
    if (v.kind === 'literal') return `$${match}`;
    if (v.kind === 'env') return `\${${v.name}}`;
    return `\${${routedName(expr, conv)}}`;
  });
}

/** Does the client expand some variable in this text (so it is not a value in clear)? */
function hasReference(text: string, spec: ClientSpec): boolean {
  return [...text.matchAll(VARIABLE)].some((m) => spec.variable(m[1]!).kind !== 'literal');
}

function fail(conv: Conversion, server: string, message: string): never {
  throw new SetupError(`${conv.file}: server "${server}": ${message}`, conv.file);
}

function stringList(value: unknown, conv: Conversion, server: string, key: string): string[] {
  if (!Array.isArray(value)) fail(conv, server, `"${key}" must be a list`);
  return value.map((v) => translate(typeof v === 'string' ? v : String(v), conv));
}

function stringMap(
  value: unknown,
  conv: Conversion,
  server: string,
  key: 'env' | 'headers',
  secret: RegExp
): Record<string, string> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    fail(conv, server, `"${key}" must be an object of strings`);
  }
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(value)) {
    const text = typeof raw === 'string' ? raw : String(raw);
    out[name] = translate(text, conv);
    if (secret.test(name) && text !== '' && !hasReference(text, conv.spec)) {
      conv.secrets.push({ server, name, in: key });
    }
  }
  return out;
}

function transportOf(entry: Record<string, unknown>, url: string, conv: Conversion, server: string) {
  const type = entry.type;
  if (type === 'sse') return 'sse' as const;
  if (type === 'http' || type === 'streamable-http' || type === 'streamableHttp')
    return 'streamable-http' as const;
  if (type !== undefined) fail(conv, server, `unknown transport type ${JSON.stringify(type)}`);
  if (/\/sse\/?$/.test(url.split('?')[0] ?? '')) {
    conv.warnings.push(`server "${server}": no "type" given; the URL ends in /sse, so transport: sse`);
    return 'sse' as const;
  }
  return 'streamable-http' as const;
}

function stdioEntry(entry: Record<string, unknown>, conv: Conversion, server: string): ServerEntry {
  if (typeof entry.command !== 'string') fail(conv, server, '"command" must be a string');
  if (entry.type !== undefined && entry.type !== 'stdio') {
    fail(conv, server, `has a "command" but type ${JSON.stringify(entry.type)}`);
  }
  const out: ServerEntry = { command: translate(entry.command, conv) };
  if (entry.args !== undefined) out.args = stringList(entry.args, conv, server, 'args');
  if (entry.env !== undefined) out.env = stringMap(entry.env, conv, server, 'env', SECRET_ENV);
  if (typeof entry.cwd === 'string') out.cwd = translate(entry.cwd, conv);
  return out;
}

function httpEntry(entry: Record<string, unknown>, conv: Conversion, server: string): ServerEntry {
  const url = entry.url as string;
  const out: ServerEntry = { url: translate(url, conv), transport: transportOf(entry, url, conv, server) };
  if (entry.headers !== undefined) {
    out.headers = stringMap(entry.headers, conv, server, 'headers', SECRET_HEADER);
  }
  return out;
}

/** Convert the entry `server` (its client name) of the client file. */
export function convertServer(server: string, entry: unknown, conv: Conversion): ServerEntry {
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) fail(conv, server, 'expected an object');
  let e = entry as Record<string, unknown>;
  // Windsurf writes an HTTP server's address as `serverUrl`.
  if (typeof e.serverUrl === 'string' && e.url === undefined) {
    const { serverUrl, ...rest } = e;
    e = { ...rest, url: serverUrl };
  }
  const hasCommand = e.command !== undefined;
  const hasUrl = typeof e.url === 'string';
  if (hasCommand === hasUrl) fail(conv, server, 'expected exactly one of "command" (stdio) or "url" (HTTP)');
  const out = hasCommand ? stdioEntry(e, conv, server) : httpEntry(e, conv, server);
  if (e.disabled === true) out.enabled = false;
  for (const key of Object.keys(e).filter((k) => !HANDLED.has(k))) {
    conv.warnings.push(
      `server "${server}": "${key}" has no Portcullis equivalent and was not carried over (the backup keeps it)`
    );
  }
  return out;
}
