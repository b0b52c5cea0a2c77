/**
 * Audit checkpoints: a side file (`<log>.checkpoints`, JSONL) that records the chain head every N
 * records and on close, optionally signed with Ed25519. A checkpoint pins the log up to its seq: a
 * truncated or rewritten log no longer reaches it or no longer matches it, and with a signature a
 * checkpoint cannot be forged without the private key.
 *
 * Line format: {"seq":N,"hash":"<hex>","time":"<ISO>","sig":"<base64>","kid":"<hex16>"} (sig and kid
 * only when signed). The signature is Ed25519 over the UTF-8 bytes of
 * "portcullis-checkpoint-v1\n" + seq + "\n" + hash + "\n" + time; kid is the first 16 hex digits of
 * the SHA-256 of the public key (SPKI DER), to tell which key signed.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  KeyObject,
  sign,
  verify
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isHash, isSeq } from './chain.js';

export const CHECKPOINT_DOMAIN = 'portcullis-checkpoint-v1\n';

export interface Checkpoint {
  seq: number;
  hash: string;
  time: string;
  /** Base64 Ed25519 signature, when the sink has a signing key. */
  sig?: string;
  /** Which key signed: the first 16 hex digits of SHA-256 over the public key (SPKI DER). */
  kid?: string;
}

export function checkpointMessage(cp: { seq: number; hash: string; time: string }): Buffer {
  return Buffer.from(`${CHECKPOINT_DOMAIN}${cp.seq}\n${cp.hash}\n${cp.time}`, 'utf8');
}

/** A PEM text, or a path to a PEM file: anything that does not look like PEM is read as a path. */
function pemText(source: string): string {
  return source.includes('-----BEGIN') ? source : readFileSync(source, 'utf8');
}

export function loadPrivateKey(source: string | KeyObject): KeyObject {
  const key = source instanceof KeyObject ? source : createPrivateKey(pemText(source));
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519') {
    throw new Error('audit signing key must be an Ed25519 private key (PEM)');
  }
  return key;
}

/** The public key to check signatures with; a private key is accepted and its public half used. */
export function loadPublicKey(source: string | KeyObject): KeyObject {
  const key = source instanceof KeyObject ? source : createPublicKey(pemText(source));
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.type !== 'public' || pub.asymmetricKeyType !== 'ed25519') {
    throw new Error('audit verification key must be an Ed25519 public key (PEM)');
  }
  return pub;
}

export function keyId(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const der = pub.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

export function makeCheckpoint(seq: number, hash: string, key?: KeyObject, kid?: string): Checkpoint {
  const cp: Checkpoint = { seq, hash, time: new Date().toISOString() };
  if (key) {
    cp.sig = sign(null, checkpointMessage(cp), key).toString('base64');
    cp.kid = kid ?? keyId(key);
  }
  return cp;
}

export function checkpointLine(cp: Checkpoint): string {
  return JSON.stringify(cp) + '\n';
}

export function verifyCheckpointSignature(cp: Checkpoint, key: KeyObject): boolean {
  if (typeof cp.sig !== 'string') return false;
  try {
    return verify(null, checkpointMessage(cp), key, Buffer.from(cp.sig, 'base64'));
  } catch {
    return false;
  }
}

/** Parse one checkpoint line; undefined when it is not a well-formed checkpoint. */
export function parseCheckpoint(text: string): Checkpoint | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const cp = value as Record<string, unknown>;
  if (!isSeq(cp.seq) || !isHash(cp.hash) || typeof cp.time !== 'string') return undefined;
  if (cp.sig !== undefined && typeof cp.sig !== 'string') return undefined;
  if (cp.kid !== undefined && typeof cp.kid !== 'string') return undefined;
  return {
    seq: cp.seq,
    hash: cp.hash,
    time: cp.time,
    ...(cp.sig !== undefined ? { sig: cp.sig as string } : {}),
    ...(cp.kid !== undefined ? { kid: cp.kid as string } : {})
  };
}

/** A fresh Ed25519 key pair as PEM (PKCS#8 private, SPKI public), e.g. for `audit keygen`. */
export function generateAuditKeyPair(): { privateKey: string; publicKey: string; kid: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    kid: keyId(publicKey)
  };
}
