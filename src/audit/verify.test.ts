// Tamper evidence: a real signed, checkpointed log on disk, tampered with in every way the verifier
// must catch, each time asserting the first bad record (file, line, seq) and the reason it names.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealText } from './chain.js';
import { checkpointMessage } from './checkpoints.js';
import { parseEntry } from './verify.js';
import {
  createFileAuditSink,
  formatVerifyReport,
  generateAuditKeyPair,
  listAuditFiles,
  verifyAuditLog,
  type VerifyReport
} from './index.js';
import { createPrivateKey, sign } from 'node:crypto';

const N = 300;
const EVERY = 50;
let dir: string;
let log: string;
let keys: ReturnType<typeof generateAuditKeyPair>;
let other: ReturnType<typeof generateAuditKeyPair>;
let pristine: { lines: string[]; checkpoints: string[] };
let caseNo = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'portcullis-audit-verify-'));
  keys = generateAuditKeyPair();
  other = generateAuditKeyPair();
  writeFileSync(join(dir, 'key.pem'), keys.privateKey, { mode: 0o600 });
  log = join(dir, 'orig', 'audit.jsonl');
  const sink = createFileAuditSink(log, {
    flush: 'os',
    checkpointEvery: EVERY,
    signingKey: join(dir, 'key.pem')
  });
  for (let i = 1; i <= N; i++) {
    sink.write({
      event: 'tools/call',
      identity: i % 3 === 0 ? 'alice' : 'bob',
      roles: ['analyst'],
      server: 'files',
      tool: 'read_file',
      name: 'files__read_file',
      arguments: { path: `/data/${i}.txt`, options: { z: 1, a: [i, 'ü', { b: null }] } },
      decision: i % 7 === 0 ? 'deny' : 'allow',
      outcome: i % 7 === 0 ? 'denied' : 'ok',
      latency_ms: i / 10
    });
  }
  await sink.close();
  pristine = {
    lines: readFileSync(log, 'utf8').split('\n').slice(0, -1),
    checkpoints: readFileSync(`${log}.checkpoints`, 'utf8').split('\n').slice(0, -1)
  };
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh copy of the log to tamper with; returns its paths. */
function copy(lines = pristine.lines, checkpoints = pristine.checkpoints) {
  const path = join(dir, `case-${++caseNo}.jsonl`);
  writeFileSync(path, lines.map((l) => l + '\n').join(''));
  writeFileSync(`${path}.checkpoints`, checkpoints.map((l) => l + '\n').join(''));
  return { path, checkpoints: `${path}.checkpoints` };
}

function check(files: { path: string; checkpoints: string }, publicKey: string | undefined = keys.publicKey) {
  return verifyAuditLog([files.path], {
    checkpoints: files.checkpoints,
    ...(publicKey ? { publicKey } : {})
  });
}

function expectProblem(report: VerifyReport, expected: Record<string, unknown>) {
  expect(report.ok, formatVerifyReport(report)).toBe(false);
  expect(report.problem).toMatchObject(expected);
}

const parse = (line: string) => JSON.parse(line) as Record<string, unknown>;
/** Line i (1-based) of the pristine log. */
const L = (i: number) => pristine.lines[i - 1]!;

describe('verifyAuditLog', () => {
  it('accepts the untouched log: every record, every checkpoint, every signature', () => {
    const report = check(copy());
    expect(report.ok, formatVerifyReport(report)).toBe(true);
    expect(report).toMatchObject({ records: N, checkpoints: N / EVERY, signed: true, warnings: [] });
    expect(report.head).toMatchObject({ seq: N, line: N });
    expect(formatVerifyReport(report)).toMatch(/^ok: 300 records in 1 file, head seq 300 .*6 checkpoints/);
    expect(parse(L(1))).toMatchObject({ seq: 1, prev: '0'.repeat(64) });
    expect(parse(L(2)).prev).toBe(parse(L(1)).hash);
  });

  it('names a modified field of record k (hash mismatch)', () => {
    const lines = [...pristine.lines];
    lines[136] = lines[136]!.replace('"identity":"bob"', '"identity":"eve"');
    expect(lines[136]).not.toBe(L(137));
    const report = check(copy(lines));
    expectProblem(report, { reason: 'modified', line: 137, seq: 137 });
    expect(report.records).toBe(136);
    expect(formatVerifyReport(report)).toContain(':137 seq 137: modified');
  });

  it('names a record modified and rehashed, by the next record still linking to the original', () => {
    const lines = [...pristine.lines];
    const record = parse(L(137));
    record.decision = 'allow';
    record.outcome = 'ok';
    record.identity = 'root';
    lines[136] = sealText(record).line;
    expectProblem(check(copy(lines)), { reason: 'modified', line: 137, seq: 137 });
  });

  it('names a record whose bytes were edited without changing what it hashes to (duplicate keys)', () => {
    const lines = [...pristine.lines];
    // A reader taking the first "tool" would see "rm"; JSON.parse takes the last one, which hashes fine.
    lines[136] = L(137).replace('{', '{"tool":"rm",');
    expectProblem(check(copy(lines)), { reason: 'modified', line: 137, seq: 137 });
    expect(check(copy(lines)).problem?.message).toContain('canonical');
  });

  it('names a deleted record (seq gap)', () => {
    const lines = pristine.lines.filter((_, i) => i !== 136);
    const report = check(copy(lines));
    expectProblem(report, { reason: 'deleted', line: 137, seq: 138, expectedSeq: 137 });
    expect(report.problem?.message).toContain('seq 137 is missing');
  });

  it('names several deleted records', () => {
    const lines = pristine.lines.filter((_, i) => i < 136 || i > 140);
    expectProblem(check(copy(lines)), { reason: 'deleted', line: 137, seq: 142, expectedSeq: 137 });
  });

  it('names swapped neighbours as reordered', () => {
    const lines = [...pristine.lines];
    [lines[136], lines[137]] = [lines[137]!, lines[136]!];
    expectProblem(check(copy(lines)), { reason: 'reordered', line: 137, seq: 138, expectedSeq: 137 });
  });

  it('names swapped distant records as reordered, at the first displaced one', () => {
    const lines = [...pristine.lines];
    [lines[39], lines[199]] = [lines[199]!, lines[39]!];
    const report = check(copy(lines));
    expectProblem(report, { reason: 'reordered', line: 40, seq: 200, expectedSeq: 40 });
    expect(report.problem?.message).toContain(':200');
  });

  it('names the last two records swapped as reordered, not inserted', () => {
    const lines = [...pristine.lines];
    [lines[N - 2], lines[N - 1]] = [lines[N - 1]!, lines[N - 2]!];
    expectProblem(check(copy(lines)), { reason: 'reordered', line: N - 1, seq: N });
  });

  it('names an inserted forgery that carries a correct-looking seq, prev and hash of its own', () => {
    const forged = {
      ...parse(L(137)),
      id: 'forged',
      identity: 'alice',
      tool: 'delete_record',
      seq: 138,
      prev: parse(L(137)).hash
    };
    const lines = [...pristine.lines];
    lines.splice(137, 0, sealText(forged).line);
    const report = check(copy(lines));
    expectProblem(report, { reason: 'inserted', line: 138, seq: 138 });
  });

  it('names an inserted forgery with an arbitrary seq', () => {
    const forged = { ...parse(L(10)), id: 'forged', seq: 5, prev: 'f'.repeat(64) };
    const lines = [...pristine.lines];
    lines.splice(137, 0, sealText(forged).line);
    expectProblem(check(copy(lines)), { reason: 'inserted', line: 138, seq: 5, expectedSeq: 138 });
  });

  it('names a replayed copy of an earlier record as inserted', () => {
    const lines = [...pristine.lines];
    lines.splice(137, 0, L(20));
    const report = check(copy(lines));
    expectProblem(report, { reason: 'inserted', line: 138, seq: 20 });
  });

  it('names a record replaced by a forgery with the right seq but a wrong prev', () => {
    const forged = { ...parse(L(137)), id: 'forged', prev: 'a'.repeat(64) };
    const lines = [...pristine.lines];
    lines[136] = sealText(forged).line;
    expectProblem(check(copy(lines)), { reason: 'broken_link', line: 137, seq: 137 });
  });

  it('names a log truncated after the last checkpoint was written', () => {
    const lines = pristine.lines.slice(0, N - 20);
    const files = copy(lines);
    const report = check(files);
    expectProblem(report, {
      reason: 'truncated',
      file: files.path,
      line: N - 19,
      seq: N - 19,
      checkpoint: { file: files.checkpoints, line: N / EVERY, seq: N }
    });
    expect(report.records).toBe(N - 20);
    // Without the checkpoints, a shortened chain is still a valid chain: that is what they are for.
    expect(verifyAuditLog([files.path]).ok).toBe(true);
  });

  it('names a whole log rewritten (and rehashed) from record k on, at the next checkpoint', () => {
    const lines = [...pristine.lines];
    let prev = parse(L(119)).hash;
    for (let i = 120; i <= N; i++) {
      const record: Record<string, unknown> = { ...parse(L(i)), prev };
      if (i === 120) record.identity = 'nobody';
      const sealed = sealText(record);
      lines[i - 1] = sealed.line;
      prev = sealed.hash;
    }
    const files = copy(lines);
    // The chain itself is consistent ...
    expect(verifyAuditLog([files.path]).ok).toBe(true);
    // ... but it no longer matches the checkpoint at seq 150.
    const report = check(files);
    expectProblem(report, {
      reason: 'checkpoint_mismatch',
      line: 150,
      seq: 150,
      checkpoint: { file: files.checkpoints, line: 3, seq: 150 }
    });
    expect(report.problem?.message).toContain('after seq 100');
  });

  it('names a file cut in the middle of a line', () => {
    const lines = pristine.lines.slice(0, 150);
    const files = copy(lines);
    writeFileSync(files.path, lines.map((l) => l + '\n').join('') + L(151).slice(0, 70));
    const report = check(files);
    expectProblem(report, { reason: 'partial_line', file: files.path, line: 151, expectedSeq: 151 });
    expect(report.records).toBe(150);
  });

  it('names a garbage line', () => {
    const lines = [...pristine.lines];
    lines[9] = 'not json at all';
    expectProblem(check(copy(lines)), { reason: 'malformed', line: 10, expectedSeq: 10 });
  });

  it('fails when the checkpoint file is missing', () => {
    const files = copy();
    unlinkSync(files.checkpoints);
    const report = check(files);
    expectProblem(report, { reason: 'missing_checkpoints', file: files.checkpoints });
    expect(verifyAuditLog([files.path], { publicKey: keys.publicKey }).problem?.reason).toBe(
      'missing_checkpoints'
    );
  });

  it('names a checkpoint whose signature was forged', () => {
    const checkpoints = [...pristine.checkpoints];
    const cp = parse(checkpoints[2]!);
    const sig = Buffer.from(cp.sig as string, 'base64');
    sig[10] = sig[10]! ^ 0xff;
    checkpoints[2] = JSON.stringify({ ...cp, sig: sig.toString('base64') });
    const files = copy(undefined, checkpoints);
    const report = check(files);
    expectProblem(report, { reason: 'bad_signature', file: files.checkpoints, line: 3, seq: 150 });
  });

  it('names a checkpoint forged to match a tampered log and signed with another key', () => {
    const lines = [...pristine.lines];
    const record = { ...parse(L(300)), identity: 'root' };
    const sealed = sealText(record);
    lines[299] = sealed.line;
    const checkpoints = [...pristine.checkpoints];
    const cp = { seq: 300, hash: sealed.hash, time: new Date().toISOString() };
    const sig = sign(null, checkpointMessage(cp), createPrivateKey(other.privateKey)).toString('base64');
    checkpoints[5] = JSON.stringify({ ...cp, sig, kid: other.kid });
    const files = copy(lines, checkpoints);
    const report = check(files);
    expectProblem(report, { reason: 'bad_signature', file: files.checkpoints, line: 6, seq: 300 });
    expect(report.problem?.message).toContain(other.kid);
  });

  it('rejects every checkpoint when verified with another public key', () => {
    const report = check(copy(), other.publicKey);
    expectProblem(report, { reason: 'bad_signature', line: 1, seq: EVERY });
  });

  it('names an unsigned checkpoint when a public key is required', () => {
    const checkpoints = [...pristine.checkpoints];
    const { seq, hash, time } = parse(checkpoints[1]!);
    checkpoints[1] = JSON.stringify({ seq, hash, time });
    expectProblem(check(copy(undefined, checkpoints)), { reason: 'unsigned_checkpoint', line: 2, seq: 100 });
  });

  it('without a public key, names a checkpoint whose hash does not match the record at its seq', () => {
    const checkpoints = [...pristine.checkpoints];
    checkpoints[1] = JSON.stringify({ ...parse(checkpoints[1]!), hash: 'b'.repeat(64) });
    const files = copy(undefined, checkpoints);
    expectProblem(check(files, undefined), {
      reason: 'checkpoint_mismatch',
      file: files.path,
      line: 100,
      seq: 100,
      checkpoint: { file: files.checkpoints, line: 2, seq: 100 }
    });
  });

  it('reports the earlier of a record problem and a checkpoint problem', () => {
    const lines = [...pristine.lines];
    lines[9] = lines[9]!.replace('"identity":"bob"', '"identity":"eve"');
    const checkpoints = [...pristine.checkpoints];
    checkpoints[3] = JSON.stringify({ ...parse(checkpoints[3]!), sig: 'AAAA' });
    expectProblem(check(copy(lines, checkpoints)), { reason: 'modified', line: 10 });
  });

  it('checks a set of files as one chain, and names a missing file', () => {
    const a = join(dir, 'multi.jsonl');
    const parts = [pristine.lines.slice(0, 100), pristine.lines.slice(100, 200), pristine.lines.slice(200)];
    parts.forEach((part, i) => writeFileSync(`${a}.${i + 1}`, part.map((l) => l + '\n').join('')));
    copyFileSync(`${log}.checkpoints`, `${a}.checkpoints`);
    const files = [`${a}.1`, `${a}.2`, `${a}.3`];
    expect(verifyAuditLog(files, { checkpoints: `${a}.checkpoints`, publicKey: keys.publicKey }).ok).toBe(
      true
    );
    const report = verifyAuditLog([`${a}.1`, `${a}.3`]);
    expectProblem(report, { reason: 'deleted', file: `${a}.3`, line: 1, seq: 201, expectedSeq: 101 });
    expect(verifyAuditLog([`${a}.2`, `${a}.1`, `${a}.3`]).problem).toMatchObject({
      reason: 'reordered',
      file: `${a}.2`,
      line: 1
    });
    // Retention removed the oldest file: acceptable only when asked for.
    expectProblem(verifyAuditLog([`${a}.2`, `${a}.3`]), { reason: 'deleted', line: 1, expectedSeq: 1 });
    const tail = verifyAuditLog([`${a}.2`, `${a}.3`], {
      checkpoints: `${a}.checkpoints`,
      publicKey: keys.publicKey,
      allowTruncatedStart: true
    });
    expect(tail.ok, formatVerifyReport(tail)).toBe(true);
    expect(tail.records).toBe(200);
    expect(tail.warnings.join(' ')).toContain('starts at seq 101');
    expect(verifyAuditLog([`${a}.9`]).problem?.reason).toBe('missing_file');
  });

  it('lists rotated files in numeric order, then the current one', () => {
    const base = join(dir, 'list', 'audit.jsonl');
    const sink = createFileAuditSink(base, { rotateBytes: 1, checkpoints: false });
    for (let i = 0; i < 12; i++) sink.write({ event: 'tools/list' });
    const files = listAuditFiles(base);
    expect(files.map((f) => f.slice(base.length))).toEqual([
      ...Array.from({ length: 11 }, (_, i) => `.${i + 1}`),
      ''
    ]);
    expect(verifyAuditLog(files).records).toBe(12);
    return sink.close();
  });
});

describe('parseEntry', () => {
  const sealedLine = () => L(5);
  it('names a line that is not JSON, or JSON that is not an object', () => {
    expect(parseEntry('f', 1, '{not json')).toMatchObject({ kind: 'malformed', why: 'not JSON' });
    for (const text of ['[1]', 'null', '"s"', '5', 'true'])
      expect(parseEntry('f', 2, text), text).toMatchObject({
        file: 'f',
        line: 2,
        kind: 'malformed',
        why: 'not a JSON object'
      });
  });
  it('names an object without a valid seq, prev and hash as not chained', () => {
    const r = parse(sealedLine());
    const drop = (k: string) => JSON.stringify({ ...r, [k]: undefined });
    for (const text of [
      drop('seq'),
      drop('prev'),
      drop('hash'),
      JSON.stringify({ ...r, seq: 0 }),
      JSON.stringify({ ...r, prev: 'x' }),
      JSON.stringify({ ...r, hash: 'A'.repeat(64) })
    ])
      expect(parseEntry('f', 3, text), text).toMatchObject({
        kind: 'malformed',
        why: expect.stringMatching(/^no valid seq/)
      });
  });
  it('seals a stored record, and names a changed field, edited bytes, or a failed further check', () => {
    const ok = parseEntry('f', 5, sealedLine());
    expect(ok).toMatchObject({ kind: 'record', sealed: true, seq: 5, line: 5, file: 'f' });
    expect(ok.why).toBeUndefined();
    const changed = parseEntry('f', 5, sealedLine().replace('"server":"files"', '"server":"filez"'));
    expect(changed).toMatchObject({
      kind: 'record',
      sealed: false,
      why: 'its content does not match its hash'
    });
    const spaced = parseEntry('f', 5, sealedLine().replace('"server":"files"', '"server": "files"'));
    expect(spaced).toMatchObject({ sealed: false, why: expect.stringMatching(/not the canonical encoding/) });
    const refused = parseEntry('f', 5, sealedLine(), () => 'the store disagrees');
    expect(refused).toMatchObject({ sealed: false, why: 'the store disagrees' });
    expect(parseEntry('f', 5, sealedLine(), () => undefined)).toMatchObject({ sealed: true });
  });
});
