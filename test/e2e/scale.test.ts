/**
 * Several gateway processes sharing one real redis-server: budgets hold across replicas under
 * concurrent load (exact counts), sessions move between replicas behind a round-robin balancer,
 * an approval given on one replica releases the call held on another, a revocation on one is
 * honoured by all, and an outage of Redis fails closed and heals by itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { needTool } from '../support/tools.js';
import {
  ADMIN_TOKEN,
  ANALYST_TOKEN,
  CLI,
  FIXTURES,
  NODE,
  RECORDS,
  freePort,
  run,
  tempDir,
  tryCall,
  waitFor
} from '../helpers.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { initializeStatus } from '../support/initialize.js';

const withRedis = needTool('redis-server').describe;

const CAROL = 'carol-admin-token-0123456789';
const ADMIN_API = 'the-admin-api-token-0123456789';
const STATE_UNAVAILABLE = -32068;

interface Replica {
  url: string;
  dir: string;
  config: string;
  child: ChildProcess;
  stderr(): string;
}

let redis: TestRedis;
const replicas: Replica[] = [];

const tokens = `tokens:
  - { id: alice, identity: alice, roles: [admin], token: ${ADMIN_TOKEN} }
  - { id: bob, identity: bob, roles: [analyst], token: ${ANALYST_TOKEN} }
  - { id: carol, identity: carol, roles: [admin], token: ${CAROL} }
`;

const config = (prefix: string, extra = '', servers = '', authExtra = '') => `
servers:
  records: { command: ${NODE}, args: ["${RECORDS}"] }
  m: { command: ${NODE}, args: ["${join(FIXTURES, 'malicious-server.mjs')}"] }
${servers}
scanning: { descriptions: { enabled: false } }
${extra}
auth:
  tokens: ./tokens.yaml
${authExtra}
state:
  store: redis
  url: ${redis.url}
  prefix: "${prefix}"
  timeout_ms: 2000
admin: { token: ${ADMIN_API} }
approvals: { timeout_s: 30, approver_roles: [admin], progress_interval_s: 1 }
audit: { path: ./audit.jsonl }
policy:
  risk: { budget: 50 }
rules:
  - { tool: "*", allowed_roles: [analyst, admin] }
  - { id: cap, tool: get_record, max_calls_per_session: 5 }
  - { id: per-minute, tool: list_records, rate_limit: 7/min }
  - { id: held, tool: delete_record, require_approval: true, risk: 20 }
`;

async function startReplica(prefix: string, extra = '', servers = '', authExtra = ''): Promise<Replica> {
  const dir = tempDir();
  const file = join(dir, 'portcullis.yaml');
  // Each replica has its own copy of the token file, as on separate hosts.
  writeFileSync(join(dir, 'tokens.yaml'), tokens, { mode: 0o600 });
  writeFileSync(file, config(prefix, extra, servers, authExtra), { mode: 0o600 });
  const port = await freePort();
  const child = spawn(NODE, [CLI, 'serve', '--config', file, '--port', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe']
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  // Starting takes seconds on a busy machine: replicas are whole processes with their upstreams.
  await waitFor(() => err.includes('"msg":"serving"'), 40_000, 'replica to serve');
  return { url: `http://127.0.0.1:${port}`, dir, config: file, child, stderr: () => err };
}

async function startReplicas(n: number, prefix: string): Promise<Replica[]> {
  const started = await Promise.all(Array.from({ length: n }, () => startReplica(prefix)));
  replicas.push(...started);
  return started;
}

/** A client behind a round-robin load balancer: each HTTP request goes to the next replica. */
async function balanced(rs: Replica[], token: string, mode: 'auto' | 'legacy' = 'legacy'): Promise<Client> {
  let next = 0;
  const rr: typeof fetch = (input, init) => {
    const target = new URL(input instanceof Request ? input.url : String(input));
    const base = new URL(rs[next++ % rs.length]!.url);
    target.host = base.host;
    return fetch(target, init);
  };
  const client = new Client({ name: 'balanced', version: '1.0.0' }, { versionNegotiation: { mode } });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${rs[0]!.url}/mcp`), {
      fetch: rr,
      requestInit: { headers: { Authorization: `Bearer ${token}` } }
    })
  );
  return client;
}

async function direct(r: Replica, token: string, mode: 'auto' | 'legacy' = 'legacy'): Promise<Client> {
  const client = new Client({ name: 'direct', version: '1.0.0' }, { versionNegotiation: { mode } });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${r.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } }
    })
  );
  return client;
}

/** Tally of outcomes; a refusal at the HTTP layer counts by the JSON-RPC code in its body. */
const codes = (results: Array<{ ok: boolean; code?: number | string; message?: string }>) =>
  results.reduce<Record<string, number>>((acc, r) => {
    const inBody = /"code":(-\d+)/.exec(r.message ?? '')?.[1];
    const key = r.ok
      ? 'ok'
      : typeof r.code === 'number'
        ? String(r.code)
        : (inBody ?? `${r.code}: ${r.message}`);
    acc[key] = (acc[key] ?? 0) + 1;
    return acc;
  }, {});

beforeAll(async () => {
  redis = await startRedis();
}, 30_000);

afterAll(async () => {
  await Promise.all(
    replicas.map(async (r) => {
      if (r.child.exitCode !== null) return;
      const exited = new Promise((done) => r.child.once('exit', done));
      r.child.kill('SIGTERM');
      await exited;
    })
  );
  await redis?.stop();
});

withRedis('three replicas, one Redis', () => {
  let rs: Replica[];
  beforeAll(async () => {
    rs = await startReplicas(3, 'limits:');
  }, 60_000);

  it('a session resumes on every replica, and its per-session cap holds exactly under concurrent calls', async () => {
    const client = await balanced(rs, ANALYST_TOKEN);
    // 20 calls at once, spread over three replicas: exactly the cap of 5 get through.
    const results = await Promise.all(
      Array.from({ length: 20 }, () => tryCall(client, 'records__get_record', { id: 'r-1001' }))
    );
    expect(codes(results)).toEqual({ ok: 5, '-32054': 15 });
    // Listing tools works from any replica in the same session.
    for (let i = 0; i < 3; i++) expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    await client.close();
    // A new session has its own cap.
    const fresh = await balanced(rs, ANALYST_TOKEN);
    expect((await tryCall(fresh, 'records__get_record', { id: 'r-1002' })).ok).toBe(true);
    await fresh.close();
  });

  it('a rate limit per identity holds exactly across replicas and sessions', async () => {
    // One session per replica, all the same identity, 30 calls at once.
    const clients = await Promise.all(rs.map((r) => direct(r, CAROL)));
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => tryCall(clients[i % clients.length]!, 'records__list_records', {}))
    );
    expect(codes(results)).toEqual({ ok: 7, '-32059': 23 });
    await Promise.all(clients.map((c) => c.close()));
  });

  it('a session moved to another replica is refused to another identity', async () => {
    const bob = await direct(rs[0]!, ANALYST_TOKEN);
    const sessionId = (bob as unknown as { transport: { sessionId?: string } }).transport.sessionId;
    expect(sessionId).toBeTruthy();
    const res = await fetch(`${rs[1]!.url}/mcp`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${CAROL}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'Mcp-Session-Id': sessionId!,
        'Mcp-Protocol-Version': '2025-11-25'
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} })
    });
    expect(res.status).toBe(403);
    const unknown = await fetch(`${rs[1]!.url}/mcp`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${ANALYST_TOKEN}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'Mcp-Session-Id': 'no-such-session',
        'Mcp-Protocol-Version': '2025-11-25'
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} })
    });
    expect(unknown.status).toBe(404);
    await bob.close();
  });

  it('an approval given on one replica releases the call held on another; the risk budget holds across them', async () => {
    const bob = await direct(rs[0]!, ANALYST_TOKEN, 'auto');
    const call = (id: string) =>
      bob
        .callTool({ name: 'records__delete_record', arguments: { id } }, { timeout: 20_000 })
        .then((r) => ({ ok: !(r as { isError?: boolean }).isError, code: undefined as number | undefined }))
        .catch((e: { code?: number }) => ({ ok: false, code: e.code }));
    const api = (r: Replica, path: string, body?: unknown) =>
      fetch(`${r.url}/admin/api${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { Authorization: `Bearer ${ADMIN_API}`, 'Content-Type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) })
      }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> }));
    const pendingOn = async (r: Replica) => {
      let found: Array<{ id: string; status: string; name: string }> = [];
      await waitFor(
        async () => {
          const list = (await api(r, '/approvals')).body.approvals as typeof found;
          found = list.filter((a) => a.status === 'pending');
          return found.length > 0;
        },
        10_000,
        'a pending approval on another replica'
      );
      return found;
    };
    for (const [n, id] of ['r-1005', 'r-1006', 'r-1007'].entries()) {
      const result = call(id);
      if (n < 2) {
        // Held on replica 0, seen and approved on replica 2 (by an admin token other than bob).
        const [held] = await pendingOn(rs[2]!);
        expect(held!.name).toBe('records__delete_record');
        const approved = await fetch(`${rs[2]!.url}/admin/api/approvals/${held!.id}/approve`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${CAROL}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ note: `ok ${n}` })
        });
        expect(approved.status).toBe(200);
        expect(await result).toEqual({ ok: true, code: undefined });
        // Deciding twice, from yet another replica, is refused by the store.
        const again = await fetch(`${rs[1]!.url}/admin/api/approvals/${held!.id}/approve`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
          body: '{}'
        });
        expect(again.status).toBe(409);
      } else {
        // 20 + 20 spent; a third would reach 60, over the budget of 50: refused, never held.
        expect(await result).toEqual({ ok: false, code: -32060 });
      }
    }
    await bob.close();
  });
});

withRedis('a session that fails over to another replica', () => {
  it(
    'keeps what the agent declared at initialize: a sampling request reaches it there',
    { timeout: 90_000 },
    async () => {
      const conf = `  conf: { command: ${NODE}, args: ["${join(FIXTURES, 'conformance-server.mjs')}", "--stdio"] }`;
      const [a, b] = await Promise.all([
        startReplica('failover:', '', conf),
        startReplica('failover:', '', conf)
      ]);
      replicas.push(a!, b!);
      // The handshake goes to the first replica; once it is done, the balancer sends everything to
      // the second (the first went away, or the balancer moved the session).
      let moved = false;
      const route: typeof fetch = (input, init) => {
        const target = new URL(input instanceof Request ? input.url : String(input));
        target.host = new URL((moved ? b : a)!.url).host;
        return fetch(target, init);
      };
      const client = new Client(
        { name: 'failover', version: '1.0.0' },
        { capabilities: { sampling: {} }, versionNegotiation: { mode: 'legacy' } }
      );
      const asked: string[] = [];
      client.setRequestHandler('sampling/createMessage', async (req) => {
        const first = req.params.messages[0]?.content;
        asked.push(first && 'text' in first ? String(first.text) : '');
        return { role: 'assistant', content: { type: 'text', text: 'sampled' }, model: 'test-model' };
      });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${a!.url}/mcp`), {
          fetch: route,
          requestInit: { headers: { Authorization: `Bearer ${ANALYST_TOKEN}` } }
        })
      );
      // The session's metadata is written once the handshake completes; wait until it is there.
      const sessionId = (client as unknown as { transport: { sessionId?: string } }).transport.sessionId!;
      const store = new Redis(redis.url);
      try {
        await waitFor(
          async () => ((await store.get(`failover:m:${sessionId}`)) ?? '').includes('"sampling"'),
          5_000,
          'the session with its capabilities in Redis'
        );
      } finally {
        store.disconnect();
      }
      moved = true;
      const result = await tryCall(client, 'conf__test_sampling', { prompt: 'after the move' });
      expect(result).toMatchObject({ ok: true, result: { content: [{ text: 'LLM response: sampled' }] } });
      expect(asked).toEqual(['after the move']);
      expect(b!.stderr()).not.toContain('does not support sampling');
      await client.close();
    }
  );
});

/** The HTTP status a replica answers a 2025-era initialize with, for this bearer token. */
const initialize = (r: Replica, token: string) => initializeStatus(`${r.url}/mcp`, token);

withRedis('authentication lockouts', () => {
  it(
    'failures spread over three replicas lock the source out of all of them',
    { timeout: 90_000 },
    async () => {
      const lockout = '  lockout: { failures: 4, window_s: 60, duration_s: 60 }';
      const rs = await Promise.all([0, 1, 2].map(() => startReplica('lockout:', '', '', lockout)));
      replicas.push(...rs);
      const wrong = 'not-a-token-0123456789abcdef';
      // Three wrong tokens, one per replica: no replica has seen enough on its own, nor all together.
      expect(await Promise.all(rs.map((r) => initialize(r, wrong)))).toEqual([401, 401, 401]);
      expect(await initialize(rs[1]!, ANALYST_TOKEN)).toBe(200);
      // The fourth, on the first replica again: now the source is locked out everywhere, even with
      // a valid token, on replicas that saw one failure each.
      expect(await initialize(rs[0]!, wrong)).toBe(401);
      await waitFor(
        async () => (await Promise.all(rs.map((r) => initialize(r, ANALYST_TOKEN)))).every((s) => s === 429),
        5_000,
        'every replica to lock the source out'
      );
    }
  );
});

withRedis('the request rate per identity', () => {
  it('holds exactly across replicas behind a round-robin balancer', { timeout: 90_000 }, async () => {
    const limit = '  rate_limit: 5/min';
    const rs = await Promise.all([0, 1, 2].map(() => startReplica('requests:', '', '', limit)));
    replicas.push(...rs);
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) statuses.push(await initialize(rs[i % 3]!, ANALYST_TOKEN));
    // Five in the minute, on whichever replicas they landed; one replica alone would have let all
    // three of its own through each time.
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429, 429]);
  });
});

withRedis('tool pins', () => {
  it('an approval of a changed tool set on one replica is the pin on every replica', async () => {
    const rs = await startReplicas(2, 'pins:');
    const [a, b] = await Promise.all(rs.map((r) => direct(r, ADMIN_TOKEN)));
    const listed = async (c: Client) => (await c.listTools()).tools.map((t) => t.name);
    // First use on both: one pin for the set, the same on both replicas.
    expect(await listed(a!)).toContain('m__daily_quote');
    expect(await listed(b!)).toContain('m__daily_quote');
    // Replica 0's upstream changes its tool: withheld there until approved.
    expect((await tryCall(a!, 'm__become_evil', {})).ok).toBe(true);
    await waitFor(
      async () => !(await listed(a!)).includes('m__daily_quote'),
      10_000,
      'the rug pull withheld'
    );
    const approve = await fetch(`${rs[0]!.url}/admin/api/tools/m/approve`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_API}`, 'Content-Type': 'application/json' },
      body: '{}'
    });
    expect(approve.status).toBe(200);
    expect(await listed(a!)).toContain('m__daily_quote');
    // Replica 1 adopts the approved pin: its own upstream, still the old tool, no longer matches it.
    await waitFor(
      async () => !(await listed(b!)).includes('m__daily_quote'),
      5_000,
      'replica 1 to adopt the pin'
    );
    expect((await tryCall(b!, 'm__daily_quote', {})).ok).toBe(false);
    // Once its upstream offers the approved set too, replica 1 serves it.
    expect((await tryCall(b!, 'm__become_evil', {})).ok).toBe(true);
    await waitFor(
      async () => (await listed(b!)).includes('m__daily_quote'),
      10_000,
      'the approved set on replica 1'
    );
    await Promise.all([a!.close(), b!.close()]);
  });
});

withRedis('revocation', () => {
  it('a token revoked through one replica is refused by every replica within a second', async () => {
    const rs = await startReplicas(2, 'revoke:');
    const before = await direct(rs[1]!, CAROL);
    expect((await tryCall(before, 'records__list_records', {})).ok).toBe(true);
    await before.close();
    // Revoked with replica 0's config: its own token file and the shared store, not replica 1's file.
    const r = await run(NODE, [CLI, 'token', 'revoke', 'carol', '--config', rs[0]!.config]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('shared state');
    await waitFor(
      async () =>
        (
          await fetch(`${rs[1]!.url}/mcp`, {
            method: 'POST',
            headers: {
              Authorization: `Bearer ${CAROL}`,
              'Content-Type': 'application/json',
              Accept: 'application/json, text/event-stream'
            },
            body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })
          })
        ).status === 401,
      1_000,
      'replica 1 to refuse the revoked token'
    );
    // Others are unaffected.
    const bob = await direct(rs[1]!, ANALYST_TOKEN);
    expect((await tryCall(bob, 'records__list_records', {})).ok).toBe(true);
    await bob.close();
  });
});

withRedis('Redis goes away', () => {
  it('calls fail closed with state_unavailable while it is down, nothing crashes, and service resumes when it returns', async () => {
    const rs = await startReplicas(2, 'outage:');
    const clients = await Promise.all(rs.map((r) => direct(r, ANALYST_TOKEN, 'auto')));
    const burst = () =>
      Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          tryCall(clients[i % 2]!, 'records__get_record', { id: 'r-1003' })
        )
      );
    expect(codes(await burst())).toEqual({ ok: 5, '-32054': 5 });

    // Stop Redis in the middle of a stream of calls.
    const during = Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        await new Promise((r) => setTimeout(r, i * 10));
        return tryCall(clients[i % 2]!, 'm__add', { a: 1, b: 2 });
      })
    );
    await new Promise((r) => setTimeout(r, 100));
    await redis.stop();
    const mixed = await during;
    // Every call got an answer; none after the stop was admitted without the store.
    const tally = codes(mixed);
    delete tally.ok;
    delete tally[String(STATE_UNAVAILABLE)];
    expect(tally).toEqual({});

    const down = await Promise.all(
      Array.from({ length: 6 }, (_, i) => tryCall(clients[i % 2]!, 'm__add', { a: 1, b: 2 }))
    );
    expect(codes(down)).toEqual({ [String(STATE_UNAVAILABLE)]: 6 });
    for (const r of rs) expect(r.child.exitCode).toBeNull();
    const health = async () => {
      const res = await fetch(`${rs[0]!.url}/healthz`);
      const body = (await res.json()) as { state: { store: string; ok: boolean } };
      return { status: res.status, state: body.state };
    };
    // Not ready while calls cannot be admitted: a balancer or an orchestrator can tell.
    expect(await health()).toEqual({ status: 503, state: { store: 'redis', ok: false } });

    await redis.start();
    // The gateway reconnects by itself; a fresh Redis has empty state, so budgets start again.
    await waitFor(
      async () => (await tryCall(clients[0]!, 'm__add', { a: 1, b: 2 })).ok,
      15_000,
      'replica 0 to recover'
    );
    await waitFor(
      async () => (await tryCall(clients[1]!, 'm__add', { a: 1, b: 2 })).ok,
      15_000,
      'replica 1 to recover'
    );
    expect(await health()).toEqual({ status: 200, state: { store: 'redis', ok: true } });
    await Promise.all(clients.map((c) => c.close()));

    // The refusals are in each replica's audit log, with the reason, as faults: an outage is an
    // error with no denial, whether the call or its authentication met it.
    const audit = readFileSync(join(rs[0]!.dir, 'audit.jsonl'), 'utf8');
    expect(audit).toContain('"code":"state_unavailable"');
    const outage = audit
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { event: string; code?: string; outcome?: string; decision?: string })
      .filter((r) => r.code === 'state_unavailable');
    expect(outage.length).toBeGreaterThan(0);
    for (const r of outage) {
      expect(r.outcome, JSON.stringify(r)).toBe('error');
      expect(r.decision, JSON.stringify(r)).not.toBe('deny');
    }
  }, 60_000);
});
