/**
 * Verification of a hash-chained audit log: walks the files in order (rotated ones oldest first, then
 * the current one), checks every record's own hash, canonical form and link to the one before it,
 * checks the checkpoints (signatures, and that the log still reaches and matches them), and reports
 * either ok or the FIRST bad record with the file, line, seq and the reason.
 *
 * What a chain without checkpoints cannot show: records removed from the end, or a whole log
 * rewritten and rehashed from some point on. Checkpoints pin the log up to their seq (kept off-box or
 * signed, a rewrite or truncation before the last checkpoint is detected); records appended after
 * the last checkpoint are covered only once the next checkpoint is written.
 */
import { existsSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { GENESIS_HASH, isHash, isSeq, sealText } from './chain.js';
import { loadPublicKey, parseCheckpoint, verifyCheckpointSignature, type Checkpoint } from './checkpoints.js';
import { readLines } from './lines.js';

export type VerifyReason =
  /** The record's content does not match its hash, or its bytes are not the canonical encoding. */
  | 'modified'
  /** One or more records are missing here (a seq gap). */
  | 'deleted'
  /** Records are out of order. */
  | 'reordered'
  /** A record that is not part of the chain was inserted. */
  | 'inserted'
  /** `prev` does not match the record before it, and the cause cannot be told apart. */
  | 'broken_link'
  /** The log ends before the last checkpoint: records were removed from the end. */
  | 'truncated'
  /** The last line has no newline: a write that never completed (or a cut file). */
  | 'partial_line'
  /** A line that is not a chained audit record. */
  | 'malformed'
  /** A file in the list does not exist. */
  | 'missing_file'
  /** A checkpoint file was required but is missing. */
  | 'missing_checkpoints'
  /** A checkpoint line that is not a checkpoint. */
  | 'malformed_checkpoint'
  /** A checkpoint whose hash differs from the record at its seq (log rewritten, or checkpoint forged). */
  | 'checkpoint_mismatch'
  /** A checkpoint signature that does not verify with the public key (forged, or another key). */
  | 'bad_signature'
  /** A public key was given but a checkpoint has no signature. */
  | 'unsigned_checkpoint';

export interface VerifyProblem {
  reason: VerifyReason;
  message: string;
  /** The log file and 1-based line of the bad record (for checkpoint problems: the checkpoint file). */
  file: string;
  line: number;
  /** The seq of the bad record: as the record claims it, or the seq that should be there. */
  seq?: number;
  /** The seq the chain expected at this position. */
  expectedSeq?: number;
  /** The checkpoint involved, if any. */
  checkpoint?: { file: string; line: number; seq: number };
}

export interface VerifyReport {
  ok: boolean;
  files: string[];
  /** For a log that is not files: what was verified (a PostgreSQL table); problems then name rows. */
  source?: string;
  /** Records that verified before the first problem (all of them when ok). */
  records: number;
  /** The last good record. */
  head?: { seq: number; hash: string; file: string; line: number };
  /** Checkpoints checked, and whether their signatures were. */
  checkpoints: number;
  signed: boolean;
  problem?: VerifyProblem;
  /** Things worth knowing that do not make the log bad (a torn last checkpoint line, ...). */
  warnings: string[];
}

export interface VerifyOptions {
  /** The checkpoint file; when given it must exist, and the log must reach and match every checkpoint. */
  checkpoints?: string;
  /** Ed25519 public key (PEM text, a path to a PEM file, or a KeyObject): every checkpoint must be signed by it. */
  publicKey?: string | KeyObject;
  /**
   * Accept a log whose first file does not start the chain (older rotated files deleted by retention):
   * the first record is trusted as the start, and checkpoints before it are skipped.
   */
  allowTruncatedStart?: boolean;
}

/** One stored line as the verifier meets it: where it is, and what parsing and resealing it gave. */
export interface Entry {
  /** The log file (for PostgreSQL: the table). */
  file: string;
  /** 1-based line (for PostgreSQL: the row's seq column). */
  line: number;
  kind: 'record' | 'partial' | 'malformed';
  /** 'record' entries whose hash or canonical form is wrong. */
  sealed?: boolean;
  seq?: number;
  prev?: string;
  hash?: string;
  why?: string;
}

function* entries(files: string[]): Generator<Entry> {
  for (const file of files) {
    for (const { line, text, complete } of readLines(file)) {
      if (!complete) {
        yield { file, line, kind: 'partial' };
        continue;
      }
      yield parseEntry(file, line, text);
    }
  }
}

/** Parse one stored record and check that it is sealed: its hash and its exact canonical bytes. */
export function parseEntry(
  file: string,
  line: number,
  text: string,
  /** A further check of a sealed record (a store's own copies of its fields); returns what is wrong. */
  check?: (record: Record<string, unknown>) => string | undefined
): Entry {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { file, line, kind: 'malformed', why: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { file, line, kind: 'malformed', why: 'not a JSON object' };
  }
  const record = value as Record<string, unknown>;
  if (!isSeq(record.seq) || !isHash(record.prev) || !isHash(record.hash)) {
    return { file, line, kind: 'malformed', why: 'no valid seq, prev and hash (not a chained record)' };
  }
  const sealed = sealText(record);
  let why: string | undefined;
  if (sealed.hash !== record.hash) why = 'its content does not match its hash';
  else if (sealed.line !== text) why = 'its bytes are not the canonical encoding (the line was edited)';
  else if (check) why = check(record);
  return {
    file,
    line,
    kind: 'record',
    sealed: why === undefined,
    seq: record.seq,
    prev: record.prev,
    hash: record.hash,
    ...(why ? { why } : {})
  };
}

export interface LoadedCheckpoint extends Checkpoint {
  /** Line in the checkpoint file (for PostgreSQL: the checkpoint's seq). */
  line: number;
}

export function emptyReport(files: string[]): VerifyReport {
  return { ok: false, files: [...files], records: 0, checkpoints: 0, signed: false, warnings: [] };
}

/**
 * Check one checkpoint's signature when a key is required; the problem, or undefined when it is
 * fine (or no key was given).
 */
export function checkpointProblem(
  cp: LoadedCheckpoint,
  file: string,
  key: KeyObject | undefined
): VerifyProblem | undefined {
  if (!key) return undefined;
  const at = { file, line: cp.line, seq: cp.seq };
  if (cp.sig === undefined) {
    return {
      reason: 'unsigned_checkpoint',
      message: `checkpoint for seq ${cp.seq} is not signed`,
      file,
      line: cp.line,
      seq: cp.seq,
      checkpoint: at
    };
  }
  if (!verifyCheckpointSignature(cp, key)) {
    return {
      reason: 'bad_signature',
      message:
        `checkpoint for seq ${cp.seq} has a signature that does not verify with this public key ` +
        '(forged, altered, or signed by another key' +
        (cp.kid ? `: it names key ${cp.kid}` : '') +
        ')',
      file,
      line: cp.line,
      seq: cp.seq,
      checkpoint: at
    };
  }
  return undefined;
}

export function verifyAuditLog(files: string[], options: VerifyOptions = {}): VerifyReport {
  const report = emptyReport(files);
  const fail = (problem: VerifyProblem): VerifyReport => ({ ...report, ok: false, problem });

  for (const file of files) {
    if (!existsSync(file)) {
      return fail({ reason: 'missing_file', message: `${file} does not exist`, file, line: 0 });
    }
  }

  // Checkpoints: load, check form and signatures. Problems found here compete with record problems
  // by seq (the earlier one is reported).
  const cpFile = options.checkpoints;
  let key: KeyObject | undefined;
  if (options.publicKey !== undefined) {
    key = loadPublicKey(options.publicKey);
    report.signed = true;
  }
  const checkpoints: LoadedCheckpoint[] = [];
  let cpProblem: VerifyProblem | undefined;
  if (cpFile === undefined && key) {
    return fail({
      reason: 'missing_checkpoints',
      message: 'a public key was given but no checkpoint file to check it against',
      file: '',
      line: 0
    });
  }
  if (cpFile !== undefined) {
    if (!existsSync(cpFile)) {
      return fail({
        reason: 'missing_checkpoints',
        message: `the checkpoint file ${cpFile} is missing (deleted, or never written)`,
        file: cpFile,
        line: 0
      });
    }
    for (const { line, text, complete } of readLines(cpFile)) {
      if (!complete) {
        report.warnings.push(`${cpFile}:${line}: torn last checkpoint line ignored`);
        continue;
      }
      const cp = parseCheckpoint(text);
      if (!cp) {
        cpProblem ??= {
          reason: 'malformed_checkpoint',
          message: 'not a checkpoint line',
          file: cpFile,
          line
        };
        continue;
      }
      checkpoints.push({ ...cp, line });
      cpProblem ??= checkpointProblem({ ...cp, line }, cpFile, key);
    }
  }
  report.checkpoints = checkpoints.length;

  const walk = new ChainWalk(report, checkpoints, cpFile ?? '', options.allowTruncatedStart === true);
  for (const entry of entries(files)) if (!walk.push(entry)) break;
  const problem = earliest(
    walk.finish(() => [...entries(files)]),
    cpProblem
  );
  if (problem) return fail(problem);
  return { ...report, ok: true };
}

/**
 * The walk along a chain, one stored record at a time, in storage order: every record must be sealed,
 * carry the next seq and link to the one before, and match the checkpoints at its seq. Fills in the
 * report's record count and head; `finish` names the first problem, if any.
 */
export class ChainWalk {
  private expectedSeq = 1;
  private expectedPrev = GENESIS_HASH;
  private first = true;
  private lastGood: Entry | undefined;
  private lastFile: string;
  private lastLine = 0;
  private index = 0;
  private problem: VerifyProblem | undefined;
  /** Set when the walk stopped at a record that is well formed but does not link. */
  private unlinked = false;
  private readonly bySeq = new Map<number, LoadedCheckpoint[]>();

  constructor(
    private readonly report: VerifyReport,
    private readonly checkpoints: LoadedCheckpoint[],
    private readonly cpFile: string,
    private readonly allowTruncatedStart: boolean
  ) {
    this.lastFile = report.files[report.files.length - 1] ?? '';
    for (const cp of checkpoints) {
      const list = this.bySeq.get(cp.seq);
      if (list) list.push(cp);
      else this.bySeq.set(cp.seq, [cp]);
    }
  }

  /** The walk stopped at a record that does not link: `finish` will need every stored record. */
  get needsAll(): boolean {
    return this.unlinked;
  }

  /** Check the next stored record; false once the walk has stopped at a problem. */
  push(entry: Entry): boolean {
    if (this.problem || this.unlinked) return false;
    const { report } = this;
    this.lastFile = entry.file;
    this.lastLine = entry.line;
    if (entry.kind === 'partial') {
      this.problem = {
        reason: 'partial_line',
        message: 'the line has no newline: a write that never completed, or the file was cut',
        file: entry.file,
        line: entry.line,
        expectedSeq: this.expectedSeq
      };
      return false;
    }
    if (entry.kind === 'malformed') {
      this.problem = {
        reason: 'malformed',
        message: `not a chained audit record: ${entry.why}`,
        file: entry.file,
        line: entry.line,
        expectedSeq: this.expectedSeq
      };
      return false;
    }
    if (!entry.sealed) {
      this.problem = {
        reason: 'modified',
        message: `record seq ${entry.seq} was modified: ${entry.why}`,
        file: entry.file,
        line: entry.line,
        seq: entry.seq!,
        expectedSeq: this.expectedSeq
      };
      return false;
    }
    if (this.first && this.allowTruncatedStart) {
      this.expectedSeq = entry.seq!;
      this.expectedPrev = entry.prev!;
      if (this.expectedSeq > 1) report.warnings.push(`the log starts at seq ${this.expectedSeq}, not 1`);
    }
    this.first = false;
    if (entry.seq !== this.expectedSeq || entry.prev !== this.expectedPrev) {
      this.unlinked = true;
      return false;
    }
    for (const cp of this.bySeq.get(entry.seq) ?? []) {
      if (cp.hash !== entry.hash) {
        const before = this.checkpoints.filter((c) => c.seq < cp.seq).reduce((m, c) => Math.max(m, c.seq), 0);
        this.problem = {
          reason: 'checkpoint_mismatch',
          message:
            `record seq ${entry.seq} does not match the checkpoint for it: the log was rewritten ` +
            (before > 0 ? `after seq ${before} (the previous checkpoint) ` : '') +
            'up to here, or the checkpoint was forged',
          file: entry.file,
          line: entry.line,
          seq: entry.seq,
          expectedSeq: this.expectedSeq,
          checkpoint: { file: this.cpFile, line: cp.line, seq: cp.seq }
        };
        return false;
      }
    }
    this.lastGood = entry;
    report.records += 1;
    report.head = { seq: entry.seq!, hash: entry.hash!, file: entry.file, line: entry.line };
    this.expectedSeq += 1;
    this.expectedPrev = entry.hash!;
    this.index += 1;
    return true;
  }

  /**
   * The first problem, or undefined. `all` gives every stored record again, in order: naming what
   * happened at a record that does not link (deleted, reordered, inserted) needs the whole log.
   */
  finish(all: () => Entry[]): VerifyProblem | undefined {
    if (this.unlinked) {
      return classify(all(), this.index, this.expectedSeq, this.expectedPrev, this.lastGood);
    }
    if (this.problem) return this.problem;
    // A log that verified but stops before a checkpoint has lost its tail.
    const lastSeq = this.lastGood?.seq ?? 0;
    const beyond = this.checkpoints.filter((c) => c.seq > lastSeq).sort((a, b) => a.seq - b.seq)[0];
    if (this.allowTruncatedStart && this.lastGood) {
      const firstSeq = this.lastGood.seq! - this.report.records + 1;
      const skipped = this.checkpoints.filter((c) => c.seq < firstSeq).length;
      if (skipped > 0)
        this.report.warnings.push(`${skipped} checkpoint(s) before seq ${firstSeq} not checked`);
    }
    if (beyond) {
      return {
        reason: 'truncated',
        message:
          `the log ends at seq ${lastSeq} but a checkpoint records seq ${beyond.seq}: ` +
          `records ${lastSeq + 1}..${beyond.seq} were removed from the end`,
        file: this.lastFile,
        line: this.lastLine + 1,
        seq: lastSeq + 1,
        expectedSeq: lastSeq + 1,
        checkpoint: { file: this.cpFile, line: beyond.line, seq: beyond.seq }
      };
    }
    return undefined;
  }
}

/** The problem at the lower seq; a record problem wins a tie (it is the cause). */
export function earliest(
  a: VerifyProblem | undefined,
  b: VerifyProblem | undefined
): VerifyProblem | undefined {
  if (!a || !b) return a ?? b;
  const sa = a.seq ?? a.expectedSeq ?? 0;
  const sb = b.seq ?? 0;
  return sb < sa ? b : a;
}

/**
 * Name what went wrong at the first record that is well formed but does not link (wrong seq or
 * prev), using the whole log: where the expected record is, which records anything links to.
 */
function classify(
  stored: Entry[],
  at: number,
  expectedSeq: number,
  expectedPrev: string,
  previous: Entry | undefined
): VerifyProblem {
  const all = stored.map(({ file, line, kind, sealed, seq, prev, hash }) => ({
    file,
    line,
    ok: kind === 'record' && sealed === true,
    seq: seq ?? 0,
    prev: prev ?? '',
    hash: hash ?? ''
  }));
  const e = all[at]!;
  const where = (x: { file: string; line: number }) => `${x.file}:${x.line}`;
  const base = { file: e.file, line: e.line, seq: e.seq, expectedSeq };
  const referenced = new Set<string>();
  const seqCount = new Map<number, number>();
  const byHash = new Map<string, (typeof all)[number]>();
  let maxSeq = 0;
  for (const x of all) {
    if (!x.ok) continue;
    referenced.add(x.prev);
    seqCount.set(x.seq, (seqCount.get(x.seq) ?? 0) + 1);
    byHash.set(x.hash, x);
    maxSeq = Math.max(maxSeq, x.seq);
  }
  // A record nothing links to, that is not the end of the chain either: not part of the chain.
  const orphan = (x: (typeof all)[number]) => {
    if (referenced.has(x.hash)) return false;
    const before = byHash.get(x.prev);
    const tail =
      x.seq === maxSeq && seqCount.get(x.seq) === 1 && before !== undefined && before.seq === x.seq - 1;
    return !tail;
  };

  // The record the chain expected: somewhere later?
  let j = -1;
  for (let k = at + 1; k < all.length; k++) {
    const x = all[k]!;
    if (x.ok && x.seq === expectedSeq && x.prev === expectedPrev) {
      j = k;
      break;
    }
  }
  if (j !== -1) {
    const found = all[j]!;
    // A copy of a record that is already in the log (a replay) is as foreign as a forgery.
    const firstAt = new Map<string, number>();
    all.forEach((x, k) => {
      if (x.ok && !firstAt.has(x.hash)) firstAt.set(x.hash, k);
    });
    const foreign = (x: (typeof all)[number], k: number) => orphan(x) || (firstAt.get(x.hash) ?? k) < k;
    if (all.slice(at, j).every((x, k) => foreign(x, at + k))) {
      return {
        reason: 'inserted',
        message:
          `record at this line (claiming seq ${e.seq}) is not part of the chain: it was inserted ` +
          `(the chain continues with seq ${expectedSeq} at ${where(found)})`,
        ...base
      };
    }
    return {
      reason: 'reordered',
      message: `records are out of order: seq ${e.seq} is here, but seq ${expectedSeq} comes next and is at ${where(found)}`,
      ...base
    };
  }

  if (e.seq === expectedSeq) {
    // Right place, wrong prev. If the next record links to this one, this one belongs to the chain
    // and the record before it was rewritten (with its hash recomputed).
    const next = all[at + 1];
    if (previous && next && next.ok && next.prev === e.hash && next.seq === e.seq + 1) {
      return {
        reason: 'modified',
        message:
          `record seq ${previous.seq} was modified and its hash recomputed: ` +
          `the next record (${where(e)}) still links to the original`,
        file: previous.file,
        line: previous.line,
        seq: previous.seq!,
        expectedSeq: previous.seq!
      };
    }
    return {
      reason: 'broken_link',
      message:
        `record seq ${e.seq}'s prev does not match the record before it: ` +
        'this record was replaced, or the one before it was rewritten',
      ...base
    };
  }

  if (e.seq > expectedSeq) {
    const missing =
      e.seq - 1 === expectedSeq ? `seq ${expectedSeq} is` : `seqs ${expectedSeq}..${e.seq - 1} are`;
    return {
      reason: 'deleted',
      message:
        `record ${missing} missing before this one (seq ${e.seq})` +
        (e.line === 1 && previous && previous.file !== e.file ? ` (was a file between these removed?)` : ''),
      ...base
    };
  }

  // A seq the chain has already passed: a replayed copy, a fork, or a record moved back.
  const earlier = all.slice(0, at).find((x) => x.ok && x.seq === e.seq);
  if (earlier && earlier.hash === e.hash) {
    return {
      reason: 'inserted',
      message: `record seq ${e.seq} is a copy of the one at ${where(earlier)}: it was inserted`,
      ...base
    };
  }
  if (earlier && earlier.prev === e.prev && orphan(earlier) && !orphan(e)) {
    return {
      reason: 'inserted',
      message:
        `record at this line (claiming seq ${earlier.seq}) is not part of the chain: it was inserted ` +
        `(the chain continues from the seq ${e.seq} at ${where(e)})`,
      file: earlier.file,
      line: earlier.line,
      seq: earlier.seq,
      expectedSeq: earlier.seq
    };
  }
  if (orphan(e)) {
    return {
      reason: 'inserted',
      message: `record at this line (claiming seq ${e.seq}) is not part of the chain: it was inserted`,
      ...base
    };
  }
  return {
    reason: 'reordered',
    message: `records are out of order: seq ${e.seq} comes after seq ${expectedSeq - 1}`,
    ...base
  };
}

/** A human-readable report for the CLI: one summary line, then the problem or warnings. */
export function formatVerifyReport(report: VerifyReport): string {
  const files = report.source ?? `${report.files.length} file${report.files.length === 1 ? '' : 's'}`;
  const cps =
    report.checkpoints > 0
      ? `, ${report.checkpoints} checkpoint${report.checkpoints === 1 ? '' : 's'}${report.signed ? ' (signatures checked)' : ''}`
      : '';
  const lines: string[] = [];
  if (report.ok) {
    const head = report.head ? `, head seq ${report.head.seq} ${report.head.hash.slice(0, 16)}…` : '';
    lines.push(`ok: ${report.records} record${report.records === 1 ? '' : 's'} in ${files}${head}${cps}`);
  } else {
    const p = report.problem!;
    const seq =
      p.seq !== undefined
        ? ` seq ${p.seq}`
        : p.expectedSeq !== undefined
          ? ` (expected seq ${p.expectedSeq})`
          : '';
    const at = p.file ? `${p.file}${p.line > 0 ? `:${p.line}` : ''}` : 'audit log';
    lines.push(`FAILED: ${at}${seq}: ${p.reason}: ${p.message}`);
    if (p.checkpoint)
      lines.push(`  checkpoint: ${p.checkpoint.file}:${p.checkpoint.line} (seq ${p.checkpoint.seq})`);
    lines.push(
      `  ${report.records} record${report.records === 1 ? '' : 's'} verified before it, in ${files}${cps}`
    );
  }
  for (const w of report.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}
