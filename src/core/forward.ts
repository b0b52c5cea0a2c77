/**
 * Requests about prompts and resources, forwarded to their server: getting a prompt, reading a
 * resource, subscribing to it, completing an argument. Each is routed by the gateway's namespace,
 * decided by the policy's prompt and resource rules before the server sees it (default deny),
 * refused when vetting withholds what it names, scanned on the way back, and audited either way.
 */
import type { QueuedAuditSink } from '../audit/index.js';
import { auditReady } from '../audit/stage.js';
import { GatewayError } from '../errors.js';
import type { Inspector } from '../inspect/index.js';
import type { Decision } from '../policy/index.js';
import type { Kind } from '../policy/types.js';
import type { ResolveUpstream } from '../route/index.js';
import type { Upstream } from '../upstream/index.js';
import { failureFields, outcomeOf, round, sessionFields, type AuditLog } from './audit-log.js';
import type { Catalog } from './catalog.js';
import type { Names } from './names.js';
import type { PolicyHolder } from './policy-holder.js';
import type { Session } from './session.js';

type ForwardedEvent =
  'prompts/get' | 'resources/read' | 'completion/complete' | 'resources/subscribe' | 'resources/unsubscribe';

/** What the policy decides a request on: a prompt or resource by its server's own name or URI. */
interface Subject {
  kind: Exclude<Kind, 'tool'>;
  /** The prompt's own name or the resource's own URI (or URI template, for a completion). */
  name: string;
  /** A prompt's arguments. */
  args?: Record<string, unknown>;
  /** A completion: decided as the prompt or resource it completes, without its arguments. */
  completing?: boolean;
}

/**
 * Forward one request: `target` is what it names on its server (undefined when nothing routes
 * it); `subject` what the policy decides (none: not decided, e.g. unsubscribing); `call` does the
 * work once the policy allowed it and the audit log can take the record.
 */
export type Forward = <T>(
  session: Session,
  event: ForwardedEvent,
  what: { name?: string; uri?: string; subject?: Subject },
  up: Upstream | null | undefined,
  target: string | undefined,
  call: (up: Upstream, target: string) => Promise<T>
) => Promise<T>;

/**
 * The policy's decision on a prompt or resource request, under the policy in force; a refusal (or
 * a rule asking for approval, which these requests cannot wait for) throws before the server sees it.
 */
function decideSubject(
  policy: PolicyHolder,
  session: Session,
  server: string,
  subject: Subject
): { decision: Decision; version: string } {
  const { policy: current, version } = policy.current();
  const identity = session.identity;
  const now = Date.now();
  const decision = current.decide({
    roles: identity.roles,
    server,
    tool: subject.name,
    kind: subject.kind,
    ...(subject.completing ? { completing: true } : {}),
    args: subject.args ?? {},
    identity: {
      id: identity.id,
      method: identity.method,
      ...(identity.agent ? { agent: identity.agent } : {}),
      ...(identity.claims ? { claims: identity.claims } : {})
    },
    now,
    history: session.history,
    identityHistory: session.shared.history,
    risk: policy.risk(session, now),
    sessionCount: (key) => session.counts.get(key) ?? 0
  });
  return { decision, version };
}

/** Throw the refusal a decision other than allow makes. */
function refuseUnlessAllowed(decision: Decision): void {
  if (decision.effect === 'allow') return;
  if (decision.effect === 'approval') throw new GatewayError('approval_unsupported', decision.reason);
  const hint = decision.hint !== undefined ? { hint: decision.hint } : undefined;
  throw new GatewayError(decision.code ?? 'policy_denied', decision.reason, hint);
}

export function createForward(
  audit: AuditLog,
  queued: QueuedAuditSink | undefined,
  policy: PolicyHolder
): Forward {
  return async (session, event, what, up, target, call) => {
    const started = performance.now();
    let failure: unknown;
    let decided: { decision: Decision; version: string } | undefined;
    try {
      if (queued) await auditReady(queued);
      if (!up || target === undefined)
        throw new GatewayError('unknown_resource', `nothing routes ${JSON.stringify(what)}`);
      if (what.subject) {
        decided = decideSubject(policy, session, up.name, what.subject);
        refuseUnlessAllowed(decided.decision);
      }
      return await call(up, target);
    } catch (err) {
      failure = err;
      throw err;
    } finally {
      const outcome = outcomeOf(failure);
      const decision = decided?.decision;
      const gw = failure instanceof GatewayError ? failure : undefined;
      await audit.write(
        {
          event,
          ...sessionFields(session),
          ...(up ? { server: up.name } : {}),
          ...(what.name ? { name: what.name } : {}),
          ...(what.uri ? { uri: what.uri } : {}),
          ...(what.subject ? { [what.subject.kind]: what.subject.name } : {}),
          decision: outcome === 'denied' ? (decision?.effect === 'approval' ? 'approval' : 'deny') : 'allow',
          ...(decision ? { rules: decision.rules } : {}),
          ...(decision && !gw ? { reason: decision.reason } : {}),
          ...(decided ? { policy_version: decided.version } : {}),
          ...(decision?.observed ? { observed: decision.observed } : {}),
          outcome,
          ...failureFields(failure),
          latency_ms: round(performance.now() - started)
        },
        !(failure instanceof GatewayError && failure.code === 'audit_unavailable')
      );
    }
  };
}

interface ForwardParts {
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
        {
          name,
          ...(parts ? { subject: { kind: 'prompt', name: parts.name, ...(args ? { args } : {}) } } : {})
        },
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
        { uri, ...(parts ? { subject: { kind: 'resource', name: parts.uri } } : {}) },
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
      let subject: Subject | undefined;
      if (ref?.type === 'ref/prompt' && typeof ref.name === 'string') {
        const p = names.split(ref.name);
        if (p) {
          server = p.server;
          upstreamRef = { ...ref, name: p.name };
          subject = { kind: 'prompt', name: p.name, completing: true };
        }
      } else if (ref?.type === 'ref/resource' && typeof ref.uri === 'string') {
        const p = names.parseResourceUri(ref.uri);
        if (p) {
          server = p.server;
          upstreamRef = { ...ref, uri: p.uri };
          subject = { kind: 'resource', name: p.uri, completing: true };
        }
      }
      const up = server ? resolve(session, server) : undefined;
      const what = subject
        ? { ...(ref?.name ? { name: ref.name } : {}), ...(ref?.uri ? { uri: ref.uri } : {}), subject }
        : {};
      return forward(session, 'completion/complete', what, up, server, (up) =>
        up.request('completion/complete', { ...params, ref: upstreamRef })
      );
    }
  };
}
