/**
 * Reading a PostgreSQL audit log: verification (the same chain walk as for files, over rows in seq
 * order, in one consistent snapshot), queries by time, identity, tool, server, decision and event,
 * and the last records (to follow new ones).
 *
 * Where a file problem names `file:line`, a table problem names `table:n`: the row whose seq column
 * is n. Besides what the file verifier checks, each row's copies of its fields (the query columns)
 * must match its sealed record, and the head row must name the last record: a table whose tail was
 * deleted, or whose last record was rewritten and rehashed, fails even without checkpoints.
 */
import type { KeyObject } from 'node:crypto';
import type { Client } from 'pg';
import { isHash } from './chain.js';
import { queryGlob, type QueryGlob } from './glob.js';
import { loadPublicKey, parseCheckpoint } from './checkpoints.js';
import { auditTables, columnValue, connectClient, INDEXED_FIELDS, type AuditTables } from './postgres.js';
import {
  ChainWalk,
  checkpointProblem,
  earliest,
  emptyReport,
  parseEntry,
  type Entry,
  type LoadedCheckpoint,
  type VerifyProblem,
  type VerifyReport
} from './verify.js';

export interface PostgresAuditTarget {
  url: string;
  /** Default portcullis_audit. */
  table?: string;
  connectTimeoutMs?: number;
}

export interface PostgresVerifyOptions {
  /** Check the checkpoint table (default true). */
  checkpoints?: boolean;
  /** Ed25519 public key (PEM text, a path to a PEM file, or a KeyObject): every checkpoint must be signed by it. */
  publicKey?: string | KeyObject;
  /** Accept a chain whose first rows were deleted on purpose (retention). */
  allowTruncatedStart?: boolean;
}

const PAGE = 2000;

interface Row {
  seq: string;
  id: string;
  time: Date;
  prev: string;
  hash: string;
  record: string;
  [field: string]: unknown;
}

async function withClient<T>(target: PostgresAuditTarget, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectClient(target.url, target.connectTimeoutMs);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function tablesExist(client: Client, t: AuditTables): Promise<boolean> {
  const found = await client.query<{ r: string | null; h: string | null; c: string | null }>(
    'SELECT to_regclass($1) AS r, to_regclass($2) AS h, to_regclass($3) AS c',
    [t.records, t.head, t.checkpoints]
  );
  const row = found.rows[0];
  return Boolean(row?.r && row.h && row.c);
}

/** What is wrong with a row's own columns, given its sealed record; undefined when they match. */
function columnProblem(row: Row, record: Record<string, unknown>): string | undefined {
  if (row.id !== record.id) return 'its id column differs from the sealed record';
  if (row.prev !== record.prev) return 'its prev column differs from the sealed record';
  if (row.hash !== record.hash) return 'its hash column differs from the sealed record';
  if (row.time.getTime() !== Date.parse(String(record.time))) {
    return 'its time column differs from the sealed record';
  }
  for (const field of INDEXED_FIELDS) {
    if ((row[field] ?? null) !== columnValue(record[field])) {
      return `its ${field} column differs from the sealed record`;
    }
  }
  return undefined;
}

/** Rows in seq order after `from`, a page at a time; `where` may use $2, $3, ... for `params`. */
async function* rows(client: Client, t: AuditTables, where = 'TRUE', params: unknown[] = [], from = 0) {
  let after = from;
  for (;;) {
    const page = await client.query<Row>(
      `SELECT * FROM ${t.records} WHERE seq > $1 AND (${where}) ORDER BY seq LIMIT ${PAGE}`,
      [after, ...params]
    );
    for (const row of page.rows) yield row;
    if (page.rows.length < PAGE) return;
    after = Number(page.rows[page.rows.length - 1]!.seq);
  }
}

function entryOf(t: AuditTables, row: Row): Entry {
  return parseEntry(t.name, Number(row.seq), row.record, (record) => columnProblem(row, record));
}

/** Verify the chain in a PostgreSQL audit table, and name the first bad record. */
export async function verifyPostgresAudit(
  target: PostgresAuditTarget,
  options: PostgresVerifyOptions = {}
): Promise<VerifyReport> {
  const t = auditTables(target.table);
  const report: VerifyReport = { ...emptyReport([t.name]), source: `PostgreSQL table ${t.name}` };
  const fail = (problem: VerifyProblem): VerifyReport => ({ ...report, ok: false, problem });
  let key: KeyObject | undefined;
  if (options.publicKey !== undefined) {
    key = loadPublicKey(options.publicKey);
    report.signed = true;
  }
  const cpName = `${t.name}_checkpoints`;
  if (options.checkpoints === false && key) {
    return fail({
      reason: 'missing_checkpoints',
      message: 'a public key was given but checkpoints are not checked',
      file: '',
      line: 0
    });
  }

  return withClient(target, async (client) => {
    if (!(await tablesExist(client, t))) {
      return fail({
        reason: 'missing_file',
        message: `the audit tables ${t.name}, ${t.name}_head and ${cpName} do not all exist`,
        file: t.name,
        line: 0
      });
    }
    // One snapshot: writers may go on appending while this reads.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const headRow = (await client.query<{ seq: string; hash: string }>(`SELECT seq, hash FROM ${t.head}`))
        .rows[0];
      const checkpoints: LoadedCheckpoint[] = [];
      let cpProblem: VerifyProblem | undefined;
      if (options.checkpoints !== false) {
        const found = await client.query<{
          seq: string;
          hash: string;
          time: string;
          sig: string | null;
          kid: string | null;
        }>(`SELECT seq, hash, time, sig, kid FROM ${t.checkpoints} ORDER BY seq`);
        for (const row of found.rows) {
          const line = Number(row.seq);
          const cp = parseCheckpoint(
            JSON.stringify({
              seq: line,
              hash: row.hash,
              time: row.time,
              ...(row.sig !== null ? { sig: row.sig } : {}),
              ...(row.kid !== null ? { kid: row.kid } : {})
            })
          );
          if (!cp) {
            cpProblem ??= { reason: 'malformed_checkpoint', message: 'not a checkpoint', file: cpName, line };
            continue;
          }
          checkpoints.push({ ...cp, line });
          cpProblem ??= checkpointProblem({ ...cp, line }, cpName, key);
        }
      }
      report.checkpoints = checkpoints.length;

      const walk = new ChainWalk(report, checkpoints, cpName, options.allowTruncatedStart === true);
      for await (const row of rows(client, t)) if (!walk.push(entryOf(t, row))) break;
      let all: Entry[] = [];
      if (walk.needsAll) for await (const row of rows(client, t)) all.push(entryOf(t, row));
      let problem = walk.finish(() => all);
      all = [];
      problem ??= headProblem(t, report, headRow);
      problem = earliest(problem, cpProblem);
      return problem ? fail(problem) : { ...report, ok: true };
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
    }
  });
}

/** The head row must name the last record: what a tail cut or a rehashed last record breaks. */
function headProblem(
  t: AuditTables,
  report: VerifyReport,
  headRow: { seq: string; hash: string } | undefined
): VerifyProblem | undefined {
  const lastSeq = report.head?.seq ?? 0;
  if (!headRow || !isHash(headRow.hash)) {
    return {
      reason: 'malformed',
      message: `${t.name}_head has no valid row: the table was changed by hand`,
      file: `${t.name}_head`,
      line: 0
    };
  }
  const headSeq = Number(headRow.seq);
  if (lastSeq < headSeq) {
    return {
      reason: 'truncated',
      message:
        `the table ends at seq ${lastSeq} but its head row records seq ${headSeq}: ` +
        `records ${lastSeq + 1}..${headSeq} were removed from the end`,
      file: t.name,
      line: lastSeq + 1,
      seq: lastSeq + 1,
      expectedSeq: lastSeq + 1
    };
  }
  if (lastSeq > headSeq) {
    return {
      reason: 'inserted',
      message:
        `record seq ${headSeq + 1} is past the chain's end as its head row records it (seq ${headSeq}): ` +
        'no gateway wrote it',
      file: t.name,
      line: headSeq + 1,
      seq: headSeq + 1,
      expectedSeq: headSeq + 1
    };
  }
  if (lastSeq > 0 && report.head!.hash !== headRow.hash) {
    return {
      reason: 'modified',
      message:
        `record seq ${lastSeq} does not match the hash its head row records: ` +
        'it was rewritten and rehashed (or the head row was changed)',
      file: t.name,
      line: lastSeq,
      seq: lastSeq,
      expectedSeq: lastSeq
    };
  }
  return undefined;
}

export interface AuditQuery {
  /** Records at or after this time (ms since the epoch). */
  since?: number;
  /** Records before this time. */
  until?: number;
  /** Identity, tool and server are globs (`*` any run, `?` one character), as in the policy. */
  identity?: string;
  /** The upstream tool name or the name the agent used (`server__tool`). */
  tool?: string;
  server?: string;
  decision?: string;
  event?: string;
  /** Only records with scanner findings. */
  findings?: boolean;
}

/** A query's globs, compiled once per query rather than once per record. */
const compiled = new WeakMap<AuditQuery, { identity?: QueryGlob; tool?: QueryGlob; server?: QueryGlob }>();
function globsOf(q: AuditQuery) {
  let g = compiled.get(q);
  if (!g) {
    g = {
      ...(q.identity ? { identity: queryGlob(q.identity) } : {}),
      ...(q.tool ? { tool: queryGlob(q.tool) } : {}),
      ...(q.server ? { server: queryGlob(q.server) } : {})
    };
    compiled.set(q, g);
  }
  return g;
}
const test = (glob: QueryGlob | undefined, value: unknown) =>
  glob === undefined || (typeof value === 'string' && glob.test(value));

/** Does a record match a query? The same test for files and tables. */
export function matchesQuery(r: Record<string, unknown>, q: AuditQuery): boolean {
  const t = Date.parse(String(r.time ?? ''));
  if (q.since !== undefined && t < q.since) return false;
  if (q.until !== undefined && t >= q.until) return false;
  const g = globsOf(q);
  if (!test(g.identity, r.identity)) return false;
  if (g.tool && !test(g.tool, r.tool) && !test(g.tool, r.name)) return false;
  if (!test(g.server, r.server)) return false;
  if (q.decision && r.decision !== q.decision) return false;
  if (q.event && r.event !== q.event) return false;
  if (q.findings && !(Array.isArray(r.findings) && r.findings.length > 0)) return false;
  return true;
}

export interface StoredAuditRecord {
  /** The stored line, exactly. */
  text: string;
  record: Record<string, unknown>;
}

/**
 * The records that match, in chain order. The columns narrow the search in SQL; each candidate is
 * then checked against its sealed record, so a result is exactly what a file query would give.
 */
export async function* queryPostgresAudit(
  target: PostgresAuditTarget,
  query: AuditQuery
): AsyncGenerator<StoredAuditRecord> {
  const t = auditTables(target.table);
  const client = await connectClient(target.url, target.connectTimeoutMs);
  try {
    if (!(await tablesExist(client, t))) throw new Error(`the audit table ${t.name} does not exist`);
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: (p: string) => string, value: unknown) => {
      params.push(value);
      where.push(sql(`$${params.length + 1}`));
    };
    if (query.since !== undefined) add((p) => `time >= ${p}`, new Date(query.since));
    if (query.until !== undefined) add((p) => `time < ${p}`, new Date(query.until));
    // A glob narrows nothing in SQL; matchesQuery tests it on each row.
    const { identity, tool, server } = globsOf(query);
    if (identity?.literal) add((p) => `identity = ${p}`, columnValue(identity.source));
    if (tool?.literal) add((p) => `(tool = ${p} OR name = ${p})`, columnValue(tool.source));
    if (server?.literal) add((p) => `server = ${p}`, columnValue(server.source));
    if (query.decision) add((p) => `decision = ${p}`, columnValue(query.decision));
    if (query.event) add((p) => `event = ${p}`, columnValue(query.event));
    for await (const row of rows(client, t, where.join(' AND ') || 'TRUE', params)) {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(row.record) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (matchesQuery(record, query)) yield { text: row.record, record };
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The last `count` records, then (with `follow`) every record committed after them, polling every
 * `intervalMs`, until `signal` aborts.
 */
export async function tailPostgresAudit(
  target: PostgresAuditTarget,
  count: number,
  onRecord: (stored: StoredAuditRecord) => void,
  options: { follow?: boolean; intervalMs?: number; signal?: AbortSignal } = {}
): Promise<void> {
  const t = auditTables(target.table);
  await withClient(target, async (client) => {
    if (!(await tablesExist(client, t))) throw new Error(`the audit table ${t.name} does not exist`);
    const emit = (row: { record: string }) => {
      try {
        onRecord({ text: row.record, record: JSON.parse(row.record) as Record<string, unknown> });
      } catch {
        onRecord({ text: row.record, record: {} });
      }
    };
    const last = await client.query<{ seq: string; record: string }>(
      `SELECT seq, record FROM ${t.records} ORDER BY seq DESC LIMIT $1`,
      [Math.max(0, count)]
    );
    let after = 0;
    for (const row of last.rows.reverse()) {
      emit(row);
      after = Number(row.seq);
    }
    if (count === 0 || last.rows.length === 0) {
      const max = await client.query<{ seq: string | null }>(`SELECT max(seq) AS seq FROM ${t.records}`);
      after = Number(max.rows[0]?.seq ?? 0);
    }
    while (options.follow && !options.signal?.aborted) {
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 500));
      for await (const row of rows(client, t, 'TRUE', [], after)) {
        emit(row);
        after = Number(row.seq);
      }
    }
  });
}
