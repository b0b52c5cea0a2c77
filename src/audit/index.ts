/**
 * The audit log: one JSON line per call, per denied call and per listing, appended to a file.
 * Each line is written with a single append so a crash never leaves a half-written record in the
 * middle of the file. The schema is versioned (`v`) and documented in docs/audit.md.
 */
import { mkdirSync, openSync, writeSync, closeSync, fsyncSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';

export const AUDIT_SCHEMA_VERSION = 1;

export type AuditEvent =
  | 'tools/call'
  | 'tools/list'
  | 'prompts/get'
  | 'prompts/list'
  | 'resources/read'
  | 'resources/list'
  | 'resources/templates/list'
  | 'completion/complete'
  | 'session/open'
  | 'session/close'
  | 'auth/failure'
  | 'config/reload';

export interface AuditRecord {
  v: number;
  id: string;
  time: string;
  event: AuditEvent;
  identity?: string;
  /** OAuth: the client acting for the user. */
  agent?: string;
  /** How the caller authenticated: stdio, token or oauth. */
  auth?: string;
  roles?: string[];
  session?: string;
  transport?: string;
  server?: string;
  tool?: string;
  /** The name the agent used (`server__tool`). */
  name?: string;
  /** For resources/read: the URI the agent used. */
  uri?: string;
  arguments?: unknown;
  decision?: 'allow' | 'deny' | 'approval';
  code?: string;
  rules?: string[];
  reason?: string;
  outcome?: 'ok' | 'denied' | 'tool_error' | 'error';
  error?: string;
  latency_ms?: number;
  upstream_ms?: number;
  count?: number;
  /** Hash of the policy that decided. */
  policy_version?: string;
  /** What observe-mode rules would have decided, when that differs from the decision. */
  observed?: { effect: string; code?: string; reason: string; rules: string[] };
  /** Risk this call added, and the session's risk after it. */
  risk?: number;
  session_risk?: number;
  /** For auth failures: the remote address. */
  source?: string;
  /** For auth failures: the id of the token presented, when known (never the token). */
  token_id?: string;
}

export type AuditInput = Omit<AuditRecord, 'v' | 'id' | 'time'>;

export interface AuditSink {
  write(record: AuditInput): AuditRecord;
  close(): Promise<void>;
}

/** Appends JSON lines to `path`, flushed to the OS on every record. */
export function createFileAuditSink(path: string, options: { fsync?: boolean } = {}): AuditSink {
  mkdirSync(dirname(path), { recursive: true });
  let fd: number | undefined = openSync(path, 'a', 0o600);
  return {
    write(input) {
      const record: AuditRecord = {
        v: AUDIT_SCHEMA_VERSION,
        id: randomUUID(),
        time: new Date().toISOString(),
        ...input
      };
      if (fd === undefined) throw new Error('audit log is closed');
      writeSync(fd, JSON.stringify(record) + '\n');
      if (options.fsync) fsyncSync(fd);
      return record;
    },
    async close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    }
  };
}

/** Keeps records in memory (tests, and audit explicitly disabled keeps nothing). */
export function createMemoryAuditSink(keep = true): AuditSink & { records: AuditRecord[] } {
  const records: AuditRecord[] = [];
  return {
    records,
    write(input) {
      const record: AuditRecord = {
        v: AUDIT_SCHEMA_VERSION,
        id: randomUUID(),
        time: new Date().toISOString(),
        ...input
      };
      if (keep) records.push(record);
      return record;
    },
    async close() {}
  };
}
