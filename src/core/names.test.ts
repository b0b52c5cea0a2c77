import { describe, expect, it } from 'vitest';
import { createNames, joinName, parseResourceUri, resourceUri, splitName } from './names.js';

describe('namespacing', () => {
  it('splits at the first "__", so tool names may contain "__" themselves', () => {
    expect(splitName(joinName('files', 'read_file'))).toEqual({ server: 'files', name: 'read_file' });
    expect(splitName('files__odd__name')).toEqual({ server: 'files', name: 'odd__name' });
  });
  it.each(['read_file', '__read_file', 'files__', '', '_files__x'.slice(1, 0)])('refuses %j', (name) => {
    expect(splitName(name)).toBeUndefined();
  });
  it('wraps resource URIs and unwraps them exactly', () => {
    const wrapped = resourceUri('docs', 'file:///a/b?c=d#e');
    expect(wrapped).toBe('portcullis://docs/file:///a/b?c=d#e');
    expect(parseResourceUri(wrapped)).toEqual({ server: 'docs', uri: 'file:///a/b?c=d#e' });
    expect(parseResourceUri('file:///a')).toBeUndefined();
    expect(parseResourceUri('portcullis://docs/')).toBeUndefined();
    expect(parseResourceUri('portcullis:///x')).toBeUndefined();
  });
  it('exposes a lone server with namespace: false under its own names, and nothing else', () => {
    const bare = createNames({ conformance: { namespace: false } });
    expect(bare.join('conformance', 'test_simple_text')).toBe('test_simple_text');
    expect(bare.split('files__read_file')).toEqual({ server: 'conformance', name: 'files__read_file' });
    expect(bare.resourceUri('conformance', 'test://static-text')).toBe('test://static-text');
    expect(bare.parseResourceUri('portcullis://x/y')).toEqual({
      server: 'conformance',
      uri: 'portcullis://x/y'
    });
    expect(bare.split('')).toBeUndefined();
    // Two servers always keep their namespaces (the config refuses namespace: false there anyway).
    const two = createNames({ a: { namespace: false }, b: { namespace: true } });
    expect(two.join('a', 'x')).toBe('a__x');
    expect(createNames({ a: { namespace: true } }).split('x')).toBeUndefined();
  });
});
