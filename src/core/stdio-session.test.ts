import { describe, expect, it } from 'vitest';
import type { AuditInput } from '../audit/index.js';
import { createAuthenticator } from '../auth/index.js';
import { GatewayError } from '../errors.js';
import { createSessionStore, type Session } from './session.js';
import { openStdioSession } from './stdio-session.js';

const base = {
  scopes: { read: 'tools:read', call: 'tools:call' },
  lockout: { failures: 3, window_s: 60, duration_s: 300 },
  tokens: []
};

describe('the stdio session', () => {
  it('opens a session for the identity the config names and records session/open', () => {
    const records: AuditInput[] = [];
    const sessions = createSessionStore();
    const auth = createAuthenticator({ ...base, stdio: { identity: 'local', roles: ['analyst'] } });
    const session = openStdioSession({
      auth,
      audit: (r) => records.push(r),
      open: (identity) => sessions.open(identity, 'stdio')
    });
    expect(session.identity).toEqual({ id: 'local', roles: ['analyst'], method: 'stdio' });
    expect(sessions.get(session.id)).toBe(session);
    expect(records).toEqual([
      {
        event: 'session/open',
        identity: 'local',
        roles: ['analyst'],
        session: session.id,
        transport: 'stdio',
        outcome: 'ok'
      }
    ]);
  });

  it('refuses an agent the config names no identity for: auth/failure recorded, no session opened', () => {
    const records: AuditInput[] = [];
    const opened: Session[] = [];
    const sessions = createSessionStore();
    const auth = createAuthenticator(base);
    let thrown: unknown;
    try {
      openStdioSession({
        auth,
        audit: (r) => records.push(r),
        open: (identity) => {
          const s = sessions.open(identity, 'stdio');
          opened.push(s);
          return s;
        }
      });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(GatewayError);
    expect((thrown as GatewayError).code).toBe('unauthenticated');
    expect(opened).toEqual([]);
    expect(sessions.size()).toBe(0);
    expect(records).toEqual([
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
