/**
 * The scope stage: an OAuth credential carries scopes, and a tool needs the call scope, or the
 * read scope when it is read-only. Read-only is the policy's word, or a trusted server's
 * annotation; an annotation can always take read-only away, never grant it on its own.
 */
import type { Resolved, Stage } from '../core/pipeline.js';
import type { Identity } from '../auth/index.js';
import type { ServerConfig } from '../config/types.js';
import { GatewayError } from '../errors.js';
import type { Policy } from '../policy/index.js';
import type { UpstreamTool } from '../upstream/index.js';

export interface ScopeCheck {
  /** Is the tool read-only for scope purposes, under the policy in force? */
  readOnly(server: string, tool: UpstreamTool): boolean;
  /** The scope the identity lacks for this tool, if any. */
  missing(identity: Identity, server: string, tool: UpstreamTool): string | undefined;
}

export function createScopeCheck(
  policy: () => Policy,
  servers: Readonly<Record<string, Pick<ServerConfig, 'trust_annotations'>>>,
  missingScope: (identity: Identity, readOnly: boolean) => string | undefined
): ScopeCheck {
  const readOnly = (server: string, tool: UpstreamTool): boolean => {
    const a = (tool.annotations ?? {}) as { readOnlyHint?: unknown; destructiveHint?: unknown };
    if (a.readOnlyHint === false || a.destructiveHint === true) return false;
    if (policy().marksReadOnly(server, tool.name)) return true;
    return servers[server]?.trust_annotations === true && a.readOnlyHint === true;
  };
  return {
    readOnly,
    // A credential without scopes (a gateway token, stdio) is never short of one.
    missing: (identity, server, tool) =>
      identity.scopes === undefined ? undefined : missingScope(identity, readOnly(server, tool))
  };
}

export function scopeStage(scopes: ScopeCheck): Stage<Resolved> {
  return {
    name: 'scope',
    run(ctx) {
      const missing = scopes.missing(ctx.session.identity, ctx.server, ctx.toolDef);
      if (missing)
        throw new GatewayError('insufficient_scope', `credential lacks scope "${missing}" for ${ctx.name}`);
    }
  };
}
