/**
 * The one session of a stdio connection: its agent authenticated (../auth/stdio.ts), the session
 * opened, and its `session/open` recorded.
 */
import type { AuditInput } from '../audit/index.js';
import type { Authenticator, Identity } from '../auth/index.js';
import { authenticateStdio } from '../auth/stdio.js';
import type { Session } from './session.js';

export function openStdioSession(options: {
  auth: Authenticator;
  /** Writes one audit record. */
  audit: (record: AuditInput) => void;
  open: (identity: Identity) => Session;
}): Session {
  const { auth, audit, open } = options;
  const identity = authenticateStdio(auth, audit);
  const session = open(identity);
  audit({
    event: 'session/open',
    identity: identity.id,
    roles: identity.roles,
    session: session.id,
    transport: 'stdio',
    outcome: 'ok'
  });
  return session;
}
