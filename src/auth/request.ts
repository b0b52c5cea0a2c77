/**
 * Authentication of an HTTP request, in one function for every entry point that takes a bearer
 * token: `/mcp` (and `/sse`, `/messages`), `/metrics` and the admin API. It checks the source's
 * lockout, verifies the credential (striking the source when it fails), admits the request against
 * the identity's rate, and writes the `auth/failure` record of every refusal. What it returns is a
 * typed outcome; the transports only turn it into a status and headers.
 */
import type { Logger } from 'pino';
import type { AuditInput } from '../audit/index.js';
import type { GatewayConfig } from '../config/types.js';
import { ERRORS, GatewayError, type ErrorCode } from '../errors.js';
import type { Authenticator, Identity } from './index.js';

/**
 * The entry point asking. `mcp` takes gateway and OAuth tokens and counts requests against the
 * identity's rate; `metrics` and `admin` take their own token, or a gateway or OAuth token with one
 * of their roles (config `metrics.roles`, `admin.roles`), and are not rate-counted.
 */
export type AuthSurface = 'mcp' | 'metrics' | 'admin';

/** Why a request was refused at authentication. */
export type AuthRefusalReason =
  /** No `Authorization` header. */
  | 'missing'
  /** A credential that is not valid here: unknown, expired, revoked, malformed, or without the role. */
  | 'invalid'
  /** The source address failed too often and is locked out for now. */
  | 'locked-out'
  /** The identity is over its request rate. */
  | 'rate-limited'
  /** The credential or the rate could not be checked (shared state unreachable): not the caller's fault. */
  | 'unavailable';

export type AuthOutcome =
  | { ok: true; identity: Identity }
  | {
      ok: false;
      reason: AuthRefusalReason;
      /** The registry entry the refusal is answered with (its message goes on the wire). */
      code: ErrorCode;
      /** Seconds after which a retry may succeed (locked out, rate limited, unavailable). */
      retryAfter?: number;
    };

export type AuthenticateRequest = (
  header: string | undefined,
  source: string,
  surface?: AuthSurface
) => Promise<AuthOutcome>;

/** Sources whose lockout has been recorded, remembered at most this many at once. */
const MAX_RECORDED_LOCKOUTS = 10_000;

/** What each surface answers a missing or invalid credential with, and how its records read. */
const SURFACES = {
  mcp: { unauthenticated: 'unauthenticated', prefix: '' },
  metrics: { unauthenticated: 'metrics_unauthenticated', prefix: 'metrics: ' },
  admin: { unauthenticated: 'admin_unauthenticated', prefix: 'admin API: ' }
} as const satisfies Record<AuthSurface, { unauthenticated: ErrorCode; prefix: string }>;

export function createRequestAuthentication(options: {
  auth: Authenticator;
  config: Pick<GatewayConfig, 'metrics' | 'admin'>;
  /** Writes one audit record; may throw when the record cannot be stored. */
  audit: (record: AuditInput) => void;
  log?: Logger;
  now?: () => number;
}): AuthenticateRequest {
  const { auth, config, audit, log } = options;
  const now = options.now ?? Date.now;

  const refuse = (
    surface: AuthSurface,
    source: string,
    reason: AuthRefusalReason,
    code: ErrorCode,
    detail: string,
    extra: { identity?: string; token_id?: string; retryAfter?: number } = {}
  ): AuthOutcome => {
    const { retryAfter, ...who } = extra;
    // A refusal is the gateway saying no; a fault (shared state unreachable) is not a denial: an
    // error with no decision, as the error registry's kind says.
    const fault = ERRORS[code].kind === 'fault';
    audit({
      event: 'auth/failure',
      ...who,
      source,
      reason: `${SURFACES[surface].prefix}${detail}`,
      ...(fault ? { outcome: 'error' } : { outcome: 'denied', decision: 'deny' }),
      // A missing or bad credential is recorded as `unauthenticated` on every surface.
      code: reason === 'missing' || reason === 'invalid' ? 'unauthenticated' : code
    });
    return { ok: false, reason, code, ...(retryAfter !== undefined ? { retryAfter } : {}) };
  };

  /** The surface's own credential, or a token with one of its roles. */
  const surfaceIdentity = (surface: 'metrics' | 'admin', header: string | undefined) => {
    if (surface === 'metrics') {
      const m = config.metrics;
      return auth.surface(header, m.token_sha256, m.roles, {
        id: 'metrics',
        roles: [],
        method: 'token',
        tokenId: 'metrics'
      });
    }
    const a = config.admin;
    return auth.surface(header, a.token_sha256, a.roles, {
      id: a.identity,
      roles: [...a.roles],
      method: 'token',
      tokenId: 'admin'
    });
  };

  /** Rate admission; a count that cannot be kept refuses the request without blaming the caller. */
  const admit = async (identity: Identity, source: string): Promise<AuthOutcome> => {
    let admitted: boolean;
    try {
      admitted = await auth.admit(identity);
    } catch (err) {
      if (!(err instanceof GatewayError) || err.code !== 'state_unavailable') throw err;
      return refuse(
        'mcp',
        source,
        'unavailable',
        'state_unavailable',
        'request rate cannot be counted: shared state unreachable',
        { identity: identity.id, retryAfter: 1 }
      );
    }
    if (!admitted) {
      return refuse('mcp', source, 'rate-limited', 'rate_limited', 'rate limit exceeded', {
        identity: identity.id,
        retryAfter: 1
      });
    }
    return { ok: true, identity };
  };

  // A locked-out source is refused on every request, but recorded once per lockout: a flood from a
  // locked-out address must not grow the audit log at its request rate.
  const recordedLockouts = new Map<string, number>();
  const firstRefusalOf = (source: string, lockedUntil: number): boolean => {
    if (recordedLockouts.get(source) === lockedUntil) return false;
    if (recordedLockouts.size >= MAX_RECORDED_LOCKOUTS) {
      const t = now();
      for (const [s, until] of recordedLockouts) if (until <= t) recordedLockouts.delete(s);
      if (recordedLockouts.size >= MAX_RECORDED_LOCKOUTS) recordedLockouts.clear();
    }
    recordedLockouts.set(source, lockedUntil);
    return true;
  };

  return async (header, source, surface = 'mcp') => {
    const lockedUntil = auth.lockedOut(source);
    if (lockedUntil !== undefined) {
      const retryAfter = Math.max(1, Math.ceil((lockedUntil - now()) / 1000));
      if (!firstRefusalOf(source, lockedUntil))
        return { ok: false, reason: 'locked-out', code: 'locked_out', retryAfter };
      return refuse(surface, source, 'locked-out', 'locked_out', 'too many failed authentication attempts', {
        retryAfter
      });
    }
    let failure: { reason: string; tokenId?: string };
    if (surface === 'mcp') {
      const result = await auth.bearer(header);
      if (result.ok) return admit(result.identity, source);
      if (result.unavailable) {
        // Not the caller's fault: no lockout strike, and an answer that says try again.
        return refuse(surface, source, 'unavailable', 'state_unavailable', result.reason, {
          ...(result.tokenId ? { token_id: result.tokenId } : {}),
          retryAfter: 1
        });
      }
      failure = { reason: result.reason, ...(result.tokenId ? { tokenId: result.tokenId } : {}) };
    } else {
      const identity = await surfaceIdentity(surface, header);
      if (identity) return { ok: true, identity };
      failure = { reason: `no ${surface} credential` };
    }
    auth.fail(source);
    const nowLocked = auth.lockedOut(source) !== undefined;
    log?.info({ source, surface, reason: failure.reason, tokenId: failure.tokenId }, 'authentication failed');
    return refuse(
      surface,
      source,
      header ? 'invalid' : 'missing',
      SURFACES[surface].unauthenticated,
      nowLocked ? `${failure.reason}; source locked out` : failure.reason,
      failure.tokenId ? { token_id: failure.tokenId } : {}
    );
  };
}
