/**
 * Canonical JSON for the audit hash chain and for argument hashing: one byte string per value, so the
 * same record always hashes the same way however it was built or parsed.
 *
 * The encoding is JSON with no whitespace, object keys sorted recursively by UTF-16 code units (the
 * order `Array.prototype.sort` gives), strings and numbers serialised exactly as `JSON.stringify` does
 * them. For JSON values this is RFC 8785 (JCS). Values JSON cannot hold follow `JSON.stringify`:
 * `undefined`, functions and symbols are left out of objects and become `null` in arrays, non-finite
 * numbers are `null`, `toJSON()` is honoured (dates), boxed primitives are unboxed, and BigInt or a
 * cycle is an error.
 */

const MAX_DEPTH = 1000;

/** Quoted object keys: records repeat the same few dozen field names, so quote each once. */
const quotedKeys = new Map<string, string>();
function quote(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key);
    if (quotedKeys.size < 4096) quotedKeys.set(key, quoted);
  }
  return quoted;
}

/**
 * What JSON.stringify escapes in a string: `"`, `\`, control characters and lone surrogates (any
 * surrogate here, to keep the test simple). Everything else it copies as is, between quotes.
 */
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** The canonical JSON text of `value`, or `undefined` when `value` has none (undefined, a function). */
export function canonicalJson(value: unknown): string | undefined {
  return encode(value, 0, undefined);
}

/**
 * The canonical JSON of an object with one top-level key left out (the record's own `hash`): the
 * chain hashes a record without its hash, and this avoids copying the record to drop it.
 */
export function canonicalJsonWithout(value: object, skip: string): string {
  return encode(value, 0, skip) ?? 'null';
}

function encode(value: unknown, depth: number, skip: string | undefined): string | undefined {
  switch (typeof value) {
    case 'string':
      return NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : `"${value}"`;
    case 'number':
      // String(n) is what JSON.stringify gives a finite number (-0 is "0").
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      throw new TypeError('audit: a BigInt cannot be serialised as JSON');
    case 'object':
      break;
    default:
      return undefined;
  }
  if (value === null) return 'null';
  if (depth > MAX_DEPTH) throw new TypeError('audit: value is cyclic or nested too deeply for JSON');
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += encode(value[i], depth + 1, undefined) ?? 'null';
    }
    return out + ']';
  }
  const withJson = value as { toJSON?: unknown };
  if (typeof withJson.toJSON === 'function') return encode(withJson.toJSON(), depth + 1, undefined);
  if (value instanceof Number || value instanceof String || value instanceof Boolean) {
    return encode(value.valueOf(), depth + 1, undefined);
  }
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object).sort();
  let out = '{';
  for (const key of keys) {
    if (key === skip) continue;
    const encoded = encode(object[key], depth + 1, undefined);
    if (encoded === undefined) continue;
    out += (out.length === 1 ? '' : ',') + quote(key) + ':' + encoded;
  }
  return out + '}';
}
