/**
 * The audit log in PostgreSQL as replicas write it: two real gateway processes (`portcullis serve`,
 * each with the records demo server) under load on one database keep one unbroken chain with
 * exactly one record per call, interleaved; `audit verify`, `query` and `tail` read it; and a
 * database that goes away makes the gateway refuse calls (audit_unavailable) until it is back, with
 * nothing lost and no restart needed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { needTool } from '../support/tools.js';
import {
  ADMIN_TOKEN,
  ANALYST_TOKEN,
  CLI,
  NODE,
  RECORDS,
  connect,
  freePort,
  run,
  tempDir,
  tryCall,
  waitFor
} from '../helpers.js';
import { generateAuditKeyPair } from '../../src/audit/index.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';

const withPostgres = needTool('postgres').describe;

let pg: TestPostgres;

beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.close();
});

function config(dir: string, table: string, extra = '') {
  const file = join(dir, 'portcullis.yaml');
  writeFileSync(
    file,
    `
servers:
  records: { command: ${NODE}, args: ["${RECORDS}"] }
auth:
  tokens:
    - { id: a, identity: alice, roles: [admin], token: ${ADMIN_TOKEN} }
    - { id: b, identity: bob, roles: [admin], token: ${ANALYST_TOKEN} }
audit:
  postgres: { url: "\${PG_URL}", table: ${table}, connect_timeout_s: 2 }
  checkpoint_every: 50
${extra}
rules:
  - { tool: "list_records", allowed_roles: [admin] }
`,
    { mode: 0o600 }
  );
  return file;
}

interface Served {
  child: ChildProcess;
  port: number;
  stderr(): string;
}

async function serve(file: string, url: string): Promise<Served> {
  const port = await freePort();
  const child = spawn(NODE, [CLI, 'serve', '--config', file, '--port', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PG_URL: url }
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await waitFor(() => err.includes('"msg":"serving"'), 20_000, 'gateway to serve');
  return { child, port, stderr: () => err };
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  return exited;
}

const cli = (args: string[], url?: string) =>
  run(NODE, [CLI, 'audit', ...args], {
    timeout: 20_000,
    env: { ...process.env, ...(url ? { PG_URL: url } : {}) }
  });

withPostgres('audit to PostgreSQL', () => {
  it(
    'two gateway processes under load keep one chain, one record per call, interleaved',
    { timeout: 60_000 },
    async () => {
      const dir = tempDir();
      const url = await pg.createDatabase('replicas');
      const keys = generateAuditKeyPair();
      writeFileSync(join(dir, 'signing.pem'), keys.privateKey, { mode: 0o600 });
      writeFileSync(join(dir, 'signing.pub.pem'), keys.publicKey);
      const file = config(dir, 'gw_audit', '  signing_key: ./signing.pem');
      const gateways = await Promise.all([serve(file, url), serve(file, url)]);

      // Four agents on each gateway, alice on the first and bob on the second, calling as fast as
      // they can; every fifth call is denied by policy (and audited all the same).
      const callsPerAgent = 30;
      const made = { alice: 0, bob: 0, denied: 0 };
      await Promise.all(
        gateways.flatMap((gw, g) =>
          Array.from({ length: 4 }, async () => {
            const client = await connect(
              `http://127.0.0.1:${gw.port}/mcp`,
              g === 0 ? ADMIN_TOKEN : ANALYST_TOKEN
            );
            for (let i = 0; i < callsPerAgent; i++) {
              const denied = i % 5 === 4;
              const r = denied
                ? await tryCall(client, 'records__get_record', { id: 'r-1001' })
                : await tryCall(client, 'records__list_records', {});
              expect(r.ok, JSON.stringify(r) + gw.stderr().slice(-2000)).toBe(!denied);
              if (!r.ok) expect(r.code).toBe(-32051);
              made[g === 0 ? 'alice' : 'bob']++;
              if (denied) made.denied++;
            }
            await client.close();
          })
        )
      );
      expect(made.alice + made.bob).toBe(240);
      for (const gw of gateways) expect(await stop(gw.child), gw.stderr()).toBe(0);

      // Exactly one record per call: none lost, none twice.
      const calls = await pg.query<{ identity: string; seq: string; decision: string }>(
        `SELECT identity, seq, decision FROM gw_audit WHERE event = 'tools/call' ORDER BY seq`,
        [],
        'replicas'
      );
      expect(calls.length).toBe(240);
      expect(calls.filter((r) => r.identity === 'alice').length).toBe(made.alice);
      expect(calls.filter((r) => r.identity === 'bob').length).toBe(made.bob);
      expect(calls.filter((r) => r.decision === 'deny').length).toBe(made.denied);
      // Both processes wrote while the other did: their records alternate many times along the chain.
      let runs = 1;
      for (let i = 1; i < calls.length; i++) if (calls[i]!.identity !== calls[i - 1]!.identity) runs++;
      expect(runs).toBeGreaterThan(10);
      const checkpoints = await pg.query<{ kid: string }>(
        'SELECT kid FROM gw_audit_checkpoints',
        [],
        'replicas'
      );
      // Every 50th record, and the chain's end when the first gateway closed.
      expect(checkpoints.length).toBeGreaterThanOrEqual(5);

      // Verify, query (the same filters a file log answers) and tail the table, side by side.
      const [verify, query, since, tail] = await Promise.all([
        cli([
          'verify',
          '--postgres',
          url,
          '--table',
          'gw_audit',
          '--public-key',
          join(dir, 'signing.pub.pem')
        ]),
        cli([
          'query',
          '--postgres',
          url,
          '--table',
          'gw_audit',
          '--identity',
          'bob',
          '--tool',
          'records__get_record',
          '--json'
        ]),
        cli(
          [
            'query',
            '--config',
            file,
            '--decision',
            'allow',
            '--since',
            new Date(Date.now() + 60_000).toISOString()
          ],
          url
        ),
        cli(['tail', '--postgres', url, '--table', 'gw_audit', '-n', '3', '--json'])
      ]);
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
      expect(verify.stdout).toMatch(/^ok: \d+ records in PostgreSQL table gw_audit, head seq \d+/);

      expect(query.code, query.stderr).toBe(0);
      const found = query.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { identity: string; tool: string; decision: string });
      expect(found.length).toBe(24);
      expect(
        found.every((r) => r.identity === 'bob' && r.tool === 'get_record' && r.decision === 'deny')
      ).toBe(true);
      expect(since.code, since.stderr).toBe(0);
      expect(since.stderr).toContain('0 record(s)');
      expect(tail.code, tail.stderr).toBe(0);
      const last = Number(
        (await pg.query<{ seq: string }>('SELECT max(seq) AS seq FROM gw_audit', [], 'replicas'))[0]!.seq
      );
      expect(
        tail.stdout
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { seq: number }).seq)
      ).toEqual([last - 2, last - 1, last]);

      // A record changed in the table is named by its seq.
      const target = calls[100]!.seq;
      await pg.query(
        `UPDATE gw_audit SET record = replace(record, '"identity":"', '"identity":"x') WHERE seq = $1`,
        [target],
        'replicas'
      );
      const tampered = await cli(['verify', '--postgres', url, '--table', 'gw_audit']);
      expect(tampered.code).toBe(1);
      expect(tampered.stdout).toContain(`FAILED: gw_audit:${target} seq ${target}: modified`);
    }
  );

  it(
    'refuses calls while the database is down, under load, and recovers by itself when it is back',
    { timeout: 60_000 },
    async () => {
      const dir = tempDir();
      const url = await pg.createDatabase('outage');
      const file = config(dir, 'portcullis_audit', '  # replies wait at most 2 s for their commit\n');
      writeFileSync(
        file,
        readFileSync(file, 'utf8').replace(
          'connect_timeout_s: 2',
          'connect_timeout_s: 2, commit_timeout_s: 2'
        )
      );
      const gw = await serve(file, url);
      const health = async () => {
        const res = await fetch(`http://127.0.0.1:${gw.port}/healthz`);
        return {
          status: res.status,
          body: (await res.json()) as { ok: boolean; audit: { ok: boolean; error?: string } }
        };
      };
      const metric = async (name: string) => {
        const res = await fetch(`http://127.0.0.1:${gw.port}/metrics`, {
          headers: { Authorization: `Bearer ${ADMIN_TOKEN}` }
        });
        const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name} `));
        return line === undefined ? undefined : Number(line.slice(name.length + 1));
      };
      const clients = await Promise.all(
        Array.from({ length: 3 }, () => connect(`http://127.0.0.1:${gw.port}/mcp`, ADMIN_TOKEN))
      );
      // Three agents call without pause through the whole outage; every call ends answered or
      // refused with audit_unavailable, nothing else.
      const tally = { calls: 0, ok: 0, refused: 0, other: [] as string[] };
      let running = true;
      const load = clients.map(async (client) => {
        while (running) {
          tally.calls++;
          const r = await tryCall(client, 'records__list_records', {});
          if (r.ok) tally.ok++;
          else if (r.code === -32066 && /audit log unavailable/.test(r.message)) {
            tally.refused++;
            await new Promise((resolve) => setTimeout(resolve, 20));
          } else tally.other.push(`${r.code} ${r.message}`);
        }
      });
      try {
        await waitFor(() => tally.ok >= 30, 20_000, 'calls before the outage');
        expect((await health()).status).toBe(200);

        await pg.stop();
        try {
          await waitFor(async () => (await health()).status === 503, 10_000, 'healthz to report the outage');
          expect((await health()).body.audit.error).toMatch(/unreachable/);
          const before = tally.refused;
          await waitFor(() => tally.refused >= before + 10, 10_000, 'calls to be refused');
          expect(gw.child.exitCode).toBeNull();
          expect(await metric('portcullis_audit_available')).toBe(0);
          expect(await metric('portcullis_audit_pending_records')).toBeGreaterThanOrEqual(10);
        } finally {
          await pg.start();
        }

        await waitFor(async () => (await health()).status === 200, 15_000, 'the gateway to reconnect');
        const after = tally.ok;
        await waitFor(() => tally.ok >= after + 30, 15_000, 'calls after the outage');
        expect(await metric('portcullis_audit_available')).toBe(1);
      } finally {
        running = false;
        await Promise.all(load);
        await Promise.all(clients.map((c) => c.close()));
        expect(await stop(gw.child)).toBe(0);
      }
      expect(tally.other).toEqual([]);
      expect(gw.stderr()).toContain('audit database unreachable; refusing calls');
      expect(gw.stderr()).toContain('audit database reachable again');

      const verify = await cli(['verify', '--config', file], url);
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
      // Every call is on record, the refused ones too (committed once the database was back).
      const rows = await pg.query<{ code: string | null; outcome: string }>(
        `SELECT code, outcome FROM portcullis_audit WHERE event = 'tools/call'`,
        [],
        'outage'
      );
      expect(rows.length).toBe(tally.calls);
      // Refused up front: recorded as refused. A call already running when the database went away
      // ran upstream; its reply gave up waiting for the commit (audit_unavailable), and its record,
      // committed later, says what the upstream did.
      const refusedUpFront = rows.filter((r) => r.code === 'audit_unavailable').length;
      const gaveUpWaiting = tally.refused - refusedUpFront;
      expect(gaveUpWaiting).toBeGreaterThanOrEqual(0);
      expect(gaveUpWaiting).toBeLessThanOrEqual(clients.length);
      expect(rows.filter((r) => r.outcome === 'ok').length).toBe(tally.ok + gaveUpWaiting);
      // An outage is a fault, not a denial: the calls it refused are errors, and none is a deny.
      expect(refusedUpFront).toBeGreaterThan(0);
      expect(rows.filter((r) => r.code === 'audit_unavailable').map((r) => r.outcome)).toEqual(
        Array.from({ length: refusedUpFront }, () => 'error')
      );
      const denied = await cli(['query', '--config', file, '--decision', 'deny', '--json'], url);
      expect(denied.stdout.trim()).toBe('');
    }
  );
});
