import { describe, expect, it } from 'vitest';
import type { AuditInput } from '../audit/index.js';
import { GatewayError } from '../errors.js';
import { createAuthenticator } from './index.js';
import { authenticateStdio } from './stdio.js';

const base = {
  tokens: [],
  scopes: { read: 'tools:read', call: 'tools:call' },
  lockout: { failures: 3, window_s: 60, duration_s: 300 }
};

describe('authenticateStdio', () => {
  it('answers the identity the config names, and records nothing', () => {
    const audit: AuditInput[] = [];
    const auth = createAuthenticator({ ...base, stdio: { identity: 'local', roles: ['analyst'] } });
    expect(authenticateStdio(auth, (r) => audit.push(r))).toEqual({
      id: 'local',
      roles: ['analyst'],
      method: 'stdio'
    });
    expect(audit).toEqual([]);
  });

  it('refuses when there is no stdio identity: records why, and throws unauthenticated', () => {
    const audit: AuditInput[] = [];
    const auth = createAuthenticator(base);
    let thrown: unknown;
    try {
      authenticateStdio(auth, (r) => audit.push(r));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(GatewayError);
    expect((thrown as GatewayError).code).toBe('unauthenticated');
    expect((thrown as GatewayError).detail).toBe('stdio: no stdio identity configured: set auth.stdio');
    expect(audit).toEqual([
      {
        event: 'auth/failure',
        transport: 'stdio',
        reason: 'no stdio identity configured: set auth.stdio',
        outcome: 'denied',
        decision: 'deny'
      }
    ]);
  });
});
