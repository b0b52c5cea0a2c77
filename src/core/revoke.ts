/**
 * Ending a session and revoking a credential from the running gateway (the admin API). A credential
 * is revoked as `portcullis token revoke` does it: in the token file (a token of the file is marked revoked, any other id, such as an OAuth
 * `jti`, joins its `revocations`), reloaded at once rather than at the next poll; and in the shared
 * store, when there is one, so that every replica refuses it.
 */
import type { TokenWatch } from '../auth/token-watch.js';
import { readTokenFile, recordRevocation, revokeTokenEntry } from '../auth/token-file.js';
import type { GatewayConfig } from '../config/types.js';
import type { SharedState } from '../state/index.js';
import type { Session } from './session.js';
import { LocalError } from '../errors.js';

/** End a session from outside through the hook its transport set; false when it set none. */
export function endSession(session: Session): boolean {
  if (!session.end) return false;
  session.end();
  return true;
}

export class RevokeRefused extends LocalError {
  constructor(message?: string) {
    super('revoke_refused', message);
  }
}

export async function revokeCredential(
  id: string,
  config: GatewayConfig,
  revoked: ReadonlyMap<string, string>,
  tokenWatch: TokenWatch | undefined,
  state: SharedState
): Promise<{ file?: string; shared: boolean }> {
  const file = config.auth.tokens_file;
  const shared = state.kind !== 'memory';
  if (!file && !shared) {
    throw new RevokeRefused(
      'the tokens are in the config, not a token file: revoke by removing the token from the config, or keep tokens in a file (auth.tokens: <file>)'
    );
  }
  if (file && !revoked.has(id)) {
    const ofFile = readTokenFile(file).tokens.some((t) => t.id === id);
    if (ofFile) revokeTokenEntry(file, id);
    else recordRevocation(file, id);
    tokenWatch?.reload();
  }
  if (shared) await state.revoke(id);
  return { ...(file ? { file } : {}), shared };
}
