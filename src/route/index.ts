/**
 * The route stage: `<server>__<tool>` to its server and upstream connection. An unknown server
 * stops the call before anything else is read about it.
 */
import type { CallStart, Routed, Stage } from '../core/pipeline.js';
import type { Session } from '../core/session.js';
import type { Names } from '../core/names.js';
import { GatewayError } from '../errors.js';
import type { Upstream } from '../upstream/index.js';

/** The connection a session uses for a server (its own, for an `isolation: session` server). */
export type ResolveUpstream = (session: Session, server: string) => Upstream | undefined;

export function routeStage(names: Names, resolve: ResolveUpstream): Stage<CallStart, Routed> {
  return {
    name: 'route',
    run(ctx) {
      const parts = names.split(ctx.name);
      const upstream = parts && resolve(ctx.session, parts.server);
      if (!parts || !upstream)
        throw new GatewayError('unknown_tool', `no server for tool name "${ctx.name}"`);
      ctx.server = parts.server;
      ctx.tool = parts.name;
      ctx.upstream = upstream;
    }
  };
}
