/**
 * Authentication of the stdio agent: the identity the config names (`auth.stdio`), or, when there
 * is none, the `auth/failure` record of why and an `unauthenticated` error. The stdio transport
 * only serves once this has answered.
 */
import type { AuditInput } from '../audit/index.js';
import { GatewayError } from '../errors.js';
import type { Authenticator, Identity } from './index.js';

export function authenticateStdio(auth: Authenticator, audit: (record: AuditInput) => void): Identity {
  const who = auth.stdio();
  if (!who.ok) {
    audit({
      event: 'auth/failure',
      transport: 'stdio',
      reason: who.reason,
      outcome: 'denied',
      decision: 'deny'
    });
    throw new GatewayError('unauthenticated', `stdio: ${who.reason}`);
  }
  return who.identity;
}
