// The PostgreSQL audit sink against a real PostgreSQL started for this file: one chain that verifies,
// several writers at once on one table, tampering caught at the right seq, a database that goes
// away and comes back, a bounded queue, and queries.
import { createServer, connect as connectTcp } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needTool } from '../../test/support/tools.js';
import { startPostgres, type TestPostgres } from '../../test/support/postgres.js';
import {
  createPostgresAuditSink,
  formatVerifyReport,
  generateAuditKeyPair,
  queryPostgresAudit,
  verifyPostgresAudit,
  type AuditQuery,
  type AuditRecord,
  type PostgresAuditSinkOptions,
  type VerifyReport
} from './index.js';

const withPostgres = needTool('postgres').describe;

let server: TestPostgres;
let url: string;
let keys: ReturnType<typeof generateAuditKeyPair>;
let tableNo = 0;

beforeAll(async () => {
  server = await startPostgres();
  url = await server.createDatabase('sink');
  keys = generateAuditKeyPair();
});
afterAll(async () => {
  await server?.close();
});

const freshTable = () => `audit_t${++tableNo}`;
const call = (i: number, identity = 'bob') =>
  ({
    event: 'tools/call',
    identity,
    server: 'files',
    tool: i % 5 === 0 ? 'write_file' : 'read_file',
    name: i % 5 === 0 ? 'files__write_file' : 'files__read_file',
    arguments: { path: `/data/${i}`, n: i },
    decision: i % 7 === 0 ? 'deny' : 'allow',
    outcome: i % 7 === 0 ? 'denied' : 'ok'
  }) as const;

function sink(table: string, options: Partial<PostgresAuditSinkOptions> = {}) {
  return createPostgresAuditSink({ url, table, checkpointEvery: 0, ...options });
}

function expectOk(report: VerifyReport, records?: number) {
  expect(report.ok, formatVerifyReport(report)).toBe(true);
  if (records !== undefined) expect(report.records).toBe(records);
}

async function rowsOf(table: string): Promise<Array<{ seq: string; record: string }>> {
  return server.query(`SELECT seq, record FROM ${table} ORDER BY seq`, [], 'sink');
}

async function query(table: string, q: AuditQuery) {
  const out: Array<Record<string, unknown>> = [];
  for await (const r of queryPostgresAudit({ url, table }, q)) out.push(r.record);
  return out;
}

withPostgres('PostgreSQL audit sink', () => {
  it('writes one chain that verifies, with signed checkpoints, in the file format', async () => {
    const table = freshTable();
    const s = sink(table, { checkpointEvery: 10, signingKey: keys.privateKey });
    await s.ready();
    const written = await Promise.all(Array.from({ length: 55 }, (_, i) => s.write(call(i + 1))));
    expect(written.map((r) => r.seq)).toEqual(Array.from({ length: 55 }, (_, i) => i + 1));
    expect(written[1]!.prev).toBe(written[0]!.hash);
    await s.close();

    const report = await verifyPostgresAudit({ url, table }, { publicKey: keys.publicKey });
    expectOk(report, 55);
    // Every 10th record, and the end of the chain on close.
    expect(report.checkpoints).toBe(6);
    expect(formatVerifyReport(report)).toMatch(/^ok: 55 records in PostgreSQL table audit_t\d+, head seq 55/);

    // The stored text is the record exactly as a file would hold it.
    const rows = await rowsOf(table);
    const first = JSON.parse(rows[0]!.record) as AuditRecord;
    expect(first).toEqual(written[0]);
    expect(rows[0]!.record.endsWith(`,"hash":"${first.hash}"}`)).toBe(true);

    // A second run continues the chain.
    const again = sink(table);
    expect((await again.write(call(56))).seq).toBe(56);
    await again.close();
    expectOk(await verifyPostgresAudit({ url, table }), 56);
  });

  it('keeps one unbroken chain when several sinks write at once, each record exactly once', async () => {
    const table = freshTable();
    const writers = Array.from({ length: 4 }, (_, w) =>
      sink(table, w % 2 === 0 ? {} : { flush: 'batch', maxRecords: 20, maxDelayMs: 5 })
    );
    const perWriter = 250;
    const results = await Promise.all(
      writers.map(async (s, w) => {
        const out: AuditRecord[] = [];
        for (let i = 0; i < perWriter; i += 25) {
          // Bursts of concurrent writes, so transactions carry several records.
          out.push(
            ...(await Promise.all(Array.from({ length: 25 }, (_, k) => s.write(call(i + k, `writer-${w}`)))))
          );
        }
        return out;
      })
    );
    await Promise.all(writers.map((s) => s.close()));

    const seqs = results.flat().map((r) => r.seq);
    expect(new Set(seqs).size).toBe(4 * perWriter);
    expect(Math.max(...seqs)).toBe(4 * perWriter);
    expectOk(await verifyPostgresAudit({ url, table }), 4 * perWriter);

    // The writers' records are interleaved in the chain, not one writer after another.
    const order = (await rowsOf(table)).map((r) => (JSON.parse(r.record) as AuditRecord).identity);
    let runs = 1;
    for (let i = 1; i < order.length; i++) if (order[i] !== order[i - 1]) runs++;
    expect(runs).toBeGreaterThan(8);
  });

  it('cannot fork: the table refuses a second record at a seq, or one that does not link', async () => {
    const table = freshTable();
    const s = sink(table);
    const [a, b] = [await s.write(call(1)), await s.write(call(2))];
    await s.close();
    const insert = (seq: number, prev: string, id: string) =>
      server.query(
        `INSERT INTO ${table} (seq, id, time, event, prev, hash, record) VALUES ($1, $2, now(), 'tools/call', $3, $4, '{}')`,
        [seq, id, prev, 'f'.repeat(64)],
        'sink'
      );
    await expect(insert(2, a.hash, 'x1')).rejects.toThrow(/duplicate key/);
    await expect(insert(3, a.hash, 'x2')).rejects.toThrow(/foreign key/);
    await expect(insert(5, b.hash, 'x3')).rejects.toThrow(/foreign key/);
    await expect(insert(1, b.hash, 'x4')).rejects.toThrow(/duplicate key|check constraint/);
  });

  describe('tampering', () => {
    const N = 40;
    let pristine: string;
    let caseNo = 0;

    beforeAll(async () => {
      pristine = freshTable();
      const s = sink(pristine, { checkpointEvery: 10, signingKey: keys.privateKey });
      for (let i = 1; i <= N; i++) await s.write(call(i, i % 3 === 0 ? 'alice' : 'bob'));
      await s.close();
    });

    /** A copy of the pristine tables (without constraints, as an attacker with the database would have it). */
    async function copy(): Promise<string> {
      const table = `${pristine}_c${++caseNo}`;
      for (const suffix of ['', '_head', '_checkpoints']) {
        await server.query(
          `CREATE TABLE ${table}${suffix} AS SELECT * FROM ${pristine}${suffix}`,
          [],
          'sink'
        );
      }
      return table;
    }
    const sql = <T extends Record<string, unknown>>(text: string, params: unknown[] = []) =>
      server.query<T>(text, params, 'sink');
    const verify = (table: string, publicKey?: string) =>
      verifyPostgresAudit({ url, table }, publicKey ? { publicKey } : {});
    function expectProblem(report: VerifyReport, expected: Record<string, unknown>) {
      expect(report.ok, formatVerifyReport(report)).toBe(false);
      expect(report.problem, formatVerifyReport(report)).toMatchObject(expected);
    }

    it('accepts the untouched copy', async () => {
      expectOk(await verify(await copy(), keys.publicKey), N);
    });

    it('names a modified record', async () => {
      const t = await copy();
      await sql(
        `UPDATE ${t} SET record = replace(record, '"identity":"bob"', '"identity":"eve"') WHERE seq = 7`
      );
      const report = await verify(t);
      expectProblem(report, { reason: 'modified', file: t, line: 7, seq: 7 });
      expect(formatVerifyReport(report)).toMatch(new RegExp(`FAILED: ${t}:7 seq 7: modified`));
    });

    it('names a row whose query column was changed but not its record', async () => {
      const t = await copy();
      await sql(`UPDATE ${t} SET identity = 'eve' WHERE seq = 11`);
      const report = await verify(t);
      expectProblem(report, { reason: 'modified', line: 11, seq: 11 });
      expect(report.problem!.message).toMatch(/identity column/);
    });

    it('names a deleted row', async () => {
      const t = await copy();
      await sql(`DELETE FROM ${t} WHERE seq = 12`);
      expectProblem(await verify(t), { reason: 'deleted', line: 13, seq: 13, expectedSeq: 12 });
    });

    it('names two rows that traded places as reordered', async () => {
      const t = await copy();
      await sql(`UPDATE ${t} SET seq = CASE seq WHEN 15 THEN 16 ELSE 15 END WHERE seq IN (15, 16)`);
      expectProblem(await verify(t), { reason: 'reordered', line: 15, seq: 16, expectedSeq: 15 });
    });

    it('names records cut from the end, by the head row, without checkpoints', async () => {
      const t = await copy();
      await sql(`DELETE FROM ${t} WHERE seq > 35`);
      await sql(`DELETE FROM ${t}_checkpoints`);
      expectProblem(await verify(t), { reason: 'truncated', seq: 36 });
    });

    it('names a last record rewritten and rehashed, by the head row', async () => {
      const t = await copy();
      const { sealText } = await import('./chain.js');
      const last = (await sql<{ record: string }>(`SELECT record FROM ${t} WHERE seq = ${N}`))[0]!;
      const record = JSON.parse(last.record) as Record<string, unknown>;
      record.decision = 'deny';
      const sealed = sealText(record);
      await sql(`UPDATE ${t} SET record = $1, hash = $2, decision = 'deny' WHERE seq = ${N}`, [
        sealed.line,
        sealed.hash
      ]);
      await sql(`DELETE FROM ${t}_checkpoints WHERE seq = ${N}`);
      expectProblem(await verify(t), { reason: 'modified', line: N, seq: N });
    });

    it('names a forged checkpoint signature', async () => {
      const t = await copy();
      const other = generateAuditKeyPair();
      await sql(`UPDATE ${t}_checkpoints SET time = '2020-01-01T00:00:00.000Z' WHERE seq = 20`);
      const report = await verify(t, keys.publicKey);
      expectProblem(report, { reason: 'bad_signature', seq: 20 });
      const wrongKey = await verify(t, other.publicKey);
      expectProblem(wrongKey, { reason: 'bad_signature', seq: 10 });
    });
  });

  it('when the database goes away: refuses readiness, keeps the queue, recovers by itself', async () => {
    const table = freshTable();
    const changes: boolean[] = [];
    const s = sink(table, {
      maxQueue: 50,
      retryMaxMs: 200,
      connectTimeoutMs: 1000,
      onStateChange: (available) => changes.push(available)
    });
    await s.write(call(1));
    await server.stop();
    let queued: Array<Promise<AuditRecord>> = [];
    try {
      // The dropped connection is noticed without any write.
      await expect.poll(() => s.unavailable(), { timeout: 5000 }).toMatch(/unreachable/);
      await expect(s.ready()).rejects.toThrow(/unreachable/);
      queued = Array.from({ length: 50 }, (_, i) => s.write(call(i + 2)));
      expect(() => s.write(call(99))).toThrow(/queue is full/);
      await sleep(300);
      expect(s.pending()).toBe(50);
    } finally {
      await server.start();
    }
    await expect.poll(() => s.unavailable(), { timeout: 10_000 }).toBeUndefined();
    await s.ready();
    await s.flush();
    expect(s.pending()).toBe(0);
    expect((await Promise.all(queued)).map((r) => r.seq)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 2)
    );
    expect(changes).toEqual([false, true]);
    await s.close();
    expectOk(await verifyPostgresAudit({ url, table }), 51);
  });

  it('stores a record once when the connection drops during its COMMIT (outcome unknown)', async () => {
    const table = freshTable();
    const creator = sink(table);
    await creator.ready();
    await creator.close();
    // A proxy that forwards the first COMMIT, lets the server finish it, then cuts the connection
    // before the answer reaches the sink.
    let cut = false;
    const proxy = createServer((downstream) => {
      const upstream = connectTcp(server.port, '127.0.0.1');
      downstream.on('error', () => undefined);
      upstream.on('error', () => undefined);
      upstream.pipe(downstream);
      downstream.on('data', (chunk: Buffer) => {
        upstream.write(chunk);
        if (!cut && chunk.includes('COMMIT\0')) {
          cut = true;
          upstream.unpipe(downstream);
          setTimeout(() => {
            downstream.destroy();
            upstream.destroy();
          }, 200);
        }
      });
      downstream.on('close', () => upstream.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const port = (proxy.address() as { port: number }).port;
    const s = createPostgresAuditSink({
      url: server.urlOf('sink').replace(`:${server.port}/`, `:${port}/`),
      table,
      checkpointEvery: 0,
      retryMinMs: 50
    });
    try {
      await s.ready();
      const written = await Promise.all(Array.from({ length: 5 }, (_, i) => s.write(call(i))));
      expect(cut).toBe(true);
      expect(written.map((r) => r.seq).sort()).toEqual([1, 2, 3, 4, 5]);
      await s.close();
    } finally {
      proxy.close();
    }
    expect(await rowsOf(table)).toHaveLength(5);
    expectOk(await verifyPostgresAudit({ url, table }), 5);
  });

  it('starts while the database is down, and connects (creating its tables) once it is up', async () => {
    const table = freshTable();
    await server.stop();
    const s = sink(table, { connectTimeoutMs: 1000, retryMaxMs: 200 });
    let first: Promise<AuditRecord> | undefined;
    try {
      await expect(s.ready()).rejects.toThrow(/unreachable/);
      first = s.write(call(1));
    } finally {
      await server.start();
    }
    expect((await first).seq).toBe(1);
    await s.ready();
    await s.close();
    expectOk(await verifyPostgresAudit({ url, table }), 1);
  });

  it('close() gives up on a database that is gone, in bounded time, and says what was lost', async () => {
    const table = freshTable();
    const s = sink(table, { closeTimeoutMs: 500, connectTimeoutMs: 500, retryMaxMs: 100 });
    await s.ready();
    await server.stop();
    try {
      const lost = s.write(call(1));
      lost.catch(() => undefined);
      const started = Date.now();
      await expect(s.close()).rejects.toThrow(/1 audit record\(s\) could not be committed/);
      expect(Date.now() - started).toBeLessThan(3000);
      await expect(lost).rejects.toThrow(/could not be committed/);
      expect(() => s.write(call(2))).toThrow(/closed/);
    } finally {
      await server.start();
    }
  });

  it('queries by time, identity, tool, server, decision and event', async () => {
    const table = freshTable();
    const s = sink(table);
    const before = Date.now();
    for (let i = 1; i <= 30; i++) await s.write(call(i, i % 2 ? 'alice' : 'bob'));
    await s.write({ event: 'auth/failure', source: '10.0.0.1', decision: 'deny', outcome: 'denied' });
    await s.close();
    expect(await query(table, {})).toHaveLength(31);
    expect(await query(table, { identity: 'alice' })).toHaveLength(15);
    expect(await query(table, { tool: 'write_file' })).toHaveLength(6);
    expect(await query(table, { tool: 'files__write_file', identity: 'bob' })).toHaveLength(3);
    expect(await query(table, { decision: 'deny', event: 'tools/call' })).toHaveLength(4);
    expect(await query(table, { event: 'auth/failure' })).toHaveLength(1);
    expect(await query(table, { server: 'files', since: before })).toHaveLength(30);
    expect(await query(table, { until: before })).toHaveLength(0);
  });
});
