import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalToolHash } from './index.js';

describe('canonicalToolHash', () => {
  const tool = {
    name: 'read_file',
    description: 'Read a file.',
    inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
    annotations: { readOnlyHint: true }
  };
  it('is a SHA-256 hex digest', () => {
    expect(canonicalToolHash(tool)).toMatch(/^[0-9a-f]{64}$/);
  });
  it('does not depend on key order', () => {
    const reordered = {
      annotations: { readOnlyHint: true },
      inputSchema: { required: ['path'], properties: { path: { type: 'string' } }, type: 'object' },
      description: 'Read a file.',
      name: 'read_file'
    };
    expect(canonicalToolHash(reordered)).toBe(canonicalToolHash(tool));
  });
  it('changes when anything the model reads changes, a hidden character included', () => {
    const base = canonicalToolHash(tool);
    expect(canonicalToolHash({ ...tool, description: 'Read a file.\u200b' })).not.toBe(base);
    expect(canonicalToolHash({ ...tool, title: 'Read' })).not.toBe(base);
    expect(canonicalToolHash({ ...tool, inputSchema: { ...tool.inputSchema, required: [] } })).not.toBe(base);
    expect(canonicalToolHash({ ...tool, outputSchema: { type: 'object' } })).not.toBe(base);
    expect(canonicalToolHash({ ...tool, _meta: { x: 1 } })).not.toBe(base);
  });
  it('ignores fields outside the pinned set and undefined members', () => {
    const extra = { ...tool, title: undefined, icons: [{ src: 'x' }] } as typeof tool;
    expect(canonicalToolHash(extra)).toBe(canonicalToolHash(tool));
  });
  it('writes canonical JSON with sorted keys', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: undefined }, 'x'] })).toBe('{"a":[{"d":2},"x"],"b":1}');
  });
});

describe('canonicalJson', () => {
  it('writes what JSON cannot hold as null, and leaves out undefined and function members', () => {
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson([undefined, () => 1, 'x'])).toBe('[null,null,"x"]');
    expect(canonicalJson({ f: () => 1, u: undefined, n: null, s: 'x' })).toBe('{"n":null,"s":"x"}');
    expect(canonicalJson({})).toBe('{}');
    expect(canonicalJson([])).toBe('[]');
  });
  it('sorts keys by code unit at every depth and quotes them', () => {
    expect(canonicalJson({ b: { z: 1, A: 2 }, a: 'q"', é: 0, B: [true] })).toBe(
      '{"B":[true],"a":"q\\"","b":{"A":2,"z":1},"é":0}'
    );
  });
});
