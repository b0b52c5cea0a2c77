/**
 * The PostgreSQL audit sink: one hash chain in a table that several gateway replicas extend at once.
 *
 * `write()` seals nothing: it takes a snapshot of the record (version, id, time, fields) and queues
 * it. A writer loop commits queued records in order, several per transaction:
 *
 *   BEGIN; SELECT seq, hash FROM <table>_head FOR UPDATE   -- the head row serialises all writers
 *   seal each record after the head (seq, prev, hash: the same format as the file sink)
 *   INSERT the records (+ any checkpoints due); UPDATE the head; COMMIT
 *
 * so the chain position is assigned at commit and two replicas can never fork the chain; the table's
 * keys make a fork impossible even for a faulty writer (see ./postgres.ts). When a commit's outcome
 * is unknown (the connection dropped during it), the next attempt first looks the records up by id,
 * so a record is never stored twice.
 *
 * Durability, by `flush`:
 *  - 'every' (default): records are committed as soon as they are queued (those that arrive during a
 *    commit go in the next one, so concurrent calls share transactions); the gateway holds a call's
 *    reply until its record is committed, or fails it with audit_unavailable after `waitMs`.
 *  - 'batch': committed when `maxRecords` are queued or the oldest has waited `maxDelayMs`; replies
 *    do not wait, so a crash loses at most the queued records.
 * The queue is bounded (`maxQueue`): when it is full, write() throws. When the database is
 * unreachable, `ready()` rejects (the gateway refuses calls), the queue keeps what it holds, and the
 * sink reconnects with backoff by itself; nothing here ever throws out of a timer or event handler.
 */
import type { KeyObject } from 'node:crypto';
import type { Client } from 'pg';
import { canonicalJson } from './canonical.js';
import { openRecord, sealAfter, type OpenRecord } from './chain.js';
import { keyId, loadPrivateKey, makeCheckpoint, type Checkpoint } from './checkpoints.js';
import {
  auditTables,
  columnValue,
  connectClient,
  ensureAuditTables,
  INDEXED_FIELDS,
  type AuditTables
} from './postgres.js';
import type { AuditInput, AuditRecord, QueuedAuditSink } from './types.js';

export interface PostgresAuditSinkOptions {
  /** Connection URL, e.g. postgres://user:password@host:5432/db (PG* environment variables fill gaps). */
  url: string;
  /** Table name (`table` or `schema.table`); default portcullis_audit. */
  table?: string;
  /** When records are committed; see the top of this file. Default 'every'. */
  flush?: 'every' | 'batch';
  /** 'batch': commit when this many records are queued. Default 100. */
  maxRecords?: number;
  /** 'batch': commit when the oldest queued record is this old. Default 100 ms. */
  maxDelayMs?: number;
  /** Records that may wait for the database; write() throws beyond it. Default 10,000. */
  maxQueue?: number;
  /** 'every': how long a reply waits for its record's commit. Default 10 s. */
  waitMs?: number;
  /** Write a checkpoint at every seq multiple of this (and on close); 0: never. Default 1000. */
  checkpointEvery?: number;
  /** Ed25519 private key that signs checkpoints: PEM text, a path to a PEM file, or a KeyObject. */
  signingKey?: string | KeyObject;
  /** Give up a connection attempt after this long. Default 5 s. */
  connectTimeoutMs?: number;
  /** close(): how long to keep trying to commit what is queued. Default 4 s. */
  closeTimeoutMs?: number;
  /** Reconnect backoff: the first and the longest wait. Default 100 ms and 2 s. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Told when the database becomes unreachable (with why) and when it is back. */
  onStateChange?: (available: boolean, error?: Error) => void;
}

export interface PostgresAuditSink extends QueuedAuditSink {
  readonly table: string;
}

/** The columns a record is stored in, in the order `commit` fills them. */
const COLUMNS: Array<[string, string]> = [
  ['seq', 'bigint'],
  ['id', 'text'],
  ['time', 'timestamptz'],
  ...INDEXED_FIELDS.map((f): [string, string] => [f, 'text']),
  ['prev', 'text'],
  ['hash', 'text'],
  ['record', 'text']
];

/** The most records one transaction commits. */
const MAX_PER_TRANSACTION = 1000;

interface Pending {
  open: OpenRecord;
  resolve(record: AuditRecord): void;
  reject(err: Error): void;
  done: Promise<AuditRecord>;
  /** A commit that included it was attempted: it may be stored already. */
  tried: boolean;
  queuedAt: number;
}

type State = 'starting' | 'available' | 'unavailable' | 'closed';

export function createPostgresAuditSink(options: PostgresAuditSinkOptions): PostgresAuditSink {
  return new PostgresSink(options);
}

class PostgresSink implements PostgresAuditSink {
  readonly queued = true;
  readonly table: string;
  readonly waitMs: number;
  private readonly t: AuditTables;
  private readonly mode: 'every' | 'batch';
  private readonly maxRecords: number;
  private readonly maxDelayMs: number;
  private readonly maxQueue: number;
  private readonly checkpointEvery: number;
  private readonly signingKey: KeyObject | undefined;
  private readonly kid: string | undefined;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;

  private queue: Pending[] = [];
  private client: Client | undefined;
  private state: State = 'starting';
  private lastError: Error | undefined;
  private running: Promise<void> | undefined;
  /** Set when a commit is due while the loop runs (batch mode: the loop drains everything). */
  private due = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private batchTimer: NodeJS.Timeout | undefined;
  private backoff: number;
  private closing = false;
  /** Records this sink committed (a checkpoint on close only when it wrote something). */
  private committed = 0;
  private readyWaiters: Array<{ resolve(): void; reject(err: Error): void }> = [];

  constructor(private readonly options: PostgresAuditSinkOptions) {
    this.t = auditTables(options.table);
    this.table = this.t.name;
    this.mode = options.flush ?? 'every';
    this.maxRecords = Math.max(1, options.maxRecords ?? 100);
    this.maxDelayMs = Math.max(0, options.maxDelayMs ?? 100);
    this.maxQueue = Math.max(1, options.maxQueue ?? 10_000);
    this.waitMs = this.mode === 'every' ? Math.max(1, options.waitMs ?? 10_000) : 0;
    this.checkpointEvery = Math.max(0, Math.floor(options.checkpointEvery ?? 1000));
    this.signingKey = options.signingKey !== undefined ? loadPrivateKey(options.signingKey) : undefined;
    this.kid = this.signingKey ? keyId(this.signingKey) : undefined;
    this.retryMinMs = Math.max(1, options.retryMinMs ?? 100);
    this.retryMaxMs = Math.max(this.retryMinMs, options.retryMaxMs ?? 2000);
    this.backoff = this.retryMinMs;
    // Connect (and create the tables) now, so the first call does not wait for it.
    this.kick();
  }

  write(input: AuditInput): Promise<AuditRecord> {
    if (this.closing) throw new Error('audit log is closed');
    if (this.queue.length >= this.maxQueue) {
      throw new Error(
        `the audit queue is full: ${this.queue.length} records wait for the database` +
          (this.lastError ? ` (${this.lastError.message})` : '')
      );
    }
    // A snapshot in stored form: later changes to the caller's objects cannot reach the record, and
    // a value JSON cannot hold fails here, not in the writer loop.
    const open = JSON.parse(canonicalJson(openRecord(input))!) as OpenRecord;
    let resolve!: (record: AuditRecord) => void;
    let reject!: (err: Error) => void;
    const done = new Promise<AuditRecord>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.queue.push({ open, resolve, reject, done, tried: false, queuedAt: Date.now() });
    if (this.mode === 'every' || this.queue.length >= this.maxRecords) this.kick();
    else this.batchTimer ??= setTimeout(() => this.onBatchTimer(), this.maxDelayMs).unref();
    return done;
  }

  pending(): number {
    return this.queue.length;
  }

  unavailable(): string | undefined {
    if (this.state === 'closed') return 'the audit log is closed';
    if (this.state === 'starting') return 'connecting to the audit database';
    if (this.state === 'unavailable') {
      return `the audit database is unreachable: ${this.lastError?.message ?? 'unknown error'}`;
    }
    if (this.queue.length >= this.maxQueue) return `the audit queue is full (${this.queue.length} records)`;
    return undefined;
  }

  ready(): Promise<void> {
    if (this.state === 'starting') {
      return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
    }
    const why = this.unavailable();
    return why === undefined ? Promise.resolve() : Promise.reject(new Error(why));
  }

  async flush(): Promise<void> {
    const last = this.queue[this.queue.length - 1];
    if (!last) return;
    this.due = true;
    this.kick();
    await last.done;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    const deadline = Date.now() + Math.max(0, this.options.closeTimeoutMs ?? 4000);
    this.due = true;
    this.kick();
    // Keep committing (and reconnecting) until the queue is empty or time is up.
    while (this.queue.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(25, Math.max(1, deadline - Date.now()))));
    }
    // A commit in flight may still finish within the time left.
    if (this.running) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.running,
        new Promise((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now()))))
      ]);
      clearTimeout(timer);
    }
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const lost = this.queue.splice(0);
    const error = new Error(
      `${lost.length} audit record(s) could not be committed before close: ` +
        (this.lastError?.message ?? 'the database did not answer in time')
    );
    for (const p of lost) p.reject(error);
    if (lost.length === 0 && !this.running && this.committed > 0 && this.checkpointEvery > 0 && this.client) {
      // A checkpoint of the chain's end, like the file sink writes on close.
      await this.closingCheckpoint(this.client).catch(() => undefined);
    }
    this.setState('closed');
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
    if (lost.length > 0) throw error;
  }

  /** Start the writer loop unless it is running or waiting to retry. */
  private kick(): void {
    if (this.running || this.retryTimer || this.state === 'closed') return;
    this.running = this.run().finally(() => {
      this.running = undefined;
      // Records queued while the loop was finishing.
      if (this.state === 'available' && this.queue.length > 0 && (this.mode === 'every' || this.due)) {
        this.kick();
      }
    });
  }

  private onBatchTimer(): void {
    this.batchTimer = undefined;
    this.due = true;
    this.kick();
  }

  /** Connect if need be, then commit queued records until none are due. Never throws. */
  private async run(): Promise<void> {
    try {
      const client = await this.connection();
      for (;;) {
        if (this.queue.length === 0) {
          // Connected, tables in place, nothing waiting: the database is usable.
          this.backoff = this.retryMinMs;
          this.setState('available');
          this.due = false;
          return;
        }
        if (this.mode === 'batch' && !this.due && this.queue.length < this.maxRecords) {
          const wait = this.queue[0]!.queuedAt + this.maxDelayMs - Date.now();
          if (wait > 0) {
            if (this.state === 'starting') this.setState('available');
            this.batchTimer ??= setTimeout(() => this.onBatchTimer(), wait).unref();
            return;
          }
        }
        const batch = this.queue.slice(0, MAX_PER_TRANSACTION);
        const records = await this.commit(client, batch);
        this.queue.splice(0, batch.length);
        this.committed += batch.length;
        // Available once a commit went through (a database that connects but refuses the commit,
        // say for a permission, stays unavailable instead of flapping).
        this.backoff = this.retryMinMs;
        this.setState('available');
        batch.forEach((p, i) => p.resolve(records[i]!));
      }
    } catch (err) {
      this.dropClient();
      this.setState('unavailable', err as Error);
      if (this.state === 'closed') return;
      const wait = this.backoff;
      this.backoff = Math.min(this.retryMaxMs, this.backoff * 2);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.kick();
      }, wait).unref();
    }
  }

  private async connection(): Promise<Client> {
    if (this.client) return this.client;
    const client = await connectClient(this.options.url, this.options.connectTimeoutMs, (err) => {
      // The connection broke (the server went away): reconnect now, so that the state is known
      // before the next call rather than after it.
      this.lastError = err;
      if (this.client === client) this.dropClient();
      this.kick();
    });
    try {
      await ensureAuditTables(client, this.t);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    this.client = client;
    return client;
  }

  private dropClient(): void {
    const client = this.client;
    this.client = undefined;
    client?.end().catch(() => undefined);
  }

  private setState(state: State, error?: Error): void {
    if (this.state === 'closed') return;
    const was = this.state;
    if (error) this.lastError = error;
    this.state = state;
    if (state !== 'starting' && this.readyWaiters.length > 0) {
      const waiters = this.readyWaiters.splice(0);
      const why = this.unavailable();
      for (const w of waiters) {
        if (why === undefined) w.resolve();
        else w.reject(new Error(why));
      }
    }
    if (was !== state && (state === 'available' || state === 'unavailable')) {
      if (state === 'available' && was === 'starting') return;
      this.options.onStateChange?.(state === 'available', error);
    }
  }

  /**
   * Run `work` in one transaction that holds the chain's end locked (opened, and the head read, in
   * one round trip); committed when it returns, rolled back when it throws.
   */
  private async withHead<T>(
    client: Client,
    work: (head: { seq: string; hash: string } | undefined) => Promise<T>
  ): Promise<T> {
    try {
      const opened = (await client.query(
        `BEGIN; SELECT seq, hash FROM ${this.t.head} FOR UPDATE`
      )) as unknown as Array<{
        rows: Array<{ seq: string; hash: string }>;
      }>;
      const out = await work(opened[1]?.rows[0]);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /** One transaction: lock the head, seal the batch after it, store records, checkpoints and head. */
  private async commit(client: Client, batch: Pending[]): Promise<AuditRecord[]> {
    const retry = batch.some((p) => p.tried);
    for (const p of batch) p.tried = true;
    const t = this.t;
    return this.withHead(client, async (headRow) => {
      if (!headRow) throw new Error(`${t.head} has no row: the audit tables were changed by hand`);
      let head = { seq: Number(headRow.seq), hash: headRow.hash };

      // After a commit whose outcome is unknown, some of these may be stored already.
      const stored = new Map<string, AuditRecord>();
      if (retry) {
        const found = await client.query<{ record: string }>(
          `SELECT record FROM ${t.records} WHERE id = ANY($1)`,
          [batch.map((p) => p.open.id)]
        );
        for (const row of found.rows) {
          const record = JSON.parse(row.record) as AuditRecord;
          stored.set(record.id, record);
        }
      }

      const out: AuditRecord[] = [];
      const columns: unknown[][] = COLUMNS.map(() => []);
      const checkpoints: Checkpoint[] = [];
      for (const p of batch) {
        const already = stored.get(p.open.id);
        if (already) {
          out.push(already);
          continue;
        }
        const { record, line } = sealAfter(p.open, head);
        head = { seq: record.seq, hash: record.hash };
        out.push(record);
        const row = [
          record.seq,
          record.id,
          record.time,
          ...INDEXED_FIELDS.map((f) => columnValue(record[f])),
          record.prev,
          record.hash,
          line.slice(0, -1)
        ];
        row.forEach((v, i) => columns[i]!.push(v));
        if (this.checkpointEvery > 0 && record.seq % this.checkpointEvery === 0) {
          checkpoints.push(makeCheckpoint(record.seq, record.hash, this.signingKey, this.kid));
        }
      }
      if (columns[0]!.length > 0) {
        await client.query(insertSql(t, checkpoints.length > 0), [
          ...columns,
          ...(checkpoints.length > 0
            ? [
                checkpoints.map((c) => c.seq),
                checkpoints.map((c) => c.hash),
                checkpoints.map((c) => c.time),
                checkpoints.map((c) => c.sig ?? null),
                checkpoints.map((c) => c.kid ?? null)
              ]
            : []),
          head.seq,
          head.hash
        ]);
      }
      return out;
    });
  }

  /** A checkpoint of the chain's end, unless the last checkpoint already names it. */
  private async closingCheckpoint(client: Client): Promise<void> {
    const t = this.t;
    await this.withHead(client, async (head) => {
      const last = await client.query<{ seq: string | null }>(`SELECT max(seq) AS seq FROM ${t.checkpoints}`);
      const seq = Number(head?.seq ?? 0);
      if (head && seq > 0 && seq > Number(last.rows[0]?.seq ?? 0)) {
        const cp = makeCheckpoint(seq, head.hash, this.signingKey, this.kid);
        await client.query(
          `INSERT INTO ${t.checkpoints} (seq, hash, time, sig, kid) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
          [cp.seq, cp.hash, cp.time, cp.sig ?? null, cp.kid ?? null]
        );
      }
    });
  }
}

/** One statement: insert the records (and checkpoints) from arrays, and move the head. */
function insertSql(t: AuditTables, withCheckpoints: boolean): string {
  const n = COLUMNS.length;
  const unnest = COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ');
  const cp = withCheckpoints
    ? `, cp AS (INSERT INTO ${t.checkpoints} (seq, hash, time, sig, kid)
         SELECT * FROM unnest($${n + 1}::bigint[], $${n + 2}::text[], $${n + 3}::text[], $${n + 4}::text[], $${n + 5}::text[])
         ON CONFLICT DO NOTHING)`
    : '';
  const h = withCheckpoints ? n + 6 : n + 1;
  const names = COLUMNS.map(([name]) => name).join(', ');
  return `WITH ins AS (INSERT INTO ${t.records} (${names}) SELECT * FROM unnest(${unnest}))${cp}
    UPDATE ${t.head} SET seq = $${h}, hash = $${h + 1}`;
}
