/**
 * What `scan` looks at: a portcullis.yaml, or the MCP config of a client (Claude Desktop, Claude
 * Code, Cursor, VS Code, Windsurf), given as a file or found where each client keeps it under the
 * user's home ($HOME) and in the current folder. A client's servers are read as `wrap` reads them
 * and turned into a configuration with no policy; an entry that already runs the gateway is
 * followed into its portcullis.yaml, which is scanned with its own rules.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';
import { Document } from 'yaml';
import { loadConfig } from '../config/index.js';
import type { GatewayConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { CLIENTS, formatFromName, type ClientFormat, type ClientSpec } from '../setup/clients.js';
import { convertServer, newConversion } from '../setup/convert.js';
import { parseJsonc, toValue } from '../setup/jsonc.js';
import { freeName, sanitizeServerName } from '../setup/names.js';
import type { ServerEntry } from '../setup/portcullis-yaml.js';
import { SetupError } from '../setup/errors.js';
import { portcullisConfigOf, readClient as readClientFile } from '../setup/wrap.js';

export interface ClientConfigFile {
  /** The client, for people: `Claude Desktop`, `Windsurf`. */
  client: string;
  path: string;
  /** How its entries read (Windsurf's are Cursor's). */
  format: ClientFormat;
}

export interface ClientTarget {
  file: ClientConfigFile;
  /** The servers as a configuration without rules; undefined when the file has none to start. */
  config: GatewayConfig | undefined;
  /** Name in `config` → name in the file. */
  keys: Map<string, string>;
  /** Entries that could not be read as servers: name in the file → why. */
  broken: Record<string, string>;
  /** portcullis.yaml files that entries of this file start the gateway with. */
  gateways: string[];
}

/** Where each client keeps its config, for this user and this folder; only files that exist. */
export function knownClientConfigs(
  options: { home?: string; cwd?: string; platform?: NodeJS.Platform; env?: NodeJS.ProcessEnv } = {}
): ClientConfigFile[] {
  const env = options.env ?? process.env;
  const home = options.home ?? env.HOME ?? homedir();
  const cwd = options.cwd ?? process.cwd();
  const platform = options.platform ?? process.platform;
  const appData =
    platform === 'darwin'
      ? join(home, 'Library', 'Application Support')
      : platform === 'win32'
        ? (env.APPDATA ?? join(home, 'AppData', 'Roaming'))
        : (env.XDG_CONFIG_HOME ?? join(home, '.config'));
  const candidates: ClientConfigFile[] = [
    {
      client: 'Claude Desktop',
      path: join(appData, 'Claude', 'claude_desktop_config.json'),
      format: 'claude-desktop'
    },
    { client: 'Claude Code', path: join(home, '.claude.json'), format: 'claude-code' },
    { client: 'Claude Code', path: join(cwd, '.mcp.json'), format: 'claude-code' },
    { client: 'Cursor', path: join(home, '.cursor', 'mcp.json'), format: 'cursor' },
    { client: 'Cursor', path: join(cwd, '.cursor', 'mcp.json'), format: 'cursor' },
    { client: 'VS Code', path: join(appData, 'Code', 'User', 'mcp.json'), format: 'vscode' },
    { client: 'VS Code', path: join(cwd, '.vscode', 'mcp.json'), format: 'vscode' },
    { client: 'Windsurf', path: join(home, '.codeium', 'windsurf', 'mcp_config.json'), format: 'cursor' }
  ];
  const seen = new Set<string>();
  return candidates.filter((c) => {
    if (!existsSync(c.path)) return false;
    const real = realpathSync(c.path);
    if (seen.has(real)) return false;
    seen.add(real);
    return true;
  });
}

const TITLES: Record<ClientFormat, string> = {
  'claude-desktop': 'Claude Desktop',
  'claude-code': 'Claude Code',
  cursor: 'Cursor',
  vscode: 'VS Code'
};

/** Is this file a client's MCP config (rather than a portcullis.yaml)? Which client, if so. */
export function asClientConfig(path: string): ClientConfigFile | undefined {
  if (basename(path) === 'mcp_config.json' && basename(dirname(path)) === 'windsurf') {
    return { client: 'Windsurf', path, format: 'cursor' };
  }
  const byName = formatFromName(path);
  if (byName) return { client: TITLES[byName], path, format: byName };
  if (!['.json', '.jsonc'].includes(extname(path).toLowerCase())) return undefined;
  let value: unknown;
  try {
    value = toValue(parseJsonc(readFileSync(path, 'utf8'), path));
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const top = value as Record<string, unknown>;
  if ('mcpServers' in top) {
    const entries = Object.values((top.mcpServers as Record<string, unknown>) ?? {});
    const typed = entries.some(
      (e) => !!e && typeof e === 'object' && typeof (e as { type?: unknown }).type === 'string'
    );
    return {
      client: typed ? 'Claude Code' : 'Claude Desktop',
      path,
      format: typed ? 'claude-code' : 'claude-desktop'
    };
  }
  // `servers` alone is VS Code's; a portcullis config in JSON has its other sections too.
  const gatewayKeys = ['rules', 'auth', 'audit', 'policy', 'scanning', 'approvals', 'admin'];
  if ('servers' in top && !gatewayKeys.some((k) => k in top))
    return { client: 'VS Code', path, format: 'vscode' };
  return undefined;
}

/** The environment, with every unset variable empty: a server is tried without what is missing. */
function lenientEnv(): NodeJS.ProcessEnv {
  return new Proxy({} as NodeJS.ProcessEnv, {
    get: (_t, name) => (typeof name === 'string' ? (process.env[name] ?? '') : undefined)
  });
}

function configText(servers: Record<string, ServerEntry>, pinsPath: string): string {
  return new Document({ servers, scanning: { pins: { path: pinsPath } } }).toString();
}

function firstLine(e: unknown): string {
  const text = e instanceof ConfigError ? e.message : (e as Error).message;
  return (text.split('\n').find((l) => l.trim() !== '') ?? text).trim();
}

interface ClientServers {
  spec: ClientSpec;
  /** Every server entry, with its name in the file (a name may repeat across projects). */
  list: Array<[string, unknown]>;
}

function objectAt(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/**
 * Claude Code's ~/.claude.json: user servers under `mcpServers`, and each project's own (`claude mcp
 * add`'s default, local scope) under `projects.<folder>.mcpServers`.
 */
function readClaudeJson(path: string): ClientServers {
  const root = objectAt(toValue(parseJsonc(readFileSync(path, 'utf8'), path)));
  if (!root) throw new SetupError(`${path}: expected a JSON object at the top`, path);
  const list: Array<[string, unknown]> = Object.entries(objectAt(root.mcpServers) ?? {});
  for (const project of Object.values(objectAt(root.projects) ?? {})) {
    list.push(...Object.entries(objectAt(objectAt(project)?.mcpServers) ?? {}));
  }
  if (list.length === 0) throw new SetupError(`${path}: no "mcpServers" in this Claude Code config`, path);
  return { spec: CLIENTS['claude-code'], list };
}

function readClient(path: string, format: ClientFormat): ClientServers {
  const client = readClientFile(path, format);
  return { spec: client.spec, list: Object.entries(client.entries) };
}

/** A client config's servers as a configuration `scanServers` can scan (with no rules). */
export function loadClientTarget(file: ClientConfigFile, pinsPath: string): ClientTarget {
  const client =
    basename(file.path) === '.claude.json' ? readClaudeJson(file.path) : readClient(file.path, file.format);
  const conv = newConversion(client.spec, file.path);
  const servers: Record<string, ServerEntry> = {};
  const keys = new Map<string, string>();
  const broken: Record<string, string> = {};
  const gateways: string[] = [];
  for (const [name, entry] of client.list) {
    const gateway = portcullisConfigOf(name, entry, file.path);
    if (gateway !== undefined) {
      gateways.push(gateway);
      continue;
    }
    try {
      const converted = convertServer(name, entry, conv);
      if (converted.enabled === false) continue;
      const target = freeName(sanitizeServerName(name), (n) => n in servers);
      servers[target] = converted;
      keys.set(target, name);
    } catch (e) {
      broken[name] = firstLine(e);
    }
  }
  if (Object.keys(servers).length === 0) return { file, config: undefined, keys, broken, gateways };
  try {
    return {
      file,
      config: loadConfig(file.path, { text: configText(servers, pinsPath), env: lenientEnv() }),
      keys,
      broken,
      gateways
    };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
  }
  // One entry spoils the lot: load them one by one to say which.
  for (const name of Object.keys(servers)) {
    try {
      loadConfig(file.path, { text: configText({ [name]: servers[name]! }, pinsPath), env: lenientEnv() });
    } catch (e) {
      broken[keys.get(name)!] = firstLine(e);
      delete servers[name];
      keys.delete(name);
    }
  }
  const config =
    Object.keys(servers).length > 0
      ? loadConfig(file.path, { text: configText(servers, pinsPath), env: lenientEnv() })
      : undefined;
  return { file, config, keys, broken, gateways };
}
