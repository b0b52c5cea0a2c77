// Tests of adding servers to a portcullis.yaml: wherever `servers:` is (a block, a flow mapping,
// empty, missing), the new entries land in it and every other line of the file stays.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SetupError } from './errors.js';
import { addServers, existingServers, type ServerEntry } from './portcullis-yaml.js';

const NEW: Record<string, ServerEntry> = {
  files: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/srv/data'] },
  docs: {
    url: 'https://mcp.example.com/mcp',
    transport: 'sse',
    headers: { Authorization: 'Bearer ${DOCS_TOKEN}' }
  }
};

function serversAfter(text: string): Record<string, unknown> {
  const after = addServers(text, NEW, 'p.yaml');
  // Every line that was there is still there, in order.
  expect(after.split('\n').filter((l) => text.split('\n').includes(l))).toEqual(
    text.split('\n').filter((l) => after.split('\n').includes(l))
  );
  return (parse(after) as { servers: Record<string, unknown> }).servers;
}

describe('addServers', () => {
  it('appends to a block mapping, in its indentation, before what follows', () => {
    const text = '# top\nservers:\n    wiki:\n        url: https://wiki/mcp # c\n\n# auth next\nauth: {}\n';
    const after = addServers(text, NEW, 'p.yaml');
    expect(after).toContain(
      '        url: https://wiki/mcp # c\n    files:\n        command: npx\n        args:\n'
    );
    expect(after.endsWith('\n# auth next\nauth: {}\n')).toBe(true);
    expect(Object.keys(serversAfter(text))).toEqual(['wiki', 'files', 'docs']);
  });

  it('turns a flow mapping into a block holding old and new entries', () => {
    expect(serversAfter('servers: {}\nrules: []\n')).toEqual(NEW);
    expect(Object.keys(serversAfter('servers: { wiki: { url: "https://w/mcp" } } # note\n'))).toEqual([
      'wiki',
      'files',
      'docs'
    ]);
  });

  it('fills an empty `servers:` and adds a missing one', () => {
    expect(serversAfter('servers: # later\naudit: { path: ./a.jsonl }\n')).toEqual(NEW);
    expect(serversAfter('servers:')).toEqual(NEW);
    expect(serversAfter('auth: {}')).toEqual(NEW);
    expect(serversAfter('')).toEqual(NEW);
    const crlf = addServers('auth: {}\r\n', NEW, 'p.yaml');
    expect(crlf.replace(/\r\n/g, '')).not.toContain('\n');
  });

  it('keeps strings exact: quotes where YAML needs them, ${ENV} as written', () => {
    const odd: Record<string, ServerEntry> = {
      odd: { command: 'x', args: ['yes', '1', '#x', 'a: b', '-', ' lead', "it's"], env: { N: '007', E: '' } }
    };
    expect(parse(addServers('servers:\n  a: { command: y }\n', odd, 'p.yaml')).servers.odd).toEqual(odd.odd);
  });

  it('refuses files that cannot take servers', () => {
    expect(() => addServers('- tool: x\n', NEW, 'p.yaml')).toThrow('p.yaml: expected a mapping at the top');
    expect(() => addServers('servers: [a]\n', NEW, 'p.yaml')).toThrow('p.yaml: "servers" must be a mapping');
    expect(() => addServers('a: [\n', NEW, 'p.yaml')).toThrow(SetupError);
    expect(() => existingServers('servers: 3\n', 'p.yaml')).toThrow('"servers" must be a mapping');
  });
});
