/**
 * The example server written with the hardening kit, behind a real gateway: strict arguments and
 * structured results reach the agent, and an argument full of shell syntax stays one argument.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, NODE, ROOT, connect, startGateway, tryCall, type TestGateway } from '../helpers.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway(`
servers:
  kit: { command: ${NODE}, args: ["${join(ROOT, 'examples/hardened-server/server.mjs')}"] }
auth:
  tokens: [{ id: a, roles: [admin], token: ${ADMIN_TOKEN} }]
rules:
  - { tool: "*", allowed_roles: [admin] }
`);
});
afterAll(() => gw?.close());

describe('a server built with the hardening kit', () => {
  it('answers with structured results and refuses unknown arguments', async () => {
    const client = await connect(gw.mcp, ADMIN_TOKEN);
    const r = await tryCall(client, 'kit__word_count', { text: 'one two three' });
    expect(r.ok).toBe(true);
    if (r.ok) expect((r.result as { structuredContent?: unknown }).structuredContent).toEqual({ words: 3 });
    // The schema is closed: the gateway refuses the extra property before the server sees it.
    const extra = await tryCall(client, 'kit__word_count', { text: 'x', shell: 'rm -rf /' });
    expect(extra.ok).toBe(false);
    await client.close();
  });

  it('runs a program with the path as one argument, shell syntax and all', async () => {
    const client = await connect(gw.mcp, ADMIN_TOKEN);
    const r = await tryCall(client, 'kit__list_directory', {
      path: '/nonexistent; touch /tmp/portcullis-pwned'
    });
    expect(r.ok).toBe(true);
    if (r.ok)
      expect((r.result as { structuredContent?: { code: number } }).structuredContent?.code).not.toBe(0);
    const { existsSync } = await import('node:fs');
    expect(existsSync('/tmp/portcullis-pwned')).toBe(false);
    await client.close();
  });
});
