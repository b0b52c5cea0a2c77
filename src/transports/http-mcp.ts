/**
 * The `/mcp` route, Streamable HTTP in both protocol eras. A request with an `Mcp-Session-Id` goes
 * to its 2025-era session (resumed from shared state when another replica opened it); a 2025-era
 * `initialize` opens one; any other POST the SDK would serve as 2026-07-28 traffic gets one fresh
 * server, bound to the caller's credential session. The body is read, bounded and parsed here
 * before any handler sees it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  classifyInboundRequest,
  createMcpHandler,
  isInitializeRequest,
  PROTOCOL_VERSION_META_KEY
} from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import { identityKey, type Identity } from '../auth/index.js';
import type { Gateway } from '../core/gateway.js';
import { ERRORS } from '../errors.js';
import { isObject } from '../protocol/index.js';
import type { Admission } from './http-admission.js';
import { headerValue, httpError, jsonRpcError, readBodyOr413, type AuthedRequest } from './http-answer.js';
import type { HttpAuth } from './http-auth.js';
import { claimRequestIds, credentialSession, type LegacySessions } from './http-sessions.js';
import { nestedDeeperThan } from './limits.js';
import { createMcpServer } from './mcp-server.js';
import { parsedBodyHandler } from './web-handler.js';

/**
 * Would the SDK's entry serve this POST as 2025-era traffic? The same classifier `isLegacyRequest`
 * runs (`classifyInboundRequest` over the method, the three protocol headers and the parsed body),
 * fed from the Node request directly instead of from a web `Request` built for the purpose.
 *
 * One case is decided without it, the way it would decide: a message with a `method` other than
 * `initialize` whose `params._meta` holds the protocol-version claim is never legacy (it is served,
 * or refused, by the modern entry, which classifies it again in full).
 */
function isLegacyPost(req: IncomingMessage, body: unknown): boolean {
  if (isObject(body) && typeof body.method === 'string' && body.method !== 'initialize') {
    const meta = isObject(body.params) ? body.params._meta : undefined;
    if (isObject(meta) && PROTOCOL_VERSION_META_KEY in meta) return false;
  }
  const outcome = classifyInboundRequest({
    httpMethod: 'POST',
    protocolVersionHeader: headerValue(req, 'mcp-protocol-version'),
    mcpMethodHeader: headerValue(req, 'mcp-method'),
    mcpNameHeader: headerValue(req, 'mcp-name'),
    body
  });
  return outcome.kind === 'legacy';
}

export interface McpRoute {
  (req: AuthedRequest, res: ServerResponse, identity: Identity): Promise<void>;
  /** Stop publishing list changes (the listener is closing). */
  close(): void;
}

export function createMcpRoute(
  gateway: Gateway,
  log: Logger,
  admission: Admission,
  auth: HttpAuth,
  sessions: LegacySessions
): McpRoute {
  const maxBody = gateway.config.listen.max_body_bytes;
  const legacy = sessions.entries;
  // 2026-07-28 clients: one fresh server per request, bound to the caller's credential session.
  const handler = createMcpHandler(
    (ctx) => {
      const identity = ctx.authInfo?.extra?.identity as Identity;
      return createMcpServer(gateway, () => credentialSession(gateway, identity), log);
    },
    { legacy: 'reject', onerror: (err) => log.debug({ err: err.message }, 'modern handler error') }
  );
  // Their list changes go to the `subscriptions/listen` streams they hold open.
  const publish = {
    tools: () => handler.notify.toolsChanged(),
    prompts: () => handler.notify.promptsChanged(),
    resources: () => handler.notify.resourcesChanged()
  };
  const stopPublishing = gateway.onListChanged((kind) => publish[kind]());
  const modern = parsedBodyHandler(handler);

  const route = async (req: AuthedRequest, res: ServerResponse, identity: Identity): Promise<void> => {
    req.auth = {
      token: identity.tokenId ?? identity.id,
      clientId: identity.id,
      scopes: [],
      extra: { identity }
    };
    let body: unknown;
    if (req.method === 'POST') {
      const raw = await readBodyOr413(req, res, maxBody);
      if (!raw) return;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return httpError(res, 'body_not_json');
      }
      if (nestedDeeperThan(body)) {
        return httpError(res, 'nested_too_deep');
      }
      if (await auth.insufficientScope(res, identity, body, 'http')) return;
    }
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      let entry = legacy.get(sessionId);
      if (!entry && gateway.state.kind !== 'memory') {
        // Opened on another replica: resume it here from the shared store.
        let resumed;
        try {
          resumed = await sessions.resume(sessionId, identity, res);
        } catch (err) {
          log.warn({ session: sessionId, err: (err as Error).message }, 'session not resumed');
          return jsonRpcError(res, 503, ERRORS.state_unavailable.rpc, ERRORS.state_unavailable.message);
        }
        if (resumed === 'foreign') {
          log.warn({ session: sessionId, identity: identity.id }, 'session presented by another identity');
          return httpError(res, 'session_foreign');
        }
        if (resumed === 'full') return;
        entry = resumed;
      }
      if (!entry) return httpError(res, 'session_not_found');
      if (entry.owner !== identityKey(identity)) {
        log.warn({ session: sessionId, identity: identity.id }, 'session presented by another identity');
        return httpError(res, 'session_foreign');
      }
      entry.lastSeen = Date.now();
      const duplicate = req.method === 'POST' ? claimRequestIds(entry, body, res) : undefined;
      if (duplicate !== undefined) {
        log.warn({ session: sessionId, id: duplicate }, 'request id already in flight in the session');
        return httpError(res, 'request_id_in_use', Array.isArray(body) ? {} : { id: duplicate });
      }
      // A session resumed by a concurrent request may still be connecting.
      if (entry.ready) await entry.ready;
      return entry.transport.handleRequest(req, res, body);
    }
    if (req.method !== 'POST') return httpError(res, 'session_required');
    if (!isLegacyPost(req, body)) return modern(req, res, body);
    if (!isInitializeRequest(body)) {
      return httpError(res, 'session_required');
    }
    const owner = identityKey(identity);
    if (!admission.admitSession(owner, res)) return;
    const entry = await sessions.open(identity, owner);
    return entry.transport.handleRequest(req, res, body);
  };
  return Object.assign(route, { close: stopPublishing });
}
