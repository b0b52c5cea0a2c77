/**
 * Routing of the HTTP downstream. Open to all: `/healthz` and the Protected Resource Metadata.
 * Behind the Host and Origin check: the admin surface (its own credential), `/metrics` (its own
 * credential), and the MCP endpoints `/mcp`, `/sse` and `/messages` (a bearer token, and a bound
 * on the requests each caller holds open). A handler that fails is answered with -32603.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { identityKey } from '../auth/index.js';
import type { AdminHandler } from '../admin/index.js';
import type { Gateway } from '../core/gateway.js';
import { ERRORS } from '../errors.js';
import { authAnswer } from './auth-answer.js';
import type { Admission } from './http-admission.js';
import { httpError, jsonRpcError } from './http-answer.js';
import type { HttpAuth, ResourceMetadata } from './http-auth.js';
import type { McpRoute } from './http-mcp.js';
import type { SseRoutes } from './http-sse.js';

interface HttpRoutes {
  gateway: Gateway;
  log: Logger;
  prm: ResourceMetadata | undefined;
  hostAndOriginOk: (req: IncomingMessage, res: ServerResponse) => boolean;
  admin: AdminHandler;
  auth: HttpAuth;
  admission: Admission;
  mcp: McpRoute;
  sse: SseRoutes;
}

function handleHealthz(gateway: Gateway, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'GET') return httpError(res, 'method_not_allowed');
  const health = gateway.health();
  res.writeHead(health.ok ? 200 : 503, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(health));
}

function handleResourceMetadata(prm: ResourceMetadata | undefined, res: ServerResponse): void {
  if (!prm) return httpError(res, 'not_found');
  res.writeHead(200, { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': '*' });
  res.end(JSON.stringify(prm.document));
}

/** /metrics takes its own credential: the scrape token, or a gateway token with a metrics role. */
async function handleMetrics(gateway: Gateway, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!gateway.config.metrics.enabled) return httpError(res, 'not_found');
  const source = req.socket.remoteAddress ?? 'unknown';
  const outcome = await gateway.authenticateRequest(req.headers.authorization, source, 'metrics');
  if (!outcome.ok) {
    const answer = authAnswer(outcome, () => 'Bearer realm="portcullis-metrics"');
    return jsonRpcError(res, answer.status, ERRORS[answer.code].rpc, answer.message, answer.headers);
  }
  const { contentType, body } = await gateway.metrics.render();
  res.writeHead(200, { 'Content-Type': contentType });
  res.end(body);
}

async function route(r: HttpRoutes, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  if (url.pathname === '/healthz') return handleHealthz(r.gateway, req, res);
  if (url.pathname.startsWith('/.well-known/oauth-protected-resource')) {
    return handleResourceMetadata(r.prm, res);
  }
  if (!r.hostAndOriginOk(req, res)) return;
  if (await r.admin.handle(req, res, url)) return;
  if (url.pathname === '/metrics') {
    if (req.method !== 'GET') return httpError(res, 'method_not_allowed');
    return handleMetrics(r.gateway, req, res);
  }
  const known = url.pathname === '/mcp' || url.pathname === '/sse' || url.pathname === '/messages';
  if (!known) return httpError(res, 'not_found');
  const identity = await r.auth.authenticate(req, res);
  if (!identity) return;
  // Event streams (GET) are bounded by sessions, and their backlog by the transports.
  if (req.method !== 'GET' && !r.admission.admitRequest(identityKey(identity), req, res)) return;
  if (url.pathname === '/mcp') {
    if (!['POST', 'GET', 'DELETE'].includes(req.method ?? '')) {
      return httpError(res, 'method_not_allowed');
    }
    return r.mcp(req, res, identity);
  }
  if (url.pathname === '/sse') {
    if (req.method !== 'GET') return httpError(res, 'method_not_allowed');
    return r.sse.handleSse(req, res, identity);
  }
  if (req.method !== 'POST') return httpError(res, 'method_not_allowed');
  return r.sse.handleMessages(req, res, identity, url);
}

/** The listener's request handler. */
export function createRequestHandler(r: HttpRoutes): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    route(r, req, res, url).catch((err: unknown) => {
      r.log.error(
        { err: err instanceof Error ? err.stack : String(err), path: url.pathname },
        'http handler failed'
      );
      jsonRpcError(res, 500, ERRORS.internal.rpc, ERRORS.internal.message);
    });
  };
}
