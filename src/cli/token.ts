/** `portcullis token create|list|revoke|rotate`: manage hashed, scoped bearer tokens. */
import type { Command } from 'commander';
import {
  createTokenEntry,
  readTokenFile,
  recordRevocation,
  revokeTokenEntry,
  rotateTokenEntry,
  tokenProblem
} from '../auth/token-file.js';
import { readLastUsed } from '../auth/token-watch.js';
import { createLogger } from '../log.js';
import { load } from './load-config.js';
import { parseDuration } from './options.js';
import { err, out, UserError } from './output.js';

interface FileOptions {
  file?: string;
  config?: string;
}
interface CreateOptions extends FileOptions {
  identity: string;
  role: string[];
  scope?: string[];
  expires?: string;
  description?: string;
}

export function register(program: Command): void {
  const token = program.command('token').description('manage hashed, scoped bearer tokens');
  const fileOptions = (cmd: Command) =>
    cmd
      .option('--file <tokens.yaml>', 'the token file')
      .option('--config <file>', "use the config's auth.tokens file");
  fileOptions(
    token
      .command('create')
      .description('issue a token; it is printed once and only its hash is stored')
      .requiredOption('--identity <name>', 'who the token is for')
      .requiredOption('--role <role...>', 'role(s) the token carries')
      .option('--scope <scope...>', 'scope(s) the token carries (default: all)')
      .option('--expires <duration>', 'lifetime, e.g. 30d')
      .option('--description <text>', 'a note shown by list')
  ).action(create);
  fileOptions(
    token.command('list').description('show tokens (never the tokens themselves)').option('--json', 'as JSON')
  ).action(list);
  fileOptions(
    token
      .command('revoke')
      .description('revoke a token; a running gateway refuses it within a second')
      .argument('<id>')
      .option(
        '--jti',
        "the id is an OAuth token id (`jti`): recorded in the token file's revocations, and in the shared state with --config"
      )
  ).action(revoke);
  fileOptions(
    token
      .command('rotate')
      .description('issue a successor; the old token stays valid for the grace period, then is refused')
      .argument('<id>')
      .option('--grace <duration>', 'how long the old token keeps working', '1h')
  ).action(rotate);
}

/** The token file a token command works on: --file, or the config's auth.tokens. */
function tokenFile(opts: FileOptions): string {
  const file = optionalTokenFile(opts);
  if (file) return file;
  if (opts.config) throw new UserError(`${opts.config}: auth.tokens is not a file path`);
  throw new UserError('name the token file: --file F, or --config F whose auth.tokens is a file');
}

function optionalTokenFile(opts: FileOptions, config = opts.config ? load(opts.config) : undefined) {
  return opts.file ?? config?.auth.tokens_file;
}

function create(opts: CreateOptions): void {
  const file = tokenFile(opts);
  const created = createTokenEntry(file, {
    identity: opts.identity,
    roles: opts.role,
    ...(opts.scope ? { scopes: opts.scope } : {}),
    ...(opts.expires
      ? { expires: new Date(Date.now() + parseDuration(opts.expires) * 1000).toISOString() }
      : {}),
    ...(opts.description ? { description: opts.description } : {})
  });
  err(`created ${created.id} for ${opts.identity} in ${file}; the token is shown once:`);
  out(created.token);
}

function list(opts: FileOptions & { json?: boolean }): void {
  const file = tokenFile(opts);
  const { tokens, issues } = readTokenFile(file);
  if (issues.length > 0)
    throw new UserError(issues.map((i) => `${i.file}:${i.line}:${i.col} ${i.path}: ${i.message}`).join('\n'));
  const lastUsed = readLastUsed(file);
  const rows = tokens.map((t) => ({
    id: t.id,
    identity: t.identity,
    roles: t.roles,
    scopes: t.scopes ?? ['(all)'],
    status: tokenProblem(t)?.replace(/^token /, '') ?? 'active',
    created: t.created ?? null,
    expires: t.expires ?? null,
    last_used: lastUsed[t.id] ?? null,
    ...(t.rotated_to ? { rotated_to: t.rotated_to } : {})
  }));
  if (opts.json) {
    out(JSON.stringify(rows, null, 2));
    return;
  }
  const header = ['ID', 'IDENTITY', 'ROLES', 'SCOPES', 'STATUS', 'EXPIRES', 'LAST USED'];
  const table = [
    header,
    ...rows.map((r) => [
      r.id,
      r.identity,
      r.roles.join(','),
      r.scopes.join(','),
      r.status,
      r.expires ?? '-',
      r.last_used ?? 'never'
    ])
  ];
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table)
    out(
      row
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd()
    );
}

/**
 * A revocation is written where it lasts: the token file (a token's own entry, or for a `jti` the
 * file's `revocations`), which every gateway reading the file refuses, and which each replica
 * carries into the shared store at start and on every change. The shared store, when configured,
 * makes every replica refuse it at once, whatever its own token file says.
 */
async function revoke(id: string, opts: FileOptions & { jti?: boolean }): Promise<void> {
  const config = opts.config ? load(opts.config) : undefined;
  const shared = config !== undefined && config.state.store !== 'memory';
  const file = opts.jti ? optionalTokenFile(opts, config) : tokenFile(opts);
  if (opts.jti && !file && !shared) {
    throw new UserError(
      '--jti records the revocation in a token file or the shared state: give --file F, or --config F whose auth.tokens is a file or whose state.store is redis'
    );
  }
  if (file) {
    try {
      if (opts.jti) recordRevocation(file, id);
      else revokeTokenEntry(file, id);
    } catch (e) {
      throw new UserError((e as Error).message);
    }
  } else {
    err(
      `warning: no token file to record ${id} in: it lives in the shared state only, and survives a Redis restart only while a replica runs or Redis persists its data (docs/scale.md)`
    );
  }
  if (!shared) {
    out(`revoked ${id}`);
    return;
  }
  // With shared state, every replica refuses it at once, whatever its own token file says.
  const { openSharedState } = await import('../state/open.js');
  const state = await openSharedState(config.state, createLogger());
  try {
    await state.revoke(id);
  } catch (e) {
    const where = file ? `revoked in ${file}, but` : 'not revoked:';
    throw new UserError(`${where} not on the other replicas: ${(e as Error).message}`);
  } finally {
    await state.close();
  }
  out(`revoked ${id} (${file ? 'token file and ' : ''}shared state)`);
}

function rotate(id: string, opts: FileOptions & { grace: string }): void {
  const file = tokenFile(opts);
  let rotated;
  try {
    rotated = rotateTokenEntry(file, id, parseDuration(opts.grace));
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  err(
    `rotated ${id} to ${rotated.id}; ${id} is refused from ${rotated.graceUntil}. The new token is shown once:`
  );
  out(rotated.token);
}
