/**
 * The peer: the agent's side of one call, as the gateway core sees it (`Peer` in core/gateway.ts).
 * What an upstream sends while it serves the call goes there: log messages at the level the agent
 * chose, other notifications, and the requests the gateway relays (sampling, elicitation). Both
 * downstream paths build theirs here, over what the SDK gives them to reach the agent: the SDK
 * path a request context (`ctx.mcpReq`), the lean stdio path the server itself.
 */
import {
  ProtocolError,
  ProtocolErrorCode,
  type Server,
  type ServerContext
} from '@modelcontextprotocol/server';
import type { Peer } from '../core/gateway.js';
import { isModern } from './era.js';

/** How a peer reaches the agent: the shape of the SDK's `ctx.mcpReq`, which serves as it is. */
type PeerChannel = Pick<ServerContext['mcpReq'], 'log' | 'notify' | 'send'>;

/**
 * Refuse to relay a request the agent never said it can answer. A 2025-era agent declares
 * `sampling` and `elicitation` at initialize; a server's request for either goes to an agent
 * that did, and any other gets an error back upstream instead of a request it cannot handle.
 * A modern-era agent declares its capabilities on each request, and the SDK checks them there.
 */
function checkRelayTo(server: Server, method: string): void {
  if (isModern(server.getNegotiatedProtocolVersion())) return;
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

/**
 * The agent's side of a call served by `server`: log messages through the channel's `log` (which
 * applies the level the agent set), other notifications through its `notify`, and relayed requests
 * through its `send`, once the agent is known to handle them. A notification that cannot be
 * delivered is dropped: the call goes on.
 */
export function createPeer(server: Server, channel: PeerChannel): Peer {
  return {
    notify(method, params) {
      const sent =
        method === 'notifications/message'
          ? channel.log(params?.level as never, params?.data, params?.logger as string | undefined)
          : channel.notify({ method, params } as never);
      sent.catch(() => undefined);
    },
    request: async (method, params, options) => {
      checkRelayTo(server, method);
      return channel.send({ method: method as 'sampling/createMessage', params }, options);
    }
  };
}

/** A channel to the agent through the server itself, for calls answered beside it. */
export function serverChannel(server: Server): PeerChannel {
  return {
    log: (level, data, logger) => server.sendLoggingMessage({ level, data, logger } as never),
    notify: (notification) => server.notification(notification),
    send: ((request: { method: string; params?: Record<string, unknown> }, options?: object) =>
      server.request(request as never, options)) as PeerChannel['send']
  };
}
