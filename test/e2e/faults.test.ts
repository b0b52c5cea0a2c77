/**
 * Upstream faults: a server that crashes mid-call, one that never starts, and the environment a
 * child is given. Each produces a clear error, and the gateway keeps serving everything else.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needTool } from '../support/tools.js';
import {
  ADMIN_TOKEN,
  FIXTURES,
  NODE,
  RECORDS,
  connect,
  startGateway,
  tokensYaml,
  tryCall,
  waitFor,
  type TestGateway
} from '../helpers.js';
import { startRedis } from '../support/redis.js';
import { GatewayError } from '../../src/errors.js';

const withRedis = needTool('redis-server').describe;

let gw: TestGateway;

beforeAll(async () => {
  process.env.PORTCULLIS_TEST_SECRET = 'gateway-only-secret';
  process.env.PORTCULLIS_TEST_SHARED = 'shared-on-purpose';
  gw = await startGateway(`
servers:
  faulty:
    command: ${NODE}
    args: ["${join(FIXTURES, 'faulty-server.mjs')}"]
    env: { GIVEN_BY_CONFIG: "yes" }
    env_passthrough: [PORTCULLIS_TEST_SHARED]
  broken:
    command: ${NODE}
    args: ["${join(FIXTURES, 'exits-at-once.mjs')}"]
  missing:
    command: /nonexistent/portcullis-test-binary
  records:
    command: ${NODE}
    args: ["${RECORDS}"]
auth:${tokensYaml}
rules:
  - tool: "*"
    allowed_roles: [admin]
`);
}, 60_000);

afterAll(async () => {
  await gw?.close();
  delete process.env.PORTCULLIS_TEST_SECRET;
  delete process.env.PORTCULLIS_TEST_SHARED;
});

describe('an upstream that crashes mid-call', () => {
  it('fails that call with a clear error, restarts the server, and leaves the others alone', async () => {
    const client = await connect(gw.mcp, ADMIN_TOKEN);
    const first = await tryCall(client, 'faulty__pid', {});
    expect(first.ok).toBe(true);
    const pidBefore = first.ok ? first.result.content?.[0]?.text : undefined;

    const crash = await tryCall(client, 'faulty__crash', {});
    expect(crash.ok).toBe(false);
    if (!crash.ok) {
      expect(crash.code).toBe(-32057);
      expect(crash.message).toBe('upstream server failed during the call');
    }
    // Another server is unaffected while the crashed one restarts.
    const other = await tryCall(client, 'records__list_records', {});
    expect(other.ok).toBe(true);

    // Restarted with backoff: a later call works, on a new process.
    let pidAfter: string | undefined;
    await waitFor(
      async () => {
        const r = await tryCall(client, 'faulty__pid', {});
        if (r.ok) pidAfter = r.result.content?.[0]?.text;
        return r.ok;
      },
      15_000,
      'faulty server restart'
    );
    expect(pidAfter).toBeTruthy();
    expect(pidAfter).not.toBe(pidBefore);
    expect(gw.gateway.upstreams.get('faulty')?.restarts).toBeGreaterThanOrEqual(1);

    const record = gw.audit().find((r) => r.tool === 'crash');
    expect(record).toMatchObject({ outcome: 'error', code: 'upstream_failed', decision: 'allow' });
    await client.close();
  });
});

describe('an upstream that never starts', () => {
  it('is reported with its exit status and stderr; listing and other servers still work', async () => {
    const client = await connect(gw.mcp, ADMIN_TOKEN);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('records__list_records');
    expect(names.some((n) => n.startsWith('broken__') || n.startsWith('missing__'))).toBe(false);

    for (const server of ['broken', 'missing']) {
      const r = await tryCall(client, `${server}__anything`, {});
      expect(r.ok, server).toBe(false);
      if (!r.ok) {
        expect(r.code).toBe(-32056);
        expect(r.message).toBe('upstream server unavailable');
      }
    }
    const health = gw.gateway.health().upstreams;
    expect(health.broken?.error).toMatch(/exited with code 7|cannot open database/);
    expect(health.missing?.error).toMatch(/ENOENT/);
    const audited = gw.audit().filter((r) => r.server === 'broken' && r.event === 'tools/call');
    expect(audited[0]).toMatchObject({ code: 'upstream_unavailable', outcome: 'error' });
    expect(audited[0]?.reason).toMatch(/cannot open database|exited with code 7/);

    const ok = await tryCall(client, 'records__get_record', { id: 'r-1001' });
    expect(ok.ok).toBe(true);
    await client.close();
  });
});

describe('the environment of a stdio upstream', () => {
  it('holds only PATH, what the config gives, and what it passes through by name', async () => {
    const client = await connect(gw.mcp, ADMIN_TOKEN);
    let r = await tryCall(client, 'faulty__env', {});
    // The crash test may have left the server in its restart backoff.
    await waitFor(
      async () => {
        r = await tryCall(client, 'faulty__env', {});
        return r.ok;
      },
      15_000,
      'faulty server'
    );
    const names = JSON.parse(r.ok ? (r.result.content?.[0]?.text ?? '[]') : '[]') as string[];
    expect(names).toContain('GIVEN_BY_CONFIG');
    expect(names).toContain('PORTCULLIS_TEST_SHARED');
    expect(names).toContain('PATH');
    expect(names).not.toContain('PORTCULLIS_TEST_SECRET');
    expect(names).not.toContain('HOME');
    await client.close();
  });
});

describe('stopping the gateway', () => {
  it('reaps every upstream child', async () => {
    const local = await startGateway(`
servers:
  a: { command: ${NODE}, args: ["${join(FIXTURES, 'faulty-server.mjs')}"] }
  b: { command: ${NODE}, args: ["${RECORDS}"] }
auth:${tokensYaml}
rules:
  - { tool: "*", allowed_roles: [admin] }
`);
    const client = await connect(local.mcp, ADMIN_TOKEN);
    await client.listTools();
    const pids = [...local.gateway.upstreams.values()].map((u) => u.pid()).filter((p): p is number => !!p);
    expect(pids).toHaveLength(2);
    await client.close();
    await local.close();
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await waitFor(() => pids.every((p) => !alive(p)), 10_000, 'children to exit');
  });
});

withRedis('a shared store that goes away', () => {
  it('is audited as a fault, not a denial: outcome error, no deny, and no denial counted', async () => {
    const redis = await startRedis();
    // A per-session cap makes every call read the session from the store.
    const shared = await startGateway(`
servers:
  records: { command: ${NODE}, args: ["${RECORDS}"] }
auth:${tokensYaml}
state: { store: redis, url: "${redis.url}", timeout_ms: 300 }
rules:
  - { tool: "*", allowed_roles: [admin], max_calls_per_session: 100 }
`);
    try {
      // Straight to the core: over HTTP, authentication already refuses while the store is away.
      const session = shared.gateway.openSession({ id: 'alice', roles: ['admin'], method: 'token' }, 'http');
      const call = () =>
        shared.gateway.callTool(session, 'records__list_records', {}).then(
          () => 'ok',
          (err: unknown) => (err instanceof GatewayError ? err.code : String(err))
        );
      expect(await call()).toBe('ok');
      await redis.stop();
      expect(await call()).toBe('state_unavailable');

      const record = shared
        .audit()
        .filter((r) => r.event === 'tools/call')
        .at(-1);
      expect(record).toMatchObject({
        name: 'records__list_records',
        outcome: 'error',
        code: 'state_unavailable'
      });
      expect(record?.decision).toBeUndefined();
      const metrics = (await shared.gateway.metrics.render()).body;
      expect(metrics).not.toMatch(/portcullis_denials_total\{[^}]*reason="state_unavailable"/);
      expect(metrics).toMatch(
        /portcullis_tool_calls_total\{server="records",tool="list_records",decision="none",outcome="error"\} 1/
      );
    } finally {
      await shared.close();
      await redis.stop();
    }
  }, 60_000);
});
