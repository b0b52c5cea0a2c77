/**
 * A `tools/call` result as the protocol has it, checked without a schema library, and the default
 * the SDK gives a result without `content`. The upstream lean path (upstream/direct.ts) refuses a
 * result this check refuses, as the SDK client would; the downstream lean path
 * (transports/lean-call.ts) gives a result its empty content as the SDK server would.
 *
 * The check accepts exactly what the SDK's own `CallToolResult` schema accepts, with two rules of
 * the SDK's 2025-era wire on top (property-tested in tool-result.test.ts):
 * - a result without `content` that carries another result family's key (`task`,
 *   `inputRequests`, `requestState`) is refused rather than defaulted into an empty success;
 * - before the modern era, `structuredContent` must be an object.
 */
import { isObject } from './json.js';

/**
 * Keys of other result families (tasks, input_required): a result without `content` that has one
 * is not an empty tool result. The SDK's `TOOL_RESULT_FOREIGN_FAMILY_KEYS`.
 */
export const TOOL_RESULT_FOREIGN_KEYS: readonly string[] = ['task', 'inputRequests', 'requestState'];

function foreignKey(r: Record<string, unknown>): string | undefined {
  for (let i = 0; i < TOOL_RESULT_FOREIGN_KEYS.length; i++) {
    const key = TOOL_RESULT_FOREIGN_KEYS[i]!;
    if (key in r) return key;
  }
  return undefined;
}

/**
 * A tool result without `content` gets an empty one, unless it carries another result family's
 * keys (the SDK's `normalizeContentlessToolResult`). Anything else is returned as it is.
 */
export function withEmptyContent<T extends Record<string, unknown>>(result: T): T {
  if (result.content !== undefined || foreignKey(result) !== undefined) return result;
  return { ...result, content: [] };
}

/**
 * What the protocol requires of a tool result: `content` an array of content blocks each as its
 * type defines it, `structuredContent` an object (before the modern era, which allows any value),
 * `isError` a boolean, `_meta` an object. A result without `content` is one (it gets an empty one,
 * see `withEmptyContent`) unless it carries another result family's keys. Returns the first
 * problem, or undefined.
 */
export function checkCallToolResult(r: Record<string, unknown>, modern = false): string | undefined {
  if (r.content === undefined) {
    const foreign = foreignKey(r);
    if (foreign !== undefined) return `content is required when the result carries '${foreign}'`;
  } else {
    if (!Array.isArray(r.content)) return 'content is not an array';
    for (let i = 0; i < r.content.length; i++) {
      const problem = checkContentBlock(r.content[i]);
      if (problem) return `content[${i}]: ${problem}`;
    }
  }
  if (!modern && r.structuredContent !== undefined && !isObject(r.structuredContent))
    return 'structuredContent is not an object';
  if (r.isError !== undefined && typeof r.isError !== 'boolean') return 'isError is not a boolean';
  if (r._meta !== undefined && !isObject(r._meta)) return '_meta is not an object';
  return undefined;
}

const str = (v: unknown): v is string => typeof v === 'string';
const optionalStr = (v: unknown) => v === undefined || typeof v === 'string';
const optionalObject = (v: unknown) => v === undefined || isObject(v);

/** Base64 as the protocol's schema accepts it: whatever `atob` decodes. */
function base64(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  try {
    atob(v);
    return true;
  } catch {
    return false;
  }
}

/**
 * An RFC 3339 date-time with seconds and a zone (`Z` or an offset), a valid calendar date: the
 * format the protocol gives `annotations.lastModified`, as the SDK's schema checks it.
 */
const DATE =
  '(?:(?:\\d\\d[2468][048]|\\d\\d[13579][26]|\\d\\d0[48]|[02468][048]00|[13579][26]00)-02-29' +
  '|\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)' +
  '|02-(?:0[1-9]|1\\d|2[0-8])))';
const DATE_TIME = new RegExp(
  `^${DATE}T(?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(?:\\.\\d+)?(?:Z|[+-](?:[01]\\d|2[0-3]):[0-5]\\d)$`
);

function checkAnnotations(a: unknown): string | undefined {
  if (a === undefined) return undefined;
  if (!isObject(a)) return 'annotations is not an object';
  if (a.audience !== undefined) {
    if (!Array.isArray(a.audience) || !a.audience.every((r) => r === 'user' || r === 'assistant'))
      return 'annotations.audience must list user or assistant';
  }
  if (a.priority !== undefined && !(typeof a.priority === 'number' && a.priority >= 0 && a.priority <= 1))
    return 'annotations.priority must be a number from 0 to 1';
  if (a.lastModified !== undefined && !(str(a.lastModified) && DATE_TIME.test(a.lastModified)))
    return 'annotations.lastModified is not an RFC 3339 date-time';
  return undefined;
}

function checkIcons(icons: unknown): boolean {
  if (icons === undefined) return true;
  if (!Array.isArray(icons)) return false;
  for (const icon of icons) {
    if (!isObject(icon) || !str(icon.src) || !optionalStr(icon.mimeType)) return false;
    if (icon.sizes !== undefined && !(Array.isArray(icon.sizes) && icon.sizes.every(str))) return false;
    if (icon.theme !== undefined && icon.theme !== 'light' && icon.theme !== 'dark') return false;
  }
  return true;
}

/** A resource link's own fields (a resource's metadata), beyond `uri` and `name`. */
function checkResourceMetadata(b: Record<string, unknown>): string | undefined {
  if (!optionalStr(b.title) || !optionalStr(b.description) || !optionalStr(b.mimeType))
    return 'title, description and mimeType must be strings';
  if (b.size !== undefined && !(typeof b.size === 'number' && Number.isFinite(b.size)))
    return 'size is not a number';
  if (!checkIcons(b.icons)) return 'icons must list icons with a src';
  return undefined;
}

/** An embedded resource's contents: text, or else a base64 blob. */
function checkResourceContents(res: unknown): string | undefined {
  if (!isObject(res) || !str(res.uri)) return 'resource needs a uri';
  if (!optionalStr(res.mimeType)) return 'resource mimeType is not a string';
  if (!optionalObject(res._meta)) return 'resource _meta is not an object';
  if (str(res.text)) return undefined;
  if (res.blob !== undefined) return base64(res.blob) ? undefined : 'resource blob is not base64';
  return 'resource needs text or blob';
}

function checkContentBlock(b: unknown): string | undefined {
  if (!isObject(b)) return 'not an object';
  if (!optionalObject(b._meta)) return '_meta is not an object';
  const annotations = checkAnnotations(b.annotations);
  if (annotations) return annotations;
  switch (b.type) {
    case 'text':
      return str(b.text) ? undefined : 'text is not a string';
    case 'image':
    case 'audio':
      return base64(b.data) && str(b.mimeType) ? undefined : 'data must be base64 and mimeType a string';
    case 'resource_link':
      if (!str(b.uri) || !str(b.name)) return 'uri and name must be strings';
      return checkResourceMetadata(b);
    case 'resource':
      return checkResourceContents(b.resource);
    default:
      return `unknown content type ${JSON.stringify(b.type)}`;
  }
}
