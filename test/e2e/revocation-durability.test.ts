/**
 * Revocations outlive the shared store's data. Real gateway processes on one real redis-server
 * (started without persistence): a token revoked through one replica stays refused by every replica
 * after Redis is flushed and restarted empty, because replicas merge what they know back into it;
 * and when every replica and Redis's data are gone, the token file the CLI wrote carries the
 * revocation (a gateway token's, and an OAuth `jti`'s) back for replicas whose own files lack it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANALYST_TOKEN, CLI, NODE, RECORDS, freePort, run, tempDir, waitFor } from '../helpers.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { initializeStatus } from '../support/initialize.js';

const CAROL = 'carol-admin-token-0123456789';
const PREFIX = 'durable:';

let redis: TestRedis;
const running: ChildProcess[] = [];

const tokens = `tokens:
  - { id: bob, identity: bob, roles: [analyst], token: ${ANALYST_TOKEN} }
  - { id: carol, identity: carol, roles: [admin], token: ${CAROL} }
`;

interface Replica {
  url: string;
  dir: string;
  config: string;
  child: ChildProcess;
}

/** A directory with a config and its own copy of the token file, as on a host of its own. */
function host(): { dir: string; config: string } {
  const dir = tempDir();
  writeFileSync(join(dir, 'tokens.yaml'), tokens, { mode: 0o600 });
  const config = join(dir, 'portcullis.yaml');
  writeFileSync(
    config,
    `
servers:
  records: { command: ${NODE}, args: ["${RECORDS}"] }
auth:
  tokens: ./tokens.yaml
state:
  store: redis
  url: ${redis.url}
  prefix: "${PREFIX}"
  timeout_ms: 2000
audit: { path: ./audit.jsonl }
rules:
  - { tool: "*", allowed_roles: [analyst, admin] }
`,
    { mode: 0o600 }
  );
  return { dir, config };
}

async function serve(where: { dir: string; config: string }): Promise<Replica> {
  const port = await freePort();
  const child = spawn(NODE, [CLI, 'serve', '--config', where.config, '--port', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe']
  });
  running.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await waitFor(() => err.includes('"msg":"serving"'), 40_000, 'replica to serve');
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/healthz`)).status === 200, 15_000, 'replica to be ready');
  return { url, child, ...where };
}

async function stop(r: Replica): Promise<void> {
  if (r.child.exitCode !== null) return;
  const exited = new Promise((done) => r.child.once('exit', done));
  r.child.kill('SIGTERM');
  await exited;
}

/** The HTTP status of an initialize with this token: 200 accepted, 401 refused. */
const status = (r: Replica, token: string): Promise<number> => initializeStatus(`${r.url}/mcp`, token);

/** Redis loses everything: flushed, then restarted (it keeps nothing on disk). */
async function wipeRedis(): Promise<void> {
  const admin = new Redis(redis.url);
  await admin.flushall();
  admin.disconnect();
  await redis.stop();
  await redis.start();
}

async function revokedInRedis(): Promise<Record<string, string>> {
  const store = new Redis(redis.url);
  try {
    return await store.hgetall(`${PREFIX}revoked`);
  } finally {
    store.disconnect();
  }
}

beforeAll(async () => {
  redis = await startRedis();
}, 30_000);

afterAll(async () => {
  await Promise.all(
    running.map(async (child) => {
      if (child.exitCode !== null) return;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    })
  );
  await redis?.stop();
});

describe('revocations and a Redis that loses its data', () => {
  it(
    'a token revoked through one replica stays refused by both after FLUSHALL and a restart, and the token file brings it back when every replica is gone too',
    { timeout: 180_000 },
    async () => {
      const hostA = host();
      const hostB = host();
      const [a, b] = await Promise.all([serve(hostA), serve(hostB)]);
      expect(await status(b, CAROL)).toBe(200);

      // Through replica A's config: A's token file and the shared store, not B's file.
      const r = await run(NODE, [CLI, 'token', 'revoke', 'carol', '--config', a.config]);
      expect(r.code, r.stderr).toBe(0);
      const jti = await run(NODE, [CLI, 'token', 'revoke', '--jti', 'oauth-jti-1', '--config', a.config]);
      expect(jti.code, jti.stderr).toBe(0);
      expect(jti.stdout).toContain('token file and shared state');
      expect(readFileSync(join(hostB.dir, 'tokens.yaml'), 'utf8')).not.toContain('revoked');
      await waitFor(async () => (await status(b, CAROL)) === 401, 5_000, 'replica B to refuse carol');

      await wipeRedis();
      for (const replica of [a, b]) {
        await waitFor(
          async () => (await fetch(`${replica.url}/healthz`)).status === 200,
          15_000,
          'replica to reconnect'
        );
      }
      // Refused by both, B with nothing in its own file; others unaffected.
      expect(await status(a, CAROL)).toBe(401);
      expect(await status(b, CAROL)).toBe(401);
      expect(await status(a, ANALYST_TOKEN)).toBe(200);
      expect(await status(b, ANALYST_TOKEN)).toBe(200);
      // The replicas wrote back what the empty Redis lacked.
      await waitFor(
        async () => {
          const held = await revokedInRedis();
          return 'carol' in held && 'oauth-jti-1' in held;
        },
        10_000,
        'the revocations to be written back'
      );

      // Every replica gone and Redis empty: only A's token file remembers.
      await Promise.all([stop(a), stop(b)]);
      await wipeRedis();
      expect(await revokedInRedis()).toEqual({});
      const again = await serve(hostA);
      const fresh = await serve(host());
      const held = await revokedInRedis();
      expect(Object.keys(held).sort()).toEqual(['carol', 'oauth-jti-1']);
      expect(await status(fresh, CAROL)).toBe(401);
      expect(await status(again, CAROL)).toBe(401);
      expect(await status(fresh, ANALYST_TOKEN)).toBe(200);
    }
  );
});
