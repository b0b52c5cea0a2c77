/**
 * The downstream MCP surface: a low-level SDK `Server` whose handlers hand every request to the
 * gateway core for one session. It speaks whichever protocol era the serving entry bound it to.
 * It decides nothing itself; it only translates between the SDK and the core, including errors:
 * gateway refusals become JSON-RPC errors with their registry code, upstream JSON-RPC errors pass
 * through, and anything unexpected becomes -32603.
 */
import { ProtocolError, Server, type ServerContext } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import type { Gateway, ListKind } from '../core/gateway.js';
import type { Session } from '../core/session.js';
import { ERRORS, GatewayError } from '../errors.js';
import { createPeer } from '../protocol/peer.js';
import { VERSION } from '../version.js';

export const SERVER_INFO = { name: 'portcullis', version: VERSION } as const;

export function toWireError(err: unknown, log: Logger): ProtocolError {
  if (err instanceof GatewayError) return new ProtocolError(err.rpc, err.message, { code: err.code });
  if (err instanceof ProtocolError) return err;
  log.error({ err: err instanceof Error ? err.stack : String(err) }, 'internal error');
  return new ProtocolError(ERRORS.internal.rpc, ERRORS.internal.message);
}

const LIST_CHANGED: Record<ListKind, string> = {
  tools: 'notifications/tools/list_changed',
  prompts: 'notifications/prompts/list_changed',
  resources: 'notifications/resources/list_changed'
};

/**
 * Tell this server's agent of every list change until the server closes: for a server that holds
 * a connection (stdio, a 2025-era HTTP session, an SSE stream), not for one that serves a single
 * request.
 */
export function announceListChanges(gateway: Gateway, server: Server): void {
  const stop = gateway.onListChanged((kind) => {
    server.notification({ method: LIST_CHANGED[kind] } as never).catch(() => undefined);
  });
  const closed = server.onclose;
  server.onclose = () => {
    stop();
    closed?.();
  };
}

/** Build a downstream server bound to `session()` (resolved per request, so it may be lazy). */
export function createMcpServer(
  gateway: Gateway,
  session: (ctx: ServerContext) => Session,
  log: Logger
): Server {
  const server = new Server(SERVER_INFO, {
    capabilities: gateway.capabilities(),
    instructions: 'Tools are exposed as <server>__<tool>. Calls are checked against policy and audited.'
  });
  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw toWireError(err, log);
    }
  };

  server.setRequestHandler('tools/list', (_req, ctx) =>
    guard(async () => ({ tools: (await gateway.listTools(session(ctx))) as never }))
  );

  server.setRequestHandler('tools/call', (req, ctx) =>
    guard(async () => {
      const progressToken = req.params._meta?.progressToken;
      const args = req.params.arguments ?? {};
      const result = await gateway.callTool(session(ctx), req.params.name, args as Record<string, unknown>, {
        signal: ctx.mcpReq.signal,
        // The agent's side of the call: log messages at its chosen level, requests on its
        // request's stream.
        peer: createPeer(server, ctx.mcpReq),
        ...(progressToken !== undefined
          ? {
              onprogress: (p) => {
                ctx.mcpReq
                  .notify({ method: 'notifications/progress', params: { progressToken, ...p } })
                  .catch(() => undefined);
              }
            }
          : {})
      });
      return result as never;
    })
  );

  server.setRequestHandler('prompts/list', (_req, ctx) =>
    guard(async () => (await gateway.listPrompts(session(ctx))) as never)
  );
  server.setRequestHandler('prompts/get', (req, ctx) =>
    guard(async () => (await gateway.getPrompt(session(ctx), req.params.name, req.params.arguments)) as never)
  );
  server.setRequestHandler('resources/list', (_req, ctx) =>
    guard(async () => (await gateway.listResources(session(ctx))) as never)
  );
  server.setRequestHandler('resources/templates/list', (_req, ctx) =>
    guard(async () => (await gateway.listResourceTemplates(session(ctx))) as never)
  );
  server.setRequestHandler('resources/read', (req, ctx) =>
    guard(async () => (await gateway.readResource(session(ctx), req.params.uri)) as never)
  );
  server.setRequestHandler('resources/subscribe', (req, ctx) =>
    guard(() =>
      gateway.subscribe(session(ctx), req.params.uri, (params) => {
        server
          .notification({ method: 'notifications/resources/updated', params } as never)
          .catch(() => undefined);
      })
    )
  );
  server.setRequestHandler('resources/unsubscribe', (req, ctx) =>
    guard(() => gateway.unsubscribe(session(ctx), req.params.uri))
  );
  server.setRequestHandler('completion/complete', (req, ctx) =>
    guard(async () => (await gateway.complete(session(ctx), req.params as never)) as never)
  );
  return server;
}
