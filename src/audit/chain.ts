/**
 * The hash chain every audit sink writes: each record carries its position (`seq`), the hash of the
 * record before it (`prev`) and its own `hash` over a domain-separated canonical encoding, so that a
 * changed, removed, reordered or inserted record breaks the chain where it happened.
 */
import * as crypto from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { canonicalJsonWithout } from './canonical.js';
import { AUDIT_SCHEMA_VERSION, type AuditInput, type AuditRecord, type ChainHead } from './types.js';

/** Prefix of every record's hash input, so a record hash can never be confused with another hash. */
export const RECORD_DOMAIN = 'portcullis-audit-v1\n';
/** `prev` of the first record of a chain. */
export const GENESIS_HASH = '0'.repeat(64);

const HEX64 = /^[0-9a-f]{64}$/;

export function isHash(value: unknown): value is string {
  return typeof value === 'string' && HEX64.test(value);
}

export function isSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

/** The chain fields and the exact line a record is stored as (without the newline). */
export interface SealedText {
  hash: string;
  /** The canonical JSON without `hash`, with `,"hash":"…"` appended: what the log stores. */
  line: string;
}

/** SHA-256 hex of a string: the one-shot `crypto.hash` where Node has it (20.12+), else a Hash. */
export const sha256Hex: (data: string) => string =
  typeof crypto.hash === 'function'
    ? (data) => crypto.hash('sha256', data, 'hex')
    : (data) => crypto.createHash('sha256').update(data).digest('hex');

/** Hash a record (its `hash` field, if any, is ignored) and give the line that stores it. */
export function sealText(record: object): SealedText {
  const canonical = canonicalJsonWithout(record, 'hash');
  const hash = sha256Hex(RECORD_DOMAIN + canonical);
  return { hash, line: `${canonical.slice(0, -1)},"hash":"${hash}"}` };
}

/**
 * Build the next record after `head`: version, id and time first, the caller's fields, then the chain
 * fields (which the caller cannot override). Does not move `head`: the sink does once it is stored.
 */
export function nextRecord(input: AuditInput, head: ChainHead): { record: AuditRecord; line: string } {
  // The same record as sealAfter(openRecord(input), head), built in one literal: copying a finished
  // record again with `{ ...open, seq, prev }` costs V8 a fresh hidden class (many µs) per record.
  const record = {
    v: AUDIT_SCHEMA_VERSION,
    id: randomUUID(),
    time: new Date().toISOString(),
    ...input,
    seq: head.seq + 1,
    prev: head.hash
  } as AuditRecord;
  return seal(record);
}

/** A record before it has a place in the chain: version, id, time and the caller's fields. */
export type OpenRecord = Omit<AuditRecord, 'seq' | 'prev' | 'hash'>;

export function openRecord(input: AuditInput): OpenRecord {
  return { v: AUDIT_SCHEMA_VERSION, id: randomUUID(), time: new Date().toISOString(), ...input };
}

/** Give an open record its place after `head` and seal it. */
export function sealAfter(open: OpenRecord, head: ChainHead): { record: AuditRecord; line: string } {
  // Object.assign copies what a spread copies, in the same order, without the spread's slow path
  // (see nextRecord); only an own `__proto__` key (from JSON.parse) would be set differently.
  const record = (
    Object.prototype.hasOwnProperty.call(open, '__proto__')
      ? { ...open, seq: head.seq + 1, prev: head.hash }
      : Object.assign({}, open, { seq: head.seq + 1, prev: head.hash })
  ) as AuditRecord;
  return seal(record);
}

function seal(record: AuditRecord): { record: AuditRecord; line: string } {
  const sealed = sealText(record);
  record.hash = sealed.hash;
  return { record, line: sealed.line + '\n' };
}

export function genesis(): ChainHead {
  return { seq: 0, hash: GENESIS_HASH };
}
