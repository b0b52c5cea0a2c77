/** A JSON object: not null, not an array (what the protocol's schemas call an object). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
