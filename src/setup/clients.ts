/**
 * The MCP client config formats `wrap` understands: where each keeps its servers, what shape an
 * entry has, which `${...}` variables the client expands, and how to tell the format from a file.
 */
import { basename, dirname } from 'node:path';
import { SetupError } from './errors.js';

export const CLIENT_FORMATS = ['claude-desktop', 'cursor', 'vscode', 'claude-code'] as const;
export type ClientFormat = (typeof CLIENT_FORMATS)[number];

/** What a client does with `${expr}` in a server entry. */
type VariableKind =
  /** The client does not expand it: it is literal text. */
  | { kind: 'literal' }
  /** The client reads an environment variable the gateway also inherits. */
  | { kind: 'env'; name: string }
  /** The client expands it some other way (an input prompt, a folder, a default). */
  | { kind: 'client' };

export interface ClientSpec {
  format: ClientFormat;
  /** Human name, for messages. */
  title: string;
  /** The top-level key holding the server entries. */
  serversKey: 'mcpServers' | 'servers';
  /** Whether a stdio entry carries `type: "stdio"`. */
  stdioType: boolean;
  /** What `${expr}` means in this client. */
  variable(expr: string): VariableKind;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `${env:NAME}` (VS Code, Cursor) reads the environment; every other variable is the client's. */
function editorVariable(expr: string): VariableKind {
  const env = /^env:([A-Za-z_][A-Za-z0-9_]*)$/.exec(expr);
  return env ? { kind: 'env', name: env[1]! } : { kind: 'client' };
}

export const CLIENTS: Record<ClientFormat, ClientSpec> = {
  'claude-desktop': {
    format: 'claude-desktop',
    title: 'Claude Desktop',
    serversKey: 'mcpServers',
    stdioType: false,
    variable: () => ({ kind: 'literal' })
  },
  cursor: {
    format: 'cursor',
    title: 'Cursor',
    serversKey: 'mcpServers',
    stdioType: false,
    variable: editorVariable
  },
  vscode: {
    format: 'vscode',
    title: 'VS Code',
    serversKey: 'servers',
    stdioType: true,
    variable: editorVariable
  },
  'claude-code': {
    format: 'claude-code',
    title: 'Claude Code',
    serversKey: 'mcpServers',
    stdioType: true,
    // `${VAR}` reads the environment; `${VAR:-default}` too, with a default only the client knows.
    variable: (expr) => (IDENTIFIER.test(expr) ? { kind: 'env', name: expr } : { kind: 'client' })
  }
};

export function isClientFormat(value: string): value is ClientFormat {
  return (CLIENT_FORMATS as readonly string[]).includes(value);
}

/** The format a file's name says, if it says one. */
export function formatFromName(file: string): ClientFormat | undefined {
  const name = basename(file);
  const parent = basename(dirname(file));
  if (name === 'claude_desktop_config.json') return 'claude-desktop';
  if (name === '.mcp.json' || name === '.claude.json') return 'claude-code';
  if (name === 'mcp.json' && parent === '.vscode') return 'vscode';
  if (name === 'mcp.json' && parent === '.cursor') return 'cursor';
  return undefined;
}

function entriesOf(value: Record<string, unknown>, key: string): Array<Record<string, unknown>> {
  const servers = value[key];
  if (!servers || typeof servers !== 'object' || Array.isArray(servers)) return [];
  return Object.values(servers).filter((e): e is Record<string, unknown> => !!e && typeof e === 'object');
}

/** The format the content says: `servers` is VS Code; `mcpServers` entries with `type` are Claude Code. */
function formatFromContent(value: unknown): ClientFormat | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const top = value as Record<string, unknown>;
  if (!('mcpServers' in top)) return 'servers' in top ? 'vscode' : undefined;
  const entries = entriesOf(top, 'mcpServers');
  if (entries.some((e) => typeof e.type === 'string')) return 'claude-code';
  if (entries.some((e) => typeof e.url === 'string')) return 'cursor';
  return 'claude-desktop';
}

/** The client format of a file: as given, else from its name, else from its content. */
export function detectFormat(
  file: string,
  value: unknown,
  given?: string
): { spec: ClientSpec; guessed: boolean } {
  if (given !== undefined) {
    if (!isClientFormat(given)) {
      throw new SetupError(
        `unknown client format "${given}"; expected one of ${CLIENT_FORMATS.join(', ')}`,
        file
      );
    }
    return { spec: CLIENTS[given], guessed: false };
  }
  const byName = formatFromName(file);
  if (byName) return { spec: CLIENTS[byName], guessed: false };
  const byContent = formatFromContent(value);
  if (byContent) return { spec: CLIENTS[byContent], guessed: true };
  throw new SetupError(
    `${file}: cannot tell which MCP client this config is for (no "mcpServers" or "servers" key); ` +
      `pass the format (${CLIENT_FORMATS.join(', ')})`,
    file
  );
}
