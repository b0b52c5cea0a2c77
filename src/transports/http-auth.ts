/**
 * Bearer authentication on the HTTP downstream: the RFC 9728 Protected Resource Metadata, the
 * `WWW-Authenticate` challenge that points to it, and the answers to a refused credential or a
 * missing scope. The gateway decides; this writes its decisions as HTTP.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Identity } from '../auth/index.js';
import type { Gateway } from '../core/gateway.js';
import { ERRORS } from '../errors.js';
import { authAnswer } from './auth-answer.js';
import { jsonRpcError } from './http-answer.js';

/** RFC 9728 Protected Resource Metadata, and where it is served. */
export interface ResourceMetadata {
  resource: string;
  metadataUrl: string;
  document: Record<string, unknown>;
}

export function resourceMetadata(gateway: Gateway): ResourceMetadata | undefined {
  const { auth, listen } = gateway.config;
  if (!auth.oauth) return undefined;
  const audience = Array.isArray(auth.oauth.audience) ? auth.oauth.audience[0] : auth.oauth.audience;
  const resource = listen.public_url ?? audience;
  if (!resource) return undefined;
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return {
    resource,
    metadataUrl: `${url.origin}/.well-known/oauth-protected-resource${path}`,
    document: {
      resource,
      authorization_servers: auth.oauth.authorization_servers ?? [auth.oauth.issuer],
      scopes_supported: [auth.scopes.read, auth.scopes.call],
      bearer_methods_supported: ['header'],
      resource_name: 'Portcullis MCP gateway'
    }
  };
}

export interface HttpAuth {
  /** Authenticate a request to /mcp, /sse or /messages; a refusal is answered here, and undefined returned. */
  authenticate(req: IncomingMessage, res: ServerResponse): Promise<Identity | undefined>;
  /**
   * 403 with a step-up challenge when the call needs a scope the credential lacks. The gateway
   * decides, by the scope stage's own check, and writes the call's audit record.
   */
  insufficientScope(
    res: ServerResponse,
    identity: Identity,
    body: unknown,
    transport: 'http' | 'sse'
  ): Promise<boolean>;
}

export function createHttpAuth(gateway: Gateway, prm: ResourceMetadata | undefined): HttpAuth {
  const challenge = (extra = '') =>
    `Bearer realm="portcullis"${prm ? `, resource_metadata="${prm.metadataUrl}"` : ''}${extra}`;
  return {
    async authenticate(req, res) {
      const outcome = await gateway.authenticateRequest(
        req.headers.authorization,
        req.socket.remoteAddress ?? 'unknown'
      );
      if (outcome.ok) return outcome.identity;
      const answer = authAnswer(outcome, (reason) =>
        challenge(reason === 'invalid' ? ', error="invalid_token"' : '')
      );
      jsonRpcError(res, answer.status, ERRORS[answer.code].rpc, answer.message, answer.headers);
      return undefined;
    },
    async insufficientScope(res, identity, body, transport) {
      const scope = await gateway.preflight(identity, body, transport);
      if (!scope) return false;
      const id = (body as { id?: unknown }).id;
      res.writeHead(403, {
        'Content-Type': 'application/json',
        'WWW-Authenticate': challenge(`, error="insufficient_scope", scope="${scope}"`)
      });
      res.end(
        JSON.stringify({
          jsonrpc: '2.0',
          id: typeof id === 'string' || typeof id === 'number' ? id : null,
          error: {
            code: ERRORS.insufficient_scope.rpc,
            message: ERRORS.insufficient_scope.message,
            data: { scope }
          }
        })
      );
      return true;
    }
  };
}
