/**
 * Requests the policy does not decide, forwarded to their server: getting a prompt, reading a
 * resource, completing an argument. Each is routed by the gateway's namespace, refused when vetting
 * withholds what it names, scanned on the way back, and audited either way.
 */
import type { QueuedAuditSink } from '../audit/index.js';
import { auditReady } from '../audit/stage.js';
import { GatewayError } from '../errors.js';
import type { Inspector } from '../inspect/index.js';
import type { ResolveUpstream } from '../route/index.js';
import type { Upstream } from '../upstream/index.js';
import { failureFields, outcomeOf, round, sessionFields, type AuditLog } from './audit-log.js';
import type { Catalog } from './catalog.js';
import type { Names } from './names.js';
import type { Session } from './session.js';

export type ForwardedEvent =
  'prompts/get' | 'resources/read' | 'completion/complete' | 'resources/subscribe' | 'resources/unsubscribe';

/**
 * Forward one request: `target` is what it names on its server (undefined when nothing routes
 * it); `call` does the work once the audit log can take the record.
 */
export type Forward = <T>(
  session: Session,
  event: ForwardedEvent,
  what: { name?: string; uri?: string },
  up: Upstream | null | undefined,
  target: string | undefined,
  call: (up: Upstream, target: string) => Promise<T>
) => Promise<T>;

export function createForward(audit: AuditLog, queued: QueuedAuditSink | undefined): Forward {
  return async (session, event, what, up, target, call) => {
    const started = performance.now();
    let failure: unknown;
    try {
      if (queued) await auditReady(queued);
      if (!up || target === undefined)
        throw new GatewayError('unknown_resource', `nothing routes ${JSON.stringify(what)}`);
      return await call(up, target);
    } catch (err) {
      failure = err;
      throw err;
    } finally {
      const outcome = outcomeOf(failure);
      await audit.write(
        {
          event,
          ...sessionFields(session),
          ...(up ? { server: up.name } : {}),
          ...(what.name ? { name: what.name } : {}),
          ...(what.uri ? { uri: what.uri } : {}),
          decision: outcome === 'denied' ? 'deny' : 'allow',
          outcome,
          ...failureFields(failure),
          latency_ms: round(performance.now() - started)
        },
        !(failure instanceof GatewayError && failure.code === 'audit_unavailable')
      );
    }
  };
}

export interface ForwardParts {
  resolve: ResolveUpstream;
  names: Names;
  catalog: Catalog;
  inspector: Inspector;
  forward: Forward;
  addRisk(session: Session, amount: number): void;
}

/** Prompts, resource reads and completions. */
export function createForwarding(parts: ForwardParts) {
  const { resolve, names, catalog, inspector, forward, addRisk } = parts;
  return {
    getPrompt(session: Session, name: string, args: Record<string, string> | undefined): Promise<unknown> {
      const parts = names.split(name);
      return forward(
        session,
        'prompts/get',
        { name },
        parts && resolve(session, parts.server),
        parts?.name,
        async (up, prompt) => {
          await catalog.refuseWithheld(up, 'prompts', prompt, name);
          const answer = await up.request('prompts/get', {
            name: prompt,
            ...(args ? { arguments: args } : {})
          });
          return inspector.scanReply(up.name, prompt, answer, session, addRisk);
        }
      );
    },

    async readResource(session: Session, uri: string): Promise<unknown> {
      const parts = names.parseResourceUri(uri);
      const result = (await forward(
        session,
        'resources/read',
        { uri },
        parts && resolve(session, parts.server),
        parts?.uri,
        async (up, inner) => {
          await catalog.refuseWithheld(up, 'resources', inner, uri);
          return inspector.scanReply(
            up.name,
            inner,
            await up.request('resources/read', { uri: inner }),
            session,
            addRisk
          );
        }
      )) as { contents?: Array<{ uri?: string }> };
      // Contents name their URI; give them back in the gateway's namespace (parts is set: it routed).
      const server = parts?.server ?? '';
      return {
        ...result,
        contents: (result.contents ?? []).map((c) =>
          typeof c.uri === 'string' ? { ...c, uri: names.resourceUri(server, c.uri) } : c
        )
      };
    },

    complete(session: Session, params: Record<string, unknown>): Promise<unknown> {
      const ref = params.ref as { type?: string; name?: string; uri?: string } | undefined;
      let server: string | undefined;
      let upstreamRef: Record<string, unknown> | undefined;
      if (ref?.type === 'ref/prompt' && typeof ref.name === 'string') {
        const p = names.split(ref.name);
        if (p) {
          server = p.server;
          upstreamRef = { ...ref, name: p.name };
        }
      } else if (ref?.type === 'ref/resource' && typeof ref.uri === 'string') {
        const p = names.parseResourceUri(ref.uri);
        if (p) {
          server = p.server;
          upstreamRef = { ...ref, uri: p.uri };
        }
      }
      const up = server ? resolve(session, server) : undefined;
      return forward(session, 'completion/complete', {}, up, server, (up) =>
        up.request('completion/complete', { ...params, ref: upstreamRef })
      );
    }
  };
}
