/** `portcullis audit verify|tail|query|keygen`: verify, follow and search the audit log. */
import { existsSync, openSync, readFileSync, readSync, statSync, watchFile, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type AuditSourceOptions, auditSource, sourceOptions, unreachable } from './audit-source.js';
import { parseTime } from './options.js';
import { err, out, UserError } from './output.js';

interface VerifyOptions extends AuditSourceOptions {
  publicKey?: string;
  checkpoints?: string | false;
  allowTruncatedStart?: boolean;
}
interface TailOptions extends AuditSourceOptions {
  lines: string;
  follow?: boolean;
  json?: boolean;
}
interface QueryOptions extends AuditSourceOptions {
  since?: string;
  until?: string;
  identity?: string;
  tool?: string;
  server?: string;
  decision?: string;
  event?: string;
  findings?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  const auditCmd = program.command('audit').description('verify, follow and search the audit log');
  sourceOptions(
    auditCmd
      .command('verify')
      .description('check the hash chain and checkpoints; name the first bad record (exit 1)')
      .argument('[log]', 'the audit file (rotated files beside it are included)')
      .option('--public-key <pem>', 'Ed25519 public key (PEM file) the checkpoints must be signed with')
      .option('--checkpoints <file>', 'checkpoint file (default <log>.checkpoints)')
      .option('--no-checkpoints', 'verify the chain only')
      .option('--allow-truncated-start', 'the oldest rotated files (or rows) were deleted on purpose')
  ).action(verify);
  sourceOptions(
    auditCmd
      .command('tail')
      .description('print the last records, and follow new ones with --follow')
      .argument('[log]')
      .option('-n, --lines <n>', 'how many', '20')
      .option('-f, --follow', 'keep printing records as they are written')
      .option('--json', 'print records as JSON lines')
  ).action(tail);
  sourceOptions(
    auditCmd
      .command('query')
      .description('filter records by time, identity, tool, decision')
      .argument('[log]', 'the audit file (rotated files beside it are included)')
      .option('--since <time>', 'records at or after this time: 30m, 1h, 2d (ago) or an ISO date')
      .option('--until <time>', 'records before this time: 30m, 1h, 2d (ago) or an ISO date')
      .option('--identity <glob>', 'who called; * and ? match as in the policy')
      .option('--tool <glob>', "tool name or <server>__<tool>, e.g. 'files__*'")
      .option('--server <glob>')
      .option('--decision <d>', 'allow, deny or approval')
      .option('--event <e>', 'e.g. tools/call, auth/failure')
      .option('--findings', 'only records with scanner findings')
      .option('--json', 'print records as JSON lines, as stored')
  ).action(query);
  auditCmd
    .command('keygen')
    .description('make an Ed25519 key pair for signing audit checkpoints')
    .requiredOption('--out <prefix>', 'writes <prefix>.pem (private, 0600) and <prefix>.pub.pem')
    .action(keygen);
}

/**
 * One record as one line: time, decision, who, what, code, latency, and what scanning found. A
 * record with findings says FLAGGED and lists them (kind, severity, where, rule), so a flagged
 * response never reads like a plain allowed call.
 */
export const formatRecord = (r: Record<string, unknown>) =>
  [
    String(r.time ?? ''),
    String(r.decision ?? r.outcome ?? '').padEnd(8),
    String(r.identity ?? r.source ?? '-'),
    String(r.name ?? r.event ?? ''),
    r.code ? `(${String(r.code)})` : '',
    r.latency_ms !== undefined ? `${String(r.latency_ms)} ms` : '',
    formatFindings(r.findings)
  ]
    .filter(Boolean)
    .join('  ');

function formatFindings(findings: unknown): string {
  if (!Array.isArray(findings) || findings.length === 0) return '';
  const each = (findings as Array<Record<string, unknown>>).map((f) => {
    const where = [f.where, f.field].filter((x) => typeof x === 'string' && x).join(' ');
    return (
      `${String(f.kind ?? 'finding')}/${String(f.severity ?? '?')}` +
      (where ? ` in ${where}` : '') +
      (f.rule ? ` [${String(f.rule)}]` : '')
    );
  });
  return `FLAGGED ${findings.length}: ${each.join('; ')}`;
}

async function verify(log: string | undefined, opts: VerifyOptions): Promise<void> {
  const audit = await import('../audit/index.js');
  const source = auditSource(log, opts);
  let report;
  if (source.kind === 'postgres') {
    if (typeof opts.checkpoints === 'string')
      throw new UserError('--checkpoints FILE is for files; a table keeps its checkpoints beside it');
    try {
      report = await audit.verifyPostgresAudit(
        { url: source.url, table: source.table },
        {
          ...(opts.checkpoints === false ? { checkpoints: false } : {}),
          ...(opts.publicKey ? { publicKey: opts.publicKey } : {}),
          ...(opts.allowTruncatedStart ? { allowTruncatedStart: true } : {})
        }
      );
    } catch (e) {
      throw unreachable(e);
    }
  } else {
    const path = source.path;
    try {
      report = audit.verifyAuditLog(audit.listAuditFiles(path), {
        ...(opts.checkpoints !== false ? { checkpoints: opts.checkpoints ?? `${path}.checkpoints` } : {}),
        ...(opts.publicKey ? { publicKey: opts.publicKey } : {}),
        ...(opts.allowTruncatedStart ? { allowTruncatedStart: true } : {})
      });
    } catch (e) {
      throw new UserError(`cannot verify ${path}: ${(e as Error).message}`);
    }
  }
  out(audit.formatVerifyReport(report));
  if (!report.ok) throw new UserError('audit log verification failed');
}

async function tail(log: string | undefined, opts: TailOptions): Promise<void> {
  const source = auditSource(log, opts);
  const count = Math.max(0, Number(opts.lines) || 0);
  const show = (line: string) => {
    if (!line.trim()) return;
    try {
      out(opts.json ? line : formatRecord(JSON.parse(line) as Record<string, unknown>));
    } catch {
      out(line);
    }
  };
  if (source.kind === 'postgres') {
    const { tailPostgresAudit } = await import('../audit/index.js');
    try {
      await tailPostgresAudit({ url: source.url, table: source.table }, count, (r) => show(r.text), {
        ...(opts.follow ? { follow: true } : {})
      });
    } catch (e) {
      throw unreachable(e);
    }
    return;
  }
  const file = source.path;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read ${file}: ${(e as Error).message}`);
  }
  const lines = text.split('\n').filter(Boolean);
  for (const line of lines.slice(-count)) show(line);
  if (opts.follow) await follow(file, statSync(file).size, show);
}

/** Print each line appended to `file` after `offset`, forever; a file that shrank is read from its start. */
function follow(file: string, offset: number, show: (line: string) => void): Promise<never> {
  let partial = '';
  return new Promise<never>(() => {
    watchFile(file, { interval: 250 }, (curr) => {
      if (curr.size < offset) offset = 0;
      if (curr.size === offset) return;
      const fd = openSync(file, 'r');
      const buf = Buffer.alloc(curr.size - offset);
      readSync(fd, buf, 0, buf.length, offset);
      offset = curr.size;
      const chunk = partial + buf.toString('utf8');
      const parts = chunk.split('\n');
      partial = parts.pop() ?? '';
      for (const p of parts) show(p);
    });
  });
}

async function query(log: string | undefined, opts: QueryOptions): Promise<void> {
  const { listAuditFiles, matchesQuery, queryPostgresAudit } = await import('../audit/index.js');
  const source = auditSource(log, opts);
  const now = Date.now();
  const since = opts.since !== undefined ? parseTime(opts.since, now) : undefined;
  const until = opts.until !== undefined ? parseTime(opts.until, now) : undefined;
  const filter = {
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(opts.tool ? { tool: opts.tool } : {}),
    ...(opts.server ? { server: opts.server } : {}),
    ...(opts.decision ? { decision: opts.decision } : {}),
    ...(opts.event ? { event: opts.event } : {}),
    ...(opts.findings ? { findings: true } : {})
  };
  let count = 0;
  const show = (line: string, r: Record<string, unknown>) => {
    count++;
    out(opts.json ? line : formatRecord(r));
  };
  if (source.kind === 'postgres') {
    try {
      for await (const r of queryPostgresAudit({ url: source.url, table: source.table }, filter))
        show(r.text, r.record);
    } catch (e) {
      throw unreachable(e);
    }
  } else {
    for (const file of listAuditFiles(source.path)) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new UserError(`cannot read ${file}: ${(e as Error).message}`);
      }
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        let r: Record<string, unknown>;
        try {
          r = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        if (matchesQuery(r, filter)) show(line, r);
      }
    }
  }
  err(`${count} record(s)`);
}

async function keygen(opts: { out: string }): Promise<void> {
  const { generateAuditKeyPair } = await import('../audit/index.js');
  const priv = `${opts.out}.pem`;
  const pub = `${opts.out}.pub.pem`;
  if (existsSync(priv) || existsSync(pub)) throw new UserError(`${priv} or ${pub} exists; not overwriting`);
  const pair = generateAuditKeyPair();
  writeFileSync(priv, pair.privateKey, { mode: 0o600 });
  writeFileSync(pub, pair.publicKey, { mode: 0o644 });
  out(
    `wrote ${priv} (audit.signing_key) and ${pub} (portcullis audit verify --public-key); key id ${pair.kid}`
  );
}
