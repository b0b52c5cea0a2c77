import { describe, expect, it } from 'vitest';
import { joinName, parseResourceUri, resourceUri, splitName } from './names.js';

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
});
