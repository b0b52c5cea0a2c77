/**
 * The inspector's stages in the call pipeline: the arguments scanned before a call leaves, the
 * result after it returns; findings and risk go to the call.
 */
import type { Answered, Resolved, Stage } from '../core/pipeline.js';
import { redactValue } from '../scan/index.js';
import type { ContentScan } from './content.js';
import { findingSummary } from './findings.js';

/** Argument scanning: secrets or PII going out are blocked, redacted or flagged. */
export function argumentStage(scan: ContentScan): Stage<Resolved> {
  return {
    name: 'scan-arguments',
    run(ctx) {
      const scanned = scan.scanFor('arguments', ctx.server, ctx.tool, ctx.args);
      if (!scanned) return;
      // Secrets never reach the audit log, whatever the action, off included.
      if (scanned.findings.some((f) => f.kind === 'secret')) {
        ctx.auditArgs = redactValue(ctx.args, { secrets: true, pii: false, injection: false }).value;
      }
      const out = scan.enforce('arguments', ctx.server, ctx.tool, scanned, ctx.args);
      if (out.flagged.length > 0) {
        ctx.findings = [
          ...(ctx.findings ?? []),
          ...findingSummary(out.flagged).map((f) => ({ ...f, where: 'arguments' }))
        ];
      }
      ctx.args = out.value as Record<string, unknown>;
      ctx.risk += out.risk;
    }
  };
}

/** Result scanning: a blocked result is dropped, its findings recorded all the same. */
export function responseStage(scan: ContentScan): Stage<Answered> {
  return {
    name: 'scan-response',
    run(ctx) {
      if (ctx.result === undefined) return;
      const scanned = scan.scanFor('responses', ctx.server, ctx.tool, ctx.result);
      if (!scanned) return;
      try {
        const out = scan.enforce('responses', ctx.server, ctx.tool, scanned, ctx.result);
        ctx.result = out.value;
        ctx.findings = [
          ...(ctx.findings ?? []),
          ...findingSummary(out.flagged).map((f) => ({ ...f, where: 'response' }))
        ];
        ctx.risk += out.risk;
      } catch (err) {
        ctx.result = undefined;
        ctx.findings = [
          ...(ctx.findings ?? []),
          ...findingSummary(scanned.findings).map((f) => ({ ...f, where: 'response' }))
        ];
        throw err;
      }
    }
  };
}
