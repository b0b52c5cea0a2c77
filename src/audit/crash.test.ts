// Crash safety: a child process appends audit records with flush 'every' and is killed with SIGKILL
// mid-stream; a new sink then reopens the log (repairing a torn tail), appends, and the whole chain
// verifies with no acknowledged record lost. The child runs the audit module compiled on the fly.
import { spawn, execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFileAuditSink,
  formatVerifyReport,
  generateAuditKeyPair,
  listAuditFiles,
  verifyAuditLog,
  type AuditRecord
} from './index.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const WRITER = join(HERE, 'fixtures', 'writer.mjs');
let work: string;
let compiled: string;
let keyPath: string;
let keys: ReturnType<typeof generateAuditKeyPair>;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'portcullis-audit-crash-'));
  const out = join(work, 'build');
  // Only this module, not the whole project: the audit module imports nothing but node:* (and pg,
  // which only the PostgreSQL sink loads, when it is used).
  execFileSync(
    process.execPath,
    [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      join(HERE, 'index.ts'),
      '--outDir',
      out,
      '--rootDir',
      HERE,
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--strict',
      '--skipLibCheck',
      '--types',
      'node'
    ],
    { cwd: ROOT, stdio: 'pipe' }
  );
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  compiled = join(out, 'index.js');
  keys = generateAuditKeyPair();
  keyPath = join(work, 'audit-key.pem');
  writeFileSync(keyPath, keys.privateKey, { mode: 0o600 });
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

const readRecords = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditRecord);
const allRecords = (path: string) => listAuditFiles(path).flatMap(readRecords);

/** Run the writer until it has acknowledged at least `count` records, then SIGKILL it. */
async function writeAndKill(log: string, count: number, options?: object): Promise<number> {
  const args = [WRITER, compiled, log, keyPath, ...(options ? [JSON.stringify(options)] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let acked = 0;
  let pending = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<void>((done) => child.on('close', () => done()));
  await new Promise<void>((done, fail) => {
    child.stdout.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) acked = Math.max(acked, Number(line));
      if (acked >= count) done();
    });
    child.on('exit', (code) => fail(new Error(`writer exited early (${code}): ${stderr}`)));
  });
  child.kill('SIGKILL');
  await closed;
  expect(child.signalCode).toBe('SIGKILL');
  return acked;
}

describe('a writer killed with SIGKILL', () => {
  it('loses no acknowledged record; reopening repairs the tail and extends the chain', async () => {
    const log = join(work, 'kill', 'audit.jsonl');
    const acked = await writeAndKill(log, 400);
    const before = readRecords(log);
    // Every acknowledged record is there, in order.
    expect(before.length).toBeGreaterThanOrEqual(acked);
    expect(before.slice(0, acked).map((r) => r.seq)).toEqual(Array.from({ length: acked }, (_, i) => i + 1));

    // A kill between write() calls leaves whole lines; make the tail torn as a crash inside a write
    // (or a power cut) would, unless it already is.
    const text = readFileSync(log, 'utf8');
    const torn = text.endsWith('\n') ? '{"arguments":{"i":99999,"pad":"xxxx' : '';
    if (torn) appendFileSync(log, torn);
    const checked = { checkpoints: `${log}.checkpoints`, publicKey: keys.publicKey };
    expect(verifyAuditLog(listAuditFiles(log), checked).problem?.reason).toBe('partial_line');

    const sink = createFileAuditSink(log, { checkpointEvery: 25, signingKey: keyPath });
    expect(sink.repairs.map((r) => r.kind)).toContain('partial_line');
    const last = before.at(-1)!;
    expect(sink.head()).toEqual({ seq: last.seq + 1, hash: readRecords(log).at(-1)!.hash });
    for (let i = 0; i < 50; i++) sink.write({ event: 'tools/call', identity: 'after', tool: 'echo' });
    await sink.close();

    const report = verifyAuditLog(listAuditFiles(log), checked);
    expect(report.ok, formatVerifyReport(report)).toBe(true);
    expect(report.records).toBe(last.seq + 1 + 50);
    const after = readRecords(log);
    // Nothing before the kill changed or went missing; the repair is on the record.
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after[before.length]).toMatchObject({ event: 'audit/repair', prev: last.hash });
    expect(after.at(-1)?.identity).toBe('after');
  });

  it('keeps one chain across rotated files through a kill and a restart', async () => {
    const log = join(work, 'rotate', 'audit.jsonl');
    const options = { rotateBytes: 16_000 };
    const acked = await writeAndKill(log, 300, options);
    expect(listAuditFiles(log).length).toBeGreaterThanOrEqual(3);
    const sink = createFileAuditSink(log, { checkpointEvery: 25, signingKey: keyPath, ...options });
    for (let i = 0; i < 30; i++) sink.write({ event: 'tools/list' });
    await sink.close();
    const report = verifyAuditLog(listAuditFiles(log), {
      checkpoints: `${log}.checkpoints`,
      publicKey: keys.publicKey
    });
    expect(report.ok, formatVerifyReport(report)).toBe(true);
    const seqs = allRecords(log).map((r) => r.seq);
    expect(seqs.length).toBeGreaterThanOrEqual(acked + 30);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
  });
});
