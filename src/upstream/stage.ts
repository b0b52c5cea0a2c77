/** The upstream stage: forward the admitted call to its server and keep the result. */
import type { Answered, Resolved, Stage } from '../core/pipeline.js';
import { recordCall, type Session } from '../core/session.js';
import type { CallRecordView } from '../policy/index.js';

/** `record` keeps the call in the session's history (shared state); by default on the session. */
export function upstreamStage(
  record: (session: Session, call: CallRecordView) => void | Promise<void> = recordCall
): Stage<Resolved, Answered> {
  return {
    name: 'upstream',
    async run(ctx) {
      // Recorded before it goes: a call the store cannot record does not go at all.
      await record(ctx.session, { server: ctx.server, tool: ctx.tool, at: Date.now() });
      const started = performance.now();
      try {
        ctx.result = await ctx.upstream.request(
          'tools/call',
          { name: ctx.tool, arguments: ctx.args, ...(ctx.meta ? { _meta: ctx.meta } : {}) },
          {
            ...(ctx.signal ? { signal: ctx.signal } : {}),
            ...(ctx.onprogress ? { onprogress: ctx.onprogress } : {}),
            ...(ctx.relay ? { relay: ctx.relay } : {})
          }
        );
      } finally {
        ctx.upstreamMs = performance.now() - started;
      }
    }
  };
}
