/**
 * Vetting of prompts, resources and resource templates as listed, cached per server and kind until
 * the server's list or its pins change, as tools are.
 */
import { checkPins, pinKey, type Definition, type ServerPins } from '../pins/index.js';
import { scanPromptDefinition, scanResourceDefinition } from '../scan/index.js';
import type { DefinitionKind, DefinitionVetting, Inspector } from './types.js';
import { cacheKey, judge, type VettingContext } from './vetting.js';

interface CachedDefinitions {
  key: string;
  items: readonly Definition[];
  pins: ServerPins | undefined;
  vetting: DefinitionVetting;
}

const KINDS: readonly DefinitionKind[] = ['prompts', 'resources', 'resourceTemplates'];

interface DefinitionVetter {
  vetDefinitions: Inspector['vetDefinitions'];
  /** Drop a server's cached verdicts of every kind (its pins were replaced). */
  forget(server: string): void;
}

export function createDefinitionVetting(shared: VettingContext): DefinitionVetter {
  const { config, enforcing, pinsOf } = shared;
  const definitionCache = new Map<string, CachedDefinitions>();

  const vetDefinitions: Inspector['vetDefinitions'] = (kind, server, items) => {
    const serverPins = pinsOf(server);
    const cacheId = `${kind}\n${server}`;
    const hit = definitionCache.get(cacheId);
    if (hit && hit.items === items && hit.pins === serverPins) return hit.vetting;
    const check = checkPins(serverPins, items, kind);
    const key = cacheKey(check, serverPins);
    const keyOf = (item: Definition) => pinKey(kind, item);
    if (hit && hit.key === key) {
      const current = new Map(items.map((item) => [keyOf(item), item]));
      const vetting: DefinitionVetting = {
        ...hit.vetting,
        items: new Map(
          [...hit.vetting.items].map(([k, v]) => [k, { ...v, item: current.get(k) ?? v.item }] as const)
        )
      };
      definitionCache.set(cacheId, { ...hit, items, pins: serverPins, vetting });
      return vetting;
    }
    const ctx = { server, maxDescriptionBytes: config.descriptions.max_bytes };
    const verdicts = judge(
      shared,
      kind,
      server,
      items,
      check,
      serverPins,
      (item) =>
        kind === 'prompts'
          ? scanPromptDefinition(item as never, ctx)
          : scanResourceDefinition(item as never, ctx),
      keyOf
    );
    const vetting: DefinitionVetting = {
      items: new Map([...verdicts].map(([k, v]) => [k, { ...v, key: k }] as const)),
      removed: check.removed,
      refusesRemoved: enforcing && !check.firstUse
    };
    definitionCache.set(cacheId, { key, items, pins: pinsOf(server), vetting });
    return vetting;
  };

  return {
    vetDefinitions,
    forget(server) {
      for (const kind of KINDS) definitionCache.delete(`${kind}\n${server}`);
    }
  };
}
