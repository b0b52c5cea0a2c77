// The canonical encoding the audit chain hashes: JSON.stringify's text for every value, with object
// keys sorted, and the same answers for what JSON cannot hold (non-finite numbers, undefined,
// functions, toJSON, boxed primitives), errors for BigInt and for cycles.
import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalJsonWithout } from './canonical.js';

/** JSON.stringify with object keys sorted recursively: what canonical JSON must equal. */
function sortedStringify(value: unknown): string | undefined {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

/** `depth` arrays, one inside the other, around 1. */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

describe('canonicalJson', () => {
  it('writes scalars as JSON.stringify does', () => {
    for (const value of [true, false, null, 0, -0, 1.5, -2e-7, 1e21, 'text', ''])
      expect(canonicalJson(value), String(value)).toBe(JSON.stringify(value));
    expect(canonicalJson(false)).toBe('false');
  });

  it('writes a non-finite number as null, alone, in an array and in an object', () => {
    expect(canonicalJson(NaN)).toBe('null');
    expect(canonicalJson(Infinity)).toBe('null');
    expect(canonicalJson([1, NaN, -Infinity])).toBe('[1,null,null]');
    expect(canonicalJson({ b: Infinity, a: 1 })).toBe('{"a":1,"b":null}');
  });

  it('leaves out of objects what JSON cannot hold, and writes it as null in arrays', () => {
    const value = { u: undefined, f: () => 1, s: Symbol('s'), kept: [undefined, () => 1, Symbol('t')] };
    expect(canonicalJson(value)).toBe('{"kept":[null,null,null]}');
    expect(canonicalJson(value)).toBe(sortedStringify(value));
    expect(canonicalJson(undefined)).toBeUndefined();
    expect(canonicalJson(() => 1)).toBeUndefined();
  });

  it('sorts object keys at every depth, by UTF-16 code units', () => {
    const value = { b: { z: 1, y: [{ d: 1, c: 2 }] }, a: 'x', B: 2, é: 3, '10': 4, '9': 5 };
    // Integer-like keys too: "10" before "9" (an object literal would list them numerically).
    expect(canonicalJson(value)).toBe('{"10":4,"9":5,"B":2,"a":"x","b":{"y":[{"c":2,"d":1}],"z":1},"é":3}');
  });

  it('honours toJSON (a date is its ISO string), and only when it is a function', () => {
    const at = new Date(Date.UTC(2026, 11, 7, 9, 30));
    expect(canonicalJson(at)).toBe('"2026-12-07T09:30:00.000Z"');
    expect(canonicalJson({ at })).toBe('{"at":"2026-12-07T09:30:00.000Z"}');
    expect(canonicalJson({ toJSON: () => ({ b: 1, a: 2 }) })).toBe('{"a":2,"b":1}');
    expect(canonicalJson({ toJSON: 'not a function', a: 1 })).toBe('{"a":1,"toJSON":"not a function"}');
  });

  it('unboxes boxed numbers, strings and booleans', () => {
    expect(canonicalJson(new Number(3))).toBe('3');
    expect(canonicalJson(new String('x'))).toBe('"x"');
    expect(canonicalJson(new Boolean(false))).toBe('false');
    expect(canonicalJson([new Number(1), new String('a'), new Boolean(true)])).toBe('[1,"a",true]');
  });

  it('refuses a BigInt', () => {
    expect(() => canonicalJson(1n)).toThrow(new TypeError('audit: a BigInt cannot be serialised as JSON'));
    expect(() => canonicalJson({ a: [2n] })).toThrow(TypeError);
  });

  it('refuses a cycle through an object, an array or toJSON, with its own error', () => {
    const cyclicObject: Record<string, unknown> = { a: 1 };
    cyclicObject.self = cyclicObject;
    const cyclicArray: unknown[] = [1];
    cyclicArray.push(cyclicArray);
    const endless: { toJSON: () => unknown } = { toJSON: () => endless };
    const error = new TypeError('audit: value is cyclic or nested too deeply for JSON');
    expect(() => canonicalJson(cyclicObject)).toThrow(error);
    expect(() => canonicalJson(cyclicArray)).toThrow(error);
    expect(() => canonicalJson(endless)).toThrow(error);
  });

  it('encodes values nested 1001 deep, and refuses one level more', () => {
    expect(canonicalJson(nested(1001))).toBe(JSON.stringify(nested(1001)));
    expect(() => canonicalJson(nested(1002))).toThrow(/nested too deeply/);
    let deepObject: unknown = 1;
    for (let i = 0; i < 1002; i++) deepObject = { k: deepObject };
    expect(() => canonicalJson(deepObject)).toThrow(/nested too deeply/);
  });
});

describe('canonicalJsonWithout', () => {
  it('leaves out one top-level key, and only at the top level', () => {
    expect(canonicalJsonWithout({ hash: 'h', b: 1, a: { hash: 'kept' } }, 'hash')).toBe(
      '{"a":{"hash":"kept"},"b":1}'
    );
  });

  it('writes null for an object whose toJSON gives nothing JSON can hold', () => {
    expect(canonicalJsonWithout({ toJSON: () => undefined }, 'hash')).toBe('null');
  });
});
