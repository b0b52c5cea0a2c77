/**
 * The token file: bearer tokens stored only as SHA-256 hashes, with roles, scopes, expiry and
 * revocation, and `revocations`: other credentials revoked (OAuth `jti`s), so that a revocation is
 * kept on disk whatever happens to the shared store. Read by the config loader and re-read by the
 * running gateway when the file changes; written by `portcullis token create/revoke/rotate`, which
 * edit the YAML in place (comments kept) and replace the file atomically.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { isMap, isSeq, parseDocument, type YAMLMap, YAMLSeq, type Document } from 'yaml';
import { tokensFileSchema } from '../config/schema.js';
import { issueAt, readYaml, schemaIssues, type PathPart, type YamlSource } from '../config/source.js';
import type { RevocationConfig, TokenConfig } from '../config/types.js';
import type { ConfigIssue } from '../errors.js';

const ajv = new Ajv({ allErrors: true, verbose: true, strict: false });
const validateTokensFile = ajv.compile(tokensFileSchema);

const MIN_TOKEN_LENGTH = 16;

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new random token: `pcl_` and 32 random bytes, base64url. */
function generateToken(): string {
  return `pcl_${randomBytes(32).toString('base64url')}`;
}

function validTime(value: unknown): boolean {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value));
}

/** Validate raw token entries (inline or from a file) into TokenConfig, collecting issues. */
export function parseTokenEntries(
  entries: Array<Record<string, unknown>>,
  src: YamlSource,
  base: PathPart[],
  issues: ConfigIssue[]
): TokenConfig[] {
  const out: TokenConfig[] = [];
  const ids = new Set<string>();
  const hashes = new Set<string>();
  entries.forEach((t, i) => {
    const id = t.id as string;
    if (ids.has(id)) issues.push(issueAt(src, [...base, i, 'id'], `duplicate token id "${id}"`));
    ids.add(id);
    const hasHash = typeof t.sha256 === 'string';
    const hasToken = typeof t.token === 'string';
    if (hasHash === hasToken) {
      issues.push(issueAt(src, [...base, i], 'expected exactly one of "sha256" or "token"'));
      return;
    }
    if (hasToken && (t.token as string).length < MIN_TOKEN_LENGTH) {
      issues.push(
        issueAt(src, [...base, i, 'token'], `tokens must be at least ${MIN_TOKEN_LENGTH} characters`)
      );
      return;
    }
    for (const key of ['created', 'expires', 'revoked'] as const) {
      if (t[key] !== undefined && !validTime(t[key])) {
        issues.push(issueAt(src, [...base, i, key], 'expected an ISO 8601 date-time'));
      }
    }
    const sha256 = hasHash ? (t.sha256 as string) : hashToken(t.token as string);
    if (hashes.has(sha256)) issues.push(issueAt(src, [...base, i], 'the same token is listed twice'));
    hashes.add(sha256);
    out.push({
      id,
      identity: (t.identity as string | undefined) ?? id,
      roles: t.roles as string[],
      sha256,
      ...(Array.isArray(t.scopes) ? { scopes: t.scopes as string[] } : {}),
      ...(typeof t.description === 'string' ? { description: t.description } : {}),
      ...(typeof t.created === 'string' ? { created: t.created } : {}),
      ...(typeof t.expires === 'string' ? { expires: t.expires } : {}),
      ...(typeof t.revoked === 'string' ? { revoked: t.revoked } : {}),
      ...(typeof t.rotated_to === 'string' ? { rotated_to: t.rotated_to } : {})
    });
  });
  return out;
}

/**
 * Read and validate a token file. `substitute` applies ${ENV} substitution (the config loader's)
 * before the entries are checked.
 */
export function readTokenFile(
  path: string,
  substitute: (value: unknown, src: YamlSource, issues: ConfigIssue[]) => unknown = (v) => v
): { tokens: TokenConfig[]; revocations: RevocationConfig[]; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  let src: YamlSource;
  try {
    src = readYaml(path);
  } catch (err) {
    return {
      tokens: [],
      revocations: [],
      issues: [
        {
          file: path,
          line: 1,
          col: 1,
          path: '',
          message: `cannot read tokens file: ${(err as Error).message}`
        }
      ]
    };
  }
  if (src.issues.length > 0) return { tokens: [], revocations: [], issues: src.issues };
  const body = src.value ?? {};
  if (!validateTokensFile(body)) {
    return { tokens: [], revocations: [], issues: schemaIssues(src, validateTokensFile.errors ?? []) };
  }
  const substituted = substitute(body, src, issues) as {
    tokens?: Array<Record<string, unknown>>;
    revocations?: RevocationConfig[];
  };
  if (issues.length > 0) return { tokens: [], revocations: [], issues };
  const tokens = parseTokenEntries(substituted.tokens ?? [], src, ['tokens'], issues);
  const revocations = substituted.revocations ?? [];
  revocations.forEach((r, i) => {
    if (!validTime(r.revoked)) {
      issues.push(issueAt(src, ['revocations', i, 'revoked'], 'expected an ISO 8601 date-time'));
    }
  });
  return { tokens, revocations, issues };
}

/**
 * Every credential id the file revokes as of `now`: its revoked tokens and its `revocations`, with
 * the time of each. What a replica carries into the shared store, and refuses itself.
 */
export function revokedIds(
  tokens: readonly TokenConfig[],
  revocations: readonly RevocationConfig[],
  now = Date.now()
): Map<string, string> {
  const out = new Map<string, string>();
  for (const t of tokens) {
    if (t.revoked !== undefined && Date.parse(t.revoked) <= now) out.set(t.id, t.revoked);
  }
  for (const r of revocations) out.set(r.id, r.revoked);
  return out;
}

/** Why a token is not usable now, or undefined when it is. */
export function tokenProblem(token: TokenConfig, now = Date.now()): string | undefined {
  if (token.revoked !== undefined && Date.parse(token.revoked) <= now) return 'token revoked';
  if (token.expires !== undefined && Date.parse(token.expires) <= now) {
    return token.rotated_to ? 'token rotated out (grace period over)' : 'token expired';
  }
  return undefined;
}

// ---- editing (the token CLI) ----

function loadDoc(path: string): Document.Parsed {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : 'tokens: []\n';
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]?.message ?? 'invalid YAML'}`);
  if (!isMap(doc.contents)) doc.contents = doc.createNode({ tokens: [] }) as never;
  if (!isSeq((doc.contents as YAMLMap).get('tokens'))) (doc.contents as YAMLMap).set('tokens', new YAMLSeq());
  return doc;
}

function entriesOf(doc: Document.Parsed): YAMLSeq<YAMLMap> {
  const seq = (doc.contents as YAMLMap).get('tokens') as YAMLSeq<YAMLMap>;
  seq.flow = false;
  return seq;
}

/** A new entry as a block mapping, with its lists inline: one token, one readable block. */
function entryNode(doc: Document.Parsed, entry: Record<string, unknown>): YAMLMap {
  const node = doc.createNode(entry) as YAMLMap;
  node.flow = false;
  for (const pair of node.items) {
    if (isSeq(pair.value)) pair.value.flow = true;
  }
  return node;
}

function findEntry(doc: Document.Parsed, id: string): YAMLMap {
  const entry = entriesOf(doc).items.find((e) => isMap(e) && e.get('id') === id);
  if (!entry) throw new Error(`no token with id "${id}"`);
  return entry;
}

/** Replace the file atomically, readable by its owner only. */
function save(path: string, doc: Document.Parsed): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, doc.toString(), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

interface NewToken {
  identity: string;
  roles: string[];
  scopes?: string[];
  expires?: string;
  description?: string;
}

function newTokenId(): string {
  return `tok_${randomBytes(5).toString('hex')}`;
}

/** Add a token; returns its id and the token itself, which is shown once and never stored. */
export function createTokenEntry(
  path: string,
  spec: NewToken,
  now = new Date()
): { id: string; token: string } {
  const doc = loadDoc(path);
  const token = generateToken();
  const id = newTokenId();
  const entry: Record<string, unknown> = {
    id,
    identity: spec.identity,
    roles: spec.roles,
    ...(spec.scopes ? { scopes: spec.scopes } : {}),
    sha256: hashToken(token),
    created: now.toISOString(),
    ...(spec.expires ? { expires: spec.expires } : {}),
    ...(spec.description ? { description: spec.description } : {})
  };
  entriesOf(doc).add(entryNode(doc, entry));
  save(path, doc);
  return { id, token };
}

/**
 * Record the revocation of a credential that is none of the file's tokens (an OAuth `jti`) in its
 * `revocations`; a credential already listed keeps its first time. Returns false when it was listed.
 */
export function recordRevocation(path: string, id: string, now = new Date()): boolean {
  const doc = loadDoc(path);
  const root = doc.contents as YAMLMap;
  if (entriesOf(doc).items.some((e) => isMap(e) && e.get('id') === id)) {
    throw new Error(`"${id}" is a token of this file: revoke it without --jti`);
  }
  let list = root.get('revocations');
  if (!isSeq(list)) {
    list = new YAMLSeq();
    root.set('revocations', list);
  }
  const seq = list as YAMLSeq<YAMLMap>;
  seq.flow = false;
  if (seq.items.some((e) => isMap(e) && e.get('id') === id)) return false;
  const node = doc.createNode({ id, revoked: now.toISOString() }) as YAMLMap;
  node.flow = true;
  seq.add(node);
  save(path, doc);
  return true;
}

export function revokeTokenEntry(path: string, id: string, now = new Date()): void {
  const doc = loadDoc(path);
  const entry = findEntry(doc, id);
  if (!entry.has('revoked')) entry.set('revoked', now.toISOString());
  save(path, doc);
}

/** Issue a successor with the same identity, roles and scopes; the old token stays valid for `graceSeconds`. */
export function rotateTokenEntry(
  path: string,
  id: string,
  graceSeconds: number,
  now = new Date()
): { id: string; token: string; graceUntil: string } {
  const doc = loadDoc(path);
  const old = findEntry(doc, id);
  if (old.has('revoked')) throw new Error(`token "${id}" is revoked`);
  const token = generateToken();
  const newId = newTokenId();
  const successor: Record<string, unknown> = {
    id: newId,
    identity: old.get('identity') ?? id,
    roles: (old.toJSON() as { roles: string[] }).roles,
    ...(old.has('scopes') ? { scopes: (old.toJSON() as { scopes: string[] }).scopes } : {}),
    sha256: hashToken(token),
    created: now.toISOString(),
    ...(old.has('description') ? { description: old.get('description') } : {})
  };
  const graceUntil = new Date(now.getTime() + graceSeconds * 1000).toISOString();
  const currentExpiry = old.get('expires') as string | undefined;
  if (currentExpiry === undefined || Date.parse(currentExpiry) > Date.parse(graceUntil))
    old.set('expires', graceUntil);
  old.set('rotated_to', newId);
  entriesOf(doc).add(entryNode(doc, successor));
  save(path, doc);
  return { id: newId, token, graceUntil };
}
