/**
 * The audit record schema and the sink interface, shared by every sink and the verifier
 * (re-exported from ./index.ts, which is what the rest of the gateway imports).
 */

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
  | 'resources/subscribe'
  | 'resources/unsubscribe'
  /** A server asked the agent something while serving a call (relayed, scanned). */
  | 'sampling/createMessage'
  | 'elicitation/create'
  | 'session/open'
  | 'session/close'
  | 'auth/failure'
  | 'config/reload'
  /** A session needed its own process of an `isolation: session` server and none could be started. */
  | 'upstream/refused'
  | 'tools/vetted'
  | 'tools/pinned'
  /** An administrator refused a server's changed definitions: they stay blocked. */
  | 'tools/rejected'
  /** An administrator revoked the credential behind a session. */
  | 'auth/revoke'
  /** The sink found damage when it opened the log (a torn last line, ...) and says what it did. */
  | 'audit/repair';

/** One thing a sink repaired when it opened a log; carried by `audit/repair` records. */
export interface AuditRepair {
  kind: 'partial_line' | 'partial_checkpoint' | 'legacy_log' | 'behind_checkpoint';
  /** The file that was repaired. */
  file: string;
  /** Bytes removed from it. */
  bytes?: number;
  /** SHA-256 (hex) of the bytes removed, so the side file can be matched to this record. */
  sha256?: string;
  /** Where the removed bytes (or the whole legacy file) were moved. */
  moved_to?: string;
  /** behind_checkpoint: the last checkpointed seq, which the log no longer reaches. */
  checkpoint_seq?: number;
}

export interface AuditRecord {
  v: number;
  id: string;
  time: string;
  event: AuditEvent;
  /** Position in the hash chain: 1-based, continuous across rotated files and restarts. */
  seq: number;
  /** `hash` of the record before this one; 64 zeros for the first record of a chain. */
  prev: string;
  /** SHA-256 (hex) of "portcullis-audit-v1\n" + the canonical JSON of this record without `hash`. */
  hash: string;
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
  /** For prompts/get and prompt completions: the server's own prompt name, as the policy decided it. */
  prompt?: string;
  /** For resource reads, subscriptions and completions: the server's own URI, as the policy decided it. */
  resource?: string;
  arguments?: unknown;
  decision?: 'allow' | 'deny' | 'approval';
  code?: string;
  rules?: string[];
  reason?: string;
  outcome?: 'ok' | 'denied' | 'tool_error' | 'error';
  error?: string;
  latency_ms?: number;
  upstream_ms?: number;
  /** For calls held for approval: how long the call waited for people to decide (within latency_ms). */
  approval_ms?: number;
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
  /** Scanner findings (kind, rule, severity, field, where): never the matched text. */
  findings?: Array<Record<string, unknown>>;
  /** For calls held for approval: which approval, how it ended and who decided. */
  approval?: {
    id: string;
    status?: string;
    decided_at?: string;
    decisions?: Array<{ by: string; decision: string; at: string; note?: string }>;
  };
  /** For audit/repair: what was repaired. */
  repair?: AuditRepair[];
}

/** What callers pass to `write`: the sink adds the version, id, time and the chain fields. */
export type AuditInput = Omit<AuditRecord, 'v' | 'id' | 'time' | 'seq' | 'prev' | 'hash'>;

/** A sink that seals each record as it is written (a file, a stream, memory). */
export interface AuditSink {
  /** Seal and store one record; throws when it cannot (closed, failed). */
  write(record: AuditInput): AuditRecord;
  close(): Promise<void>;
}

/**
 * A sink whose chain lives in a store shared with other gateway replicas (PostgreSQL): `write`
 * queues a record and its chain position (seq, prev, hash) is assigned when it is committed, in the
 * same transaction that extends the shared chain.
 */
export interface QueuedAuditSink {
  readonly queued: true;
  /**
   * Queue one record. Throws at once when it cannot be taken (closed, or the queue is full); the
   * promise settles with the sealed record once it is committed, and rejects only if it never can be
   * (the sink closed with the store unreachable).
   */
  write(record: AuditInput): Promise<AuditRecord>;
  /** How long a reply waits for its record to be committed (flush: every); 0 when replies do not wait. */
  readonly waitMs: number;
  /**
   * Resolves when records can be committed; rejects with the reason while the store is unreachable
   * (right after start, it waits for the first connection attempt).
   */
  ready(): Promise<void>;
  /** Why records cannot be committed right now, or undefined when they can. */
  unavailable(): string | undefined;
  /** Records queued and not committed yet. */
  pending(): number;
  /** Resolves once every record queued so far is committed. */
  flush(): Promise<void>;
  /** Commit what is queued (for a bounded time), then disconnect. */
  close(): Promise<void>;
}

/** The end of a chain: the last record's seq and hash (seq 0 and 64 zeros before the first). */
export interface ChainHead {
  seq: number;
  hash: string;
}
