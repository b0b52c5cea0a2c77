/**
 * HTTP downstream: Streamable HTTP at `/mcp` (both protocol eras), legacy SSE at `/sse` +
 * `/messages`, and `/healthz`. Every endpoint but `/healthz` needs a bearer token. The adapter
 * authenticates and moves messages; decisions happen in the gateway core.
 *
 * Sessions: 2025-era clients get a gateway session per `Mcp-Session-Id` (or per SSE stream), bound
 * to the identity that opened it. 2026-07-28 clients have no protocol session, so their gateway
 * session is their credential: every request with one token shares one session.
 *
 * This file composes the listener; each concern has its own `http-*` module: answers and bodies,
 * the Host/Origin guard, authentication, admission bounds, sessions, the `/mcp` route, the legacy
 * SSE routes, and the routing itself.
 */
import { readFileSync } from 'node:fs';
import { createServer as createTlsServer } from 'node:https';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Gateway } from '../core/gateway.js';
import { createAdminHandler } from '../admin/index.js';
import { createAdmission } from './http-admission.js';
import { createHttpAuth, resourceMetadata } from './http-auth.js';
import { createHostOriginCheck, isLoopback } from './http-guard.js';
import { createMcpRoute } from './http-mcp.js';
import { createRequestHandler } from './http-routes.js';
import { createLegacySessions, type LegacyEntry } from './http-sessions.js';
import { createSseRoutes, type SseEntry } from './http-sse.js';

export { resourceMetadata, type ResourceMetadata } from './http-auth.js';

export interface HttpOptions {
  host: string;
  port: number;
}

export interface HttpHandle {
  url: string;
  server: HttpServer;
  /** Close; with a grace period, calls in flight may finish first. */
  close(graceMs?: number): Promise<void>;
}

export async function serveHttp(gateway: Gateway, log: Logger, options: HttpOptions): Promise<HttpHandle> {
  const legacy = new Map<string, LegacyEntry>();
  const sse = new Map<string, SseEntry>();
  const admission = createAdmission(gateway.config.limits, () => legacy.size + sse.size);
  const loopback = isLoopback(options.host);
  const listen = gateway.config.listen;
  const prm = resourceMetadata(gateway);
  const auth = createHttpAuth(gateway, prm);
  const sessions = createLegacySessions(gateway, log, admission, legacy);
  const admin = createAdminHandler(gateway, log.child({ surface: 'admin' }));
  const mcp = createMcpRoute(gateway, log, admission, auth, sessions);
  const handler = createRequestHandler({
    gateway,
    log,
    prm,
    hostAndOriginOk: createHostOriginCheck(listen, loopback, log),
    admin,
    auth,
    admission,
    mcp,
    sse: createSseRoutes(gateway, log, admission, auth, sse)
  });
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

  const sweeper = setInterval(() => sessions.sweep(), 60_000);
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
      mcp.close();
      // Stop taking connections, let calls in flight finish (up to the grace period), then close.
      server.close();
      server.closeIdleConnections();
      if (graceMs > 0) await letCallsFinish(server, gateway, log, graceMs);
      await Promise.all([...legacy.values()].map((e) => e.transport.close().catch(() => undefined)));
      await Promise.all([...sse.values()].map((e) => e.transport.close().catch(() => undefined)));
      server.closeAllConnections();
      await new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
    }
  };
}

/** Wait up to the grace period for calls in flight, then for their responses to be taken. */
async function letCallsFinish(
  server: HttpServer,
  gateway: Gateway,
  log: Logger,
  graceMs: number
): Promise<void> {
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
