/**
 * Listing visibility: could a caller with these roles ever be allowed a tool, prompt or resource?
 * (filtering tools/list, prompts/list, resources/list and resources/templates/list)
 */
import { denies, grants } from './compile.js';
import { hasDotSegment } from './glob.js';
import { MAX_CACHE, type Applicable } from './rule-index.js';
import type { Kind } from './types.js';

export function createVisibility(
  applicable: Applicable,
  enforcing: boolean
): (roles: readonly string[], server: string, tool: string, kind?: Kind) => boolean {
  const visibleCache = new Map<string, boolean>();
  return (roles, server, tool, kind = 'tool') => {
    if (!enforcing) return true;
    const key = `${roles.join('\u0001')}\u0000${server}\u0000${kind}\u0000${tool}`;
    const hit = visibleCache.get(key);
    if (hit !== undefined) return hit;
    const rs = kind === 'resource' && hasDotSegment(tool) ? [] : applicable(server, tool, kind).rules;
    // Visible if some rule could grant it; hidden if a deny always refuses it (no conditions).
    const v =
      rs.some((r) => !r.deny && grants(r, roles)) &&
      !rs.some((r) => denies(r, roles) && !r.observe && r.conditions.length === 0);
    if (visibleCache.size >= MAX_CACHE) visibleCache.clear();
    visibleCache.set(key, v);
    return v;
  };
}
