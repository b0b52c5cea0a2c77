/**
 * Who is calling. stdio: the identity the config names. HTTP: a bearer token, looked up by its
 * SHA-256 in the configured token table; the token itself is never stored or logged.
 * No credential, no identity, no access.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { GatewayConfig, TokenConfig } from '../config/types.js';

export interface Identity {
  /** The caller's name (user or agent). */
  id: string;
  roles: string[];
  /** How it was established. */
  method: 'stdio' | 'token';
  /** For tokens: the token's id (never the token). */
  tokenId?: string;
}

export type AuthResult = { ok: true; identity: Identity } | { ok: false; reason: string; tokenId?: string };

export interface Authenticator {
  /** The identity for a stdio session, if the config gives one. */
  stdio(): Identity | undefined;
  /** Check an `Authorization` header value. */
  bearer(header: string | undefined): AuthResult;
}

export function createAuthenticator(auth: GatewayConfig['auth']): Authenticator {
  const byHash = new Map<string, TokenConfig>();
  for (const t of auth.tokens) byHash.set(t.sha256, t);
  return {
    stdio() {
      if (!auth.stdio) return undefined;
      return { id: auth.stdio.identity, roles: [...auth.stdio.roles], method: 'stdio' };
    },
    bearer(header) {
      if (!header) return { ok: false, reason: 'no Authorization header' };
      const match = /^Bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i.exec(header);
      if (!match?.[1]) return { ok: false, reason: 'Authorization header is not a bearer token' };
      const digest = createHash('sha256').update(match[1], 'utf8').digest();
      const entry = byHash.get(digest.toString('hex'));
      // The map lookup is on a hash of the token, so its timing reveals nothing usable about the
      // token; the explicit comparison keeps the check constant-time all the same.
      if (!entry || !timingSafeEqual(Buffer.from(entry.sha256, 'hex'), digest)) {
        return { ok: false, reason: 'unknown token' };
      }
      return {
        ok: true,
        identity: { id: entry.identity, roles: [...entry.roles], method: 'token', tokenId: entry.id }
      };
    }
  };
}
