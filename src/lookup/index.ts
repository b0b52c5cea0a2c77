/**
 * The lookup stage: the tool's own definition, vetted by content scanning and pins. It runs after
 * policy, so a caller the policy denies learns nothing about the upstream.
 */
import type { Decided, Resolved, Stage } from '../core/pipeline.js';
import { GatewayError } from '../errors.js';
import type { VettedTool } from '../inspect/index.js';
import type { Upstream } from '../upstream/index.js';

export function lookupStage(
  vetted: (up: Upstream) => Promise<ReadonlyMap<string, VettedTool>>
): Stage<Decided, Resolved> {
  return {
    name: 'lookup',
    async run(ctx) {
      const entry = (await vetted(ctx.upstream)).get(ctx.tool);
      if (!entry) throw new GatewayError('unknown_tool', `server "${ctx.server}" has no tool "${ctx.tool}"`);
      if (entry.blocked) throw new GatewayError('tool_blocked', `${ctx.name}: ${entry.reason ?? 'withheld'}`);
      ctx.toolDef = entry.tool;
    }
  };
}
