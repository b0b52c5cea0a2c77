/**
 * Bounds on what a client may send, shared by every transport: a JSON-RPC message nested deeper
 * than any real MCP message is refused before anything parses it further (deep nesting is a
 * stack-exhaustion attack on every layer behind the gateway).
 */

export const MAX_JSON_DEPTH = 100;

/** True when `value` nests arrays or objects deeper than `max`; iterative, so it cannot overflow. */
export function nestedDeeperThan(value: unknown, max = MAX_JSON_DEPTH): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= max) return true;
    if (Array.isArray(v)) for (const item of v) stack.push([item, depth + 1]);
    else
      for (const key in v)
        if (Object.prototype.hasOwnProperty.call(v, key))
          stack.push([(v as Record<string, unknown>)[key], depth + 1]);
  }
  return false;
}
