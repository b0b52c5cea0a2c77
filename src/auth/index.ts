/**
 * Who is calling. stdio: the identity the config names, the OS user that started the gateway, or
 * a token from the environment checked against the store. HTTP: a bearer token, either one of
 * the gateway's own (looked up by SHA-256; the token itself is never stored or logged) or an
 * OAuth 2.1 access token verified against the issuer. No credential, no identity, no access.
 *
 * Also here: lockout of source addresses after repeated failures, and a request rate limit per
 * authenticated identity.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { userInfo } from 'node:os';
import type { GatewayConfig, RevocationConfig, TokenConfig } from '../config/types.js';
import { createRateStore, makeRoom } from '../limits/rate-store.js';
import { createOAuthVerifier, type OAuthVerifier } from './oauth.js';
import { hashToken, revokedIds, tokenProblem } from './token-file.js';

export interface Identity {
  /** The caller: the user (OAuth `sub`), or the name a token or the config gives. */
  id: string;
  roles: string[];
  /** Scopes the credential carries; undefined means every scope. */
  scopes?: string[];
  /** How it was established. */
  method: 'stdio' | 'token' | 'oauth';
  /** Gateway tokens: the token's id (never the token). OAuth: `jti` when present. */
  tokenId?: string;
  /** OAuth: the client (agent) acting for the user: `client_id` or `azp`. */
  agent?: string;
  /** OAuth: the verified claims. */
  claims?: Record<string, unknown>;
  /** Epoch ms after which the credential is no longer valid. */
  expiresAt?: number;
}

/**
 * A fingerprint of everything about an identity that authorisation reads. Sessions are bound to
 * it: a request may use a session only with a credential that grants exactly the same.
 */
export function identityKey(identity: Identity): string {
  const parts = [
    identity.method,
    identity.id,
    identity.tokenId ?? '',
    identity.agent ?? '',
    [...identity.roles].sort(),
    identity.scopes ? [...identity.scopes].sort() : null
  ];
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 22);
}

type AuthResult =
  | { ok: true; identity: Identity }
  /** `unavailable`: the credential could not be checked (shared revocations unreachable); not the caller's fault. */
  | { ok: false; reason: string; tokenId?: string; unavailable?: true };

export interface TokenTable {
  /** Look a token up; undefined when it is unknown. */
  find(token: string): TokenConfig | undefined;
  replace(tokens: TokenConfig[], revocations?: RevocationConfig[]): void;
  /**
   * Every credential id the token file revokes (its revoked tokens and its `revocations`, such as
   * OAuth `jti`s), with the time of each: refused here, and carried into the shared store.
   */
  readonly revoked: ReadonlyMap<string, string>;
  /** Last use of each token id, epoch ms. */
  lastUsed: Map<string, number>;
}

function createTokenTable(
  tokens: TokenConfig[],
  revocations: RevocationConfig[] = [],
  now: () => number = Date.now
): TokenTable {
  let byHash = new Map<string, TokenConfig>();
  let revoked = new Map<string, string>();
  const table: TokenTable = {
    lastUsed: new Map(),
    get revoked() {
      return revoked;
    },
    find(token) {
      const digest = Buffer.from(hashToken(token), 'hex');
      const entry = byHash.get(digest.toString('hex'));
      // The lookup is keyed by a hash of the token, so its timing reveals nothing usable about the
      // token; the explicit comparison keeps the check constant-time all the same.
      if (!entry || !timingSafeEqual(Buffer.from(entry.sha256, 'hex'), digest)) return undefined;
      return entry;
    },
    replace(next, nextRevocations = []) {
      const map = new Map<string, TokenConfig>();
      for (const t of next) map.set(t.sha256, t);
      byHash = map;
      revoked = revokedIds(next, nextRevocations, now());
    }
  };
  table.replace(tokens, revocations);
  return table;
}

export interface Authenticator {
  readonly tokens: TokenTable;
  /** The identity of the stdio agent, or why there is none. */
  stdio(env?: NodeJS.ProcessEnv): AuthResult;
  /** Check an `Authorization` header value. */
  bearer(header: string | undefined): Promise<AuthResult>;
  /** Whether this source address is locked out; counts a failure with `fail`. */
  lockedOut(source: string): number | undefined;
  fail(source: string): void;
  /** Take one request from the identity's budget; false when over the rate limit. */
  admit(identity: Identity): boolean | Promise<boolean>;
  /**
   * For surfaces with their own credential (/metrics, /admin): the surface's token (by its
   * SHA-256, constant-time) gives `own`; otherwise a gateway or OAuth token must carry one of `roles`.
   */
  surface(
    header: string | undefined,
    ownSha256: string | undefined,
    roles: readonly string[],
    own: Identity
  ): Promise<Identity | undefined>;
  /** Does the identity carry the scope needed for a tool (read-only or not)? Returns the missing scope. */
  missingScope(identity: Identity, readOnly: boolean): string | undefined;
}

const BEARER = /^Bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i;

interface AuthenticatorOptions {
  now?: () => number;
  fetch?: typeof fetch;
  /** Shared revocations (gateway token ids and JWT `jti`s); undefined when they cannot be read now. */
  revoked?: (id: string) => boolean | undefined;
  /**
   * Lockouts shared by every replica: each failure is also counted there, and a source locked
   * out by failures seen anywhere is locked out here too. Local counting goes on regardless.
   */
  lockouts?: {
    record(source: string): void;
    lockedUntil(source: string): number | undefined;
  };
  /**
   * The request rate per identity, counted on every replica instead of here; may reject with
   * `state_unavailable` when the count cannot be kept.
   */
  requests?: (key: string, limit: number, windowMs: number) => Promise<boolean>;
  /**
   * The table of failures per source is full of live records: until `until`, a source it does not
   * hold is refused as locked out. Called once each time a look finds it so.
   */
  full?: (until: number) => void;
  /** Sources (lockout) and identities (rate limit) tracked at most: 100,000 unless a test says. */
  maxTracked?: number;
}

/**
 * Sources (lockout) and identities (rate limit) tracked at most. A full table drops only entries
 * that have ended; full of live ones, it refuses the newcomer and keeps everyone else's count.
 */
const MAX_TRACKED = 100_000;

/** Credentials: the gateway's own tokens and OAuth access tokens, each checked against revocations. */
function createCredentials(
  auth: GatewayConfig['auth'],
  options: AuthenticatorOptions,
  now: () => number,
  tokens: TokenTable
): Pick<Authenticator, 'bearer'> & { fromToken(token: string): AuthResult } {
  const oauth: OAuthVerifier | undefined = auth.oauth
    ? createOAuthVerifier(auth.oauth, {
        ...(options.fetch ? { fetch: options.fetch } : {}),
        now
      })
    : undefined;

  /** A verified credential may still be revoked: in the token file, or on another replica. */
  const unlessRevoked = (result: AuthResult): AuthResult => {
    if (!result.ok || result.identity.tokenId === undefined) return result;
    const tokenId = result.identity.tokenId;
    if (tokens.revoked.has(tokenId)) return { ok: false, reason: 'token revoked', tokenId };
    if (!options.revoked) return result;
    const revoked = options.revoked(tokenId);
    if (revoked === undefined) {
      return {
        ok: false,
        reason: 'revocations cannot be checked: shared state unreachable',
        tokenId,
        unavailable: true
      };
    }
    return revoked ? { ok: false, reason: 'token revoked', tokenId } : result;
  };

  const fromToken = (token: string): AuthResult => unlessRevoked(fromTokenTable(token));
  const fromTokenTable = (token: string): AuthResult => {
    const entry = tokens.find(token);
    if (!entry) return { ok: false, reason: 'unknown token' };
    const problem = tokenProblem(entry, now());
    if (problem) return { ok: false, reason: problem, tokenId: entry.id };
    tokens.lastUsed.set(entry.id, now());
    return {
      ok: true,
      identity: {
        id: entry.identity,
        roles: [...entry.roles],
        ...(entry.scopes ? { scopes: [...entry.scopes] } : {}),
        method: 'token',
        tokenId: entry.id,
        ...(entry.expires ? { expiresAt: Date.parse(entry.expires) } : {})
      }
    };
  };

  return {
    fromToken,
    async bearer(header) {
      if (!header) return { ok: false, reason: 'no Authorization header' };
      const token = BEARER.exec(header)?.[1];
      if (!token) return { ok: false, reason: 'Authorization header is not a bearer token' };
      const own = fromToken(token);
      if (own.ok || own.tokenId !== undefined || !oauth) return own;
      const verified = await oauth.verify(token);
      if (!verified.ok) return { ok: false, reason: `oauth: ${verified.reason}` };
      const o = verified.identity;
      return unlessRevoked({
        ok: true,
        identity: {
          id: o.user,
          roles: o.roles,
          scopes: o.scopes,
          method: 'oauth',
          ...(o.agent ? { agent: o.agent } : {}),
          ...(o.tokenId ? { tokenId: o.tokenId } : {}),
          ...(o.expiresAt ? { expiresAt: o.expiresAt * 1000 } : {}),
          claims: o.claims
        }
      });
    }
  };
}

/** The stdio agent's identity: named by the config, the OS user, or a token from the environment. */
function stdioIdentity(
  s: GatewayConfig['auth']['stdio'],
  env: NodeJS.ProcessEnv,
  fromToken: (token: string) => AuthResult
): AuthResult {
  if (!s) return { ok: false, reason: 'no stdio identity configured: set auth.stdio' };
  if (s.identity !== undefined) {
    return {
      ok: true,
      identity: {
        id: s.identity,
        roles: [...s.roles],
        ...(s.scopes ? { scopes: [...s.scopes] } : {}),
        method: 'stdio'
      }
    };
  }
  if (s.os_users) {
    const user = userInfo().username;
    const roles = s.os_users[user];
    if (!roles) return { ok: false, reason: `OS user "${user}" is not listed in auth.stdio.os_users` };
    return { ok: true, identity: { id: user, roles: [...roles], method: 'stdio' } };
  }
  if (s.token_env) {
    const token = env[s.token_env];
    if (!token) return { ok: false, reason: `environment variable ${s.token_env} holds no token` };
    const result = fromToken(token);
    return result.ok ? { ok: true, identity: { ...result.identity, method: 'stdio' } } : result;
  }
  return { ok: false, reason: 'auth.stdio names no identity' };
}

/** A source's failures within the window (epoch ms, oldest first), and the end of its lockout. */
interface SourceRecord {
  times: number[];
  lockedUntil?: number;
}

/**
 * Lockout: failures per source address in a sliding window, here and (when shared) on every replica.
 *
 * The table is bounded. A source's record lives while a failure of it is within the window or its
 * lockout lasts; ended records make room for new sources, and no live record is ever dropped, so
 * failing from (or as) many sources cannot reset the count or the lockout of the one under attack.
 * When the table is full of live records, a source it does not hold is refused as locked out until
 * the first record ends: it cannot be counted, and a source that cannot be counted must not be
 * able to try credentials without limit. Other clients new to the table wait with it (that is
 * what a flood of failing sources costs); sources it holds carry on as before.
 */
function createLockout(
  auth: GatewayConfig['auth'],
  options: AuthenticatorOptions,
  now: () => number,
  maxTracked: number
): Pick<Authenticator, 'lockedOut' | 'fail'> {
  const windowMs = auth.lockout.window_s * 1000;
  const sources = new Map<string, SourceRecord>();
  /** A record ends when both its lockout and its last failure's window have. */
  const endOf = (r: SourceRecord) => Math.max(r.lockedUntil ?? 0, r.times[r.times.length - 1]! + windowMs);
  /** While the table is full of live records: the earliest time one ends (none can before). */
  let fullUntil = 0;
  /** Undefined when the table holds `source` or has room for it; else when to look again. */
  const noRoomFor = (source: string, t: number): number | undefined => {
    if (sources.has(source) || sources.size < maxTracked) return undefined;
    if (t < fullUntil) return fullUntil;
    const until = makeRoom(sources, maxTracked, source, t, endOf);
    if (until !== undefined) options.full?.(until);
    fullUntil = until ?? 0;
    return until;
  };
  return {
    lockedOut(source) {
      const t = now();
      const record = sources.get(source);
      const until = record?.lockedUntil;
      if (until !== undefined && until > t) return until;
      if (until !== undefined) {
        // The lockout is over: the source starts afresh, and its room may go to another.
        sources.delete(source);
        fullUntil = 0;
      }
      return noRoomFor(source, t) ?? options.lockouts?.lockedUntil(source);
    },

    fail(source) {
      const t = now();
      options.lockouts?.record(source);
      // Full of live records (since the look that let this source try): nothing to count it in,
      // and it is refused as locked out from its next request.
      if (noRoomFor(source, t) !== undefined) return;
      const record = sources.get(source) ?? { times: [] };
      record.times = record.times.filter((x) => x > t - windowMs);
      record.times.push(t);
      if (record.times.length >= auth.lockout.failures)
        record.lockedUntil = t + auth.lockout.duration_s * 1000;
      sources.set(source, record);
    }
  };
}

/**
 * Rate limit: a fixed window per identity, here or (when shared) counted on every replica. Here,
 * the windows are a rate table: full of live windows, it refuses a new identity rather than drop
 * anyone's window.
 */
function createRateLimit(
  auth: GatewayConfig['auth'],
  options: AuthenticatorOptions,
  now: () => number,
  maxTracked: number
): Authenticator['admit'] {
  const windows = createRateStore(maxTracked);
  return (identity) => {
    const limit = auth.rate_limit;
    if (!limit) return true;
    const key = `${identity.method}:${identity.id}`;
    if (options.requests) return options.requests(key, limit.limit, limit.window_ms);
    return windows.take(key, limit.limit, limit.window_ms, now());
  };
}

/** The scope a tool needs that the identity lacks, or undefined when it has it (or every scope). */
function missingScope(
  scopes: GatewayConfig['auth']['scopes'],
  identity: Identity,
  readOnly: boolean
): string | undefined {
  if (identity.scopes === undefined) return undefined;
  if (identity.scopes.includes(scopes.call)) return undefined;
  if (readOnly && identity.scopes.includes(scopes.read)) return undefined;
  return readOnly ? scopes.read : scopes.call;
}

export function createAuthenticator(
  auth: GatewayConfig['auth'],
  options: AuthenticatorOptions = {}
): Authenticator {
  const now = options.now ?? Date.now;
  const tokens = createTokenTable(auth.tokens, auth.revocations, now);
  const { fromToken, bearer } = createCredentials(auth, options, now, tokens);
  const maxTracked = options.maxTracked ?? MAX_TRACKED;
  const admit = createRateLimit(auth, options, now, maxTracked);

  return {
    tokens,

    stdio(env = process.env) {
      return stdioIdentity(auth.stdio, env, fromToken);
    },

    bearer,

    ...createLockout(auth, options, now, maxTracked),

    admit(identity) {
      return admit(identity);
    },

    async surface(header, ownSha256, roles, own) {
      const token = header ? BEARER.exec(header)?.[1] : undefined;
      if (!token) return undefined;
      if (ownSha256) {
        const digest = Buffer.from(hashToken(token), 'hex');
        if (timingSafeEqual(digest, Buffer.from(ownSha256, 'hex'))) return own;
      }
      const who = await this.bearer(header);
      return who.ok && who.identity.roles.some((r) => roles.includes(r)) ? who.identity : undefined;
    },

    missingScope(identity, readOnly) {
      return missingScope(auth.scopes, identity, readOnly);
    }
  };
}
