// Tamper evidence: a real signed, checkpointed log on disk, tampered with in every way the verifier
// must catch, each time asserting the first bad record (file, line, seq) and the reason it names.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealText } from './chain.js';
import { checkpointMessage } from './checkpoints.js';
import { ChainWalk, emptyReport, parseEntry, type Entry, type LoadedCheckpoint } from './verify.js';
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

/** Verify against the checkpoints without a public key (their signatures are not checked). */
const unkeyed = (files: { path: string; checkpoints: string }) =>
  verifyAuditLog([files.path], { checkpoints: files.checkpoints });

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
    expectProblem(unkeyed(files), {
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

describe('verifyAuditLog says what is wrong and where', () => {
  it('names every kind of break in its message: deleted, several deleted, reordered, replaced, rehashed', () => {
    const one = copy(pristine.lines.filter((_, i) => i !== 136));
    expect(check(one).problem?.message).toBe('record seq 137 is missing before this one (seq 138)');
    const several = copy(pristine.lines.filter((_, i) => i < 136 || i > 140));
    expect(check(several).problem?.message).toBe(
      'record seqs 137..141 are missing before this one (seq 142)'
    );

    const swapped = [...pristine.lines];
    [swapped[136], swapped[137]] = [swapped[137]!, swapped[136]!];
    const reordered = copy(swapped);
    expect(check(reordered).problem?.message).toBe(
      `records are out of order: seq 138 is here, but seq 137 comes next and is at ${reordered.path}:138`
    );

    const replaced = [...pristine.lines];
    replaced[136] = sealText({ ...parse(L(137)), id: 'forged', prev: 'a'.repeat(64) }).line;
    expect(check(copy(replaced)).problem?.message).toBe(
      "record seq 137's prev does not match the record before it: " +
        'this record was replaced, or the one before it was rewritten'
    );

    const rehashed = [...pristine.lines];
    rehashed[136] = sealText({ ...parse(L(137)), identity: 'root' }).line;
    const files = copy(rehashed);
    expectProblem(check(files), {
      reason: 'modified',
      file: files.path,
      line: 137,
      seq: 137,
      expectedSeq: 137,
      message: `record seq 137 was modified and its hash recomputed: the next record (${files.path}:138) still links to the original`
    });
  });

  it('names an inserted forgery and where the chain goes on', () => {
    const linked = [...pristine.lines];
    linked.splice(
      137,
      0,
      sealText({ ...parse(L(137)), id: 'forged', seq: 138, prev: parse(L(137)).hash }).line
    );
    const a = copy(linked);
    expectProblem(check(a), {
      reason: 'inserted',
      line: 138,
      seq: 138,
      expectedSeq: 138,
      message: `record at this line (claiming seq 138) is not part of the chain: it was inserted (the chain continues from the seq 138 at ${a.path}:139)`
    });

    const stray = [...pristine.lines];
    stray.splice(137, 0, sealText({ ...parse(L(10)), id: 'forged', seq: 5, prev: 'f'.repeat(64) }).line);
    const b = copy(stray);
    expect(check(b).problem?.message).toBe(
      `record at this line (claiming seq 5) is not part of the chain: it was inserted (the chain continues with seq 138 at ${b.path}:139)`
    );
  });

  it('names a record replaced by a forgery with a seq the chain has passed as inserted', () => {
    const lines = [...pristine.lines];
    lines[137] = sealText({ ...parse(L(10)), id: 'forged', seq: 5, prev: 'f'.repeat(64) }).line;
    expectProblem(check(copy(lines)), {
      reason: 'inserted',
      line: 138,
      seq: 5,
      expectedSeq: 138,
      message: 'record at this line (claiming seq 5) is not part of the chain: it was inserted'
    });
  });

  it('names a record replaced by a replay of an earlier one as a copy of it', () => {
    const lines = [...pristine.lines];
    lines[137] = L(20);
    const files = copy(lines);
    expectProblem(check(files), {
      reason: 'inserted',
      line: 138,
      seq: 20,
      expectedSeq: 138,
      message: `record seq 20 is a copy of the one at ${files.path}:20: it was inserted`
    });
  });

  it('names a replay of the last record, or of the two records just before, as inserted', () => {
    const last = [...pristine.lines];
    last.splice(137, 0, L(N));
    expectProblem(check(copy(last)), { reason: 'inserted', line: 138, seq: N, expectedSeq: 138 });

    const recent = [...pristine.lines];
    recent.splice(137, 0, L(136), L(137));
    const files = copy(recent);
    expectProblem(check(files), {
      reason: 'inserted',
      line: 138,
      seq: 136,
      expectedSeq: 138,
      message: `record at this line (claiming seq 136) is not part of the chain: it was inserted (the chain continues with seq 138 at ${files.path}:140)`
    });
  });

  it('names the last record replaced by a forgery with a wrong prev as a broken link', () => {
    const lines = [...pristine.lines];
    lines[N - 1] = sealText({ ...parse(L(N)), id: 'forged', prev: 'a'.repeat(64) }).line;
    expectProblem(unkeyed(copy(lines)), { reason: 'broken_link', line: N, seq: N, expectedSeq: N });
  });

  it('refuses a record that links to the one before but claims another seq', () => {
    const lines = [...pristine.lines];
    lines[136] = sealText({ ...parse(L(137)), seq: 139 }).line;
    expectProblem(check(copy(lines)), {
      reason: 'deleted',
      line: 137,
      seq: 139,
      expectedSeq: 137,
      message: 'record seqs 137..138 are missing before this one (seq 139)'
    });
  });

  it('says a file between two may have been removed only when the gap starts a file', () => {
    const a = join(dir, 'gap.jsonl');
    const parts = [pristine.lines.slice(0, 100), pristine.lines.slice(100, 200), pristine.lines.slice(200)];
    parts.forEach((part, i) => writeFileSync(`${a}.${i + 1}`, part.map((l) => l + '\n').join('')));
    expect(verifyAuditLog([`${a}.1`, `${a}.3`]).problem?.message).toBe(
      'record seqs 101..200 are missing before this one (seq 201) (was a file between these removed?)'
    );
    expect(verifyAuditLog([`${a}.2`, `${a}.3`]).problem?.message).toBe(
      'record seqs 1..100 are missing before this one (seq 101)'
    );
  });

  it('names the partial line and the malformed line in their messages', () => {
    const files = copy(pristine.lines.slice(0, 3));
    writeFileSync(
      files.path,
      pristine.lines
        .slice(0, 3)
        .map((l) => l + '\n')
        .join('') + '{"seq":4'
    );
    expect(unkeyed(files).problem?.message).toBe(
      'the line has no newline: a write that never completed, or the file was cut'
    );
    const lines = [...pristine.lines];
    lines[9] = '[1,2]';
    expect(check(copy(lines)).problem?.message).toBe('not a chained audit record: not a JSON object');
  });
});

describe('verifyAuditLog and checkpoints', () => {
  const unsigned = () =>
    pristine.checkpoints.map((l) => {
      const { seq, hash, time } = parse(l);
      return JSON.stringify({ seq, hash, time });
    });

  it('accepts unsigned checkpoints when no public key is asked for, and says none were checked', () => {
    const report = unkeyed(copy(undefined, unsigned()));
    expect(report.ok, formatVerifyReport(report)).toBe(true);
    expect(report).toMatchObject({ checkpoints: N / EVERY, signed: false });
    expect(emptyReport(['x'])).toEqual({
      ok: false,
      files: ['x'],
      records: 0,
      checkpoints: 0,
      signed: false,
      warnings: []
    });
  });

  it('names an unsigned checkpoint, and the checkpoint, in the problem', () => {
    const checkpoints = [...pristine.checkpoints];
    checkpoints[1] = unsigned()[1]!;
    const files = copy(undefined, checkpoints);
    expectProblem(check(files), {
      reason: 'unsigned_checkpoint',
      message: 'checkpoint for seq 100 is not signed',
      file: files.checkpoints,
      line: 2,
      seq: 100,
      checkpoint: { file: files.checkpoints, line: 2, seq: 100 }
    });
  });

  it('says why a signature does not verify, naming the key the checkpoint claims when it names one', () => {
    const forge = (kid: boolean) => {
      const checkpoints = [...pristine.checkpoints];
      const { kid: _kid, ...cp } = parse(checkpoints[2]!);
      const sig = Buffer.from(cp.sig as string, 'base64');
      sig[10] = sig[10]! ^ 0xff;
      checkpoints[2] = JSON.stringify({ ...cp, sig: sig.toString('base64'), ...(kid ? { kid: 'k-1' } : {}) });
      return copy(undefined, checkpoints);
    };
    const plain = forge(false);
    expectProblem(check(plain), {
      reason: 'bad_signature',
      message:
        'checkpoint for seq 150 has a signature that does not verify with this public key ' +
        '(forged, altered, or signed by another key)',
      checkpoint: { file: plain.checkpoints, line: 3, seq: 150 }
    });
    expect(check(forge(true)).problem?.message).toBe(
      'checkpoint for seq 150 has a signature that does not verify with this public key ' +
        '(forged, altered, or signed by another key: it names key k-1)'
    );
  });

  it('says which file is missing: a log file, the checkpoint file, or no checkpoint file for a key', () => {
    const files = copy();
    const gone = join(dir, 'gone.jsonl');
    expectProblem(verifyAuditLog([files.path, gone]), {
      reason: 'missing_file',
      message: `${gone} does not exist`,
      file: gone,
      line: 0
    });
    expectProblem(verifyAuditLog([files.path], { publicKey: keys.publicKey }), {
      reason: 'missing_checkpoints',
      message: 'a public key was given but no checkpoint file to check it against',
      file: '',
      line: 0
    });
    unlinkSync(files.checkpoints);
    expectProblem(check(files), {
      reason: 'missing_checkpoints',
      message: `the checkpoint file ${files.checkpoints} is missing (deleted, or never written)`,
      file: files.checkpoints,
      line: 0
    });
  });

  it('ignores a torn last checkpoint line, with a warning', () => {
    const files = copy();
    writeFileSync(files.checkpoints, pristine.checkpoints.map((l) => l + '\n').join('') + '{"seq":350,');
    const report = check(files);
    expect(report.ok, formatVerifyReport(report)).toBe(true);
    expect(report.checkpoints).toBe(N / EVERY);
    expect(report.warnings).toEqual([`${files.checkpoints}:7: torn last checkpoint line ignored`]);
  });

  it('names a checkpoint line that is not a checkpoint', () => {
    const checkpoints = [...pristine.checkpoints];
    checkpoints[2] = '{"seq":150}';
    const files = copy(undefined, checkpoints);
    const report = check(files);
    expectProblem(report, {
      reason: 'malformed_checkpoint',
      message: 'not a checkpoint line',
      file: files.checkpoints,
      line: 3
    });
    expect(report.checkpoints).toBe(N / EVERY - 1);
  });

  it('checks every checkpoint for a seq, when there are two', () => {
    const checkpoints = [...pristine.checkpoints];
    checkpoints.splice(1, 0, JSON.stringify({ ...parse(checkpoints[1]!), hash: 'b'.repeat(64) }));
    const files = copy(undefined, checkpoints);
    expectProblem(unkeyed(files), {
      reason: 'checkpoint_mismatch',
      line: 100,
      seq: 100,
      checkpoint: { file: files.checkpoints, line: 2, seq: 100 }
    });
  });

  it('says since which checkpoint the log was rewritten, and says nothing of one before the first', () => {
    const first = [...pristine.checkpoints];
    first[0] = JSON.stringify({ ...parse(first[0]!), hash: 'b'.repeat(64) });
    expect(unkeyed(copy(undefined, first)).problem?.message).toBe(
      'record seq 50 does not match the checkpoint for it: the log was rewritten up to here, or the checkpoint was forged'
    );
    const second = [...pristine.checkpoints];
    second[1] = JSON.stringify({ ...parse(second[1]!), hash: 'b'.repeat(64) });
    expect(unkeyed(copy(undefined, second)).problem?.message).toBe(
      'record seq 100 does not match the checkpoint for it: the log was rewritten after seq 50 (the previous checkpoint) up to here, or the checkpoint was forged'
    );
  });

  it('names a truncation by the first checkpoint beyond the end, whatever order the checkpoints are in', () => {
    const cut = copy(pristine.lines.slice(0, N - 20));
    expectProblem(check(cut), {
      reason: 'truncated',
      seq: N - 19,
      expectedSeq: N - 19,
      message:
        'the log ends at seq 280 but a checkpoint records seq 300: records 281..300 were removed from the end'
    });
    const files = copy(pristine.lines.slice(0, 120), [...pristine.checkpoints].reverse());
    expectProblem(check(files), {
      reason: 'truncated',
      file: files.path,
      line: 121,
      seq: 121,
      expectedSeq: 121,
      message:
        'the log ends at seq 120 but a checkpoint records seq 150: records 121..150 were removed from the end',
      checkpoint: { file: files.checkpoints, line: 4, seq: 150 }
    });
  });

  it('names an emptied log as truncated at its first line, and no log at all as truncated', () => {
    const files = copy([]);
    expectProblem(check(files), {
      reason: 'truncated',
      file: files.path,
      line: 1,
      seq: 1,
      expectedSeq: 1,
      message:
        'the log ends at seq 0 but a checkpoint records seq 50: records 1..50 were removed from the end'
    });
    expect(check(files).records).toBe(0);
    expectProblem(verifyAuditLog([], { checkpoints: files.checkpoints }), {
      reason: 'truncated',
      file: '',
      line: 1
    });
  });

  it('reports a bad checkpoint before a later bad record, and a bad record before a later bad checkpoint', () => {
    const modified = [...pristine.lines];
    modified[136] = modified[136]!.replace('"identity":"bob"', '"identity":"eve"');
    const early = [...pristine.checkpoints];
    early[0] = unsigned()[0]!;
    expectProblem(check(copy(modified, early)), { reason: 'unsigned_checkpoint', seq: EVERY });

    const garbage = [...pristine.lines];
    garbage[199] = 'garbage';
    expectProblem(check(copy(garbage, early)), { reason: 'unsigned_checkpoint', seq: EVERY });
    const late = [...pristine.checkpoints];
    late[5] = unsigned()[5]!;
    expectProblem(check(copy(garbage, late)), { reason: 'malformed', line: 200 });

    // At the same seq the record's problem is named: it is the cause.
    const hundred = [...pristine.lines];
    hundred[99] = hundred[99]!.replace('"server":"files"', '"server":"filez"');
    const same = [...pristine.checkpoints];
    same[1] = unsigned()[1]!;
    expectProblem(check(copy(hundred, same)), { reason: 'modified', line: 100, seq: 100 });
  });
});

describe('verifyAuditLog with a log that does not start the chain', () => {
  const start = (lines: string[], checkpoints = pristine.checkpoints) => {
    const files = copy(lines, checkpoints);
    return verifyAuditLog([files.path], {
      checkpoints: files.checkpoints,
      publicKey: keys.publicKey,
      allowTruncatedStart: true
    });
  };

  it('warns where the log starts and how many checkpoints lie before it', () => {
    const report = start(pristine.lines.slice(99));
    expect(report.ok, formatVerifyReport(report)).toBe(true);
    expect(report.records).toBe(N - 99);
    expect(report.warnings).toEqual([
      'the log starts at seq 100, not 1',
      '1 checkpoint(s) before seq 100 not checked'
    ]);
  });

  it('warns of nothing for a log that does start the chain', () => {
    const report = start(pristine.lines);
    expect(report.ok, formatVerifyReport(report)).toBe(true);
    expect(report.warnings).toEqual([]);
  });

  it('trusts only the first record as the start: a gap later is still a deletion', () => {
    expectProblem(start(pristine.lines.filter((_, i) => i !== 136)), {
      reason: 'deleted',
      line: 137,
      seq: 138,
      expectedSeq: 137
    });
  });

  it('accepts an empty log when there are no checkpoints', () => {
    const files = copy([]);
    const report = verifyAuditLog([files.path], { allowTruncatedStart: true });
    expect(report.ok, formatVerifyReport(report)).toBe(true);
    expect(report.records).toBe(0);
    expect(report.warnings).toEqual([]);
  });

  it('warns of both for rotated files whose oldest was removed', () => {
    const a = join(dir, 'retained.jsonl');
    writeFileSync(
      `${a}.2`,
      pristine.lines
        .slice(100, 200)
        .map((l) => l + '\n')
        .join('')
    );
    writeFileSync(
      `${a}.3`,
      pristine.lines
        .slice(200)
        .map((l) => l + '\n')
        .join('')
    );
    copyFileSync(`${log}.checkpoints`, `${a}.checkpoints`);
    const report = verifyAuditLog([`${a}.2`, `${a}.3`], {
      checkpoints: `${a}.checkpoints`,
      allowTruncatedStart: true
    });
    expect(report.ok, formatVerifyReport(report)).toBe(true);
    expect(report.warnings).toEqual([
      'the log starts at seq 101, not 1',
      '2 checkpoint(s) before seq 101 not checked'
    ]);
  });
});

describe('ChainWalk', () => {
  const entry = (i: number, text = L(i)) => parseEntry('f', i, text);

  it('takes records while they link, and stops for good at the first that does not', () => {
    const report = emptyReport(['f']);
    const walk = new ChainWalk(report, [], '', false);
    expect([1, 2, 3].map((i) => walk.push(entry(i)))).toEqual([true, true, true]);
    expect(walk.needsAll).toBe(false);
    expect(walk.push(entry(5))).toBe(false);
    expect(walk.needsAll).toBe(true);
    expect(walk.push(entry(4))).toBe(false);
    expect(report.records).toBe(3);
    expect(report.head).toMatchObject({ seq: 3, file: 'f', line: 3 });
    expect(walk.finish(() => [1, 2, 3, 5].map((i) => entry(i)))).toMatchObject({
      reason: 'deleted',
      seq: 5,
      expectedSeq: 4
    });
  });

  it('stops for good at a partial line, a malformed line, a modified record, or a checkpoint mismatch', () => {
    const cp = {
      ...(parse(pristine.checkpoints[0]!) as { seq: number; hash: string; time: string }),
      line: 1
    };
    const bad: Array<[string, Entry, LoadedCheckpoint[]]> = [
      ['partial_line', { file: 'f', line: 1, kind: 'partial' }, []],
      ['malformed', entry(1, 'garbage'), []],
      ['modified', entry(1, L(1).replace('"server":"files"', '"server":"filez"')), []],
      ['checkpoint_mismatch', entry(1), [{ ...cp, seq: 1 }]]
    ];
    for (const [reason, first, checkpoints] of bad) {
      const report = emptyReport(['f']);
      const walk = new ChainWalk(report, checkpoints, 'f.checkpoints', false);
      expect(walk.push(first), reason).toBe(false);
      expect(walk.push(entry(2)), reason).toBe(false);
      expect(walk.needsAll, reason).toBe(false);
      expect(report.records, reason).toBe(0);
      expect(
        walk.finish(() => []),
        reason
      ).toMatchObject({ reason, line: 1 });
    }
  });
});

describe('formatVerifyReport', () => {
  const hash = '0123456789abcdef'.repeat(4);
  const base = { files: ['a.jsonl'], records: 1, checkpoints: 0, signed: false, warnings: [] };

  it('sums up a good log: records, files, head, checkpoints', () => {
    expect(formatVerifyReport({ ...base, ok: true, head: { seq: 1, hash, file: 'a.jsonl', line: 1 } })).toBe(
      'ok: 1 record in 1 file, head seq 1 0123456789abcdef…'
    );
    expect(
      formatVerifyReport({
        ...base,
        ok: true,
        files: ['a.jsonl.1', 'a.jsonl'],
        records: 5,
        checkpoints: 1,
        signed: true,
        head: { seq: 5, hash, file: 'a.jsonl', line: 2 },
        warnings: ['the log starts at seq 1, not 0']
      })
    ).toBe(
      'ok: 5 records in 2 files, head seq 5 0123456789abcdef…, 1 checkpoint (signatures checked)\n' +
        '  warning: the log starts at seq 1, not 0'
    );
    expect(
      formatVerifyReport({ ...base, ok: true, records: 0, checkpoints: 2, source: 'PostgreSQL table audit' })
    ).toBe('ok: 0 records in PostgreSQL table audit, 2 checkpoints');
  });

  it('names the place, the seq, the reason and the message of a problem, then the checkpoint and what verified', () => {
    expect(
      formatVerifyReport({
        ...base,
        ok: false,
        records: 6,
        checkpoints: 2,
        problem: {
          reason: 'checkpoint_mismatch',
          message: 'm',
          file: 'a.jsonl',
          line: 7,
          seq: 7,
          expectedSeq: 7,
          checkpoint: { file: 'a.cp', line: 2, seq: 7 }
        },
        warnings: ['w']
      })
    ).toBe(
      [
        'FAILED: a.jsonl:7 seq 7: checkpoint_mismatch: m',
        '  checkpoint: a.cp:2 (seq 7)',
        '  6 records verified before it, in 1 file, 2 checkpoints',
        '  warning: w'
      ].join('\n')
    );
    expect(
      formatVerifyReport({
        ...base,
        ok: false,
        problem: { reason: 'partial_line', message: 'm', file: 'a.jsonl', line: 2, expectedSeq: 2 }
      })
    ).toBe('FAILED: a.jsonl:2 (expected seq 2): partial_line: m\n  1 record verified before it, in 1 file');
    expect(
      formatVerifyReport({
        ...base,
        ok: false,
        records: 0,
        problem: { reason: 'missing_file', message: 'm', file: 'a.jsonl', line: 0 }
      })
    ).toBe('FAILED: a.jsonl: missing_file: m\n  0 records verified before it, in 1 file');
    expect(
      formatVerifyReport({
        ...base,
        ok: false,
        problem: { reason: 'missing_checkpoints', message: 'm', file: '', line: 0 }
      })
    ).toBe('FAILED: audit log: missing_checkpoints: m\n  1 record verified before it, in 1 file');
  });
});
