/**
 * Every downstream and upstream transport with real peers: the stdio CLI driven by an SDK client
 * and by raw bytes, legacy SSE, the 1.0.3 inspector CLI (a 2025-era client), and
 * server-everything reached over stdio, Streamable HTTP and SSE.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/client';
import {
  ANALYST_TOKEN,
  CLI,
  EVERYTHING,
  FILESYSTEM,
  NODE,
  connect,
  connectSse,
  dataDir,
  freePort,
  inspector,
  readAudit,
  startGateway,
  stdioGateway,
  tempDir,
  tokensYaml,
  tryCall,
  waitFor,
  type TestGateway
} from '../helpers.js';

describe('stdio downstream (portcullis stdio)', () => {
  let dir: string;
  let data: string;
  let configFile: string;

  beforeAll(() => {
    dir = tempDir();
    data = dataDir();
    configFile = join(dir, 'portcullis.yaml');
    writeFileSync(
      configFile,
      `
servers:
  files:
    command: ${NODE}
    args: ["${FILESYSTEM}", "${data}"]
auth:${tokensYaml}
audit: { path: ./audit.jsonl }
rules:
  - tool: read_file
    allowed_roles: [analyst]
    parameter_constraints:
      path: { prefix: "${data}/public/" }
`
    );
  });

  it('serves an SDK client over stdio in both eras and enforces policy', async () => {
    for (const mode of ['auto', 'legacy'] as const) {
      const client = new Client({ name: 'stdio-test', version: '1.0.0' }, { versionNegotiation: { mode } });
      await client.connect(stdioGateway(configFile));
      const tools = (await client.listTools()).tools.map((t) => t.name);
      expect(tools).toEqual(['files__read_file']);
      const ok = await tryCall(client, 'files__read_file', { path: `${data}/public/x.txt` });
      expect(ok.ok).toBe(true);
      const denied = await tryCall(client, 'files__read_file', { path: `${data}/private/x.txt` });
      expect(denied.ok).toBe(false);
      await client.close();
    }
    const audit = readAudit(join(dir, 'audit.jsonl'));
    expect(
      audit.filter((r) => r.event === 'tools/call' && r.identity === 'local' && r.transport === 'stdio')
    ).toHaveLength(4);
  });

  it('writes only protocol messages to stdout, answers malformed lines with errors, and keeps serving', async () => {
    const child = spawn(NODE, [CLI, 'stdio', '--config', configFile], { stdio: ['pipe', 'pipe', 'pipe'] });
    const lines: string[] = [];
    createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const send = (obj: unknown) =>
      child.stdin!.write(`${typeof obj === 'string' ? obj : JSON.stringify(obj)}\n`);
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } }
    });
    await waitFor(() => lines.length >= 1, 10_000, 'initialize response');
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send('{this is not json');
    send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    send({
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: 'files__read_file', arguments: { path: 7 } }
    });
    await waitFor(
      () => lines.some((l) => l.includes('"id":3')) && lines.some((l) => l.includes('"id":2')),
      10_000,
      'tools/list and tools/call responses'
    );
    child.stdin!.end();
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    const messages = lines.map(
      (l) => JSON.parse(l) as { id?: number | null; error?: { code: number }; result?: unknown }
    );
    expect(messages.every((m) => typeof m === 'object' && m !== null)).toBe(true);
    expect(messages.find((m) => m.id === 1)?.result).toBeTruthy();
    expect(messages.some((m) => m.error?.code === -32700)).toBe(true);
    expect(messages.find((m) => m.id === 2)?.result).toBeTruthy();
    expect(messages.find((m) => m.id === 3)?.error?.code).toBe(-32052);
    // Logs went to stderr, as JSON lines.
    expect(stderr).toContain('upstream connected');
  });

  it('refuses to start without a stdio identity, and says why', async () => {
    const bare = join(dir, 'no-identity.yaml');
    writeFileSync(bare, `servers:\n  files:\n    command: ${NODE}\n    args: ["${FILESYSTEM}", "${data}"]\n`);
    const child = spawn(NODE, [CLI, 'stdio', '--config', bare], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(stderr).toContain('auth.stdio');
  });
});

describe('HTTP downstream with legacy clients', () => {
  let gw: TestGateway;
  let data: string;

  beforeAll(async () => {
    data = dataDir();
    gw = await startGateway(
      `
servers:
  files:
    command: ${NODE}
    args: ["${FILESYSTEM}", "${data}"]
auth:${tokensYaml}
rules:
  - tool: read_file
    allowed_roles: [analyst]
    parameter_constraints:
      path: { pattern: "^${data}/public/" }
  - tool: list_allowed_directories
    allowed_roles: [analyst]
`.replace('auth:', 'auth:\n  lockout: { failures: 1000 }')
    );
  });
  afterAll(() => gw?.close());

  it('serves the 1.0.3 inspector CLI over Streamable HTTP', async () => {
    const auth = ['--transport', 'http', '--header', `Authorization: Bearer ${ANALYST_TOKEN}`];
    const list = await inspector([gw.mcp, ...auth, '--method', 'tools/list']);
    expect(list.code, list.stderr).toBe(0);
    const names = (JSON.parse(list.stdout) as { tools: Array<{ name: string }> }).tools.map((t) => t.name);
    expect(names.sort()).toEqual(['files__list_allowed_directories', 'files__read_file']);

    const read = await inspector([
      gw.mcp,
      ...auth,
      '--method',
      'tools/call',
      '--tool-name',
      'files__read_file',
      '--tool-arg',
      `path=${data}/public/x.txt`
    ]);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toContain('public contents');

    const denied = await inspector([
      gw.mcp,
      ...auth,
      '--method',
      'tools/call',
      '--tool-name',
      'files__read_file',
      '--tool-arg',
      `path=${data}/private/x.txt`
    ]);
    expect(denied.code).not.toBe(0);
    expect(denied.stdout + denied.stderr).toContain('-32052');
    expect(denied.stdout + denied.stderr).not.toContain('private contents');
  });

  it('serves the inspector CLI over legacy SSE', async () => {
    const r = await inspector([
      `${gw.url}/sse`,
      '--transport',
      'sse',
      '--header',
      `Authorization: Bearer ${ANALYST_TOKEN}`,
      '--method',
      'tools/list'
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('files__read_file');
  });

  it('serves an SDK SSE client, with policy', async () => {
    const client = await connectSse(gw.url, ANALYST_TOKEN);
    const ok = await tryCall(client, 'files__read_file', { path: `${data}/public/x.txt` });
    expect(ok.ok).toBe(true);
    const denied = await tryCall(client, 'files__read_file', { path: `${data}/public/../private/x.txt` });
    expect(denied.ok).toBe(false);
    await client.close();
    const sse = gw.audit().filter((r) => r.transport === 'sse' && r.event === 'tools/call');
    expect(sse.map((r) => r.outcome)).toEqual(['ok', 'denied']);
  });

  it('refuses requests without a valid token on every MCP endpoint', async () => {
    for (const [path, method] of [
      ['/mcp', 'POST'],
      ['/mcp', 'GET'],
      ['/sse', 'GET'],
      ['/messages?sessionId=x', 'POST']
    ] as const) {
      for (const auth of [undefined, 'Bearer wrong-token-0123456789', 'Basic dXNlcjpwYXNz']) {
        const res = await fetch(`${gw.url}${path}`, {
          method,
          headers: { 'Content-Type': 'application/json', ...(auth ? { Authorization: auth } : {}) },
          ...(method === 'POST' ? { body: '{}' } : {})
        });
        expect(res.status, `${method} ${path} ${auth}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
      }
    }
    const failures = gw.audit().filter((r) => r.event === 'auth/failure');
    expect(failures.length).toBeGreaterThanOrEqual(12);
    expect(JSON.stringify(failures)).not.toContain('wrong-token');
    const health = await fetch(`${gw.url}/healthz`);
    expect(health.status).toBe(200);
  });

  it('answers malformed HTTP input with errors, not crashes', async () => {
    const headers = {
      Authorization: `Bearer ${ANALYST_TOKEN}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream'
    };
    const garbage = await fetch(gw.mcp, {
      method: 'POST',
      headers,
      body: '{"jsonrpc": "2.0", "id": 1, "method":'
    });
    expect(garbage.status).toBe(400);
    expect(((await garbage.json()) as { error: { code: number } }).error.code).toBe(-32700);
    const notRpc = await fetch(gw.mcp, { method: 'POST', headers, body: '[1,2,3]' });
    expect(notRpc.status).toBeGreaterThanOrEqual(400);
    expect(notRpc.status).toBeLessThan(500);
    const huge = await fetch(gw.mcp, { method: 'POST', headers, body: 'x'.repeat(5 * 1024 * 1024) });
    expect(huge.status).toBe(413);
    const unknownSession = await fetch(gw.mcp, {
      method: 'POST',
      headers: { ...headers, 'Mcp-Session-Id': 'no-such-session' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' })
    });
    expect(unknownSession.status).toBe(404);
    // Still serving.
    const client = await connect(gw.mcp, ANALYST_TOKEN);
    expect((await client.listTools()).tools.length).toBe(2);
    await client.close();
  });

  it('binds a legacy session to the identity that opened it', async () => {
    const client = await connect(gw.mcp, ANALYST_TOKEN, 'legacy');
    const transport = (client as unknown as { transport: { sessionId?: string } }).transport;
    const sessionId = transport.sessionId;
    expect(sessionId).toBeTruthy();
    const res = await fetch(gw.mcp, {
      method: 'POST',
      headers: {
        Authorization: 'Bearer admin-token-0123456789abcdef',
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'Mcp-Session-Id': sessionId!,
        'Mcp-Protocol-Version': '2025-11-25'
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' })
    });
    expect(res.status).toBe(403);
    await client.close();
  });
});

describe('upstreams over stdio, Streamable HTTP and SSE (server-everything)', () => {
  const upstreams: ChildProcess[] = [];
  let gw: TestGateway;

  const startEverything = async (transport: 'streamableHttp' | 'sse'): Promise<number> => {
    const port = await freePort();
    const child = spawn(NODE, [EVERYTHING, transport], {
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'ignore', 'pipe']
    });
    upstreams.push(child);
    let text = '';
    child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
    await waitFor(() => /listening|running/i.test(text), 20_000, `server-everything ${transport}`);
    return port;
  };

  beforeAll(async () => {
    const [httpPort, ssePort] = await Promise.all([
      startEverything('streamableHttp'),
      startEverything('sse')
    ]);
    gw = await startGateway(`
servers:
  local:
    command: ${NODE}
    args: ["${EVERYTHING}", "stdio"]
  remote:
    url: http://127.0.0.1:${httpPort}/mcp
  old:
    url: http://127.0.0.1:${ssePort}/sse
    transport: sse
auth:${tokensYaml}
rules:
  - tool: echo
    allowed_roles: [analyst]
  - tool: get-sum
    allowed_roles: [analyst]
    parameter_constraints:
      a: { min: 0, max: 100 }
  - { prompt: "*", allowed_roles: [analyst] }
  - { resource: "**", allowed_roles: [analyst] }
`);
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
    for (const c of upstreams) c.kill();
  });

  it('aggregates and namespaces tools from all three, so none can shadow another', async () => {
    const client = await connect(gw.mcp, ANALYST_TOKEN);
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(names).toEqual([
      'local__echo',
      'local__get-sum',
      'old__echo',
      'old__get-sum',
      'remote__echo',
      'remote__get-sum'
    ]);
    for (const server of ['local', 'remote', 'old']) {
      const r = await tryCall(client, `${server}__echo`, { message: `hi ${server}` });
      expect(r.ok, server).toBe(true);
      if (r.ok) expect(r.result.content?.[0]?.text).toContain(`hi ${server}`);
    }
    await client.close();
  });

  it('applies numeric constraints and schema validation to every transport', async () => {
    const client = await connect(gw.mcp, ANALYST_TOKEN, 'legacy');
    for (const server of ['local', 'remote', 'old']) {
      const sum = await tryCall(client, `${server}__get-sum`, { a: 2, b: 3 });
      expect(sum.ok, server).toBe(true);
      const tooBig = await tryCall(client, `${server}__get-sum`, { a: 101, b: 3 });
      expect(tooBig.ok).toBe(false);
      if (!tooBig.ok) expect(tooBig.code).toBe(-32052);
      const wrongType = await tryCall(client, `${server}__echo`, { message: 5 });
      expect(wrongType.ok).toBe(false);
      if (!wrongType.ok) expect(wrongType.code).toBe(-32602);
    }
    await client.close();
  });

  it('forwards prompts and resources, namespaced', async () => {
    const client = await connect(gw.mcp, ANALYST_TOKEN);
    const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
    expect(prompts.some((p) => p.startsWith('local__'))).toBe(true);
    const resources = (await client.listResources()).resources;
    const first = resources.find((r) => r.uri.startsWith('portcullis://local/'));
    expect(first).toBeTruthy();
    const read = await client.readResource({ uri: first!.uri });
    expect(read.contents[0]?.uri).toBe(first!.uri);
    await client.close();
  });
});
