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
import type { JSONRPCMessage, JSONRPCRequest, RequestId, Server } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import type { Gateway, Peer } from '../core/gateway.js';
import type { Session } from '../core/session.js';
import { checkRelayTo, toWireError } from './mcp-server.js';
import type { LeanPath } from './stdio-transport.js';

export interface LeanCalls extends LeanPath {
  /** Answer calls from now on, for `server`: a 2025-era instance whose handshake is complete. */
  serve(server: Server): void;
}

type Json = Record<string, unknown>;

/** The keys of a JSON-RPC request (the SDK's request schema is strict) and of `tools/call` params. */
const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
const CALL_KEYS = new Set(['name', 'arguments', '_meta']);
/** `_meta` keys the SDK reads itself (envelope, tasks): a call that has any goes to the server. */
const RESERVED_META = 'io.modelcontextprotocol/';
/** A resource-not-found code the 2025 wire spells as invalid params, as the SDK writes it. */
const RESOURCE_NOT_FOUND = -32002;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is RequestId => typeof v === 'string' || Number.isSafeInteger(v);

/** A request the SDK would take as a valid `tools/call`, checked without a schema library. */
export function isPlainToolCall(value: unknown): value is JSONRPCRequest {
  if (!isObject(value) || value.method !== 'tools/call' || value.jsonrpc !== '2.0' || !isId(value.id))
    return false;
  for (const key in value) if (!REQUEST_KEYS.has(key)) return false;
  const params = value.params;
  if (!isObject(params) || typeof params.name !== 'string') return false;
  for (const key in params) if (!CALL_KEYS.has(key)) return false;
  if (params.arguments !== undefined && !isObject(params.arguments)) return false;
  const meta = params._meta;
  if (meta === undefined) return true;
  if (!isObject(meta)) return false;
  for (const key in meta) if (key.startsWith(RESERVED_META)) return false;
  return meta.progressToken === undefined || isId(meta.progressToken);
}

/**
 * A tool result as the 2025 wire has it: one without `content` gets an empty one (as the SDK does),
 * and structured content that is not an object (a 2026-era upstream may send any value) is wrapped
 * as `{ result: value }`, as the SDK client does for a 2025-era caller.
 */
function withContent(result: unknown): unknown {
  if (!isObject(result)) return result;
  let out = result;
  const sc = result.structuredContent;
  if (sc !== undefined && !isObject(sc)) out = { ...out, structuredContent: { result: sc } };
  if (out.content !== undefined) return out;
  if ('task' in out || 'inputRequests' in out || 'requestState' in out) return out;
  return { ...out, content: [] };
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
      peer = {
        notify(method, params) {
          const sent =
            method === 'notifications/message'
              ? server.sendLoggingMessage({
                  level: params?.level,
                  data: params?.data,
                  logger: params?.logger
                } as never)
              : server.notification({ method, params } as never);
          sent.catch(() => undefined);
        },
        request: async (method, params) => {
          checkRelayTo(server, method);
          return server.request({ method: method as 'sampling/createMessage', params } as never);
        }
      };
      const closed = server.onclose;
      server.onclose = () => {
        peer = undefined;
        for (const controller of running.values()) controller.abort(new Error('Connection closed'));
        closed?.();
      };
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
