/**
 * Listings: tools, prompts, resources and resource templates, fanned out to every server that
 * offers them, without what vetting withholds and what the caller's roles can never be allowed
 * (and, for tools, what its scopes can never call), renamed into the gateway's namespace, and
 * audited.
 *
 * A bad server never holds a listing up: one known to be down is left out at once, and one still
 * connecting (or listing) is waited for no longer than its `connect_timeout_ms`. Whatever a
 * listing left out is announced with `list_changed` when it can be listed (./announce.ts).
 */
import type { Logger } from 'pino';
import type { GatewayError } from '../errors.js';
import type { DefinitionKind } from '../inspect/index.js';
import type { ResolveUpstream } from '../route/index.js';
import type { ScopeCheck } from '../scope/index.js';
import type { Upstream, UpstreamTool } from '../upstream/index.js';
import { round, sessionFields, type AuditLog } from './audit-log.js';
import type { Catalog } from './catalog.js';
import type { Announcer, ListKind } from './announce.js';
import type { Policy } from '../policy/index.js';
import type { Names } from './names.js';
import type { PolicyHolder } from './policy-holder.js';
import type { Session } from './session.js';

export interface ListedTool extends UpstreamTool {
  name: string;
}

interface ListParts {
  upstreams: ReadonlyMap<string, Upstream>;
  /** The connection a session lists through (its own, for an `isolation: session` server). */
  resolve: ResolveUpstream;
  names: Names;
  catalog: Catalog;
  policy: PolicyHolder;
  scopes: ScopeCheck;
  audit: AuditLog;
  announcer: Announcer;
  log: Logger;
}

/** What `work` settles to, or `late` if it has not within `ms`. */
async function within<T>(work: Promise<T>, ms: number): Promise<{ done: T } | 'late'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
  });
  try {
    return await Promise.race([work.then((done) => ({ done })), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The prompts or resources (by `field`: name, URI or template) some rule could allow the caller. */
function visibleTo(
  policy: Policy,
  session: Session,
  items: Array<{ server: string; item: Record<string, unknown> }>,
  capability: 'prompts' | 'resources',
  field: 'name' | 'uri' | 'uriTemplate'
) {
  const roles = session.identity.roles;
  const kind = capability === 'prompts' ? 'prompt' : 'resource';
  return items.filter(({ server, item }) => policy.visible(roles, server, String(item[field]), kind));
}

/**
 * Run a list across every upstream that supports it. A server that is down, fails, or is not
 * listed within its connect bound is left out (and announced when it can be listed), not fatal.
 */
async function fanOut<T>(
  parts: ListParts,
  session: Session,
  capability: ListKind,
  fn: (up: Upstream) => Promise<T[]>
): Promise<{ items: Array<{ server: string; item: T }>; failed: string[] }> {
  const { upstreams, resolve, announcer, log } = parts;
  const items: Array<{ server: string; item: T }> = [];
  const failed: string[] = [];
  await Promise.all(
    [...upstreams.keys()].map(async (server) => {
      let up: Upstream | undefined;
      try {
        up = resolve(session, server);
      } catch (err) {
        failed.push(server);
        log.warn(
          { server, err: (err as GatewayError).detail ?? (err as Error).message },
          `${capability} listing failed`
        );
        return;
      }
      if (!up) return;
      if (up.down) {
        failed.push(up.name);
        announcer.missed(capability, up.name);
        return;
      }
      const work = (async () => {
        if (capability !== 'tools') {
          await up.connect();
          if (!up.capabilities()?.[capability]) return [];
        }
        return fn(up);
      })();
      try {
        const outcome = await within(work, up.config.connect_timeout_ms);
        if (outcome === 'late') {
          failed.push(up.name);
          announcer.late(capability, up.name, work);
          log.warn(
            { server: up.name, waited_ms: up.config.connect_timeout_ms },
            `${capability} listing answered without a server still connecting`
          );
          return;
        }
        for (const item of outcome.done) items.push({ server: up.name, item });
      } catch (err) {
        failed.push(up.name);
        announcer.missed(capability, up.name);
        log.warn(
          { server: up.name, err: (err as GatewayError).detail ?? (err as Error).message },
          `${capability} listing failed`
        );
      }
    })
  );
  items.sort((a, b) => (a.server < b.server ? -1 : a.server > b.server ? 1 : 0));
  return { items, failed };
}

export function createLists(parts: ListParts) {
  const { names, catalog, audit } = parts;

  /** A server's prompts, resources or templates listed now, without those vetting withholds. */
  async function allowed(up: Upstream, kind: DefinitionKind): Promise<Array<Record<string, unknown>>> {
    const vetting = await catalog.definitionsOf(up, kind, true);
    return [...vetting.items.values()].filter((v) => !v.blocked).map((v) => ({ ...v.item }));
  }

  /**
   * A listing of definitions, without those no rule could ever allow the caller (by `field`: the
   * prompt's name, the resource's URI or template), audited with how many it returned.
   */
  async function definitions(
    session: Session,
    event: 'prompts/list' | 'resources/list' | 'resources/templates/list',
    capability: 'prompts' | 'resources',
    kind: DefinitionKind,
    field: 'name' | 'uri' | 'uriTemplate'
  ) {
    const { items: all, failed } = await fanOut(parts, session, capability, (up) => allowed(up, kind));
    const items = visibleTo(parts.policy.current().policy, session, all, capability, field);
    await audit.write(
      {
        event,
        ...sessionFields(session),
        decision: 'allow',
        outcome: 'ok',
        count: items.length,
        ...(failed.length ? { error: `unavailable: ${failed.sort().join(', ')}` } : {})
      },
      true
    );
    return items;
  }

  return {
    async listTools(session: Session): Promise<ListedTool[]> {
      const started = performance.now();
      const roles = session.identity.roles;
      const { items, failed } = await fanOut(parts, session, 'tools', async (up) =>
        [...(await catalog.vetted(up)).values()].filter((v) => !v.blocked).map((v) => v.tool)
      );
      const policy = parts.policy.current().policy;
      const visible = items
        .filter(({ server, item }) => policy.visible(roles, server, item.name))
        .filter(({ server, item }) => !parts.scopes.missing(session.identity, server, item))
        .map(({ server, item }) => ({ ...item, name: names.join(server, item.name) }));
      await audit.write(
        {
          event: 'tools/list',
          ...sessionFields(session),
          decision: 'allow',
          outcome: 'ok',
          count: visible.length,
          ...(failed.length ? { error: `unavailable: ${failed.sort().join(', ')}` } : {}),
          latency_ms: round(performance.now() - started)
        },
        true
      );
      return visible;
    },

    async listPrompts(session: Session) {
      const items = await definitions(session, 'prompts/list', 'prompts', 'prompts', 'name');
      return {
        prompts: items.map(({ server, item }) => ({ ...item, name: names.join(server, String(item.name)) }))
      };
    },

    async listResources(session: Session) {
      const items = await definitions(session, 'resources/list', 'resources', 'resources', 'uri');
      return {
        resources: items.map(({ server, item }) => ({
          ...item,
          uri: names.resourceUri(server, String(item.uri))
        }))
      };
    },

    async listResourceTemplates(session: Session) {
      const items = await definitions(
        session,
        'resources/templates/list',
        'resources',
        'resourceTemplates',
        'uriTemplate'
      );
      return {
        resourceTemplates: items.map(({ server, item }) => ({
          ...item,
          uriTemplate: names.resourceUri(server, String(item.uriTemplate))
        }))
      };
    }
  };
}
