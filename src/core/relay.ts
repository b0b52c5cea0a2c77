/**
 * What an upstream sends about a call goes to the agent that made it, scanned like a response; its
 * requests to the agent (sampling, elicitation) are audited, and the agent's answers go back
 * scanned like the call's arguments (a secret in them is blocked by default, as in arguments).
 * Nothing it sends can reach another session: the upstream module attributes each message to one
 * call or drops it.
 */
import type { Logger } from 'pino';
import type { Inspector } from '../inspect/index.js';
import type { Relay } from '../upstream/index.js';
import { failureFields, outcomeOf, round, sessionFields, type AuditLog } from './audit-log.js';
import type { Peer } from './call.js';
import type { CallState } from './pipeline.js';
import type { Session } from './session.js';

export function createRelays(
  inspector: Inspector,
  audit: AuditLog,
  addRisk: (session: Session, amount: number) => void,
  log: Logger
): (peer: Peer, ctx: CallState) => Relay {
  return (peer, ctx) => {
    const scanned = (params: Record<string, unknown> | undefined) =>
      inspector.scanReply(ctx.server ?? '', ctx.tool ?? '', params ?? {}, ctx.session, addRisk) as Record<
        string,
        unknown
      >;
    return {
      notify(method, params) {
        try {
          peer.notify(method, scanned(params));
        } catch (err) {
          log.info(
            { session: ctx.session.id, method, err: (err as Error).message },
            'upstream message withheld'
          );
        }
      },
      async request(method, params) {
        const started = performance.now();
        let failure: unknown;
        try {
          const answer = await peer.request(method, scanned(params));
          return inspector.scanAnswer(ctx.server ?? '', ctx.tool ?? '', answer, ctx.session, addRisk);
        } catch (err) {
          failure = err;
          throw err;
        } finally {
          const outcome = outcomeOf(failure);
          void audit.write({
            event: method as 'sampling/createMessage' | 'elicitation/create',
            ...sessionFields(ctx.session),
            name: ctx.name,
            ...(ctx.server ? { server: ctx.server } : {}),
            ...(ctx.tool ? { tool: ctx.tool } : {}),
            decision: outcome === 'denied' ? 'deny' : 'allow',
            outcome,
            ...failureFields(failure),
            latency_ms: round(performance.now() - started)
          });
        }
      }
    };
  };
}
