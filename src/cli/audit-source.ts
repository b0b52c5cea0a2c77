/**
 * Where an `audit` subcommand reads a log from, named the one way the user chose: a file
 * argument, --postgres URL (with --table), or --config F whose audit section names it.
 */
import { type Command, CommanderError } from 'commander';
import { load } from './load-config.js';
import { UserError } from './output.js';

export interface AuditSourceOptions {
  postgres?: string;
  table?: string;
  config?: string;
}
type AuditSource = { kind: 'file'; path: string } | { kind: 'postgres'; url: string; table: string };

/** Where a log is, named the one way the user chose: a file, --postgres URL, or --config F. */
export function auditSource(log: string | undefined, opts: AuditSourceOptions): AuditSource {
  const given = [log, opts.postgres, opts.config].filter((x) => x !== undefined).length;
  if (given !== 1)
    throw new CommanderError(
      2,
      'portcullis.usage',
      'name one audit log: a file, --postgres URL or --config FILE'
    );
  if (opts.table !== undefined && opts.postgres === undefined)
    throw new CommanderError(
      2,
      'portcullis.usage',
      '--table goes with --postgres (with --config, the config names the table)'
    );
  if (opts.postgres !== undefined) {
    return { kind: 'postgres', url: opts.postgres, table: opts.table ?? 'portcullis_audit' };
  }
  if (opts.config !== undefined) {
    const config = load(opts.config);
    const pg = config.audit.postgres;
    if (pg) return { kind: 'postgres', url: pg.url, table: pg.table };
    if (!config.audit.enabled || config.audit.path === 'stderr' || config.audit.path === 'stdout')
      throw new UserError(`${config.source} writes no audit file or table to read`);
    return { kind: 'file', path: config.audit.path };
  }
  return { kind: 'file', path: log! };
}

/** The options that name a log other than by a file argument. */
export const sourceOptions = (cmd: Command) =>
  cmd
    .option('--postgres <url>', 'read the log from PostgreSQL (password: PGPASSWORD or ~/.pgpass)')
    .option('--table <name>', 'with --postgres: the audit table (default portcullis_audit)')
    .option('--config <file>', "read the log the config's audit section names");

/** The audit database could not be read. */
export const unreachable = (e: unknown) =>
  new UserError(`cannot read the audit database: ${(e as Error).message}`);
