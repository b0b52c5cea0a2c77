/**
 * The PostgreSQL audit tables, shared by the sink (./postgres-sink.ts) and the readers
 * (./postgres-read.ts): names, the DDL (created on first use, safely when several replicas start at
 * once), and the columns each record is indexed by.
 *
 * `<table>` holds one row per record: `seq` (primary key), the exact stored line in `record` (the
 * same canonical JSON a file log holds, so verification is the same), and copies of a few fields for
 * queries. A composite foreign key makes every row link to the row before it (`prev` is the hash of
 * seq - 1), so the table can only ever hold one unbroken chain, whoever writes to it.
 * `<table>_head` is one row, the end of the chain: writers lock it to extend the chain.
 * `<table>_checkpoints` holds checkpoints, as the file sink's side file does.
 */
import type * as Pg from 'pg';
import type { Client, ClientConfig } from 'pg';
import { GENESIS_HASH } from './chain.js';

export const DEFAULT_AUDIT_TABLE = 'portcullis_audit';

const IDENT = /^[a-z_][a-z0-9_]{0,47}$/;

export interface AuditTables {
  /** The name as configured: `table` or `schema.table`. */
  name: string;
  /** Quoted, schema-qualified identifiers for SQL. */
  records: string;
  head: string;
  checkpoints: string;
  /** The unquoted base name, for index names. */
  base: string;
}

/** Validate a table name (lowercase letters, digits, `_`; optionally `schema.table`). */
export function auditTables(name: string = DEFAULT_AUDIT_TABLE): AuditTables {
  const parts = name.split('.');
  if (parts.length > 2 || !parts.every((p) => IDENT.test(p))) {
    throw new Error(
      `audit table "${name}": expected lowercase letters, digits and "_" (at most 48), optionally schema.table`
    );
  }
  const base = parts[parts.length - 1]!;
  const schema = parts.length === 2 ? `"${parts[0]}".` : '';
  return {
    name,
    records: `${schema}"${base}"`,
    head: `${schema}"${base}_head"`,
    checkpoints: `${schema}"${base}_checkpoints"`,
    base
  };
}

/** Connection settings: timeouts so that a database that hangs is noticed, never waited on forever. */
function clientConfig(url: string, connectTimeoutMs = 5000): ClientConfig {
  return {
    connectionString: url,
    connectionTimeoutMillis: connectTimeoutMs,
    keepAlive: true,
    query_timeout: 15_000,
    lock_timeout: 10_000,
    // A writer that stops in the middle of a transaction must not hold the chain's head forever.
    idle_in_transaction_session_timeout: 30_000,
    application_name: 'portcullis'
  };
}

/** node-postgres, loaded on first use: only gateways that audit to PostgreSQL need it. */
async function loadPg(): Promise<typeof Pg> {
  const mod = (await import('pg')) as typeof Pg & { default?: typeof Pg };
  return mod.default ?? mod;
}

/** A connected client; its errors (a dropped connection) are reported to `onError`, never thrown. */
export async function connectClient(
  url: string,
  connectTimeoutMs: number | undefined,
  onError: (err: Error) => void = () => undefined
): Promise<Client> {
  const pg = await loadPg();
  const client = new pg.Client(clientConfig(url, connectTimeoutMs));
  client.on('error', onError);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}

/** Create the tables if they are missing. Idempotent, and safe when several replicas start at once. */
export async function ensureAuditTables(client: Client, t: AuditTables): Promise<void> {
  const present = await client.query<{ r: string | null; h: string | null; c: string | null }>(
    'SELECT to_regclass($1) AS r, to_regclass($2) AS h, to_regclass($3) AS c',
    [t.records, t.head, t.checkpoints]
  );
  const row = present.rows[0];
  if (row && row.r && row.h && row.c) return;
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`portcullis-audit ${t.name}`]);
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${t.records} (
        seq bigint PRIMARY KEY CHECK (seq >= 1),
        prev_seq bigint GENERATED ALWAYS AS (NULLIF(seq - 1, 0)) STORED,
        id text NOT NULL UNIQUE,
        time timestamptz NOT NULL,
        event text NOT NULL,
        identity text,
        session text,
        server text,
        tool text,
        name text,
        decision text,
        outcome text,
        code text,
        prev text NOT NULL CHECK (prev ~ '^[0-9a-f]{64}$'),
        hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
        record text NOT NULL,
        UNIQUE (seq, hash),
        CHECK (seq > 1 OR prev = '${GENESIS_HASH}'),
        FOREIGN KEY (prev_seq, prev) REFERENCES ${t.records} (seq, hash)
      )`);
    for (const column of ['time', 'identity', 'tool', 'name']) {
      await client.query(`CREATE INDEX IF NOT EXISTS "${t.base}_${column}_idx" ON ${t.records} (${column})`);
    }
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${t.head} (
        one boolean PRIMARY KEY DEFAULT true CHECK (one),
        seq bigint NOT NULL,
        hash text NOT NULL
      )`);
    await client.query(
      `INSERT INTO ${t.head} (one, seq, hash) VALUES (true, 0, '${GENESIS_HASH}') ON CONFLICT DO NOTHING`
    );
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${t.checkpoints} (
        seq bigint PRIMARY KEY,
        hash text NOT NULL,
        time text NOT NULL,
        sig text,
        kid text
      )`);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** The record fields copied into columns for queries (besides seq, id, time, prev and hash). */
export const INDEXED_FIELDS = [
  'event',
  'identity',
  'session',
  'server',
  'tool',
  'name',
  'decision',
  'outcome',
  'code'
] as const;

const MAX_COLUMN = 200;

/**
 * A field as its column holds it: strings only, made well-formed, without NUL (which PostgreSQL text
 * cannot hold) and cut to 200 characters (index entries are bounded). The record itself keeps the
 * value exactly; queries check matches against it.
 */
export function columnValue(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  // With the u flag, \p{Cs} matches only lone surrogates (a pair is one code point).
  const clean = value.replace(/[\p{Cs}\0]/gu, '\uFFFD');
  if (clean.length <= MAX_COLUMN) return clean;
  // Never cut a surrogate pair in half.
  const end = /[\uD800-\uDBFF]/.test(clean[MAX_COLUMN - 1]!) ? MAX_COLUMN - 1 : MAX_COLUMN;
  return clean.slice(0, end);
}
