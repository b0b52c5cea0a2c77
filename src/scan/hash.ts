/**
 * Pinning support: a SHA-256 over a canonical JSON of the parts of a tool definition the model
 * reads (name, title, description, inputSchema, outputSchema, annotations, _meta). Keys are sorted
 * at every level and absent fields are left out, so the hash changes exactly when what the model sees changes (a
 * hidden character included), not when a server reorders keys.
 */
import { createHash } from 'node:crypto';
import type { ToolLike } from './types.js';

/** JSON with object keys sorted by code unit at every level; `undefined` members are omitted. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const s = JSON.stringify(value);
    return s === undefined ? 'null' : s;
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined && typeof obj[k] !== 'function')
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

export function canonicalToolHash(tool: ToolLike): string {
  const pinned = {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: tool.inputSchema,
    outputSchema: tool.outputSchema,
    annotations: tool.annotations,
    _meta: tool._meta
  };
  return createHash('sha256').update(canonicalJson(pinned), 'utf8').digest('hex');
}
