/**
 * What the servers offer, as the gateway lets agents see it: each server's tools, prompts,
 * resources and resource templates, vetted by content scanning and pins (../inspect), and the
 * check that refuses a prompt or resource vetting withholds.
 */
import { UriTemplate } from '@modelcontextprotocol/client';
import { GatewayError } from '../errors.js';
import type { DefinitionKind, DefinitionVetting, Inspector, VettedTool } from '../inspect/index.js';
import type { Upstream, UpstreamTool } from '../upstream/index.js';

/** The server-side capability each kind is listed under. */
export const CAPABILITY: Record<DefinitionKind, 'prompts' | 'resources'> = {
  prompts: 'prompts',
  resources: 'resources',
  resourceTemplates: 'resources'
};

export interface Catalog {
  /** A server's tools, listed (or as cached) and vetted. */
  vetted(up: Upstream): Promise<Map<string, VettedTool>>;
  /** A server's prompts, resources or templates vetted: listed now, or as last listed when `fresh` is false. */
  definitionsOf(up: Upstream, kind: DefinitionKind, fresh: boolean): Promise<DefinitionVetting>;
  /**
   * Refuse a prompt or resource the agent may not have: withheld from its listing (findings, or a
   * change since the server was pinned) or removed since pinned, as the server last listed it (or
   * lists it now, if not since it last changed); a resource also when a withheld template
   * produces its URI.
   */
  refuseWithheld(up: Upstream, kind: 'prompts' | 'resources', key: string, exposed: string): Promise<void>;
}

/** Does a URI template (RFC 6570, as the protocol uses them) produce this URI? */
function produces(template: string, uri: string): boolean {
  try {
    return new UriTemplate(template).match(uri) !== null;
  } catch {
    return template === uri;
  }
}

export function createCatalog(upstreams: ReadonlyMap<string, Upstream>, inspector: Inspector): Catalog {
  /** The tool lists of every other server as last listed, for shadowing checks. */
  const otherTools = (server: string) => {
    const lists: Array<readonly UpstreamTool[] | undefined> = [];
    for (const u of upstreams.values()) if (u.name !== server) lists.push(u.cachedTools());
    return lists;
  };
  const vetted = async (up: Upstream) => inspector.vet(up.name, await up.listTools(), otherTools(up.name));
  const definitionsOf = async (up: Upstream, kind: DefinitionKind, fresh: boolean) => {
    const items = (fresh ? undefined : up.cachedDefinitions(kind)) ?? (await up.listDefinitions(kind));
    return inspector.vetDefinitions(kind, up.name, items);
  };

  return {
    vetted,
    definitionsOf,
    async refuseWithheld(up, kind, key, exposed) {
      await up.connect();
      if (!up.capabilities()?.[kind]) return;
      const refuse = (why: string) => new GatewayError('tool_blocked', `${exposed}: ${why}`);
      const removed = (v: DefinitionVetting, k: string) => v.refusesRemoved && v.removed.includes(k);
      const vetting = await definitionsOf(up, kind, false);
      const listed = vetting.items.get(key);
      if (listed?.blocked) throw refuse(listed.reason ?? 'withheld');
      if (listed) return;
      if (removed(vetting, key))
        throw refuse("removed since the server was pinned; approve the server's new definitions");
      if (kind !== 'resources') return;
      const templates = await definitionsOf(up, 'resourceTemplates', false);
      for (const t of templates.items.values()) {
        if (t.blocked && produces(t.key, key))
          throw refuse(`resource template ${t.key}: ${t.reason ?? 'withheld'}`);
      }
      for (const template of templates.removed) {
        if (removed(templates, template) && produces(template, key))
          throw refuse(`resource template ${template} removed since the server was pinned`);
      }
    }
  };
}
