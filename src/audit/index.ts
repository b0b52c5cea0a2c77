/**
 * The audit log: one hash-chained JSON record per call, per denied call and per listing. Sinks: a
 * durable file (fsync policy, rotation, checkpoints, crash repair; ./file-sink.ts), a PostgreSQL table
 * that several replicas extend at once (./postgres-sink.ts), a stream for container logs
 * (stdout/stderr), and memory (tests; audit disabled keeps nothing). The verifiers (./verify.ts,
 * ./postgres-read.ts) check a log and name the first bad record. The format is described in
 * docs/audit.md; the schema is versioned (`v`).
 */
import { writeSync } from 'node:fs';
import { genesis, nextRecord } from './chain.js';
import type { AuditRecord, AuditSink, ChainHead, QueuedAuditSink } from './types.js';

export {
  AUDIT_SCHEMA_VERSION,
  type AuditEvent,
  type AuditInput,
  type AuditRecord,
  type AuditRepair,
  type AuditSink,
  type ChainHead,
  type QueuedAuditSink
} from './types.js';
export { canonicalJson } from './canonical.js';
export { GENESIS_HASH, RECORD_DOMAIN } from './chain.js';
export { CHECKPOINT_DOMAIN, generateAuditKeyPair, type Checkpoint } from './checkpoints.js';
export {
  createFileAuditSink,
  listAuditFiles,
  type FileAuditSink,
  type FileAuditSinkOptions
} from './file-sink.js';
export {
  createPostgresAuditSink,
  type PostgresAuditSink,
  type PostgresAuditSinkOptions
} from './postgres-sink.js';
export {
  matchesQuery,
  queryPostgresAudit,
  tailPostgresAudit,
  verifyPostgresAudit,
  type AuditQuery,
  type PostgresAuditTarget,
  type PostgresVerifyOptions,
  type StoredAuditRecord
} from './postgres-read.js';
export { DEFAULT_AUDIT_TABLE, auditTables } from './postgres.js';
export {
  formatVerifyReport,
  verifyAuditLog,
  type VerifyOptions,
  type VerifyProblem,
  type VerifyReason,
  type VerifyReport
} from './verify.js';
export { redactArguments, type ArgumentsMode } from './redact.js';

/** A sink that queues records for a shared store (PostgreSQL) rather than sealing them at once. */
export function isQueuedSink(sink: AuditSink | QueuedAuditSink): sink is QueuedAuditSink {
  return (sink as Partial<QueuedAuditSink>).queued === true;
}

/** Keeps records in memory (tests, and audit explicitly disabled keeps nothing); chained like a file. */
export function createMemoryAuditSink(
  keep = true
): AuditSink & { records: AuditRecord[]; head(): ChainHead } {
  const records: AuditRecord[] = [];
  let head = genesis();
  return {
    records,
    write(input) {
      const { record } = nextRecord(input, head);
      head = { seq: record.seq, hash: record.hash };
      if (keep) records.push(record);
      return record;
    },
    head: () => ({ ...head }),
    async close() {}
  };
}

export interface StreamAuditSinkOptions {
  /** Continue an existing chain (default: a new chain from seq 1). */
  start?: ChainHead;
}

/**
 * Writes chained JSON lines to a file descriptor (2 for stderr, 1 for stdout), for container logs:
 * one synchronous write per record, no fsync (a pipe has none). Never use stdout with the stdio
 * transport: stdout is the MCP protocol channel there. Each process starts a new chain (seq 1) unless
 * `start` is given, so a log collector sees one chain per process run.
 */
export function createStreamAuditSink(
  fd: number,
  options: StreamAuditSinkOptions = {}
): AuditSink & { head(): ChainHead } {
  let head = options.start ? { ...options.start } : genesis();
  let closed = false;
  return {
    write(input) {
      if (closed) throw new Error('audit stream is closed');
      const { record, line } = nextRecord(input, head);
      writeFully(fd, Buffer.from(line));
      head = { seq: record.seq, hash: record.hash };
      return record;
    },
    head: () => ({ ...head }),
    async close() {
      closed = true;
    }
  };
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** A whole buffer to a descriptor that may be a non-blocking pipe (EAGAIN: wait a moment, retry). */
function writeFully(fd: number, data: Buffer): void {
  let done = 0;
  let waits = 0;
  while (done < data.length) {
    try {
      done += writeSync(fd, data, done, data.length - done);
      waits = 0;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || ++waits > 5000) throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}
