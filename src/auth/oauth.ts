/**
 * The gateway as an OAuth 2.1 resource server (MCP authorization spec). JWT access tokens are
 * verified with jose against the issuer's JWKS: exact issuer, an audience that names this gateway
 * (RFC 8707), an allowlist of asymmetric algorithms checked before any key lookup, RFC 9068 `typ`,
 * and bounded JWKS refetches, so a flood of unknown `kid`s cannot hammer the issuer. Opaque tokens
 * can be checked by RFC 7662 introspection, with positive answers cached briefly (by the token's
 * hash, never the token); the answer must name this gateway as the token's audience too. `verify` never throws and its reasons never contain the token.
 */
import { createHash } from 'node:crypto';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
  type JWTVerifyGetKey
} from 'jose';
import { LocalError } from '../errors.js';

export interface OAuthConfig {
  /** Exact match of `iss`. */
  issuer: string;
  /** The gateway's own resource URL(s) (RFC 8707); `aud` must contain one. */
  audience: string | string[];
  /** Required unless `introspection` is set. */
  jwks_uri?: string;
  /** Allowlist; default RS256, PS256, ES256, EdDSA. `none` and HS* are refused. */
  algorithms?: string[];
  /** Default 30, at most 300. */
  clock_skew_s?: number;
  /** Claims that must be present; `exp` and `sub` always are. */
  required_claims?: string[];
  /** Dotted path into the payload, default `roles`; a string[] or a space-separated string. */
  roles_claim?: string;
  /** Default `scope` (space-separated, or an array); falls back to `scp`. */
  scopes_claim?: string;
  /** Minimum seconds between JWKS refetches triggered by an unknown `kid`, default 30. */
  jwks_cooldown_s?: number;
  /** Maximum age of the cached JWKS in seconds, default 600. */
  jwks_cache_s?: number;
  introspection?: {
    url: string;
    client_id: string;
    client_secret: string;
    cache_s?: number;
    /**
     * Accept an active token whose introspection answer names no audience (no `aud`, no `resource`)
     * from this issuer. Default false: such a token may have been issued for another resource.
     * An audience that is named must still name this gateway.
     */
    accept_missing_audience?: boolean;
  };
  /** Advertised in the Protected Resource Metadata (default: [issuer]). */
  authorization_servers?: string[];
}

interface OAuthIdentity {
  /** `sub`. */
  user: string;
  /** `client_id`, else `azp`. */
  agent?: string;
  roles: string[];
  scopes: string[];
  /** Epoch seconds. */
  expiresAt?: number;
  /** `jti` when present. */
  tokenId?: string;
  claims: Record<string, unknown>;
}

type OAuthResult = { ok: true; identity: OAuthIdentity } | { ok: false; reason: string };

export interface OAuthVerifier {
  verify(token: string): Promise<OAuthResult>;
}

/** Thrown by `createOAuthVerifier` for a config that `validateOAuthConfig` finds fault with. */
export class OAuthConfigError extends LocalError {
  readonly problems: string[];

  constructor(problems: string[]) {
    super('oauth_config', `invalid OAuth config: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

const DEFAULT_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'];
/** The asymmetric JWS algorithms jose verifies; nothing else may be configured. */
const SUPPORTED_ALGORITHMS = new Set([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519'
]);
const ALWAYS_REQUIRED = ['exp', 'sub'];
/** RFC 9068 §2.1 `typ` values accepted, compared case-insensitively; an absent `typ` is fine too. */
const ACCEPTED_TYP = new Set(['jwt', 'at+jwt', 'application/at+jwt']);
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const MAX_TOKEN_LENGTH = 16 * 1024;
const MAX_INTROSPECTION_BODY = 64 * 1024;
const MAX_CACHED_INTROSPECTIONS = 10_000;
const HTTP_TIMEOUT_MS = 5_000;
/** After a failed JWKS fetch, wait this long (the cooldown, within these bounds) before another. */
const JWKS_FAILURE_BACKOFF_MS = { min: 1_000, max: 5_000 };

/** Three base64url segments: a JWS in compact form (the signature may be empty, as for `alg: none`). */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** RFC 6750 b64token: what an opaque bearer token may look like. */
const OPAQUE_SHAPE = /^[A-Za-z0-9\-._~+/]+=*$/;

function isForbiddenAlgorithm(alg: string): boolean {
  return alg.toLowerCase() === 'none' || /^hs/i.test(alg);
}

function isLoopbackUrl(url: URL): boolean {
  return LOOPBACK_HOSTS.has(url.hostname);
}

/** Why a configured URL cannot be used, or undefined. https, or http on a loopback host only. */
function urlProblem(name: string, value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return `${name} is required`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${name} is not an absolute URL`;
  }
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && isLoopbackUrl(url)) return undefined;
  return `${name} must use https (http only for localhost, 127.0.0.1 or [::1])`;
}

function durationProblem(name: string, value: unknown, min: number, max = Infinity): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    return max === Infinity
      ? `${name} must be a number >= ${min}`
      : `${name} must be between ${min} and ${max}`;
  }
  return undefined;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function algorithmProblems(algorithms: unknown): string[] {
  if (algorithms === undefined) return [];
  if (!Array.isArray(algorithms) || algorithms.length === 0) return ['algorithms must be a non-empty list'];
  const problems: string[] = [];
  for (const alg of algorithms as unknown[]) {
    if (typeof alg !== 'string') problems.push('algorithms must be strings');
    else if (alg.toLowerCase() === 'none') problems.push(`algorithm "${alg}" is never allowed`);
    else if (/^hs/i.test(alg)) {
      problems.push(`algorithm "${alg}" is symmetric: a resource server must not share the issuer's secret`);
    } else if (!SUPPORTED_ALGORITHMS.has(alg)) problems.push(`algorithm "${alg}" is not supported`);
  }
  return problems;
}

function introspectionProblems(i: unknown): string[] {
  if (i === undefined) return [];
  if (typeof i !== 'object' || i === null) return ['introspection must be an object'];
  const o = i as Record<string, unknown>;
  const problems: string[] = [];
  const url = urlProblem('introspection.url', o.url);
  if (url) problems.push(url);
  if (!isNonEmptyString(o.client_id)) problems.push('introspection.client_id is required');
  if (!isNonEmptyString(o.client_secret)) problems.push('introspection.client_secret is required');
  const cache = durationProblem('introspection.cache_s', o.cache_s, 0);
  if (cache) problems.push(cache);
  if (o.accept_missing_audience !== undefined && typeof o.accept_missing_audience !== 'boolean') {
    problems.push('introspection.accept_missing_audience must be true or false');
  }
  return problems;
}

/** Human-readable problems with an OAuth config; [] when it is fine. */
export function validateOAuthConfig(config: OAuthConfig): string[] {
  const problems: string[] = [];
  const c = config as unknown as Record<string, unknown>;
  const issuer = urlProblem('issuer', c.issuer);
  if (issuer) problems.push(issuer);
  else {
    const url = new URL(c.issuer as string);
    if (url.search || url.hash) problems.push('issuer must not have a query or fragment (RFC 8414)');
  }
  const audiences = typeof c.audience === 'string' ? [c.audience] : c.audience;
  if (!Array.isArray(audiences) || audiences.length === 0 || !audiences.every(isNonEmptyString)) {
    problems.push('audience must be a non-empty string or list of strings');
  }
  if (c.jwks_uri !== undefined) {
    const jwks = urlProblem('jwks_uri', c.jwks_uri);
    if (jwks) problems.push(jwks);
  } else if (c.introspection === undefined) {
    problems.push('jwks_uri is required unless introspection is configured');
  }
  problems.push(...algorithmProblems(c.algorithms));
  for (const p of [
    durationProblem('clock_skew_s', c.clock_skew_s, 0, 300),
    durationProblem('jwks_cooldown_s', c.jwks_cooldown_s, 0),
    durationProblem('jwks_cache_s', c.jwks_cache_s, 0)
  ]) {
    if (p) problems.push(p);
  }
  if (
    c.required_claims !== undefined &&
    !(Array.isArray(c.required_claims) && c.required_claims.every(isNonEmptyString))
  ) {
    problems.push('required_claims must be a list of claim names');
  }
  for (const name of ['roles_claim', 'scopes_claim'] as const) {
    if (c[name] !== undefined && !isNonEmptyString(c[name]))
      problems.push(`${name} must be a non-empty string`);
  }
  problems.push(...introspectionProblems(c.introspection));
  return problems;
}

/**
 * A claim by name, or by dotted path (`realm_access.roles`). A claim whose own name contains dots
 * (`https://example.com/roles`) wins over the path. Own properties only: no prototype lookups.
 */
function claimAt(claims: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path];
  let value: unknown = claims;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, part)) {
      return undefined;
    }
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** A list of names from a string[] or a space-separated string; anything else is no names. */
function nameList(value: unknown): string[] {
  const items = typeof value === 'string' ? value.split(/\s+/) : Array.isArray(value) ? value : [];
  const names = items.filter((v): v is string => typeof v === 'string' && v !== '');
  return [...new Set(names)];
}

function fail(reason: string): OAuthResult {
  return { ok: false, reason };
}

/** Map verified claims (JWT payload or introspection response) to an identity. */
function toIdentity(claims: Record<string, unknown>, rolesClaim: string, scopesClaim: string): OAuthResult {
  const sub = claims.sub;
  if (sub === undefined) return fail('missing claim sub');
  if (!isNonEmptyString(sub)) return fail('invalid claim sub');
  const agent = isNonEmptyString(claims.client_id)
    ? claims.client_id
    : isNonEmptyString(claims.azp)
      ? claims.azp
      : undefined;
  const scopeValue = claimAt(claims, scopesClaim);
  const identity: OAuthIdentity = {
    user: sub,
    roles: nameList(claimAt(claims, rolesClaim)),
    scopes: nameList(scopeValue !== undefined ? scopeValue : claims.scp),
    claims: { ...claims }
  };
  if (agent !== undefined) identity.agent = agent;
  if (typeof claims.exp === 'number') identity.expiresAt = claims.exp;
  if (isNonEmptyString(claims.jti)) identity.tokenId = claims.jti;
  return { ok: true, identity };
}

function cloneIdentity(identity: OAuthIdentity): OAuthIdentity {
  return structuredClone(identity);
}

function typAccepted(typ: unknown): boolean {
  return typ === undefined || (typeof typ === 'string' && ACCEPTED_TYP.has(typ.toLowerCase()));
}

/** The JWKS endpoint could not be reached or answered badly; raised from the key resolver. */
class JwksUnavailableError extends LocalError {
  constructor(message?: string, options?: { cause?: unknown }) {
    super('jwks_unavailable', message, options);
  }
}

/** A jose error code, or undefined for anything else. */
function joseCode(err: unknown): string | undefined {
  return err instanceof errors.JOSEError ? err.code : undefined;
}

/** Claim names echoed in reasons: only plain names (they come from jose or the config). */
function claimName(claim: string): string {
  return /^[A-Za-z0-9_.:-]{1,64}$/.test(claim) ? claim : 'claim';
}

/** A short reason for a failed JWT verification. Never includes the token or claim values. */
function jwtFailureReason(err: unknown): string {
  if (err instanceof JwksUnavailableError) return 'jwks unavailable';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return `missing claim ${claimName(err.claim)}`;
    if (err.reason === 'check_failed') {
      if (err.claim === 'iss') return 'wrong issuer';
      if (err.claim === 'aud') return 'wrong audience';
      if (err.claim === 'nbf') return 'token not yet valid';
    }
    return `invalid claim ${claimName(err.claim)}`;
  }
  switch (joseCode(err)) {
    case errors.JWTExpired.code:
      return 'token expired';
    case errors.JWSSignatureVerificationFailed.code:
      return 'signature invalid';
    case errors.JOSEAlgNotAllowed.code:
      return 'algorithm not allowed';
    case errors.JWKSNoMatchingKey.code:
      return 'unknown signing key';
    case errors.JWKSMultipleMatchingKeys.code:
      return 'ambiguous signing key';
    case errors.JWSInvalid.code:
    case errors.JWTInvalid.code:
      return 'malformed token';
    case errors.JOSENotSupported.code:
      return 'token not supported';
    default:
      return 'token invalid';
  }
}

/**
 * Keys from the issuer's JWKS. jose's remote set caches the keys for `cacheMaxAge` and refetches
 * on an unknown `kid` at most once per `cooldownDuration` after a successful fetch. A failed fetch
 * does not start jose's cooldown, so this wrapper adds its own back-off: after a failure, only the
 * keys already held are used until the back-off ends. Network pacing runs on the real clock, as
 * jose's own cache does.
 */
function createKeyResolver(
  jwksUri: string,
  cooldownMs: number,
  cacheMaxAgeMs: number,
  fetchImpl: typeof fetch | undefined
): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(jwksUri), {
    cooldownDuration: cooldownMs,
    cacheMaxAge: cacheMaxAgeMs,
    timeoutDuration: HTTP_TIMEOUT_MS,
    ...(fetchImpl ? { [customFetch]: fetchImpl } : {})
  });
  const { min, max } = JWKS_FAILURE_BACKOFF_MS;
  const backoffMs = Math.min(Math.max(cooldownMs, min), max);
  let failedAt = -Infinity;

  const heldKeysOnly = (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    const held = remote.fresh ? remote.jwks() : undefined;
    if (!held) throw new JwksUnavailableError();
    return createLocalJWKSet(held)(header, token);
  };

  return async (header, token) => {
    if (Date.now() - failedAt < backoffMs) return heldKeysOnly(header, token);
    try {
      return await remote(header, token);
    } catch (err) {
      const code = joseCode(err);
      if (code === errors.JWKSNoMatchingKey.code || code === errors.JWKSMultipleMatchingKeys.code) throw err;
      failedAt = Date.now();
      throw new JwksUnavailableError();
    }
  };
}

interface Settings {
  issuer: string;
  audiences: string[];
  algorithms: string[];
  skewS: number;
  requiredClaims: string[];
  rolesClaim: string;
  scopesClaim: string;
}

function settingsFrom(config: OAuthConfig): Settings {
  return {
    issuer: config.issuer,
    audiences: typeof config.audience === 'string' ? [config.audience] : [...config.audience],
    algorithms: (config.algorithms ?? DEFAULT_ALGORITHMS).filter((a) => !isForbiddenAlgorithm(a)),
    skewS: config.clock_skew_s ?? 30,
    requiredClaims: [...new Set([...ALWAYS_REQUIRED, ...(config.required_claims ?? [])])],
    rolesClaim: config.roles_claim ?? 'roles',
    scopesClaim: config.scopes_claim ?? 'scope'
  };
}

function createJwtVerifier(
  s: Settings,
  getKey: JWTVerifyGetKey,
  now: () => number
): (token: string) => Promise<OAuthResult> {
  const allowed = new Set(s.algorithms);
  return async (token) => {
    let header: JWSHeaderParameters;
    try {
      header = decodeProtectedHeader(token) as JWSHeaderParameters;
    } catch {
      return fail('malformed token');
    }
    // Before any key lookup: an algorithm outside the allowlist never reaches the JWKS.
    const alg = header.alg;
    if (typeof alg !== 'string' || isForbiddenAlgorithm(alg) || !allowed.has(alg)) {
      return fail('algorithm not allowed');
    }
    if (!typAccepted(header.typ)) return fail('wrong token type');
    try {
      const currentDate = new Date(now());
      const { payload } = await jwtVerify(token, getKey, {
        issuer: s.issuer,
        audience: s.audiences,
        algorithms: s.algorithms,
        clockTolerance: s.skewS,
        requiredClaims: s.requiredClaims,
        currentDate
      });
      if (typeof payload.iat === 'number' && payload.iat > currentDate.getTime() / 1000 + s.skewS) {
        return fail('token issued in the future');
      }
      return toIdentity(payload as Record<string, unknown>, s.rolesClaim, s.scopesClaim);
    } catch (err) {
      return fail(jwtFailureReason(err));
    }
  };
}

/** RFC 6749 §2.3.1: client id and secret are form-encoded before Basic encoding. */
function basicAuth(clientId: string, secret: string): string {
  const enc = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`, 'utf8').toString('base64')}`;
}

/**
 * The audience of an introspection answer: `aud` (RFC 7662), and `resource` where a server names
 * the RFC 8707 resource instead. Each one present must name this gateway; with neither, the token
 * is refused unless the config accepts audience-less tokens from this issuer.
 */
function introspectionAudienceProblem(
  r: Record<string, unknown>,
  audiences: readonly string[],
  acceptMissing: boolean
): string | undefined {
  const named = (['aud', 'resource'] as const).filter((f) => r[f] !== undefined);
  if (named.length === 0) return acceptMissing ? undefined : 'missing audience';
  for (const field of named) {
    const value = r[field];
    const listed = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
    if (!audiences.some((a) => listed.includes(a))) return 'wrong audience';
  }
  return undefined;
}

/** Checks on an active introspection response, as the JWT path makes them; undefined when fine. */
function introspectionClaimsProblem(
  r: Record<string, unknown>,
  s: Settings,
  nowS: number,
  acceptMissingAudience: boolean
): string | undefined {
  for (const claim of s.requiredClaims) {
    if (!Object.hasOwn(r, claim)) return `missing claim ${claimName(claim)}`;
  }
  if (r.exp !== undefined && typeof r.exp !== 'number') return 'invalid claim exp';
  if (typeof r.exp === 'number' && r.exp <= nowS - s.skewS) return 'token expired';
  if (r.nbf !== undefined && typeof r.nbf !== 'number') return 'invalid claim nbf';
  if (typeof r.nbf === 'number' && r.nbf > nowS + s.skewS) return 'token not yet valid';
  if (r.iss !== undefined && r.iss !== s.issuer) return 'wrong issuer';
  return introspectionAudienceProblem(r, s.audiences, acceptMissingAudience);
}

async function readIntrospectionResponse(response: Response): Promise<Record<string, unknown> | string> {
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    return `introspection failed (HTTP ${response.status})`;
  }
  const text = await response.text();
  if (text.length > MAX_INTROSPECTION_BODY) return 'introspection: response too large';
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'introspection: response is not JSON';
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return 'introspection: response is not a JSON object';
  }
  return body as Record<string, unknown>;
}

function createIntrospector(
  i: NonNullable<OAuthConfig['introspection']>,
  s: Settings,
  fetchImpl: typeof fetch,
  now: () => number
): (token: string) => Promise<OAuthResult> {
  const cacheS = i.cache_s ?? 60;
  const authorization = basicAuth(i.client_id, i.client_secret);
  // Keyed by SHA-256 of the token: the token itself is never held.
  const cache = new Map<string, { until: number; identity: OAuthIdentity }>();

  const remember = (key: string, identity: OAuthIdentity, nowS: number) => {
    if (cacheS <= 0) return;
    const until = Math.min(nowS + cacheS, identity.expiresAt ?? Infinity);
    if (until <= nowS) return;
    if (cache.size >= MAX_CACHED_INTROSPECTIONS) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(key, { until, identity: cloneIdentity(identity) });
  };

  return async (token) => {
    const key = createHash('sha256').update(token, 'utf8').digest('hex');
    const nowS = now() / 1000;
    const hit = cache.get(key);
    if (hit && hit.until > nowS) return { ok: true, identity: cloneIdentity(hit.identity) };
    if (hit) cache.delete(key);

    let response: Response;
    try {
      response = await fetchImpl(i.url, {
        method: 'POST',
        headers: {
          authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json'
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(HTTP_TIMEOUT_MS)
      });
    } catch {
      return fail('introspection unavailable');
    }
    let body: Record<string, unknown> | string;
    try {
      body = await readIntrospectionResponse(response);
    } catch {
      return fail('introspection unavailable');
    }
    if (typeof body === 'string') return fail(body);
    if (body.active !== true) return fail('introspection: token inactive');
    const problem = introspectionClaimsProblem(body, s, nowS, i.accept_missing_audience === true);
    if (problem) return fail(problem);
    const claims = { ...body };
    delete claims.active;
    const result = toIdentity(claims, s.rolesClaim, s.scopesClaim);
    if (result.ok) remember(key, result.identity, nowS);
    return result;
  };
}

/**
 * A verifier for access tokens. Throws `OAuthConfigError` when the config has problems (for
 * instance `none` or HS* among the algorithms). `options.now` gives the time in epoch ms.
 */
export function createOAuthVerifier(
  config: OAuthConfig,
  options: { fetch?: typeof fetch; now?: () => number } = {}
): OAuthVerifier {
  const problems = validateOAuthConfig(config);
  if (problems.length > 0) throw new OAuthConfigError(problems);
  const now = options.now ?? Date.now;
  const s = settingsFrom(config);
  const verifyJwt = config.jwks_uri
    ? createJwtVerifier(
        s,
        createKeyResolver(
          config.jwks_uri,
          (config.jwks_cooldown_s ?? 30) * 1000,
          (config.jwks_cache_s ?? 600) * 1000,
          options.fetch
        ),
        now
      )
    : undefined;
  const introspect = config.introspection
    ? createIntrospector(config.introspection, s, options.fetch ?? fetch, now)
    : undefined;

  return {
    async verify(token) {
      try {
        if (typeof token !== 'string' || token === '') return fail('no token');
        if (token.length > MAX_TOKEN_LENGTH) return fail('token too large');
        const looksLikeJwt = JWT_SHAPE.test(token);
        if (looksLikeJwt && verifyJwt) return await verifyJwt(token);
        if (!OPAQUE_SHAPE.test(token)) return fail('malformed token');
        if (introspect) return await introspect(token);
        return fail(looksLikeJwt ? 'malformed token' : 'token is not a JWT');
      } catch {
        return fail('token invalid');
      }
    }
  };
}
