/**
 * `wrap`: put Portcullis between an MCP client and its servers. `wrap` moves the
 * servers of a client config (Claude Desktop, Cursor, VS Code, Claude Code) into portcullis.yaml
 * and leaves the client one entry, `portcullis`, that starts `portcullis stdio --config <file>`
 * (`unwrap`, beside it, undoes that). Everything is computed and checked before the first
 * write, and the client file is changed only after its backup exists.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { detectFormat, type ClientFormat, type ClientSpec } from './clients.js';
import { convertServer, newConversion, type Conversion, type SecretRef } from './convert.js';
import { unifiedDiff } from './diff.js';
import { SetupError } from './errors.js';
import { createBackup, writeFileAtomic } from './files.js';
import { memberOf, parseJsonc, setValue, toValue } from './jsonc.js';
import { freeName, isValidServerName, sanitizeServerName } from './names.js';
import { addServers, assertLoads, canonical, existingServers, type ServerEntry } from './portcullis-yaml.js';
import { permissionProblems } from '../security/permissions.js';
import type { SuggestedPolicy } from './policy.js';
import { starterConfig } from './starter.js';

/** How the client starts the gateway. */
export interface LaunchCommand {
  command: string;
  args: string[];
}

export interface WrapOptions {
  /** The client format; by default told from the file's name, else its content. */
  format?: ClientFormat;
  /** The portcullis.yaml to move the servers into (created from the starter if missing). */
  portcullisConfig: string;
  /** How the client should start Portcullis; default `npx -y portcullis stdio --config <abs path>`. */
  command?: LaunchCommand;
  /** Compute and return everything, write nothing. */
  dryRun?: boolean;
  /** Move only these servers (client names); the others stay in the client config. */
  only?: string[];
  /**
   * Rules written from the moved servers' tools (`suggestPolicy`), used when portcullis.yaml is
   * created; without them a new file gets the generic starter policy.
   */
  policy?: SuggestedPolicy;
}

export interface MovedServer {
  /** Name in the client config. */
  from: string;
  /** Name in portcullis.yaml. */
  to: string;
  kind: 'stdio' | 'http';
  /** Already in portcullis.yaml with the same settings, so not added again. */
  alreadyThere: boolean;
}

export interface WrapResult {
  format: ClientFormat;
  clientPath: string;
  portcullisPath: string;
  /** Unified diff of the client config, then of portcullis.yaml. */
  diff: string;
  clientBefore: string;
  clientAfter: string;
  /** '' when portcullis.yaml did not exist. */
  portcullisBefore: string;
  portcullisAfter: string;
  /** Where the original client config was copied (not on a dry run or when nothing changed). */
  backup?: string;
  /** False when the config was already wrapped and was left alone. */
  changed: boolean;
  moved: MovedServer[];
  /** Variables the portcullis entry passes to the gateway: name → the client's own expression. */
  passedEnv: Record<string, string>;
  /** Secrets that were in clear in the client config and are now in clear in portcullis.yaml. */
  secrets: SecretRef[];
  warnings: string[];
  /** One line saying what happened. */
  message: string;
}

/** `npx -y portcullis stdio --config <configPath>`, the default launch. */
export function defaultLaunch(configPath: string): LaunchCommand {
  return { command: 'npx', args: ['-y', 'portcullis', 'stdio', '--config', resolve(configPath)] };
}

interface ClientFile {
  path: string;
  text: string;
  spec: ClientSpec;
  entries: Record<string, unknown>;
  warnings: string[];
}

export function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new SetupError(`cannot read ${file}: ${(e as Error).message}`, file);
  }
}

/** A client config: its text, its format, and its server entries as written. */
export function readClient(path: string, format: string | undefined): ClientFile {
  const text = readText(path);
  const root = parseJsonc(text, path);
  if (root.type !== 'object') throw new SetupError(`${path}: expected a JSON object at the top`, path);
  const { spec, guessed } = detectFormat(path, toValue(root), format);
  const member = memberOf(root, spec.serversKey);
  if (!member) throw new SetupError(`${path}: no "${spec.serversKey}" in this ${spec.title} config`, path);
  if (member.type !== 'object') {
    throw new SetupError(`${path}: "${spec.serversKey}" must be an object of servers`, path);
  }
  const warnings = guessed
    ? [`${path}: read as a ${spec.title} config (from its content); pass the format if that is wrong`]
    : [];
  return { path, text, spec, entries: toValue(member) as Record<string, unknown>, warnings };
}

/** The `--config` file of an entry that runs `portcullis stdio`, or undefined for any other entry. */
export function portcullisConfigOf(name: string, entry: unknown, clientPath: string): string | undefined {
  if (!entry || typeof entry !== 'object') return undefined;
  const { command, args } = entry as { command?: unknown; args?: unknown };
  if (typeof command !== 'string' || !Array.isArray(args) || !args.includes('stdio')) return undefined;
  const words = [command, ...args].map(String);
  if (name !== 'portcullis' && !words.some((w) => /portcullis/i.test(w))) return undefined;
  const at = words.indexOf('--config');
  const value = at > 0 ? words[at + 1] : words.find((w) => w.startsWith('--config='))?.slice(9);
  return value === undefined ? undefined : resolve(dirname(clientPath), value);
}

function samePath(a: string, b: string): boolean {
  const real = (p: string) => (existsSync(p) ? realpathSync(p) : p);
  return a === b || real(a) === real(b);
}

interface Plan {
  gateways: string[];
  selected: string[];
  remaining: string[];
}

/** Which entries are the gateway already, which move, which stay. */
function plan(client: ClientFile, portcullisPath: string, only: string[] | undefined): Plan {
  const names = Object.keys(client.entries);
  const gateways = names.filter((n) => portcullisConfigOf(n, client.entries[n], client.path) !== undefined);
  for (const name of gateways) {
    const other = portcullisConfigOf(name, client.entries[name], client.path)!;
    if (!samePath(other, portcullisPath)) {
      throw new SetupError(
        `${client.path}: server "${name}" already runs Portcullis with ${other}; wrap into that file instead`,
        client.path
      );
    }
  }
  const candidates = names.filter((n) => !gateways.includes(n));
  const unknown = (only ?? []).filter((n) => !candidates.includes(n));
  if (unknown.length > 0) {
    throw new SetupError(
      `${client.path}: no server ${unknown.map((n) => `"${n}"`).join(', ')} to wrap ` +
        `(servers: ${candidates.join(', ') || 'none'})`,
      client.path
    );
  }
  const selected = only ? candidates.filter((n) => only.includes(n)) : candidates;
  return { gateways, selected, remaining: candidates.filter((n) => !selected.includes(n)) };
}

interface Moves {
  moved: MovedServer[];
  add: Record<string, ServerEntry>;
}

/**
 * The name a server gets in portcullis.yaml: its own when valid and free (or taken by an identical
 * entry), else a renamed one that is free; undefined when a valid name clashes.
 */
function targetName(
  name: string,
  entry: ServerEntry,
  existing: Record<string, unknown>,
  moves: Moves,
  reserved: ReadonlySet<string>
): { target: string; same: boolean } | undefined {
  const renamed = !isValidServerName(name);
  const base = renamed ? sanitizeServerName(name) : name;
  const same = base in existing && canonical(existing[base]) === canonical(entry);
  // Valid names are kept as they are; renamed servers take what is left.
  const taken = (n: string) => n in existing || n in moves.add || (renamed && reserved.has(n));
  if (same || !taken(base)) return { target: base, same };
  if (!renamed && base in existing) return undefined;
  return { target: freeName(base, taken), same: false };
}

/** Convert the selected servers and name them in portcullis.yaml; refuse clashes. */
function moveServers(
  client: ClientFile,
  names: string[],
  existing: Record<string, unknown>,
  conv: Conversion,
  portcullisPath: string
): Moves {
  const moves: Moves = { moved: [], add: {} };
  const clashes: string[] = [];
  const reserved = new Set(names.filter(isValidServerName));
  for (const name of names) {
    const secretsBefore = conv.secrets.length;
    const entry = convertServer(name, client.entries[name], conv);
    const named = targetName(name, entry, existing, moves, reserved);
    if (!named) {
      clashes.push(name);
      continue;
    }
    const { target, same } = named;
    if (target !== name) {
      conv.warnings.push(
        `server "${name}" is "${target}" in ${portcullisPath}: server names use letters, digits, "-" and single "_"`
      );
    }
    for (const secret of conv.secrets.slice(secretsBefore)) secret.server = target;
    moves.moved.push({ from: name, to: target, kind: entry.url ? 'http' : 'stdio', alreadyThere: same });
    if (!same) moves.add[target] = entry;
  }
  if (clashes.length > 0) {
    throw new SetupError(
      `${portcullisPath} already has a different server named ${clashes.map((n) => `"${n}"`).join(', ')}; ` +
        `rename it there or in ${client.path}, or wrap the others with --only`,
      portcullisPath
    );
  }
  return moves;
}

/** The client's entry that starts the gateway, in the format's own shape. */
function gatewayEntry(spec: ClientSpec, launch: LaunchCommand, env: Record<string, string>): unknown {
  return {
    ...(spec.stdioType ? { type: 'stdio' } : {}),
    command: launch.command,
    args: launch.args,
    ...(Object.keys(env).length > 0 ? { env } : {})
  };
}

function passedEnvOf(client: ClientFile, gateways: string[], conv: Conversion): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of gateways) {
    const old = (client.entries[name] as { env?: unknown }).env;
    if (old && typeof old === 'object') Object.assign(env, old);
  }
  for (const [expr, name] of conv.routed) env[name] = `\${${expr}}`;
  return env;
}

function clientAfter(
  client: ClientFile,
  p: Plan,
  launch: LaunchCommand,
  env: Record<string, string>
): string {
  const gatewayName = p.gateways[0] ?? freeName('portcullis', (n) => p.remaining.includes(n));
  const servers: Record<string, unknown> = { [gatewayName]: gatewayEntry(client.spec, launch, env) };
  for (const name of p.remaining) servers[name] = client.entries[name];
  return setValue(client.text, [client.spec.serversKey], servers);
}

function secretWarning(s: SecretRef, portcullisPath: string): string {
  const where = s.in === 'env' ? `env ${s.name}` : `header ${s.name}`;
  const ref = s.in === 'env' ? `${s.name}: "\${${s.name}}"` : `${s.name}: "Bearer \${SOME_TOKEN}"`;
  return (
    `server "${s.server}": ${where} is a secret in clear; it was moved as it was into ${portcullisPath}. ` +
    `Prefer ${ref} there and set the variable in the environment that starts the gateway`
  );
}

function notes(
  conv: Conversion,
  moved: MovedServer[],
  created: boolean,
  portcullisPath: string,
  generated: boolean
): string[] {
  const out = [...conv.warnings];
  if (moved.some((m) => m.kind === 'stdio' && !m.alreadyThere)) {
    out.push(
      'Portcullis starts each stdio server with PATH and its own env only (not the whole environment ' +
        'the client gave it); add what a server needs to its env or env_passthrough'
    );
  }
  for (const [expr, name] of conv.routed) {
    out.push(`\${${expr}} is expanded by ${conv.spec.title}; the portcullis entry passes it in as ${name}`);
  }
  out.push(...conv.secrets.map((s) => secretWarning(s, portcullisPath)));
  if (!created) {
    for (const problem of permissionProblems([portcullisPath])) {
      out.push(`the gateway will refuse to start until this is fixed: ${problem}`);
    }
  }
  if (created && !generated) {
    out.push(
      `${portcullisPath} was created from the starter policy, which denies by default: ` +
        "the agent sees only the tools its rules allow; add rules for your servers' tools"
    );
  }
  return out;
}

function alreadyWrapped(client: ClientFile, portcullisPath: string, gateways: string[]): WrapResult {
  const before = existsSync(portcullisPath) ? readText(portcullisPath) : '';
  return {
    format: client.spec.format,
    clientPath: client.path,
    portcullisPath,
    diff: '',
    clientBefore: client.text,
    clientAfter: client.text,
    portcullisBefore: before,
    portcullisAfter: before,
    changed: false,
    moved: [],
    passedEnv: {},
    secrets: [],
    warnings: client.warnings,
    message:
      `${client.path} is already wrapped: its only server is "${gateways[0]}", which runs ` +
      `portcullis stdio --config ${portcullisPath}; nothing to do`
  };
}

/** Move a client config's servers into portcullis.yaml and point the client at the gateway. */
export function wrap(clientConfigPath: string, options: WrapOptions): WrapResult {
  const portcullisPath = resolve(options.portcullisConfig);
  const client = readClient(resolve(clientConfigPath), options.format);
  const p = plan(client, portcullisPath, options.only);
  if (p.selected.length === 0) {
    if (p.gateways.length > 0) return alreadyWrapped(client, portcullisPath, p.gateways);
    throw new SetupError(`${client.path}: no servers to wrap`, client.path);
  }
  const exists = existsSync(portcullisPath);
  const portcullisBefore = exists ? readText(portcullisPath) : '';
  const conv = newConversion(client.spec, client.path);
  conv.warnings.push(...client.warnings);
  const existing = exists ? existingServers(portcullisBefore, portcullisPath) : {};
  const moves = moveServers(client, p.selected, existing, conv, portcullisPath);
  const portcullisAfter = exists
    ? addServers(portcullisBefore, moves.add, portcullisPath)
    : starterConfig({ servers: moves.add, ...(options.policy ? { policy: options.policy } : {}) });
  assertLoads(portcullisAfter, portcullisPath);
  const passedEnv = passedEnvOf(client, p.gateways, conv);
  const launch = options.command ?? defaultLaunch(portcullisPath);
  const after = clientAfter(client, p, launch, passedEnv);
  const diff =
    unifiedDiff(client.text, after, client.path, client.path) +
    unifiedDiff(portcullisBefore, portcullisAfter, exists ? portcullisPath : '/dev/null', portcullisPath);
  let backup: string | undefined;
  if (!options.dryRun) {
    backup = createBackup(client.path);
    if (portcullisAfter !== portcullisBefore) writeFileAtomic(portcullisPath, portcullisAfter, 0o600);
    writeFileAtomic(client.path, after);
  }
  const names = moves.moved.map((m) => m.from).join(', ');
  return {
    format: client.spec.format,
    clientPath: client.path,
    portcullisPath,
    diff,
    clientBefore: client.text,
    clientAfter: after,
    portcullisBefore,
    portcullisAfter,
    ...(backup ? { backup } : {}),
    changed: true,
    moved: moves.moved,
    passedEnv,
    secrets: conv.secrets,
    warnings: notes(conv, moves.moved, !exists, portcullisPath, options.policy !== undefined),
    message:
      `${options.dryRun ? 'would move' : 'moved'} ${moves.moved.length} server(s) (${names}) from ` +
      `${client.path} into ${portcullisPath}; the client now starts Portcullis`
  };
}
