/**
 * `tools/call` on a stdio connection that completed the 2025-era handshake, answered beside the SDK
 * server: the request goes straight to `gateway.callTool` and the response is written as the server
 * would write it, without the schema parses the server makes of every request, result and response.
 * Everything else goes to the server, and so does any `tools/call` this module is not sure of: one
 * it takes is exactly one the server's schemas accept. It decides nothing: every check of the call
 * happens in the gateway, as on every other path.
 *
 * What the server would do for the call, it does the same way: progress under the agent's token,
 * log messages at the level the agent set (read from the server, which keeps it), other messages
 * and relayed requests (sampling, elicitation) through the server's own API, so their ids and
 * answers stay the server's; a cancelled call is aborted and never answered, and calls still
 * running when the server closes are aborted too. Errors map as in mcp-server.ts.
 */
import type { JSONRPCMessage, RequestId, Server } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import type { Gateway, Peer } from '../core/gateway.js';
import type { Session } from '../core/session.js';
import { isObject, isPlainToolCall, withEmptyContent } from '../protocol/index.js';
import { createPeer, serverChannel } from '../protocol/peer.js';
import { chainServerClose } from '../protocol/sdk-private.js';
import { toWireError } from './mcp-server.js';
import type { LeanPath } from './stdio-transport.js';

interface LeanCalls extends LeanPath {
  /** Answer calls from now on, for `server`: a 2025-era instance whose handshake is complete. */
  serve(server: Server): void;
}

type Json = Record<string, unknown>;

/** A resource-not-found code the 2025 wire spells as invalid params, as the SDK writes it. */
const RESOURCE_NOT_FOUND = -32002;

/**
 * A tool result as the 2025 wire has it: structured content that is not an object (a 2026-era
 * upstream may send any value) is wrapped as `{ result: value }`, as the SDK client does for a
 * 2025-era caller, and one without `content` gets an empty one, as the SDK does.
 */
function withContent(result: unknown): unknown {
  if (!isObject(result)) return result;
  const sc = result.structuredContent;
  return withEmptyContent(
    sc !== undefined && !isObject(sc) ? { ...result, structuredContent: { result: sc } } : result
  );
}

export function createLeanCalls(
  gateway: Gateway,
  session: Session,
  log: Logger,
  write: (message: JSONRPCMessage) => Promise<void>
): LeanCalls {
  let peer: Peer | undefined;
  let served: Server | undefined;
  /** Calls running, by request id (the latest, should an agent reuse an id). */
  const running = new Map<RequestId, AbortController>();

  return {
    serve(server) {
      if (served === server) return;
      served = server;
      peer = createPeer(server, serverChannel(server));
      chainServerClose(server, () => {
        peer = undefined;
        for (const controller of running.values()) controller.abort(new Error('Connection closed'));
      });
    },

    takes: (value) => peer !== undefined && isPlainToolCall(value),

    cancel(requestId, reason) {
      const controller = running.get(requestId);
      if (!controller) return false;
      controller.abort(reason);
      return true;
    },

    async answer(request) {
      const { id } = request;
      const params = request.params as {
        name: string;
        arguments?: Json;
        _meta?: { progressToken?: RequestId };
      };
      const controller = new AbortController();
      running.set(id, controller);
      const progressToken = params._meta?.progressToken;
      try {
        const result = await gateway.callTool(session, params.name, params.arguments ?? {}, {
          signal: controller.signal,
          ...(peer ? { peer } : {}),
          ...(progressToken !== undefined
            ? {
                onprogress: (p) => {
                  void write({
                    jsonrpc: '2.0',
                    method: 'notifications/progress',
                    params: { progressToken, ...p }
                  });
                }
              }
            : {})
        });
        if (controller.signal.aborted) return undefined;
        return { jsonrpc: '2.0', id, result: withContent(result) } as JSONRPCMessage;
      } catch (err) {
        if (controller.signal.aborted) return undefined;
        const wire = toWireError(err, log);
        const code = Number.isSafeInteger(wire.code) ? wire.code : -32603;
        return {
          jsonrpc: '2.0',
          id,
          error: {
            code: code === RESOURCE_NOT_FOUND ? -32602 : code,
            message: wire.message ?? 'Internal error',
            ...(wire.data !== undefined ? { data: wire.data } : {})
          }
        };
      } finally {
        if (running.get(id) === controller) running.delete(id);
      }
    }
  };
}
