/** Listing visibility: could a caller with these roles ever be allowed a tool? (tools/list filtering) */
import { denies, grants } from './compile.js';
import { MAX_CACHE, type Applicable } from './rule-index.js';

export function createVisibility(
  applicable: Applicable,
  enforcing: boolean
): (roles: readonly string[], server: string, tool: string) => boolean {
  const visibleCache = new Map<string, boolean>();
  return (roles, server, tool) => {
    if (!enforcing) return true;
    const key = `${roles.join('\u0001')}\u0000${server}\u0000${tool}`;
    const hit = visibleCache.get(key);
    if (hit !== undefined) return hit;
    const rs = applicable(server, tool).rules;
    // Visible if some rule could grant it; hidden if a deny always refuses it (no conditions).
    const v =
      rs.some((r) => !r.deny && grants(r, roles)) &&
      !rs.some((r) => denies(r, roles) && !r.observe && r.conditions.length === 0);
    if (visibleCache.size >= MAX_CACHE) visibleCache.clear();
    visibleCache.set(key, v);
    return v;
  };
}
