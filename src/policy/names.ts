/**
 * The servers and tools a config knows, so `policy test` and `policy explain` can refuse a call to
 * a server or tool that does not exist: `file__read_file` against a config whose server is
 * `filesystem` would otherwise be decided (and may pass an `expect: deny`, or match a `tool: "*"`
 * rule) as if it were real. Servers come from the config; a server's tools from the pin file, once
 * the gateway has listed them. A config that lists no servers (a rules-only file) checks nothing.
 */
import { closest } from '../config/source.js';
import type { GatewayConfig } from '../config/types.js';
import { parseResourceUri } from '../core/names.js';
import { readPinFile } from '../pins/index.js';
import type { Kind } from './types.js';

export interface KnownNames {
  servers: string[];
  /** The only server, when it is exposed without a prefix (`namespace: false`). */
  bare?: string;
  /** A server's tools as last pinned; undefined while none were pinned. */
  tools(server: string): string[] | undefined;
}

/** What the config knows of its servers and their tools; undefined when it lists no servers. */
export function knownNames(config: GatewayConfig): KnownNames | undefined {
  const servers = Object.keys(config.servers);
  if (servers.length === 0) return undefined;
  let pinned: Record<string, string[]> = {};
  try {
    const file = readPinFile(config.scanning.pins.path);
    pinned = Object.fromEntries(
      Object.entries(file.servers).flatMap(([name, pins]) =>
        pins.tools ? [[name, Object.keys(pins.tools)]] : []
      )
    );
  } catch {
    // An unreadable pin file leaves tools unchecked; the gateway itself reports it.
  }
  const bare = servers.length === 1 && !config.servers[servers[0]!]!.namespace ? servers[0] : undefined;
  return { servers, ...(bare ? { bare } : {}), tools: (server) => pinned[server] };
}

const MAX_LISTED = 12;

function listed(names: string[]): string {
  const shown = names.slice(0, MAX_LISTED).join(', ');
  return names.length > MAX_LISTED ? `${shown}, … (${names.length} in all)` : shown;
}

/** A near miss (a typo), else a name that starts with the other (`file` for `filesystem`). */
function didYouMean(word: string, candidates: string[]): string {
  const w = word.toLowerCase();
  const hint =
    closest(word, candidates) ??
    (w.length >= 3
      ? candidates.find((c) => c.toLowerCase().startsWith(w) || w.startsWith(c.toLowerCase()))
      : undefined);
  return hint ? ` (did you mean "${hint}"?)` : '';
}

/**
 * The server and tool (prompt) a call names: `--server S --tool T`, or `S__T`, or the bare tool of a
 * lone server exposed without a prefix; a resource, by its URI with `server`, or by the gateway's
 * `portcullis://S/<uri>`. With known names, an unknown server or tool is a problem
 * that says what there is instead.
 */
export function resolveCall(
  known: KnownNames | undefined,
  name: string,
  server?: string,
  kind: Kind = 'tool'
): { server: string; tool: string; problem?: string } {
  let call: { server: string; tool: string };
  const sep = name.indexOf('__');
  if (server !== undefined) call = { server, tool: name };
  else if (kind === 'resource') {
    // A URI is never split at `__`: it names its server as the gateway does, or the lone server's.
    const routed = parseResourceUri(name);
    call = routed ? { server: routed.server, tool: routed.uri } : { server: known?.bare ?? '', tool: name };
  } else if (known?.bare !== undefined && (sep <= 0 || !known.servers.includes(name.slice(0, sep))))
    call = { server: known.bare, tool: name };
  else
    call = sep > 0 ? { server: name.slice(0, sep), tool: name.slice(sep + 2) } : { server: '', tool: name };
  if (!known) return call;
  if (call.server === '') {
    const write = kind === 'resource' ? 'add server: <server>' : `write <server>__<${kind}>`;
    return { ...call, problem: `"${name}" names no server: ${write} (servers: ${listed(known.servers)})` };
  }
  if (!known.servers.includes(call.server)) {
    return {
      ...call,
      problem: `unknown server "${call.server}"${didYouMean(call.server, known.servers)}; servers: ${listed(known.servers)}`
    };
  }
  // Pins hold tools only: a prompt's name or a resource's URI is not checked against them.
  const tools = kind === 'tool' ? known.tools(call.server) : undefined;
  if (tools && !tools.includes(call.tool)) {
    return {
      ...call,
      problem:
        `server "${call.server}" has no tool "${call.tool}"${didYouMean(call.tool, tools)}; ` +
        `its tools as pinned: ${listed(tools)}`
    };
  }
  return call;
}
