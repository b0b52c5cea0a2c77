/** The upstream stage: forward the admitted call to its server and keep the result. */
import type { Stage } from '../core/pipeline.js';
import { recordCall } from '../core/session.js';

export function upstreamStage(): Stage {
  return {
    name: 'upstream',
    async run(ctx) {
      recordCall(ctx.session, { server: ctx.server!, tool: ctx.tool!, at: Date.now() });
      const started = performance.now();
      try {
        ctx.result = await ctx.upstream!.request(
          'tools/call',
          { name: ctx.tool!, arguments: ctx.args, ...(ctx.meta ? { _meta: ctx.meta } : {}) },
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
