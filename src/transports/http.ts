/**
 * HTTP downstream: Streamable HTTP at `/mcp` (both protocol eras), legacy SSE at `/sse` +
 * `/messages`, and `/healthz`. Every endpoint but `/healthz` needs a bearer token. The adapter
 * authenticates and moves messages; decisions happen in the gateway core.
 *
 * Sessions: 2025-era clients get a gateway session per `Mcp-Session-Id` (or per SSE stream), bound
 * to the identity that opened it. 2026-07-28 clients have no protocol session, so their gateway
 * session is their credential: every request with one token shares one session.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createTlsServer } from 'node:https';
import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import {
  classifyInboundRequest,
  createMcpHandler,
  isInitializeRequest,
  localhostAllowedHostnames,
  parseJSONRPCMessage,
  PROTOCOL_VERSION_META_KEY,
  validateHostHeader,
  validateOriginHeader,
  type AuthInfo
} from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import { identityKey, type Identity } from '../auth/index.js';
import type { Gateway } from '../core/gateway.js';
import type { Session } from '../core/session.js';
import { ERRORS, type ErrorCode } from '../errors.js';
import type { SessionMeta } from '../state/index.js';
import { createAdminHandler } from '../admin/index.js';
import { authAnswer } from './auth-answer.js';
import { isObject } from '../protocol/index.js';
import { markInitialized, restoreHandshake } from '../protocol/sdk-private.js';
import { createMcpServer } from './mcp-server.js';
import { nestedDeeperThan } from './limits.js';
import { SseServerTransport } from './sse.js';
import { parsedBodyHandler } from './web-handler.js';

const LEGACY_IDLE_MS = 30 * 60_000;

export interface HttpOptions {
  host: string;
  port: number;
}

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

export interface HttpHandle {
  url: string;
  server: HttpServer;
  /** Close; with a grace period, calls in flight may finish first. */
  close(graceMs?: number): Promise<void>;
}

type AuthedRequest = IncomingMessage & { auth?: AuthInfo };

interface LegacyEntry {
  transport: NodeStreamableHTTPServerTransport;
  /** Settles once the session's server is connected to the transport. */
  ready?: Promise<void>;
  owner: string;
  session?: Session;
  lastSeen: number;
}

interface SseEntry {
  transport: SseServerTransport;
  owner: string;
  session: Session;
}

const ownerOf = (identity: Identity) => identityKey(identity);

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function jsonRpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers = {}
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

/** The registry entries answered at the HTTP level (those with a status). */
type HttpErrorCode = {
  [K in ErrorCode]: (typeof ERRORS)[K] extends { status: number } ? K : never;
}[ErrorCode];

/** Answer with a registry entry answered at the HTTP level: its status, JSON-RPC code and message. */
function httpError(
  res: ServerResponse,
  code: HttpErrorCode,
  options: { message?: string; headers?: Record<string, string> } = {}
): void {
  const e = ERRORS[code];
  jsonRpcError(res, e.status, e.rpc, options.message ?? e.message, options.headers);
}

class BodyTooLarge extends Error {}

/** A request header as the web `Headers` of the SDK would give it: repeated values joined by ", ". */
function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

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

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limit) {
      reject(new BodyTooLarge());
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLarge());
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function serveHttp(gateway: Gateway, log: Logger, options: HttpOptions): Promise<HttpHandle> {
  const legacy = new Map<string, LegacyEntry>();
  const sse = new Map<string, SseEntry>();
  // Session bounds: one caller cannot hold more than its share, and nobody more than the total.
  const perOwner = new Map<string, number>();
  const limits = gateway.config.limits;
  const admitSession = (owner: string, res: ServerResponse): boolean => {
    if (legacy.size + sse.size >= limits.max_sessions) {
      httpError(res, 'sessions_full', { headers: { 'Retry-After': '5' } });
      return false;
    }
    if ((perOwner.get(owner) ?? 0) >= limits.max_sessions_per_identity) {
      httpError(res, 'identity_sessions_full', { headers: { 'Retry-After': '5' } });
      return false;
    }
    perOwner.set(owner, (perOwner.get(owner) ?? 0) + 1);
    return true;
  };
  const releaseSession = (owner: string) => {
    const n = (perOwner.get(owner) ?? 1) - 1;
    if (n <= 0) perOwner.delete(owner);
    else perOwner.set(owner, n);
  };
  // Requests open at once, per caller. A response stays open until the client has taken it, so a
  // client that sends calls and never reads holds at most this many responses in the gateway.
  const openRequests = new Map<string, number>();
  const admitRequest = (owner: string, req: IncomingMessage, res: ServerResponse): boolean => {
    const n = openRequests.get(owner) ?? 0;
    if (n >= limits.max_requests_per_identity) {
      httpError(res, 'identity_requests_full', { headers: { 'Retry-After': '1' } });
      return false;
    }
    openRequests.set(owner, n + 1);
    const release = () => {
      const left = (openRequests.get(owner) ?? 1) - 1;
      if (left <= 0) openRequests.delete(owner);
      else openRequests.set(owner, left);
    };
    res.once('close', () => {
      // A response handed to a socket the client does not read from is still held here.
      const socket = req.socket;
      if (socket.destroyed || !socket.writableNeedDrain) return release();
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        release();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
    return true;
  };
  const loopback = isLoopback(options.host);
  const listen = gateway.config.listen;
  // DNS rebinding: a loopback listener answers only to loopback names unless told otherwise;
  // browsers may call only from the allowed origins (by default: the host itself).
  const allowedHosts = listen.allowed_hosts ?? (loopback ? localhostAllowedHostnames() : undefined);
  const hostAndOriginOk = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (allowedHosts) {
      const host = validateHostHeader(req.headers.host, allowedHosts);
      if (!host.ok) {
        httpError(res, 'host_refused', { message: host.message });
        return false;
      }
    }
    const origin = req.headers.origin;
    if (origin) {
      let allowed = listen.allowed_origins;
      if (!allowed) {
        let hostname: string | undefined;
        try {
          hostname = new URL(`http://${req.headers.host ?? ''}`).hostname;
        } catch {
          hostname = undefined;
        }
        allowed = [...(loopback ? localhostAllowedHostnames() : []), ...(hostname ? [hostname] : [])];
      }
      const checked = validateOriginHeader(origin, allowed);
      if (!checked.ok) {
        log.warn({ origin, source: req.socket.remoteAddress }, 'foreign Origin refused');
        httpError(res, 'origin_refused', { message: checked.message });
        return false;
      }
    }
    return true;
  };

  // 2026-07-28 clients: one fresh server per request, bound to the caller's credential session.
  // The body is read, bounded and parsed here before the handler sees it.
  const modern = parsedBodyHandler(
    createMcpHandler(
      (ctx) => {
        const identity = ctx.authInfo?.extra?.identity as Identity;
        return createMcpServer(gateway, () => modernSession(identity), log);
      },
      { legacy: 'reject', onerror: (err) => log.debug({ err: err.message }, 'modern handler error') }
    )
  );
  const modernSession = (identity: Identity): Session => {
    const id = `cred:${ownerOf(identity)}`;
    return gateway.sessions.get(id) ?? gateway.openSession(identity, 'http', id);
  };

  const prm = resourceMetadata(gateway);
  const admin = createAdminHandler(gateway, log.child({ surface: 'admin' }));
  const maxBody = gateway.config.listen.max_body_bytes;
  const challenge = (extra = '') =>
    `Bearer realm="portcullis"${prm ? `, resource_metadata="${prm.metadataUrl}"` : ''}${extra}`;

  /** Authenticate a request to /mcp, /sse or /messages; a refusal is answered here, and undefined returned. */
  const authenticate = async (req: IncomingMessage, res: ServerResponse): Promise<Identity | undefined> => {
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
  };

  /**
   * 403 with a step-up challenge when the call needs a scope the credential lacks. The gateway
   * decides, by the scope stage's own check, and writes the call's audit record.
   */
  const insufficientScope = async (
    res: ServerResponse,
    identity: Identity,
    body: unknown,
    transport: 'http' | 'sse'
  ): Promise<boolean> => {
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
  };

  /** /metrics takes its own credential: the scrape token, or a gateway token with a metrics role. */
  const handleMetrics = async (req: IncomingMessage, res: ServerResponse) => {
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
  };

  const handleMcp = async (req: AuthedRequest, res: ServerResponse, identity: Identity) => {
    req.auth = {
      token: identity.tokenId ?? identity.id,
      clientId: identity.id,
      scopes: [],
      extra: { identity }
    };
    let body: unknown;
    if (req.method === 'POST') {
      let raw: Buffer;
      try {
        raw = await readBody(req, maxBody);
      } catch (err) {
        if (err instanceof BodyTooLarge) return httpError(res, 'body_too_large');
        throw err;
      }
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return httpError(res, 'body_not_json');
      }
      if (nestedDeeperThan(body)) {
        return httpError(res, 'nested_too_deep');
      }
      if (await insufficientScope(res, identity, body, 'http')) return;
    }
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      let entry = legacy.get(sessionId);
      if (!entry && gateway.state.kind !== 'memory') {
        // Opened on another replica: resume it here from the shared store.
        let resumed;
        try {
          resumed = await resumeLegacy(sessionId, identity, res);
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
      if (entry.owner !== ownerOf(identity)) {
        log.warn({ session: sessionId, identity: identity.id }, 'session presented by another identity');
        return httpError(res, 'session_foreign');
      }
      entry.lastSeen = Date.now();
      // A session resumed by a concurrent request may still be connecting.
      if (entry.ready) await entry.ready;
      return entry.transport.handleRequest(req, res, body);
    }
    if (req.method !== 'POST') return httpError(res, 'session_required');
    if (!isLegacyPost(req, body)) return modern(req, res, body);
    if (!isInitializeRequest(body)) {
      return httpError(res, 'session_required');
    }
    const owner = ownerOf(identity);
    if (!admitSession(owner, res)) return;
    const entry = await legacyEntry(identity, owner);
    return entry.transport.handleRequest(req, res, body);
  };

  /** A 2025-era session: a new one (id given at initialize), or one resumed under `resumeId`. */
  const legacyEntry = async (
    identity: Identity,
    owner: string,
    resumed?: SessionMeta
  ): Promise<LegacyEntry> => {
    const resumeId = resumed?.id;
    const share = (meta: SessionMeta) =>
      gateway.state
        .saveSession(meta)
        .catch((err: Error) =>
          log.warn(
            { session: meta.id, err: err.message },
            'session not shared: other replicas cannot resume it'
          )
        );
    const opened = (id: string) => {
      legacy.set(id, entry);
      entry.session = gateway.openSession(identity, 'http', id);
    };
    const entry: LegacyEntry = {
      owner,
      lastSeen: Date.now(),
      transport: new NodeStreamableHTTPServerTransport({
        sessionIdGenerator: () => resumeId ?? randomUUID(),
        onsessioninitialized: async (id) => {
          opened(id);
          // Shared state: another replica behind the same load balancer can resume it.
          if (gateway.state.kind === 'memory') return;
          await share({ id, owner, identity, transport: 'http', createdAt: Date.now() });
        }
      })
    };
    let released = false;
    entry.transport.onclose = () => {
      const id = entry.transport.sessionId;
      if (id) legacy.delete(id);
      if (entry.session) gateway.closeSession(entry.session);
      if (!released) releaseSession(owner);
      released = true;
    };
    if (resumeId) {
      markInitialized(entry.transport, resumeId);
      opened(resumeId);
    }
    const server = createMcpServer(gateway, () => entry.session ?? modernSession(identity), log);
    if (resumed) restoreHandshake(server, resumed);
    else if (gateway.state.kind !== 'memory') {
      // Once the handshake is done, what the agent declared goes with the session.
      server.oninitialized = () => {
        const id = entry.transport.sessionId;
        if (!id) return;
        const version = server.getNegotiatedProtocolVersion();
        const capabilities = server.getClientCapabilities();
        const info = server.getClientVersion();
        void share({
          id,
          owner,
          identity,
          transport: 'http',
          createdAt: Date.now(),
          ...(version ? { protocolVersion: version } : {}),
          client: {
            ...(capabilities ? { capabilities: capabilities as Record<string, unknown> } : {}),
            ...(info ? { info: info as unknown as Record<string, unknown> } : {})
          }
        });
      };
    }
    entry.ready = server.connect(entry.transport);
    await entry.ready;
    return entry;
  };

  /** A session another replica opened: resumed here when the caller is the one who opened it. */
  const resumeLegacy = async (
    id: string,
    identity: Identity,
    res: ServerResponse
  ): Promise<LegacyEntry | 'foreign' | 'full' | undefined> => {
    const meta = await gateway.state.findSession(id);
    if (!meta) return undefined;
    // No await from here until the entry is registered: concurrent requests resume it once.
    const owner = ownerOf(identity);
    if (meta.owner !== owner) return 'foreign';
    const existing = legacy.get(id);
    if (existing) return existing;
    if (!admitSession(owner, res)) return 'full';
    return legacyEntry(identity, owner, meta);
  };

  const handleSse = async (req: AuthedRequest, res: ServerResponse, identity: Identity) => {
    const owner = ownerOf(identity);
    if (!admitSession(owner, res)) return;
    const transport = new SseServerTransport('/messages', res);
    const session = gateway.openSession(identity, 'sse', transport.sessionId);
    const entry: SseEntry = { transport, owner, session };
    sse.set(transport.sessionId, entry);
    transport.onclose = () => {
      sse.delete(transport.sessionId);
      gateway.closeSession(session);
      releaseSession(owner);
    };
    const server = createMcpServer(gateway, () => session, log);
    await server.connect(transport);
  };

  const handleMessages = async (req: AuthedRequest, res: ServerResponse, identity: Identity, url: URL) => {
    const entry = sse.get(url.searchParams.get('sessionId') ?? '');
    if (!entry) return httpError(res, 'session_not_found');
    if (entry.owner !== ownerOf(identity)) return httpError(res, 'session_foreign');
    let raw: Buffer;
    try {
      raw = await readBody(req, maxBody);
    } catch (err) {
      if (err instanceof BodyTooLarge) return httpError(res, 'body_too_large');
      throw err;
    }
    let message;
    try {
      const parsed = JSON.parse(raw.toString('utf8')) as unknown;
      if (nestedDeeperThan(parsed)) {
        return httpError(res, 'nested_too_deep');
      }
      message = parseJSONRPCMessage(parsed);
    } catch {
      return httpError(res, 'message_not_jsonrpc');
    }
    if (await insufficientScope(res, identity, message, 'sse')) return;
    res.writeHead(202).end('Accepted');
    entry.transport.receive(message, {
      token: identity.tokenId ?? identity.id,
      clientId: identity.id,
      scopes: [],
      extra: { identity }
    });
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    const route = async () => {
      if (url.pathname === '/healthz') {
        if (req.method !== 'GET') return httpError(res, 'method_not_allowed');
        const health = gateway.health();
        res.writeHead(health.ok ? 200 : 503, { 'Content-Type': 'application/json' });
        return res.end(JSON.stringify(health));
      }
      if (url.pathname.startsWith('/.well-known/oauth-protected-resource')) {
        if (!prm) return httpError(res, 'not_found');
        res.writeHead(200, { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': '*' });
        return res.end(JSON.stringify(prm.document));
      }
      if (!hostAndOriginOk(req, res)) return;
      if (await admin.handle(req, res, url)) return;
      if (url.pathname === '/metrics') {
        if (req.method !== 'GET') return httpError(res, 'method_not_allowed');
        return handleMetrics(req, res);
      }
      const known = url.pathname === '/mcp' || url.pathname === '/sse' || url.pathname === '/messages';
      if (!known) return httpError(res, 'not_found');
      const identity = await authenticate(req, res);
      if (!identity) return;
      // Event streams (GET) are bounded by sessions, and their backlog by the transports.
      if (req.method !== 'GET' && !admitRequest(ownerOf(identity), req, res)) return;
      if (url.pathname === '/mcp') {
        if (!['POST', 'GET', 'DELETE'].includes(req.method ?? '')) {
          return httpError(res, 'method_not_allowed');
        }
        return handleMcp(req, res, identity);
      }
      if (url.pathname === '/sse') {
        if (req.method !== 'GET') return httpError(res, 'method_not_allowed');
        return handleSse(req, res, identity);
      }
      if (req.method !== 'POST') return httpError(res, 'method_not_allowed');
      return handleMessages(req, res, identity, url);
    };
    route().catch((err: unknown) => {
      log.error(
        { err: err instanceof Error ? err.stack : String(err), path: url.pathname },
        'http handler failed'
      );
      jsonRpcError(res, 500, ERRORS.internal.rpc, ERRORS.internal.message);
    });
  };
  const server: HttpServer = listen.tls
    ? (createTlsServer(
        { cert: readFileSync(listen.tls.cert), key: readFileSync(listen.tls.key) },
        handler
      ) as never)
    : createServer(handler);
  if (!loopback && !listen.allowed_hosts) {
    log.warn(
      { host: options.host },
      'listening beyond loopback without listen.allowed_hosts: Host is not checked'
    );
  }
  server.requestTimeout = 0;
  server.headersTimeout = 30_000;

  const sweeper = setInterval(() => {
    const cutoff = Date.now() - LEGACY_IDLE_MS;
    for (const entry of legacy.values()) {
      if (entry.lastSeen < cutoff) void entry.transport.close();
    }
  }, 60_000);
  sweeper.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `${listen.tls ? 'https' : 'http'}://${shownHost}:${address.port}`,
    server,
    async close(graceMs = 0) {
      clearInterval(sweeper);
      admin.close();
      // Stop taking connections, let calls in flight finish (up to the grace period), then close.
      server.close();
      server.closeIdleConnections();
      if (graceMs > 0) {
        const left = await gateway.drain(graceMs);
        if (left > 0) log.warn({ calls: left }, 'shutting down with calls still in flight');
        // Let the last responses reach their clients: close connections as they fall idle.
        await new Promise<void>((resolve) => {
          const deadline = setTimeout(done, 2000);
          const sweep = setInterval(() => server.closeIdleConnections(), 50);
          server.once('close', done);
          function done() {
            clearTimeout(deadline);
            clearInterval(sweep);
            resolve();
          }
        });
      }
      await Promise.all([...legacy.values()].map((e) => e.transport.close().catch(() => undefined)));
      await Promise.all([...sse.values()].map((e) => e.transport.close().catch(() => undefined)));
      server.closeAllConnections();
      await new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
    }
  };
}
