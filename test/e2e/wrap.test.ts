/**
 * `wrap` end to end: a Claude Desktop config whose server is the official filesystem server is
 * wrapped, and its new portcullis entry is started exactly as a client would start it (the SDK's
 * stdio client, with the entry's command, args and env). The agent then sees the server's tools
 * through the gateway, and the starter policy holds for every call. Needs `npm run build`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isMap, isSeq, parseDocument } from 'yaml';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { unwrap, wrap } from '../../src/setup/index.js';
import { CLI, FILESYSTEM, NODE, dataDir, readAudit, tempDir, tryCall } from '../helpers.js';

interface ClientEntry {
  command: string;
  args: string[];
  env?: Record<string, string>;
}

/** Point the starter's read rule at the public half of the data folder. */
function allowReadsUnder(yamlFile: string, folder: string): void {
  const doc = parseDocument(readFileSync(yamlFile, 'utf8'));
  const rules = doc.get('rules', true);
  if (!isSeq(rules)) throw new Error('the starter has no rules list');
  const read = rules.items.find((r) => isMap(r) && r.get('id') === 'read-public-files');
  if (!isMap(read)) throw new Error('the starter has no read-public-files rule');
  read.setIn(['parameter_constraints', 'path', 'prefix'], folder);
  writeFileSync(yamlFile, doc.toString());
}

describe('wrap a Claude Desktop config around the filesystem server', () => {
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  });

  it('serves the wrapped server through the gateway, under the policy', { timeout: 60_000 }, async () => {
    const dir = tempDir('portcullis-wrap-e2e-');
    const data = dataDir();
    const clientFile = join(dir, 'claude_desktop_config.json');
    const yamlFile = join(dir, 'portcullis.yaml');
    const original = `${JSON.stringify(
      { mcpServers: { files: { command: NODE, args: [FILESYSTEM, data] } }, globalShortcut: 'Alt+Space' },
      null,
      2
    )}\n`;
    writeFileSync(clientFile, original);

    const result = wrap(clientFile, {
      portcullisConfig: yamlFile,
      command: { command: NODE, args: [CLI, 'stdio', '--config', yamlFile] }
    });
    expect(result.moved).toEqual([{ from: 'files', to: 'files', kind: 'stdio', alreadyThere: false }]);
    allowReadsUnder(yamlFile, `${data}/public/`);

    const servers = (
      JSON.parse(readFileSync(clientFile, 'utf8')) as { mcpServers: Record<string, ClientEntry> }
    ).mcpServers;
    expect(Object.keys(servers)).toEqual(['portcullis']);
    const entry = servers.portcullis!;
    const client = new Client({ name: 'claude-desktop-like', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({ command: entry.command, args: entry.args, env: entry.env, stderr: 'pipe' })
    );
    try {
      const tools = (await client.listTools()).tools.map((t) => t.name);
      expect(tools).toContain('files__read_file');
      // Deny by default: the analyst sees no tool the starter policy does not allow.
      expect(tools).toEqual(['files__read_file']);

      const allowed = await tryCall(client, 'files__read_file', { path: `${data}/public/x.txt` });
      expect(allowed.ok).toBe(true);
      if (allowed.ok) expect(allowed.result.content?.[0]?.text).toContain('public contents');

      const outside = await tryCall(client, 'files__read_file', { path: `${data}/private/x.txt` });
      expect(outside).toMatchObject({ ok: false, code: -32052 });
      const escape = await tryCall(client, 'files__read_file', { path: `${data}/public/../private/x.txt` });
      expect(escape).toMatchObject({ ok: false, code: -32052 });
      const write = await tryCall(client, 'files__write_file', {
        path: `${data}/public/y.txt`,
        content: 'x'
      });
      expect(write).toMatchObject({ ok: false, code: -32051 });
      expect(existsSync(join(data, 'public', 'y.txt'))).toBe(false);
    } finally {
      await client.close();
    }

    // Every call was audited under the stdio identity of the starter.
    const calls = readAudit(join(dir, 'portcullis-audit.jsonl')).filter((r) => r.event === 'tools/call');
    expect(calls.map((r) => [r.identity, r.decision])).toEqual([
      ['local', 'allow'],
      ['local', 'deny'],
      ['local', 'deny'],
      ['local', 'deny']
    ]);

    // unwrap puts the client config back as it was.
    expect(unwrap(clientFile).restored).toBe(result.backup);
    expect(readFileSync(clientFile, 'utf8')).toBe(original);
  });
});
