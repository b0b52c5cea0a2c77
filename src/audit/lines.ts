/**
 * Line-level file reading for JSONL logs: a streaming line reader (for verification, without loading
 * a whole log into memory) and a backwards reader that finds the last complete line and any torn
 * tail (for a sink reopening a log after a crash).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const CHUNK = 1 << 16;
const NL = 0x0a;

interface Line {
  /** 1-based line number. */
  line: number;
  text: string;
  /** False for a last line with no newline after it. */
  complete: boolean;
}

/** The lines of a file, read in chunks. */
export function* readLines(path: string): Generator<Line> {
  const fd = openSync(path, 'r');
  try {
    let pending: Buffer = Buffer.alloc(0);
    let line = 0;
    const chunk = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const n = readSync(fd, chunk, 0, CHUNK, null);
      if (n === 0) break;
      let data = pending.length > 0 ? Buffer.concat([pending, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      let start = 0;
      for (let nl = data.indexOf(NL, start); nl !== -1; nl = data.indexOf(NL, start)) {
        line += 1;
        yield { line, text: data.toString('utf8', start, nl), complete: true };
        start = nl + 1;
      }
      // Copy the remainder: `chunk` is reused by the next read.
      data = data.subarray(start);
      pending = Buffer.from(data);
    }
    if (pending.length > 0) yield { line: line + 1, text: pending.toString('utf8'), complete: false };
  } finally {
    closeSync(fd);
  }
}

export interface Tail {
  size: number;
  /** The last newline-terminated line (without its newline), if there is one. */
  lastLine?: string;
  /** Offset just after the last newline (0 when there is none): where a torn tail starts. */
  tailStart: number;
  /** The bytes after the last newline: a line whose write never completed. Empty when clean. */
  tail: Buffer;
}

/** Inspect the end of an open file: its last complete line and any partial line after it. */
export function readTail(fd: number): Tail {
  const size = fstatSync(fd).size;
  let buf: Buffer = Buffer.alloc(0);
  let pos = size;
  let lastNl = -1;
  for (;;) {
    const from = Math.max(0, pos - CHUNK);
    const piece = Buffer.alloc(pos - from);
    if (piece.length > 0) readFully(fd, piece, from);
    buf = Buffer.concat([piece, buf]);
    pos = from;
    // Offsets in `buf` are relative to `pos`.
    if (lastNl === -1) lastNl = buf.lastIndexOf(NL);
    else lastNl += piece.length;
    if (lastNl === -1) {
      if (pos === 0) return { size, tailStart: 0, tail: buf };
      continue;
    }
    const before = lastNl === 0 ? -1 : buf.lastIndexOf(NL, lastNl - 1);
    if (before === -1 && pos > 0) continue;
    return {
      size,
      lastLine: buf.toString('utf8', before + 1, lastNl),
      tailStart: pos + lastNl + 1,
      tail: buf.subarray(lastNl + 1)
    };
  }
}

/** The first line of an open file (complete or not), or undefined for an empty file. */
export function readFirstLine(fd: number): string | undefined {
  const size = fstatSync(fd).size;
  let buf: Buffer = Buffer.alloc(0);
  for (let pos = 0; pos < size;) {
    const piece = Buffer.alloc(Math.min(CHUNK, size - pos));
    readFully(fd, piece, pos);
    pos += piece.length;
    buf = Buffer.concat([buf, piece]);
    const nl = buf.indexOf(NL);
    if (nl !== -1) return buf.toString('utf8', 0, nl);
  }
  return buf.length > 0 ? buf.toString('utf8') : undefined;
}

function readFully(fd: number, into: Buffer, position: number): void {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw new Error('file shrank while it was being read');
    done += n;
  }
}
