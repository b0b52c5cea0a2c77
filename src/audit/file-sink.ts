/**
 * The durable file audit sink: appends hash-chained JSON lines to a file, fsyncs them by policy,
 * rotates by size or age without breaking the chain, writes (optionally signed) checkpoints, and on
 * open repairs a torn last line left by a crash and picks the chain up where it stopped.
 *
 * Durability, by `flush`:
 *  - 'every' (default): each record is one write() of one complete line, then fdatasync, before
 *    write() returns. A crash (process or machine) loses no record that write() returned.
 *  - 'batch': records are buffered in memory and written (one write() of complete lines) and
 *    fdatasynced when `maxRecords` are buffered or the oldest has waited `maxDelayMs`, whichever
 *    comes first, and before a rotation, a checkpoint and on close. A crash loses at most the records
 *    of the last `maxRecords` / `maxDelayMs` window (the ones not yet flushed); a failed background
 *    flush makes every later write() throw.
 *  - 'os': each record is one write() (in the OS page cache when write() returns), fsynced only at
 *    rotation, checkpoints and close. A process crash loses nothing; a machine crash or power loss can
 *    lose what the OS had not written back yet.
 * In every mode a record is never split across write() calls, so a crash can leave at most one torn
 * line, at the end of the current file; the next open moves it to `<path>.partial-<time>` and
 * records that in an `audit/repair` record.
 */
import { createHash, type KeyObject } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  statSync,
  writeSync
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { genesis, isHash, isSeq, nextRecord } from './chain.js';
import { checkpointLine, keyId, loadPrivateKey, makeCheckpoint, parseCheckpoint } from './checkpoints.js';
import { readFirstLine, readTail, type Tail } from './lines.js';
import type { AuditInput, AuditRecord, AuditRepair, AuditSink, ChainHead } from './types.js';

export interface FileAuditSinkOptions {
  /** When records reach the disk; see the top of this file. Default 'every'. */
  flush?: 'every' | 'batch' | 'os';
  /** 'batch': flush when this many records are buffered. Default 100. */
  maxRecords?: number;
  /** 'batch': flush when the oldest buffered record is this old. Default 100 ms. */
  maxDelayMs?: number;
  /** Rotate before a record would take the current file past this many bytes. */
  rotateBytes?: number;
  /** Rotate when the current file's first record is this old (checked at each write). */
  rotateMs?: number;
  /** Write a checkpoint every this many records (at seq multiples of it) and on close; 0: never. Default 1000. */
  checkpointEvery?: number;
  /** The checkpoint file. Default `<path>.checkpoints`; false: no checkpoints. */
  checkpoints?: string | false;
  /** Ed25519 private key that signs checkpoints: PEM text, a path to a PEM file, or a KeyObject. */
  signingKey?: string | KeyObject;
  /** Called with a failure the sink could not throw to a caller (a background batch flush). */
  onError?: (err: Error) => void;
  /** @deprecated Use `flush`: `fsync: true` is 'every', `fsync: false` is 'os'. */
  fsync?: boolean;
}

export interface FileAuditSink extends AuditSink {
  readonly path: string;
  /** The checkpoint file, or undefined when checkpoints are off. */
  readonly checkpointsPath: string | undefined;
  /** What the sink repaired when it opened the log (also recorded in an `audit/repair` record). */
  readonly repairs: AuditRepair[];
  /** The last record accepted (in 'batch' mode possibly not yet on disk). */
  head(): ChainHead;
  /** Write and fsync anything buffered. */
  flush(): void;
  /** Rotate now (no-op on an empty file). */
  rotate(): void;
  /** Write a checkpoint of the current head now (after flushing). */
  checkpoint(): void;
}

/** Logs open in this process: two sinks on one file would fork its chain. */
const openLogs = new Set<string>();

/** The rotated files of `path` (`<path>.1`, `<path>.2`, … oldest first), then `path` if it exists. */
export function listAuditFiles(path: string): string[] {
  const full = resolve(path);
  const files = rotatedFiles(full).map((r) => r.file);
  if (existsSync(full)) files.push(full);
  return files;
}

function rotatedFiles(path: string): Array<{ n: number; file: string }> {
  const dir = dirname(path);
  const prefix = basename(path) + '.';
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: Array<{ n: number; file: string }> = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    if (/^[1-9][0-9]*$/.test(rest)) out.push({ n: Number(rest), file: join(dir, name) });
  }
  return out.sort((a, b) => a.n - b.n);
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

/** A side-file name that does not exist yet. */
function freshName(base: string): string {
  let name = base;
  for (let i = 1; existsSync(name); i++) name = `${base}-${i}`;
  return name;
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not every platform can fsync a directory; the rename itself is still atomic.
  }
}

/** Write all of `data` at the end of `fd` (a short write continues where it stopped). */
function writeAll(fd: number, data: Buffer): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done);
}

/** Parse a stored record line far enough to continue its chain. */
function headOf(line: string): ChainHead | 'legacy' | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  if (isSeq(record.seq) && isHash(record.hash)) return { seq: record.seq, hash: record.hash };
  if (record.seq === undefined && record.hash === undefined && typeof record.v === 'number') return 'legacy';
  return undefined;
}

/** The sink's settings, from its options (the signing key loaded). */
function settingsOf(file: string, options: FileAuditSinkOptions) {
  const mode = options.flush ?? (options.fsync === false ? 'os' : 'every');
  const maxRecords = Math.max(1, options.maxRecords ?? 100);
  const maxDelayMs = Math.max(0, options.maxDelayMs ?? 100);
  const rotateBytes = options.rotateBytes && options.rotateBytes > 0 ? options.rotateBytes : undefined;
  const rotateMs = options.rotateMs && options.rotateMs > 0 ? options.rotateMs : undefined;
  const checkpointEvery = Math.max(0, Math.floor(options.checkpointEvery ?? 1000));
  const cpPath =
    options.checkpoints === false
      ? undefined
      : options.checkpoints
        ? resolve(options.checkpoints)
        : `${file}.checkpoints`;
  const signingKey = options.signingKey !== undefined ? loadPrivateKey(options.signingKey) : undefined;
  const kid = signingKey ? keyId(signingKey) : undefined;
  if (signingKey && !cpPath) throw new Error('audit signing key given but checkpoints are off');
  return { mode, maxRecords, maxDelayMs, rotateBytes, rotateMs, checkpointEvery, cpPath, signingKey, kid };
}

/** A log being opened: its descriptors (closed again if opening fails) and what was repaired. */
interface Opening {
  readonly file: string;
  readonly dir: string;
  fd: number;
  cpFd: number | undefined;
  /** The log file did not exist before (its directory entry needs an fsync). */
  created: boolean;
  readonly repairs: AuditRepair[];
}

/** Cut off a torn last line of the log, keeping its bytes in a side file. */
function cutTornLine(o: Opening): Tail {
  const tail = readTail(o.fd);
  if (tail.tail.length > 0) {
    const side = freshName(`${o.file}.partial-${stamp()}`);
    const sfd = openSync(side, 'wx', 0o600);
    try {
      writeAll(sfd, tail.tail);
      fdatasyncSync(sfd);
    } finally {
      closeSync(sfd);
    }
    ftruncateSync(o.fd, tail.tailStart);
    fdatasyncSync(o.fd);
    syncDir(o.dir);
    o.repairs.push({
      kind: 'partial_line',
      file: o.file,
      bytes: tail.tail.length,
      sha256: createHash('sha256').update(tail.tail).digest('hex'),
      moved_to: side
    });
  }
  return tail;
}

/**
 * Where the chain stands: the last line here, or of the newest rotated file when this one is
 * empty (a crash between rotating and the first write), or the start of a new chain.
 */
function findChainHead(
  o: Opening,
  opened: Tail,
  cpPath: string | undefined
): { head: ChainHead; tail: Tail; rotated: Array<{ n: number; file: string }> } {
  const { file } = o;
  let tail = opened;
  let head: ChainHead = genesis();
  if (tail.lastLine !== undefined) {
    const found = headOf(tail.lastLine);
    // Only a log that never had a chain is legacy: with rotated files or checkpoints around, a
    // last line without chain fields is damage, not an old format.
    const chained = rotatedFiles(file).length > 0 || (cpPath !== undefined && nonEmpty(cpPath));
    if (found === 'legacy' && !chained) {
      // A log from before the hash chain: keep it as it is, start the chain in a new file.
      closeSync(o.fd);
      const moved = freshName(`${file}.legacy-${stamp()}`);
      renameSync(file, moved);
      o.fd = openSync(file, 'a+', 0o600);
      o.created = true;
      o.repairs.push({ kind: 'legacy_log', file, moved_to: moved });
      tail = readTail(o.fd);
    } else if (found === undefined || found === 'legacy') {
      throw new Error(
        `audit log ${file}: the last line is not a chained audit record, so the chain cannot be ` +
          'continued safely; verify the log and move the file aside'
      );
    } else {
      head = found;
    }
  }
  const rotated = rotatedFiles(file);
  if (tail.lastLine === undefined && o.repairs.every((r) => r.kind !== 'legacy_log')) {
    const newest = rotated[rotated.length - 1];
    if (newest) {
      const rfd = openSync(newest.file, 'r');
      try {
        const rtail = readTail(rfd);
        const found = rtail.lastLine !== undefined ? headOf(rtail.lastLine) : undefined;
        if (rtail.tail.length > 0 || found === undefined || found === 'legacy') {
          throw new Error(`audit log ${newest.file}: the rotated file does not end with a chained record`);
        }
        head = found;
      } finally {
        closeSync(rfd);
      }
    }
  }
  return { head, tail, rotated };
}

/**
 * The checkpoint file: drop a torn last line, and note when the log no longer reaches the last
 * checkpoint (records were lost or removed: verification will name them). Returns the last
 * checkpoint's seq (0 when there is none).
 */
function openCheckpoints(o: Opening, cpPath: string | undefined, head: ChainHead): number {
  let lastCheckpointSeq = 0;
  if (cpPath) {
    mkdirSync(dirname(cpPath), { recursive: true });
    o.cpFd = openSync(cpPath, 'a+', 0o600);
    const cpTail = readTail(o.cpFd);
    if (cpTail.tail.length > 0) {
      ftruncateSync(o.cpFd, cpTail.tailStart);
      fdatasyncSync(o.cpFd);
      o.repairs.push({
        kind: 'partial_checkpoint',
        file: cpPath,
        bytes: cpTail.tail.length,
        sha256: createHash('sha256').update(cpTail.tail).digest('hex')
      });
    }
    const last = cpTail.lastLine !== undefined ? parseCheckpoint(cpTail.lastLine) : undefined;
    if (last) {
      lastCheckpointSeq = last.seq;
      if (last.seq > head.seq) {
        o.repairs.push({ kind: 'behind_checkpoint', file: o.file, checkpoint_seq: last.seq });
      }
    }
  }
  return lastCheckpointSeq;
}

export function createFileAuditSink(path: string, options: FileAuditSinkOptions = {}): FileAuditSink {
  const file = resolve(path);
  if (openLogs.has(file)) throw new Error(`audit log ${file} is already open in this process`);
  const settings = settingsOf(file, options);
  const { cpPath } = settings;

  const dir = dirname(file);
  mkdirSync(dir, { recursive: true });
  const repairs: AuditRepair[] = [];

  // Open the log and cut off a torn last line, keeping its bytes in a side file.
  const created = !existsSync(file);
  const o: Opening = { file, dir, fd: openSync(file, 'a+', 0o600), cpFd: undefined, created, repairs };
  try {
    const { head, tail, rotated } = findChainHead(o, cutTornLine(o), cpPath);
    if (o.created) syncDir(dir);
    const lastCheckpointSeq = openCheckpoints(o, cpPath, head);

    const { fd, cpFd } = o;
    const firstLine = tail.lastLine !== undefined ? readFirstLine(fd) : undefined;
    const firstTime = firstLine !== undefined ? Date.parse(headOf(firstLine) ? timeOf(firstLine) : '') : NaN;
    const sink = new FileSink({
      ...settings,
      file,
      dir,
      fd,
      cpFd,
      size: fstatSync(fd).size,
      openedAt: Number.isFinite(firstTime) ? firstTime : Date.now(),
      head,
      nextRotation: (rotated[rotated.length - 1]?.n ?? 0) + 1,
      lastCheckpointSeq,
      onError: options.onError,
      repairs
    });
    openLogs.add(file);
    if (repairs.length > 0) {
      sink.write({
        event: 'audit/repair',
        outcome: 'ok',
        reason: repairs.map(describeRepair).join('; '),
        repair: repairs
      });
      sink.flush();
    }
    return sink;
  } catch (err) {
    openLogs.delete(file);
    for (const open of [o.fd, o.cpFd]) {
      try {
        if (open !== undefined) closeSync(open);
      } catch {
        // Already closed: the error that brought us here is the one to report.
      }
    }
    throw err;
  }
}

function nonEmpty(path: string): boolean {
  try {
    return statSync(path).size > 0;
  } catch {
    return false;
  }
}

function timeOf(line: string): string {
  const value = JSON.parse(line) as { time?: unknown };
  return typeof value.time === 'string' ? value.time : '';
}

function describeRepair(r: AuditRepair): string {
  switch (r.kind) {
    case 'partial_line':
      return `a torn last line (${r.bytes} bytes, from a write that never completed) was moved to ${r.moved_to}`;
    case 'partial_checkpoint':
      return `a torn last checkpoint line (${r.bytes} bytes) was dropped from ${r.file}`;
    case 'legacy_log':
      return `a log without a hash chain was moved to ${r.moved_to}; a new chain starts here`;
    case 'behind_checkpoint':
      return `the log ends before the last checkpoint (seq ${r.checkpoint_seq}): records were lost or removed`;
  }
}

interface SinkState {
  file: string;
  dir: string;
  fd: number;
  cpFd: number | undefined;
  cpPath: string | undefined;
  size: number;
  openedAt: number;
  head: ChainHead;
  nextRotation: number;
  lastCheckpointSeq: number;
  mode: 'every' | 'batch' | 'os';
  maxRecords: number;
  maxDelayMs: number;
  rotateBytes: number | undefined;
  rotateMs: number | undefined;
  checkpointEvery: number;
  signingKey: KeyObject | undefined;
  kid: string | undefined;
  onError: ((err: Error) => void) | undefined;
  repairs: AuditRepair[];
}

class FileSink implements FileAuditSink {
  readonly path: string;
  readonly checkpointsPath: string | undefined;
  readonly repairs: AuditRepair[];
  private fd: number | undefined;
  private cpFd: number | undefined;
  private size: number;
  private openedAt: number;
  private chain: ChainHead;
  private nextRotation: number;
  private lastCheckpointSeq: number;
  private buffer: string[] = [];
  private bufferedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private failed: Error | undefined;
  /** Data written since the last fsync ('os' mode). */
  private dirty = false;

  constructor(private readonly s: SinkState) {
    this.path = s.file;
    this.checkpointsPath = s.cpPath;
    this.repairs = s.repairs;
    this.fd = s.fd;
    this.cpFd = s.cpFd;
    this.size = s.size;
    this.openedAt = s.openedAt;
    this.chain = s.head;
    this.nextRotation = s.nextRotation;
    this.lastCheckpointSeq = s.lastCheckpointSeq;
  }

  head(): ChainHead {
    return { ...this.chain };
  }

  write(input: AuditInput): AuditRecord {
    if (this.fd === undefined) throw new Error('audit log is closed');
    if (this.failed) throw new Error(`audit log failed earlier: ${this.failed.message}`);
    const { record, line } = nextRecord(input, this.chain);
    if (this.s.mode === 'batch') {
      const bytes = Buffer.byteLength(line);
      if (this.rotationDue(bytes)) this.rotate();
      this.buffer.push(line);
      this.bufferedBytes += bytes;
      this.chain = { seq: record.seq, hash: record.hash };
      if (this.buffer.length >= this.s.maxRecords) this.flush();
      else this.timer ??= setTimeout(() => this.flushInBackground(), this.s.maxDelayMs).unref();
    } else {
      // Encoded once: its length is the byte count the rotation check needs.
      const data = Buffer.from(line);
      if (this.rotationDue(data.length)) this.rotate();
      this.append(data, this.s.mode === 'every');
      this.chain = { seq: record.seq, hash: record.hash };
    }
    if (this.s.checkpointEvery > 0 && record.seq % this.s.checkpointEvery === 0) this.checkpoint();
    return record;
  }

  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.failed) throw new Error(`audit log failed earlier: ${this.failed.message}`);
    if (this.buffer.length > 0) {
      const data = Buffer.from(this.buffer.join(''));
      this.buffer = [];
      this.bufferedBytes = 0;
      try {
        this.append(data, true);
      } catch (err) {
        // The buffered records are gone (they were already acknowledged): refuse every later write.
        this.failed ??= err as Error;
        throw err;
      }
    } else if (this.dirty) {
      this.sync();
    }
  }

  rotate(): void {
    if (this.fd === undefined) throw new Error('audit log is closed');
    this.flush();
    if (this.size === 0) return;
    const target = `${this.s.file}.${this.nextRotation}`;
    if (existsSync(target)) throw new Error(`cannot rotate the audit log: ${target} already exists`);
    if (this.dirty) this.sync();
    closeSync(this.fd);
    this.fd = undefined;
    try {
      renameSync(this.s.file, target);
      this.nextRotation += 1;
    } finally {
      // Reopen whatever is at the path now: the fresh file, or the old one if the rename failed.
      this.fd = openSync(this.s.file, 'a+', 0o600);
      this.size = fstatSync(this.fd).size;
      syncDir(this.s.dir);
    }
    this.openedAt = Date.now();
  }

  checkpoint(): void {
    if (this.cpFd === undefined || this.chain.seq === 0) return;
    this.flush();
    if (this.dirty) this.sync();
    const cp = makeCheckpoint(this.chain.seq, this.chain.hash, this.s.signingKey, this.s.kid);
    writeAll(this.cpFd, Buffer.from(checkpointLine(cp)));
    fdatasyncSync(this.cpFd);
    this.lastCheckpointSeq = cp.seq;
  }

  async close(): Promise<void> {
    if (this.fd === undefined) return;
    let error: unknown;
    try {
      this.flush();
      if (this.chain.seq !== this.lastCheckpointSeq) this.checkpoint();
      if (this.dirty) this.sync();
    } catch (err) {
      error = err;
    } finally {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      closeSync(this.fd);
      this.fd = undefined;
      if (this.cpFd !== undefined) closeSync(this.cpFd);
      this.cpFd = undefined;
      openLogs.delete(this.s.file);
    }
    if (error) throw error;
  }

  private rotationDue(bytes: number): boolean {
    const size = this.size + this.bufferedBytes;
    if (size === 0) return false;
    if (this.s.rotateBytes !== undefined && size + bytes > this.s.rotateBytes) return true;
    return this.s.rotateMs !== undefined && Date.now() - this.openedAt >= this.s.rotateMs;
  }

  /** One write of complete lines; on failure, cut the file back so no torn line stays behind. */
  private append(data: Buffer, sync: boolean): void {
    const fd = this.fd!;
    try {
      writeAll(fd, data);
    } catch (err) {
      try {
        ftruncateSync(fd, this.size);
      } catch {
        this.failed ??= err as Error;
      }
      throw err;
    }
    if (this.size === 0) this.openedAt = Date.now();
    this.size += data.length;
    if (sync) this.sync();
    else this.dirty = true;
  }

  private sync(): void {
    try {
      fdatasyncSync(this.fd!);
      this.dirty = false;
    } catch (err) {
      // After a failed fsync the page cache cannot be trusted to reach the disk: stop here.
      this.failed ??= err as Error;
      throw err;
    }
  }

  private flushInBackground(): void {
    this.timer = undefined;
    try {
      this.flush();
    } catch (err) {
      this.s.onError?.(err as Error);
    }
  }
}
