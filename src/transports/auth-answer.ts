/**
 * How an HTTP surface answers a refusal at authentication: the status and headers for the outcome
 * `authenticateRequest` gave, and the registry message. Every surface that takes a bearer token
 * (`/mcp`, `/metrics`, the admin API) answers through this, so a refusal reads the same on each.
 */
import type { AuthOutcome, AuthRefusalReason } from '../auth/request.js';
import { ERRORS, type ErrorCode } from '../errors.js';

const STATUS: Record<AuthRefusalReason, number> = {
  missing: 401,
  invalid: 401,
  'locked-out': 429,
  'rate-limited': 429,
  unavailable: 503
};

interface AuthAnswer {
  status: number;
  code: ErrorCode;
  message: string;
  headers: Record<string, string>;
}

/**
 * `challenge` is the surface's `WWW-Authenticate` value for a missing or invalid credential; it is
 * given the outcome's reason, since a challenge may say the token sent was invalid.
 */
export function authAnswer(
  refusal: Extract<AuthOutcome, { ok: false }>,
  challenge: (reason: 'missing' | 'invalid') => string
): AuthAnswer {
  const { reason, code, retryAfter } = refusal;
  const headers: Record<string, string> = {};
  if (reason === 'missing' || reason === 'invalid') headers['WWW-Authenticate'] = challenge(reason);
  if (retryAfter !== undefined) headers['Retry-After'] = String(retryAfter);
  return { status: STATUS[reason], code, message: ERRORS[code].message, headers };
}
