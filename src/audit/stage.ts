/**
 * The audit stage, first in the pipeline when the audit log is a shared store (PostgreSQL): a call
 * whose record could not be stored is refused before anything happens, with audit_unavailable,
 * instead of running unrecorded. A file sink needs no such stage: it writes synchronously.
 * (Imported by the core directly, not through ./index.ts, which imports nothing outside src/audit.)
 */
import type { Stage } from '../core/pipeline.js';
import { GatewayError } from '../errors.js';
import type { QueuedAuditSink } from './types.js';

/** Resolves when the sink can store records; throws audit_unavailable when it cannot. */
export async function auditReady(sink: QueuedAuditSink): Promise<void> {
  try {
    await sink.ready();
  } catch (err) {
    throw new GatewayError('audit_unavailable', (err as Error).message);
  }
}

export function auditStage(sink: QueuedAuditSink): Stage {
  return { name: 'audit', run: () => auditReady(sink) };
}
