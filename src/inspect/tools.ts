/**
 * Tool vetting, cached per server until what it reads changes: the server's list, its pins, or
 * another server's tool list (the names a description could shadow).
 */
import { checkPins, type ServerPins } from '../pins/index.js';
import { scanToolDefinition } from '../scan/index.js';
import type { UpstreamTool } from '../upstream/index.js';
import type { Inspector, VettedTool } from './types.js';
import { cacheKey, judge, type VettingContext } from './vetting.js';

type ToolLists = ReadonlyArray<readonly UpstreamTool[] | undefined>;

interface CachedTools {
  key: string;
  tools: readonly UpstreamTool[];
  pins: ServerPins | undefined;
  others: ToolLists;
  vetted: Map<string, VettedTool>;
}

const sameLists = (a: ToolLists, b: ToolLists) =>
  a.length === b.length && a.every((list, i) => list === b[i]);

interface ToolVetting {
  vet: Inspector['vet'];
  /** Drop a server's cached verdicts (its pins were replaced). */
  forget(server: string): void;
}

export function createToolVetting(shared: VettingContext): ToolVetting {
  const { config, pinsOf } = shared;
  // Vetting is cached per server (and kind) until what it reads changes: the server's list, its
  // pins, or (tools) another server's tool list, the names a description could shadow. Lists and
  // pins are replaced, never changed in place, so comparing them by identity is enough; a new list
  // with the same content (every field a hash covers) keeps its verdicts.
  const toolCache = new Map<string, CachedTools>();

  const vet: Inspector['vet'] = (server, tools, others) => {
    const serverPins = pinsOf(server);
    // The hot path: the same cached tool lists and the same pins as last time need no hashing.
    const hit = toolCache.get(server);
    const sameOthers = hit !== undefined && sameLists(hit.others, others);
    if (hit && sameOthers && hit.tools === tools && hit.pins === serverPins) return hit.vetted;
    const check = checkPins(serverPins, tools, 'tools');
    const key = cacheKey(check, serverPins);
    if (hit && sameOthers && hit.key === key) {
      // The same verdicts: the hash covers every field a model reads. Fields it does not cover
      // (icons, execution hints) are served as the server lists them now.
      const current = new Map(tools.map((t) => [t.name, t]));
      const vetted = new Map(
        [...hit.vetted].map(([name, v]) => [name, { ...v, tool: current.get(name) ?? v.tool }] as const)
      );
      toolCache.set(server, { ...hit, tools, pins: serverPins, vetted });
      return vetted;
    }
    const otherNames = others.flatMap((list) => (list ?? []).map((t) => t.name));
    const siblingNames = tools.map((t) => t.name);
    const verdicts = judge(
      shared,
      'tools',
      server,
      tools,
      check,
      serverPins,
      (tool) =>
        scanToolDefinition(tool, {
          server,
          otherTools: otherNames,
          siblingTools: siblingNames,
          maxDescriptionBytes: config.descriptions.max_bytes
        }),
      (tool) => tool.name
    );
    const vetted = new Map<string, VettedTool>();
    for (const [name, { item, ...verdict }] of verdicts) vetted.set(name, { tool: item, ...verdict });
    toolCache.set(server, { key, tools, pins: pinsOf(server), others: [...others], vetted });
    return vetted;
  };

  return { vet, forget: (server) => toolCache.delete(server) };
}
