/**
 * The gateway under production conditions: an upstream that hangs (per-call timeout, cancellation
 * forwarded), SIGTERM with calls in flight (they finish, the audit is flushed), session floods
 * (bounded per identity), and the setup commands a new user runs first.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  CLI,
  FIXTURES,
  NODE,
  TEE,
  connect,
  freePort,
  readAudit,
  received,
  run,
  startGateway,
  tempDir,
  tryCall,
  waitFor
} from '../helpers.js';

const FAULTY = join(FIXTURES, 'faulty-server.mjs');
const tokens = `auth:\n  tokens: [{ id: a, identity: alice, roles: [admin], token: ${ADMIN_TOKEN} }]`;

describe('an upstream that hangs', () => {
  it('times the call out, tells the upstream to cancel it, and keeps serving', async () => {
    const log = join(tempDir(), 'faulty.jsonl');
    const gw = await startGateway(`
servers:
  f: { command: ${NODE}, args: ["${TEE}", "${log}", "${NODE}", "${FAULTY}"], timeout_ms: 800 }
${tokens}
rules:
  - { tool: "*", allowed_roles: [admin] }
`);
    try {
      const client = await connect(gw.mcp, ADMIN_TOKEN);
      const r = await tryCall(client, 'f__hang', {});
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.code).toBe(-32057);
      await waitFor(() => received(log, 'notifications/cancelled').length > 0, 5000, 'cancellation upstream');
      expect((await tryCall(client, 'f__echo', { text: 'still here' })).ok).toBe(true);
      await client.close();
    } finally {
      await gw.close();
    }
  });
});

describe('SIGTERM', () => {
  it('lets calls in flight finish, then exits and leaves them in the audit log', async () => {
    const dir = tempDir();
    const file = join(dir, 'portcullis.yaml');
    writeFileSync(
      file,
      `servers:\n  f: { command: ${NODE}, args: ["${FAULTY}"] }\n${tokens}\naudit: { path: ./audit.jsonl }\nrules:\n  - { tool: "*", allowed_roles: [admin] }\n`,
      { mode: 0o600 }
    );
    const port = await freePort();
    const child = spawn(NODE, [CLI, 'serve', '--config', file, '--port', String(port)], {
      stdio: ['ignore', 'ignore', 'pipe']
    });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await waitFor(() => err.includes('"msg":"serving"'), 15_000, 'serving');
    const client = await connect(`http://127.0.0.1:${port}/mcp`, ADMIN_TOKEN);
    await tryCall(client, 'f__echo', { text: 'warm up' });
    const slow = tryCall(client, 'f__slow', { ms: 1500 });
    await new Promise((r) => setTimeout(r, 300));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    const result = await slow;
    expect(result.ok, JSON.stringify(result)).toBe(true);
    expect(await exited).toBe(0);
    const audit = readAudit(join(dir, 'audit.jsonl'));
    expect(audit.some((x) => x.tool === 'slow' && x.outcome === 'ok')).toBe(true);
    await client.close().catch(() => undefined);
  });
});

describe('session floods', () => {
  it('caps sessions per identity and refuses the next with 429', async () => {
    const gw = await startGateway(`
servers:
  f: { command: ${NODE}, args: ["${FAULTY}"] }
${tokens}
limits: { max_sessions_per_identity: 2 }
rules:
  - { tool: "*", allowed_roles: [admin] }
`);
    try {
      const a = await connect(gw.mcp, ADMIN_TOKEN, 'legacy');
      const b = await connect(gw.mcp, ADMIN_TOKEN, 'legacy');
      await expect(connect(gw.mcp, ADMIN_TOKEN, 'legacy')).rejects.toThrow(/429|too many sessions/);
      // Ending a session (DELETE) frees its slot.
      await (
        a as unknown as { transport: { terminateSession(): Promise<void> } }
      ).transport.terminateSession();
      await a.close();
      await waitFor(
        async () => {
          try {
            const c = await connect(gw.mcp, ADMIN_TOKEN, 'legacy');
            await c.close();
            return true;
          } catch {
            return false;
          }
        },
        5000,
        'a freed session slot'
      );
      await b.close();
    } finally {
      await gw.close();
    }
  });
});

describe('portcullis init', () => {
  it('writes a starter config that passes policy check, and will not overwrite it', async () => {
    const dir = tempDir();
    const file = join(dir, 'portcullis.yaml');
    expect((await run(NODE, [CLI, 'init', '--config', file])).code).toBe(0);
    expect(existsSync(file)).toBe(true);
    const check = await run(NODE, [CLI, 'policy', 'check', file]);
    expect(check.code, check.stderr).toBe(0);
    expect((await run(NODE, [CLI, 'init', '--config', file])).code).toBe(1);
  });
});
