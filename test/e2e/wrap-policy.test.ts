/**
 * `portcullis wrap` writes a policy from what the servers list: a Claude Desktop config holding the
 * official filesystem, memory and everything servers (and one that cannot start) is wrapped with
 * the CLI, and the rewritten client entry is started as the client would start it. The agent sees
 * and can call every read-only tool, a destructive call is held for approval, a tool that is
 * neither is allowed and audited as observed, and the broken server's rules are commented out.
 * `unwrap` afterwards puts the servers back and keeps one the user added since.
 * Needs `npm run build`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import {
  CLI,
  EVERYTHING,
  FILESYSTEM,
  NODE,
  ROOT,
  readAudit,
  run,
  tempDir,
  tryCall,
  waitFor
} from '../helpers.js';

const MEMORY = join(ROOT, 'node_modules/@modelcontextprotocol/server-memory/dist/index.js');

interface ClientEntry {
  command: string;
  args: string[];
  env?: Record<string, string>;
}

/** The tools a server itself marks read-only, asked directly (not through the gateway). */
async function readOnlyTools(args: string[], env?: Record<string, string>): Promise<string[]> {
  const client = new Client({ name: 'direct', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({ command: NODE, args, ...(env ? { env } : {}), stderr: 'ignore' })
  );
  try {
    const { tools } = await client.listTools();
    return tools.filter((t) => t.annotations?.readOnlyHint === true).map((t) => t.name);
  } finally {
    await client.close();
  }
}

describe('wrap writes a working policy from the servers it moves', () => {
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  });

  it('read-only tools work, destructive ones wait, the rest run observed', { timeout: 120_000 }, async () => {
    const dir = tempDir('portcullis-wrap-policy-');
    const data = join(dir, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'notes.txt'), 'hello from the notes\n');
    const memoryEnv = { MEMORY_FILE_PATH: join(dir, 'memory.jsonl') };
    const clientFile = join(dir, 'claude_desktop_config.json');
    writeFileSync(
      clientFile,
      JSON.stringify(
        {
          mcpServers: {
            filesystem: { command: NODE, args: [FILESYSTEM, data] },
            memory: { command: NODE, args: [MEMORY], env: memoryEnv },
            everything: { command: NODE, args: [EVERYTHING, 'stdio'] },
            broken: { command: NODE, args: ['-e', 'process.exit(3)'] }
          }
        },
        null,
        2
      )
    );

    const wrapped = await run(NODE, [CLI, 'wrap', clientFile, '--probe-timeout', '30'], {
      cwd: dir,
      timeout: 90_000
    });
    expect(wrapped.code, wrapped.stderr).toBe(0);
    expect(wrapped.stdout).toContain('the agent will see:');
    expect(wrapped.stdout).toMatch(/each call held for approval: .*filesystem__write_file/);
    // get-env says it is read-only, but a server's environment holds its credentials.
    expect(wrapped.stdout).toMatch(/each call held for approval: .*everything__get-env/);
    expect(wrapped.stderr).toMatch(/server "broken" did not list its tools/);
    const yaml = readFileSync(join(dir, 'portcullis.yaml'), 'utf8');
    // The broken server is named, and its example rule is a comment, not a rule.
    expect(yaml).toMatch(/# broken: not reached/);
    expect(yaml).toMatch(/# - id: broken-all/);
    expect(yaml).not.toMatch(/^ {2}- id: broken/m);

    const expected = [
      ...(await readOnlyTools([FILESYSTEM, data])).map((t) => `filesystem__${t}`),
      ...(await readOnlyTools([MEMORY], memoryEnv)).map((t) => `memory__${t}`),
      ...(await readOnlyTools([EVERYTHING, 'stdio'])).map((t) => `everything__${t}`)
    ];
    expect(expected.length).toBeGreaterThan(15);

    const entry = (
      JSON.parse(readFileSync(clientFile, 'utf8')) as { mcpServers: Record<string, ClientEntry> }
    ).mcpServers.portcullis!;
    const client = new Client({ name: 'claude-desktop-like', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({ command: entry.command, args: entry.args, env: entry.env, stderr: 'pipe' })
    );
    try {
      const listed = (await client.listTools()).tools.map((t) => t.name);
      for (const name of expected) expect(listed).toContain(name);
      expect(listed.some((n) => n.startsWith('broken__'))).toBe(false);

      const read = await tryCall(client, 'filesystem__read_text_file', { path: join(data, 'notes.txt') });
      expect(read.ok).toBe(true);
      if (read.ok) expect(read.result.content?.[0]?.text).toContain('hello from the notes');
      const graph = await tryCall(client, 'memory__read_graph', {});
      expect(graph.ok).toBe(true);
      const echo = await tryCall(client, 'everything__echo', { message: 'ping' });
      expect(echo.ok).toBe(true);

      // Destructive: held for a person (the first progress notice says so); nothing is written.
      const notices: string[] = [];
      const abort = new AbortController();
      const write = client
        .request(
          {
            method: 'tools/call',
            params: {
              name: 'filesystem__write_file',
              arguments: { path: join(data, 'new.txt'), content: 'x' }
            }
          },
          {
            signal: abort.signal,
            timeout: 60_000,
            onprogress: (p) => notices.push(String(p.message ?? ''))
          }
        )
        .then(
          () => 'done',
          () => 'refused'
        );
      await waitFor(() => notices.length > 0, 20_000, 'an approval progress notice');
      expect(notices[0]).toMatch(/^waiting for approval \(apr_/);
      abort.abort();
      expect(await write).toBe('refused');
      expect(existsSync(join(data, 'new.txt'))).toBe(false);

      // Neither read-only nor destructive: allowed, and on record as needing approval once tightened.
      const created = await tryCall(client, 'memory__create_entities', {
        entities: [{ name: 'portcullis', entityType: 'gateway', observations: ['wrapped'] }]
      });
      expect(created.ok).toBe(true);
    } finally {
      await client.close();
    }

    const calls = readAudit(join(dir, 'portcullis-audit.jsonl')).filter((r) => r.event === 'tools/call');
    const byTool = (name: string) => calls.find((r) => r.name === name);
    expect(calls.every((r) => r.identity === 'local')).toBe(true);
    expect(byTool('filesystem__read_text_file')).toMatchObject({ decision: 'allow' });
    expect(byTool('memory__create_entities')).toMatchObject({
      decision: 'allow',
      observed: { effect: 'approval' }
    });

    // A server added to the client config after wrap survives unwrap, and the moved ones come back.
    const later = JSON.parse(readFileSync(clientFile, 'utf8')) as { mcpServers: Record<string, ClientEntry> };
    later.mcpServers.added = { command: NODE, args: [MEMORY] };
    writeFileSync(clientFile, JSON.stringify(later, null, 2));
    const unwrapped = await run(NODE, [CLI, 'unwrap', clientFile], { cwd: dir, timeout: 30_000 });
    expect(unwrapped.code, unwrapped.stderr).toBe(0);
    expect(unwrapped.stdout).toMatch(/added/);
    const after = (
      JSON.parse(readFileSync(clientFile, 'utf8')) as { mcpServers: Record<string, ClientEntry> }
    ).mcpServers;
    expect(Object.keys(after).sort()).toEqual(['added', 'broken', 'everything', 'filesystem', 'memory']);
    expect(after.added).toEqual({ command: NODE, args: [MEMORY] });
    expect(after.filesystem).toEqual({ command: NODE, args: [FILESYSTEM, data] });
  });
});
