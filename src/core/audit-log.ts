/**
 * The gateway's side of the audit log: every record goes through `write`, which counts it in the
 * metrics and the per-minute stats, hands it to the sink, and publishes it (recent records and the
 * `audit` event) once the sink has it. The audit log is part of enforcement: a record that cannot
 * be written fails the call with audit_unavailable.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { AuditInput, AuditRecord, AuditSink, QueuedAuditSink } from '../audit/index.js';
import { GatewayError, isRefusal } from '../errors.js';
import type { Metrics } from '../metrics/index.js';
import type { Session } from './session.js';

export interface AuditLog {
  /**
   * Write one record. A queued sink (PostgreSQL) publishes it once committed; with `wait` and
   * flush: every, the promise returned settles then (or fails after the sink's wait), and the
   * reply waits for it.
   */
  write(record: AuditInput, wait?: boolean): Promise<void> | undefined;
  /** Records as they are written. */
  readonly events: EventEmitter;
  recent(): readonly AuditRecord[];
  /** Calls, denials and approvals per minute, oldest first. */
  stats(minutes: number): Array<{ minute: string; calls: number; denials: number; approvals: number }>;
}

const RECENT_LIMIT = 5000;

export function createAuditLog(
  sink: AuditSink | QueuedAuditSink,
  queued: QueuedAuditSink | undefined,
  metrics: Metrics,
  log: Logger
): AuditLog {
  const recent: AuditRecord[] = [];
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const perMinute = new Map<number, { calls: number; denials: number; approvals: number }>();
  const count = (record: AuditInput) => {
    if (record.event !== 'tools/call') return;
    const minute = Math.floor(Date.now() / 60_000);
    const bucket = perMinute.get(minute) ?? { calls: 0, denials: 0, approvals: 0 };
    bucket.calls++;
    if (record.outcome === 'denied') bucket.denials++;
    if (record.decision === 'approval') bucket.approvals++;
    perMinute.set(minute, bucket);
    if (perMinute.size > 1500) for (const k of perMinute.keys()) if (k < minute - 1440) perMinute.delete(k);
  };
  const published = (written: AuditRecord) => {
    recent.push(written);
    // shift() drops the oldest in constant time; splice(0, n) would move all 5000 every call.
    while (recent.length > RECENT_LIMIT) recent.shift();
    if (events.listenerCount('audit') > 0) events.emit('audit', written);
  };
  /** Wait for a committed record up to the sink's limit; refuse the reply after it. */
  const awaitCommit = (committed: Promise<void>, waitMs: number) =>
    new Promise<void>((resolve, reject) => {
      const refuse = (why: string) => reject(new GatewayError('audit_unavailable', why));
      const timer = setTimeout(
        () =>
          refuse(`the audit record was not committed within ${waitMs} ms; it stays queued for the database`),
        waitMs
      );
      committed.then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (err: unknown) => {
          clearTimeout(timer);
          refuse(`the audit record was not committed: ${(err as Error).message}`);
        }
      );
    });

  return {
    events,
    recent: () => recent,
    stats(minutes) {
      const now = Math.floor(Date.now() / 60_000);
      const out = [];
      for (let m = now - minutes + 1; m <= now; m++) {
        const b = perMinute.get(m) ?? { calls: 0, denials: 0, approvals: 0 };
        out.push({ minute: new Date(m * 60_000).toISOString(), ...b });
      }
      return out;
    },
    write(record, wait = false) {
      metrics.record(record);
      count(record);
      let written: AuditRecord | Promise<AuditRecord>;
      try {
        written = sink.write(record);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'audit write failed');
        throw new GatewayError('audit_unavailable', `audit write failed: ${(err as Error).message}`);
      }
      if (!(written instanceof Promise)) {
        published(written);
        return undefined;
      }
      const committed = written.then(published);
      committed.catch((err: unknown) => log.error({ err: (err as Error).message }, 'audit record lost'));
      const waitMs = queued?.waitMs ?? 0;
      if (!wait || waitMs <= 0) return undefined;
      return awaitCommit(committed, waitMs);
    }
  };
}

/** Who a record is about: the session's identity and transport. */
export function sessionFields(session: Session) {
  return {
    identity: session.identity.id,
    ...(session.identity.agent ? { agent: session.identity.agent } : {}),
    auth: session.identity.method,
    roles: session.identity.roles,
    session: session.id,
    transport: session.transport
  };
}

/**
 * How a request ended, from the error registry: a refusal is `denied`, anything else that failed
 * (a fault, or an error from elsewhere) is an `error`.
 */
export function outcomeOf(failure: unknown): 'ok' | 'denied' | 'error' {
  if (failure === undefined) return 'ok';
  return isRefusal(failure) ? 'denied' : 'error';
}

/** The code and reason of a registry error, or the text of any other. */
export function failureFields(failure: unknown): { code?: string; reason?: string; error?: string } {
  if (failure === undefined) return {};
  if (failure instanceof GatewayError) return { code: failure.code, reason: failure.detail };
  return { error: failure instanceof Error ? failure.message : String(failure) };
}

export function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
