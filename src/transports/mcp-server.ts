/**
 * The downstream MCP surface: a low-level SDK `Server` whose handlers hand every request to the
 * gateway core for one session. It speaks whichever protocol era the serving entry bound it to.
 * It decides nothing itself; it only translates between the SDK and the core, including errors:
 * gateway refusals become JSON-RPC errors with their registry code, upstream JSON-RPC errors pass
 * through, and anything unexpected becomes -32603.
 */
import { ProtocolError, ProtocolErrorCode, Server, type ServerContext } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import type { Gateway, Peer } from '../core/gateway.js';
import type { Session } from '../core/session.js';
import { ERRORS, GatewayError } from '../errors.js';

export const SERVER_INFO = { name: 'portcullis', version: '0.1.0' } as const;

/** From this revision on, what an agent supports travels with each request, and the SDK checks it. */
const PER_REQUEST_CAPABILITIES = '2026-07-28';

/**
 * Refuse to relay a request the agent never said it can answer. A 2025-era agent declares
 * `sampling` and `elicitation` at initialize; a server's request for either goes to an agent
 * that did, and any other gets an error back upstream instead of a request it cannot handle.
 */
export function checkRelayTo(server: Server, method: string): void {
  const version = server.getNegotiatedProtocolVersion();
  if (version !== undefined && version >= PER_REQUEST_CAPABILITIES) return;
  const declared = server.getClientCapabilities() as Record<string, unknown> | undefined;
  const needs =
    method === 'sampling/createMessage'
      ? 'sampling'
      : method === 'elicitation/create'
        ? 'elicitation'
        : undefined;
  if (needs && !declared?.[needs]) {
    throw new ProtocolError(
      ProtocolErrorCode.InvalidRequest,
      `the agent did not declare the ${needs} capability`
    );
  }
}

export function toWireError(err: unknown, log: Logger): ProtocolError {
  if (err instanceof GatewayError) return new ProtocolError(err.rpc, err.message, { code: err.code });
  if (err instanceof ProtocolError) return err;
  log.error({ err: err instanceof Error ? err.stack : String(err) }, 'internal error');
  return new ProtocolError(ERRORS.internal.rpc, ERRORS.internal.message);
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

  /** The agent's side of a call: log messages at its chosen level, requests on its request's stream. */
  const peerOf = (ctx: ServerContext): Peer => ({
    notify(method, params) {
      const sent =
        method === 'notifications/message'
          ? ctx.mcpReq.log(params?.level as never, params?.data, params?.logger as string | undefined)
          : ctx.mcpReq.notify({ method, params } as never);
      sent.catch(() => undefined);
    },
    request: async (method, params) => {
      checkRelayTo(server, method);
      return ctx.mcpReq.send({ method: method as 'sampling/createMessage', params });
    }
  });

  server.setRequestHandler('tools/call', (req, ctx) =>
    guard(async () => {
      const progressToken = req.params._meta?.progressToken;
      const args = req.params.arguments ?? {};
      const result = await gateway.callTool(session(ctx), req.params.name, args as Record<string, unknown>, {
        signal: ctx.mcpReq.signal,
        peer: peerOf(ctx),
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
