/**
 * The audit log in PostgreSQL as replicas write it: two real gateway processes (`portcullis serve`,
 * each with the records demo server) under load on one database keep one unbroken chain with
 * exactly one record per call, interleaved; `audit verify`, `query` and `tail` read it; and a
 * database that goes away makes the gateway refuse calls (audit_unavailable) until it is back, with
 * nothing lost and no restart needed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { startPostgres, type TestPostgres } from '../support/postgres.js';

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

describe('audit to PostgreSQL', () => {
  it(
    'two gateway processes under load keep one chain, one record per call, interleaved',
    { timeout: 60_000 },
    async () => {
      const dir = tempDir();
      const url = await pg.createDatabase('replicas');
      const keygen = await cli(['keygen', '--out', join(dir, 'signing')]);
      expect(keygen.code, keygen.stderr).toBe(0);
      const file = config(dir, 'gw_audit', '  signing_key: ./signing.pem');
      const gateways = await Promise.all([serve(file, url), serve(file, url)]);

      // Four agents on each gateway, alice on the first and bob on the second, calling as fast as
      // they can; every fifth call is denied by policy (and audited all the same).
      const callsPerAgent = 40;
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
      expect(made.alice + made.bob).toBe(320);
      for (const gw of gateways) expect(await stop(gw.child), gw.stderr()).toBe(0);

      const verify = await cli([
        'verify',
        '--postgres',
        url,
        '--table',
        'gw_audit',
        '--public-key',
        join(dir, 'signing.pub.pem')
      ]);
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
      expect(verify.stdout).toMatch(/^ok: \d+ records in PostgreSQL table gw_audit, head seq \d+/);

      // Exactly one record per call: none lost, none twice.
      const calls = await pg.query<{ identity: string; seq: string; decision: string }>(
        `SELECT identity, seq, decision FROM gw_audit WHERE event = 'tools/call' ORDER BY seq`,
        [],
        'replicas'
      );
      expect(calls.length).toBe(320);
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
      expect(checkpoints.length).toBeGreaterThanOrEqual(6);

      // The same query a file log answers, from the table.
      const query = await cli([
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
      ]);
      expect(query.code, query.stderr).toBe(0);
      const found = query.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { identity: string; tool: string; decision: string });
      expect(found.length).toBe(32);
      expect(
        found.every((r) => r.identity === 'bob' && r.tool === 'get_record' && r.decision === 'deny')
      ).toBe(true);
      const since = await cli(
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
      );
      expect(since.code, since.stderr).toBe(0);
      expect(since.stderr).toContain('0 record(s)');
      const tail = await cli(['tail', '--postgres', url, '--table', 'gw_audit', '-n', '3', '--json']);
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
    'refuses calls while the database is down, and recovers by itself when it is back',
    { timeout: 60_000 },
    async () => {
      const dir = tempDir();
      const url = await pg.createDatabase('outage');
      const file = config(dir, 'portcullis_audit');
      const gw = await serve(file, url);
      const health = async () => {
        const res = await fetch(`http://127.0.0.1:${gw.port}/healthz`);
        return {
          status: res.status,
          body: (await res.json()) as { ok: boolean; audit: { ok: boolean; error?: string } }
        };
      };
      const client = await connect(`http://127.0.0.1:${gw.port}/mcp`, ADMIN_TOKEN);
      let calls = 0;
      const call = async () => {
        calls++;
        return tryCall(client, 'records__list_records', {});
      };
      try {
        expect((await call()).ok).toBe(true);
        expect((await health()).status).toBe(200);

        await pg.stop();
        try {
          await waitFor(async () => (await health()).status === 503, 10_000, 'healthz to report the outage');
          expect((await health()).body.audit.error).toMatch(/unreachable/);
          for (let i = 0; i < 3; i++) {
            const refused = await call();
            expect(refused.ok).toBe(false);
            if (!refused.ok) {
              expect(refused.code).toBe(-32066);
              expect(refused.message).toMatch(/audit log unavailable/);
            }
          }
          expect(gw.child.exitCode).toBeNull();
        } finally {
          await pg.start();
        }

        await waitFor(async () => (await health()).status === 200, 15_000, 'the gateway to reconnect');
        for (let i = 0; i < 3; i++) expect((await call()).ok).toBe(true);
      } finally {
        await client.close();
        expect(await stop(gw.child)).toBe(0);
      }
      expect(gw.stderr()).toContain('audit database unreachable; refusing calls');
      expect(gw.stderr()).toContain('audit database reachable again');

      const verify = await cli(['verify', '--config', file], url);
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
      // Every call is on record, the refused ones too (committed once the database was back).
      const rows = await pg.query<{ code: string | null; outcome: string }>(
        `SELECT code, outcome FROM portcullis_audit WHERE event = 'tools/call' ORDER BY seq`,
        [],
        'outage'
      );
      expect(rows.length).toBe(calls);
      expect(rows.filter((r) => r.code === 'audit_unavailable').length).toBe(3);
      const refused = await cli(['query', '--config', file, '--decision', 'deny', '--json'], url);
      expect(refused.stdout.trim().split('\n').length).toBe(3);
    }
  );
});
