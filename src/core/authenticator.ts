/**
 * The authenticator the gateway uses: with a shared store, revocations, lockouts and request
 * rates are read and counted there, so every replica agrees; in memory, by the authenticator
 * itself. The bearer token file, when configured, is watched and reloaded, and what it revokes is
 * carried into the shared store at start and on every reload: a replica started after the store
 * lost its data puts the file's revocations back for every other replica.
 */
import type { Logger } from 'pino';
import { createAuthenticator, type Authenticator } from '../auth/index.js';
import { watchTokenFile, type TokenWatch } from '../auth/token-watch.js';
import { substituteEnvIn } from '../config/index.js';
import type { GatewayConfig } from '../config/types.js';
import type { SharedState } from '../state/index.js';

export function createSharedAuthenticator(
  config: GatewayConfig,
  state: SharedState,
  log: Logger
): { auth: Authenticator; tokenWatch: TokenWatch | undefined } {
  const lockout = {
    failures: config.auth.lockout.failures,
    windowMs: config.auth.lockout.window_s * 1000,
    durationMs: config.auth.lockout.duration_s * 1000
  };
  // Failing from (or as) enough sources fills the table of failures: new sources are refused as
  // locked out until a record ends, rather than anyone's count being dropped. Said once per look.
  const full = (until: number) =>
    log.warn(
      { until: new Date(until).toISOString() },
      'authentication failures tracked for too many sources: new sources refused as locked out'
    );
  const auth = createAuthenticator(
    config.auth,
    state.kind === 'memory'
      ? { full }
      : {
          full,
          revoked: (id) => (state.healthy() ? state.isRevoked(id) : undefined),
          // Failures count on every replica, so a balancer does not multiply an attacker's tries.
          lockouts: {
            record: (source) =>
              void state
                .recordAuthFailure(source, lockout, Date.now())
                .catch((err: Error) =>
                  log.warn(
                    { source, err: err.message },
                    'authentication failure not shared: counted here only'
                  )
                ),
            lockedUntil: (source) => state.lockedUntil(source, Date.now())
          },
          requests: (key, limit, windowMs) => state.admitRequest(key, limit, windowMs, Date.now())
        }
  );
  const carry = () => {
    if (state.kind === 'memory') return;
    for (const [id, at] of auth.tokens.revoked) {
      if (state.isRevoked(id)) continue;
      // Known to this replica's mirror at once; written back at the next resync should this fail.
      state
        .revoke(id, new Date(at))
        .catch((err: Error) =>
          log.warn({ id, err: err.message }, 'revocation from the token file not shared yet')
        );
    }
  };
  carry();
  const tokenWatch = config.auth.tokens_file
    ? watchTokenFile(config.auth.tokens_file, auth.tokens, log, {
        substitute: (value, src, issues) => substituteEnvIn(value, src, issues),
        onReload: carry
      })
    : undefined;
  return { auth, tokenWatch };
}
