// Audit sinks on real files: the chain across restarts and rotations, flush policies, checkpoints,
// repair of torn writes on open, and the memory and stream sinks; plus canonical JSON and redaction.
import { generateKeyPairSync } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIT_SCHEMA_VERSION,
  canonicalJson,
  createFileAuditSink,
  createMemoryAuditSink,
  createStreamAuditSink,
  formatVerifyReport,
  generateAuditKeyPair,
  listAuditFiles,
  redactArguments,
  verifyAuditLog,
  type AuditRecord,
  type FileAuditSinkOptions
} from './index.js';

let root: string;
let n = 0;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'portcullis-audit-sink-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const fresh = (name = 'audit.jsonl') => join(root, `t${++n}`, name);
const readRecords = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditRecord);
const call = (i: number) =>
  ({
    event: 'tools/call',
    identity: 'bob',
    tool: 'read_file',
    arguments: { path: `/data/${i}`, pad: 'x'.repeat(100) },
    decision: 'allow',
    outcome: 'ok'
  }) as const;

function verifyAll(path: string, publicKey?: string) {
  return verifyAuditLog(listAuditFiles(path), {
    checkpoints: `${path}.checkpoints`,
    ...(publicKey ? { publicKey } : {})
  });
}

function expectOk(report: ReturnType<typeof verifyAuditLog>, records?: number) {
  expect(report.ok, formatVerifyReport(report)).toBe(true);
  if (records !== undefined) expect(report.records).toBe(records);
}

describe('canonicalJson', () => {
  it('sorts keys recursively, drops whitespace and follows JSON.stringify for the rest', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}'
    );
    expect(canonicalJson({ u: undefined, f: () => 1, n: NaN, i: -Infinity, a: [undefined] })).toBe(
      '{"a":[null],"i":null,"n":null}'
    );
    expect(canonicalJson(new Date(0))).toBe('"1970-01-01T00:00:00.000Z"');
    expect(canonicalJson('é\u2028"\\')).toBe(JSON.stringify('é\u2028"\\'));
    expect(canonicalJson(undefined)).toBeUndefined();
    expect(canonicalJson({ é: 1, e: 2, Z: 3, '10': 4, '9': 5 })).toBe('{"10":4,"9":5,"Z":3,"e":2,"é":1}');
    expect(() => canonicalJson({ n: 1n })).toThrow(/BigInt/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/cyclic/);
  });

  it('gives a parsed value the same text as the value it was written from', () => {
    const value = JSON.parse('{"__proto__":{"x":1},"b":[1.5e300,-0,"\\ud800"],"a":null}') as unknown;
    const text = canonicalJson(value)!;
    expect(canonicalJson(JSON.parse(text))).toBe(text);
    expect(text).toContain('"__proto__":{"x":1}');
  });
});

describe('redactArguments', () => {
  const args = { path: '/data/x', options: { b: 2, a: 1 } };
  it('keeps, hashes (independently of key order) or omits arguments', () => {
    expect(redactArguments(args, 'full')).toBe(args);
    expect(redactArguments(args, 'omit')).toBeUndefined();
    const hashed = redactArguments(args, 'hash') as { sha256: string };
    expect(hashed.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(redactArguments({ options: { a: 1, b: 2 }, path: '/data/x' }, 'hash')).toEqual(hashed);
    expect(redactArguments({ ...args, path: '/data/y' }, 'hash')).not.toEqual(hashed);
    expect(redactArguments(undefined, 'hash')).toBeUndefined();
  });
});

describe('memory and stream sinks', () => {
  it('the memory sink chains its records', () => {
    const sink = createMemoryAuditSink();
    const a = sink.write({ event: 'tools/list' });
    const b = sink.write({ event: 'tools/call', tool: 'x' });
    expect(a).toMatchObject({ v: AUDIT_SCHEMA_VERSION, seq: 1, prev: '0'.repeat(64) });
    expect(b).toMatchObject({ seq: 2, prev: a.hash });
    expect(sink.records).toEqual([a, b]);
    expect(sink.head()).toEqual({ seq: 2, hash: b.hash });
    const none = createMemoryAuditSink(false);
    none.write({ event: 'tools/list' });
    expect(none.records).toEqual([]);
  });

  it('the stream sink writes the same verifiable chain to a descriptor', async () => {
    const path = fresh('stream.jsonl');
    const file = createFileAuditSink(path, { checkpoints: false });
    await file.close();
    const fd = openSync(path, 'a');
    const sink = createStreamAuditSink(fd);
    for (let i = 0; i < 50; i++) sink.write(call(i));
    const more = createStreamAuditSink(fd, { start: sink.head() });
    more.write({ event: 'session/close' });
    await sink.close();
    expect(() => sink.write({ event: 'tools/list' })).toThrow(/closed/);
    closeSync(fd);
    expectOk(verifyAuditLog([path]), 51);
  });
});

describe('file sink', () => {
  it('writes one chained, fsynced line per record, readable at once', async () => {
    const path = fresh();
    const sink = createFileAuditSink(path);
    const record = sink.write(call(1));
    expect(readRecords(path)).toEqual([record]);
    expect(record).toMatchObject({ seq: 1, prev: '0'.repeat(64), event: 'tools/call' });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await sink.close();
    await sink.close();
    expect(() => sink.write(call(2))).toThrow(/closed/);
  });

  it('extends the same chain across close and reopen (restart)', async () => {
    const path = fresh();
    const first = createFileAuditSink(path, { checkpointEvery: 7 });
    for (let i = 0; i < 20; i++) first.write(call(i));
    const head = first.head();
    await first.close();
    const second = createFileAuditSink(path, { checkpointEvery: 7 });
    expect(second.head()).toEqual(head);
    const next = second.write(call(21));
    expect(next).toMatchObject({ seq: 21, prev: head.hash });
    await second.close();
    // Reopening and closing without writing adds no checkpoint.
    await createFileAuditSink(path, { checkpointEvery: 7 }).close();
    const checkpoints = readFileSync(`${path}.checkpoints`, 'utf8').trim().split('\n');
    expect(checkpoints.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([7, 14, 20, 21]);
    expectOk(verifyAllChecked(path), 21);
  });

  it('refuses a second sink on a log already open in this process', async () => {
    const path = fresh();
    const sink = createFileAuditSink(path);
    expect(() => createFileAuditSink(path)).toThrow(/already open/);
    await sink.close();
    await createFileAuditSink(path).close();
  });

  it('batches: nothing on disk until maxRecords, then one write of all of them', async () => {
    const path = fresh();
    const sink = createFileAuditSink(path, { flush: 'batch', maxRecords: 10, maxDelayMs: 60_000 });
    for (let i = 0; i < 9; i++) sink.write(call(i));
    expect(readFileSync(path, 'utf8')).toBe('');
    expect(sink.head().seq).toBe(9);
    sink.write(call(9));
    expect(readRecords(path)).toHaveLength(10);
    sink.write(call(10));
    expect(readRecords(path)).toHaveLength(10);
    await sink.close();
    expect(readRecords(path)).toHaveLength(11);
    expectOk(verifyAllChecked(path), 11);
  });

  it('batches: flushes when the oldest record has waited maxDelayMs', async () => {
    const path = fresh();
    const sink = createFileAuditSink(path, { flush: 'batch', maxRecords: 1000, maxDelayMs: 30 });
    for (let i = 0; i < 3; i++) sink.write(call(i));
    expect(readFileSync(path, 'utf8')).toBe('');
    for (let waited = 0; readRecords(path).length < 3 && waited < 5000; waited += 20) await sleep(20);
    expect(readRecords(path)).toHaveLength(3);
    await sink.close();
  });

  it('batches: a checkpoint flushes first, so it never names a record that is not on disk', async () => {
    const path = fresh();
    const sink = createFileAuditSink(path, {
      flush: 'batch',
      maxRecords: 1000,
      maxDelayMs: 60_000,
      checkpointEvery: 5
    });
    for (let i = 0; i < 7; i++) sink.write(call(i));
    expect(readRecords(path)).toHaveLength(5);
    expectOk(verifyAllChecked(path), 5);
    await sink.close();
  });

  it("'os' mode writes each record at once (fsync only at checkpoints, rotation and close)", async () => {
    const path = fresh();
    const sink = createFileAuditSink(path, { flush: 'os' });
    sink.write(call(1));
    expect(readRecords(path)).toHaveLength(1);
    await sink.close();
    // The old option still works.
    const legacy = createFileAuditSink(fresh(), { fsync: false });
    legacy.write(call(1));
    await legacy.close();
  });

  it('rotates by size and keeps one verifiable chain across 3+ files', async () => {
    const path = fresh();
    const keys = generateAuditKeyPair();
    const options: FileAuditSinkOptions = {
      rotateBytes: 4000,
      checkpointEvery: 25,
      signingKey: keys.privateKey
    };
    const sink = createFileAuditSink(path, options);
    for (let i = 0; i < 100; i++) sink.write(call(i));
    await sink.close();
    const files = listAuditFiles(path);
    expect(files.length).toBeGreaterThanOrEqual(4);
    expect(files.at(-1)).toBe(path);
    for (const file of files) expect(statSync(file).size).toBeLessThanOrEqual(4000);
    // The first record of each file links to the last record of the one before.
    for (let i = 1; i < files.length; i++) {
      const before = readRecords(files[i - 1]!).at(-1)!;
      const first = readRecords(files[i]!)[0]!;
      expect(first).toMatchObject({ seq: before.seq + 1, prev: before.hash });
    }
    expectOk(verifyAll(path, keys.publicKey), 100);

    // A restart continues numbering the rotated files and the chain.
    const again = createFileAuditSink(path, options);
    for (let i = 0; i < 40; i++) again.write(call(i));
    await again.close();
    const after = listAuditFiles(path);
    expect(after.length).toBeGreaterThan(files.length);
    expect(after.slice(0, files.length - 1)).toEqual(files.slice(0, -1));
    expectOk(verifyAll(path, keys.publicKey), 140);
  });

  it('rotates by age', async () => {
    const path = fresh();
    const sink = createFileAuditSink(path, { rotateMs: 300 });
    sink.write(call(1));
    sink.write(call(2));
    await sleep(400);
    sink.write(call(3));
    expect(listAuditFiles(path)).toEqual([`${path}.1`, path]);
    expect(readRecords(path).map((r) => r.seq)).toEqual([3]);
    await sink.close();
    // The age of a reopened file is its first record's.
    await sleep(400);
    const again = createFileAuditSink(path, { rotateMs: 300 });
    again.write(call(4));
    expect(listAuditFiles(path)).toEqual([`${path}.1`, `${path}.2`, path]);
    await again.close();
    expectOk(verifyAllChecked(path), 4);
  });

  it('picks the chain up from the newest rotated file when the current one is gone', async () => {
    const path = fresh();
    const sink = createFileAuditSink(path, { rotateBytes: 2000 });
    for (let i = 0; i < 30; i++) sink.write(call(i));
    await sink.close();
    // A crash right after renaming the current file away, before the first write to the new one.
    const rotated = listAuditFiles(path).length - 1;
    renameSync(path, `${path}.${rotated + 1}`);
    const again = createFileAuditSink(path, { rotateBytes: 2000 });
    expect(again.write(call(31)).seq).toBe(31);
    await again.close();
    expectOk(verifyAllChecked(path), 31);
  });

  it('moves a torn last line aside, records the repair, and the log verifies', async () => {
    const path = fresh();
    const keys = generateAuditKeyPair();
    const sink = createFileAuditSink(path, { checkpointEvery: 10, signingKey: keys.privateKey });
    for (let i = 0; i < 20; i++) sink.write(call(i));
    await sink.close();
    const torn = '{"arguments":{"path":"/data/tor';
    appendFileSync(path, torn);
    expect(verifyAll(path, keys.publicKey).problem).toMatchObject({ reason: 'partial_line', line: 21 });

    const again = createFileAuditSink(path, { checkpointEvery: 10, signingKey: keys.privateKey });
    expect(again.repairs).toHaveLength(1);
    const repair = again.repairs[0]!;
    expect(repair).toMatchObject({ kind: 'partial_line', file: path, bytes: torn.length });
    expect(readFileSync(repair.moved_to!, 'utf8')).toBe(torn);
    expect(repair.moved_to!.startsWith(`${path}.partial-`)).toBe(true);
    const records = readRecords(path);
    expect(records.at(-1)).toMatchObject({ seq: 21, event: 'audit/repair', repair: [repair] });
    expect(records.at(-1)?.reason).toContain('torn last line');
    again.write(call(22));
    await again.close();
    expectOk(verifyAll(path, keys.publicKey), 22);
  });

  it('repairs a file that is nothing but a torn line, and a torn checkpoint line', async () => {
    const path = fresh();
    const sink = createFileAuditSink(path);
    sink.write(call(1));
    await sink.close();
    appendFileSync(`${path}.checkpoints`, '{"seq":2,"ha');
    const again = createFileAuditSink(path);
    expect(again.repairs.map((r) => r.kind)).toEqual(['partial_checkpoint']);
    await again.close();
    expectOk(verifyAllChecked(path), 2);

    const solo = fresh();
    await createFileAuditSink(solo, { checkpoints: false }).close();
    writeFileSync(solo, '{"v":1,"id":"x","ti');
    const fresh2 = createFileAuditSink(solo, { checkpoints: false });
    expect(fresh2.head().seq).toBe(1);
    expect(readRecords(solo)[0]).toMatchObject({ seq: 1, event: 'audit/repair' });
    await fresh2.close();
    expectOk(verifyAuditLog([solo]), 1);
  });

  it('notes a log that no longer reaches its last checkpoint', async () => {
    const path = fresh();
    const sink = createFileAuditSink(path, { checkpointEvery: 5 });
    for (let i = 0; i < 10; i++) sink.write(call(i));
    await sink.close();
    const lines = readFileSync(path, 'utf8').split('\n');
    writeFileSync(path, lines.slice(0, 6).join('\n') + '\n');
    const again = createFileAuditSink(path, { checkpointEvery: 5 });
    expect(again.repairs).toEqual([{ kind: 'behind_checkpoint', file: path, checkpoint_seq: 10 }]);
    await again.close();
    // The removed records stay evident: the log (now ending with the repair record, seq 7) does not
    // reach the checkpoint for seq 10; written on to seq 10, it does not match it.
    expect(verifyAllChecked(path).problem).toMatchObject({ reason: 'truncated', seq: 8, line: 8 });
    const more = createFileAuditSink(path, { checkpointEvery: 5 });
    for (let i = 0; i < 3; i++) more.write(call(i));
    await more.close();
    expect(verifyAllChecked(path).problem).toMatchObject({
      reason: 'checkpoint_mismatch',
      seq: 10,
      line: 10
    });
  });

  it('moves a log from before the hash chain aside and starts a chain', async () => {
    const path = fresh();
    await createFileAuditSink(path, { checkpoints: false }).close();
    writeFileSync(
      path,
      JSON.stringify({ v: 1, id: 'old', time: '2020-01-01T00:00:00Z', event: 'tools/list' }) + '\n'
    );
    const sink = createFileAuditSink(path);
    expect(sink.repairs[0]).toMatchObject({ kind: 'legacy_log' });
    expect(readFileSync(sink.repairs[0]!.moved_to!, 'utf8')).toContain('"old"');
    await sink.close();
    expectOk(verifyAllChecked(path), 1);
  });

  it('refuses to continue a log whose last line is not a chained record', async () => {
    const path = fresh();
    await createFileAuditSink(path).close();
    writeFileSync(path, 'garbage\n');
    expect(() => createFileAuditSink(path)).toThrow(/not a chained audit record/);
    // Chain fields stripped from the last line of a chained log is damage, not a legacy log.
    const chained = fresh();
    const sink = createFileAuditSink(chained);
    sink.write(call(1));
    await sink.close();
    const { seq: _seq, prev: _prev, hash: _hash, ...bare } = readRecords(chained)[0]!;
    writeFileSync(chained, JSON.stringify(bare) + '\n');
    expect(() => createFileAuditSink(chained)).toThrow(/not a chained audit record/);
    // And the failed open left nothing open.
    writeFileSync(path, '');
    await createFileAuditSink(path).close();
  });

  it('accepts only an Ed25519 signing key', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() => createFileAuditSink(fresh(), { signingKey: rsa.privateKey })).toThrow(/Ed25519/);
    expect(() =>
      createFileAuditSink(fresh(), { signingKey: generateAuditKeyPair().privateKey, checkpoints: false })
    ).toThrow(/checkpoints are off/);
  });

  it('keeps write cheap (no per-record work that grows with the log)', async () => {
    const path = fresh();
    const sink = createFileAuditSink(path, { flush: 'batch', maxRecords: 1000, maxDelayMs: 1000 });
    // CPU time, not wall time, so a busy machine does not fail this; ~10-30 µs is typical.
    const started = process.cpuUsage();
    for (let i = 0; i < 5000; i++) sink.write(call(i));
    const used = process.cpuUsage(started);
    const perRecordUs = (used.user + used.system) / 5000;
    await sink.close();
    expect(perRecordUs).toBeLessThan(500);
    expectOk(verifyAllChecked(path), 5000);
  });
});

function verifyAllChecked(path: string) {
  return verifyAuditLog(listAuditFiles(path), { checkpoints: `${path}.checkpoints` });
}
