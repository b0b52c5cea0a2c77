/**
 * The HTTP transport's scope preflight: would this `tools/call` be refused for a missing scope?
 * Asked before the call starts, so the transport can answer 403 insufficient_scope with a step-up
 * challenge. Decided by the scope stage's own check and audited here, as the call's one record.
 */
import type { Logger } from 'pino';
import type { AuditInput } from '../audit/index.js';
import type { Identity } from '../auth/index.js';
import type { Names } from '../core/names.js';
import type { DownstreamTransport } from '../core/session.js';
import { GatewayError } from '../errors.js';
import type { Upstream } from '../upstream/index.js';
import type { ScopeCheck } from './index.js';

export type Preflight = (
  identity: Identity,
  message: unknown,
  transport?: DownstreamTransport
) => Promise<string | undefined>;

export function createPreflight(options: {
  names: Names;
  upstreams: ReadonlyMap<string, Upstream>;
  scopes: ScopeCheck;
  audit: (record: AuditInput) => void;
  log: Logger;
}): Preflight {
  const { names, upstreams, scopes, audit, log } = options;
  return async (identity, message, transport = 'http') => {
    const started = performance.now();
    const m = message as { method?: unknown; params?: { name?: unknown } } | null;
    if (!m || m.method !== 'tools/call' || typeof m.params?.name !== 'string') return undefined;
    if (identity.scopes === undefined) return undefined;
    const name = m.params.name;
    const parts = names.split(name);
    const up = parts && upstreams.get(parts.server);
    if (!parts || !up) return undefined;
    let missing: string | undefined;
    try {
      // An isolated server's tools as its processes last listed them: no session's process is
      // started for a preflight (nothing listed yet: the pipeline decides).
      const tools = up.isolated ? up.cachedTools() : await up.listTools();
      const def = tools?.find((t) => t.name === parts.name);
      missing = def && scopes.missing(identity, parts.server, def);
    } catch {
      // The pipeline decides a call whose tool cannot be listed now.
      return undefined;
    }
    if (!missing) return undefined;
    const error = new GatewayError('insufficient_scope', `credential lacks scope "${missing}" for ${name}`);
    log.info({ identity: identity.id, name, code: error.code, reason: error.detail }, 'call denied');
    // The call's record, as the pipeline writes one for a refusal at the scope stage, less what only
    // a session and the later stages know (the arguments are not recorded: they are unscanned). The
    // refusal stands whether or not the record can be stored (a failed write is logged).
    try {
      audit({
        event: 'tools/call',
        identity: identity.id,
        ...(identity.agent ? { agent: identity.agent } : {}),
        auth: identity.method,
        roles: identity.roles,
        transport,
        name,
        server: parts.server,
        tool: parts.name,
        decision: 'deny',
        code: error.code,
        reason: error.detail,
        outcome: 'denied',
        latency_ms: Math.round((performance.now() - started) * 1000) / 1000
      });
    } catch {
      // The audit log has logged it.
    }
    return missing;
  };
}
