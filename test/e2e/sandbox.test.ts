/**
 * Least-privilege upstreams: a server started with sandbox options cannot reach the network (a
 * fresh network namespace), runs as another user, and has the resource limits it was given; its
 * neighbour without them can. Each part runs where the machine allows it and is skipped, with the
 * reason, where it does not.
 */
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, FIXTURES, NODE, connect, startGateway, tryCall, type TestGateway } from '../helpers.js';

const canUnshare = (() => {
  try {
    execFileSync('unshare', ['--net', '--map-root-user', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    try {
      execFileSync('unshare', ['--net', 'true'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }
})();
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const PROBE = join(FIXTURES, 'probe-server.mjs');

let listener: Server;
let port: number;
let gw: TestGateway;

beforeAll(async () => {
  listener = createServer((s) => s.end());
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', () => r()));
  port = (listener.address() as { port: number }).port;
  gw = await startGateway(`
servers:
  open: { command: ${NODE}, args: ["${PROBE}"] }
  sealed:
    command: ${NODE}
    args: ["${PROBE}"]
    sandbox:
      ${canUnshare ? 'network: false' : ''}
      memory_mb: 4096
      open_files: 256
      cpu_seconds: 600
      ${isRoot ? 'user: nobody' : ''}
auth:
  tokens: [{ id: a, roles: [admin], token: ${ADMIN_TOKEN} }]
rules:
  - { tool: "*", allowed_roles: [admin] }
`);
});

afterAll(async () => {
  await gw?.close();
  listener?.close();
});

const textOf = (r: Awaited<ReturnType<typeof tryCall>>) =>
  r.ok ? (r.result.content?.[0]?.text ?? '') : `refused ${r.message}`;

describe('sandboxed upstreams', () => {
  it.skipIf(!canUnshare)(
    'cannot open a network connection when network: false, while its neighbour can',
    async () => {
      const client = await connect(gw.mcp, ADMIN_TOKEN);
      expect(textOf(await tryCall(client, 'open__connect', { port }))).toBe('connected');
      const sealed = textOf(await tryCall(client, 'sealed__connect', { port }));
      expect(sealed).toMatch(/^error: /);
      await client.close();
    }
  );

  it.skipIf(!isRoot)('runs as the configured user', async () => {
    const client = await connect(gw.mcp, ADMIN_TOKEN);
    const nobody = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
    expect(JSON.parse(textOf(await tryCall(client, 'sealed__whoami', {}))).uid).toBe(nobody);
    expect(JSON.parse(textOf(await tryCall(client, 'open__whoami', {}))).uid).toBe(process.getuid!());
    await client.close();
  });

  it('has the resource limits it was given', async () => {
    const client = await connect(gw.mcp, ADMIN_TOKEN);
    const limits = textOf(await tryCall(client, 'sealed__limits', {}));
    expect(limits).toMatch(/Max open files\s+256\s+256/);
    expect(limits).toMatch(/Max address space\s+4294967296\s+4294967296/);
    expect(limits).toMatch(/Max cpu time\s+600\s+600/);
    const open = textOf(await tryCall(client, 'open__limits', {}));
    expect(open).not.toMatch(/Max open files\s+256\s/);
    await client.close();
  });

  it('refuses a sandbox option the config cannot honour, with a clear error', async () => {
    const bad = await startGateway(`
servers:
  ghost: { command: ${NODE}, args: ["${PROBE}"], sandbox: { user: no-such-user-here } }
auth:
  tokens: [{ id: a, roles: [admin], token: ${ADMIN_TOKEN} }]
rules:
  - { tool: "*", allowed_roles: [admin] }
`);
    try {
      const client = await connect(bad.mcp, ADMIN_TOKEN);
      const r = await tryCall(client, 'ghost__whoami', {});
      expect(r.ok).toBe(false);
      expect(bad.gateway.health().upstreams.ghost?.error).toMatch(
        /no such user "no-such-user-here"|need the gateway to run as root/
      );
      await client.close();
    } finally {
      await bad.close();
    }
  });
});
