/**
 * Which audit sink the config asks for: a hash-chained file or PostgreSQL table, stderr or stdout
 * (container logs), or nothing when auditing is off. Imported by the core; ./index.ts stays free of
 * config and logging.
 */
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/types.js';
import {
  createFileAuditSink,
  createMemoryAuditSink,
  createPostgresAuditSink,
  createStreamAuditSink,
  type AuditSink,
  type QueuedAuditSink
} from './index.js';

/** The audit sink the config asks for: a hash-chained file or PostgreSQL table, stderr/stdout, or nothing. */
export function openAuditSink(config: GatewayConfig, log: Logger): AuditSink | QueuedAuditSink {
  const a = config.audit;
  if (!a.enabled) return createMemoryAuditSink(false);
  if (a.postgres) {
    const pg = a.postgres;
    return createPostgresAuditSink({
      url: pg.url,
      table: pg.table,
      flush: a.flush === 'batch' ? 'batch' : 'every',
      ...(a.batch_records !== undefined ? { maxRecords: a.batch_records } : {}),
      ...(a.batch_ms !== undefined ? { maxDelayMs: a.batch_ms } : {}),
      maxQueue: pg.queue_records,
      waitMs: pg.commit_timeout_s * 1000,
      connectTimeoutMs: pg.connect_timeout_s * 1000,
      checkpointEvery: a.checkpoint_every,
      ...(a.signing_key !== undefined ? { signingKey: a.signing_key } : {}),
      onStateChange: (available, err) => {
        if (available) log.info({ table: pg.table }, 'audit database reachable again; serving calls');
        else log.error({ table: pg.table, err: err?.message }, 'audit database unreachable; refusing calls');
      }
    });
  }
  if (a.path === 'stderr') return createStreamAuditSink(2);
  if (a.path === 'stdout') return createStreamAuditSink(1);
  const sink = createFileAuditSink(a.path, {
    flush: a.flush,
    ...(a.batch_records !== undefined ? { maxRecords: a.batch_records } : {}),
    ...(a.batch_ms !== undefined ? { maxDelayMs: a.batch_ms } : {}),
    ...(a.rotate_bytes !== undefined ? { rotateBytes: a.rotate_bytes } : {}),
    ...(a.rotate_s !== undefined ? { rotateMs: a.rotate_s * 1000 } : {}),
    checkpointEvery: a.checkpoint_every,
    ...(a.signing_key !== undefined ? { signingKey: a.signing_key } : {}),
    onError: (err) => log.error({ err: err.message }, 'audit flush failed')
  });
  for (const repair of sink.repairs) log.warn({ repair }, 'audit log repaired on open');
  return sink;
}
