// The hash chain stays byte-for-byte what earlier builds wrote: a log written before the fast paths
// in chain.ts and canonical.ts verifies, and each of its records seals to the very same line.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical.js';
import { createHash } from 'node:crypto';
import {
  GENESIS_HASH,
  RECORD_DOMAIN,
  genesis,
  isHash,
  isSeq,
  nextRecord,
  openRecord,
  sealAfter,
  sealText,
  sha256Hex,
  type OpenRecord
} from './chain.js';
import { formatVerifyReport, verifyAuditLog, type AuditInput, type AuditRecord } from './index.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** 40 records written by the build before the fast paths: escapes, surrogates, numbers, nesting. */
const BEFORE = join(HERE, 'fixtures', 'before-fast-paths.jsonl');

describe('chain compatibility', () => {
  it('verifies a log written by an earlier build', () => {
    const report = verifyAuditLog([BEFORE]);
    expect(report.ok, formatVerifyReport(report)).toBe(true);
    expect(report.records).toBe(40);
  });

  it('seals every record of that log to the line it is stored as', () => {
    const lines = readFileSync(BEFORE, 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(40);
    for (const line of lines) {
      const record = JSON.parse(line) as AuditRecord;
      const sealed = sealText(record);
      expect(sealed.hash).toBe(record.hash);
      expect(sealed.line).toBe(line);
    }
  });

  it('nextRecord builds what sealAfter(openRecord(...)) builds: same fields, same order, same line', () => {
    const input = JSON.parse(readFileSync(BEFORE, 'utf8').split('\n')[5]!) as Record<string, unknown>;
    for (const key of ['v', 'id', 'time', 'seq', 'prev', 'hash']) delete input[key];
    const head = { seq: 7, hash: 'a'.repeat(64) };
    const { record, line } = nextRecord(input as AuditInput, head);
    expect(Object.keys(record)).toEqual(['v', 'id', 'time', ...Object.keys(input), 'seq', 'prev', 'hash']);
    expect(record).toMatchObject({ ...input, v: 1, seq: 8, prev: head.hash });
    // The same open record through the two-step path gives the same line.
    const open = { v: record.v, id: record.id, time: record.time, ...input } as OpenRecord;
    const twoStep = sealAfter(open, head);
    expect(Object.keys(twoStep.record)).toEqual(Object.keys(record));
    expect(twoStep.line).toBe(line);
    expect(line).toBe(`${sealText(record).line}\n`);
    expect(
      nextRecord({ event: 'tools/list', outcome: 'ok' }, { seq: 0, hash: GENESIS_HASH }).record.seq
    ).toBe(1);
  });

  it('sealAfter keeps an own __proto__ field of a parsed record as a field', () => {
    const open = JSON.parse(
      '{"v":1,"id":"i","time":"t","event":"tools/call","__proto__":{"x":1},"outcome":"ok"}'
    ) as OpenRecord;
    const { record, line } = sealAfter(open, { seq: 1, hash: GENESIS_HASH });
    expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
    expect(Object.keys(record)).toEqual([
      'v',
      'id',
      'time',
      'event',
      '__proto__',
      'outcome',
      'seq',
      'prev',
      'hash'
    ]);
    expect(line).toContain('"__proto__":{"x":1}');
  });
});

describe('canonical strings', () => {
  it('quote every UTF-16 code unit exactly as JSON.stringify does', () => {
    for (let c = 0; c <= 0xffff; c++) {
      const s = String.fromCharCode(c);
      if (canonicalJson(s) !== JSON.stringify(s))
        expect(canonicalJson(s), `U+${c.toString(16)}`).toBe(JSON.stringify(s));
      const t = `a${s}b`;
      if (canonicalJson(t) !== JSON.stringify(t))
        expect(canonicalJson(t), `U+${c.toString(16)}`).toBe(JSON.stringify(t));
    }
    for (const s of ['😀', '\ud83d\ude00x\ud83d', 'x\ude00', '"\\', 'plain text', '']) {
      expect(canonicalJson(s)).toBe(JSON.stringify(s));
      expect(canonicalJson({ [s]: s })).toBe(`{${JSON.stringify(s)}:${JSON.stringify(s)}}`);
    }
  });
});

describe('chain fields', () => {
  it('a hash is exactly 64 lower-case hex characters, and nothing else is one', () => {
    expect(isHash('a'.repeat(64))).toBe(true);
    expect(isHash(GENESIS_HASH)).toBe(true);
    for (const bad of [
      'a'.repeat(63),
      'a'.repeat(65),
      'x' + 'a'.repeat(64),
      'a'.repeat(64) + 'x',
      'A'.repeat(64),
      'g'.repeat(64),
      '',
      64,
      null,
      undefined,
      ['a'.repeat(64)]
    ])
      expect(isHash(bad), String(bad)).toBe(false);
  });

  it('a position is a safe integer from 1', () => {
    for (const good of [1, 2, 40, Number.MAX_SAFE_INTEGER]) expect(isSeq(good)).toBe(true);
    for (const bad of [0, -1, 1.5, Number.MAX_SAFE_INTEGER + 1, NaN, Infinity, '1', null, undefined, [1]])
      expect(isSeq(bad), String(bad)).toBe(false);
  });

  it('a chain starts at position 0 after the all-zero hash, and its first record is at 1', () => {
    expect(genesis()).toEqual({ seq: 0, hash: '0'.repeat(64) });
    const { record } = nextRecord({ event: 'tools/call' } as AuditInput, genesis());
    expect(record.seq).toBe(1);
    expect(record.prev).toBe('0'.repeat(64));
    expect(isHash(record.hash)).toBe(true);
  });

  it('an open record has the schema version, a fresh id, the time and the caller fields, and no chain fields', () => {
    const a = openRecord({ event: 'tools/call', tool: 'x' } as AuditInput);
    const b = openRecord({ event: 'tools/call', tool: 'x' } as AuditInput);
    expect(Object.keys(a).slice(0, 3)).toEqual(['v', 'id', 'time']);
    expect(a).toMatchObject({ event: 'tools/call', tool: 'x' });
    expect(typeof a.v).toBe('number');
    expect(a.id).not.toBe(b.id);
    expect(Number.isNaN(Date.parse(a.time))).toBe(false);
    expect(a).not.toHaveProperty('seq');
    expect(a).not.toHaveProperty('hash');
  });

  it('the record hash is SHA-256 over the domain prefix and the canonical record without its hash', () => {
    const { record } = nextRecord({ event: 'tools/call' } as AuditInput, genesis());
    const expected = createHash('sha256')
      .update(RECORD_DOMAIN + canonicalJson({ ...record, hash: undefined }))
      .digest('hex');
    expect(sha256Hex('abc')).toBe(createHash('sha256').update('abc').digest('hex'));
    expect(record.hash).toBe(expected);
  });
});
