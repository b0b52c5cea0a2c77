/**
 * Every use the gateway makes of the MCP SDK beyond its public API, in one place: fields the SDK
 * keeps private, and callbacks the SDK installs that the gateway wraps. Each function names the
 * SDK package, version and field it relies on. sdk-private.test.ts exercises each one against the
 * installed SDK and fails, naming the field, when an upgrade moves or renames it: that is the place
 * to look first after bumping @modelcontextprotocol/client, /server or /node.
 *
 * Nothing else in src/ may reach into the SDK this way. Each function either fails loudly or
 * reports that it cannot help (its caller then takes the public path); none half-works.
 */
import type { Client, JSONRPCMessage, Transport } from '@modelcontextprotocol/client';
import type { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import type { Server } from '@modelcontextprotocol/server';
import type { SessionMeta } from '../state/index.js';

/** Adds the client's outbound `_meta` envelope to a request or notification it did not send itself. */
export type Envelope = (message: Record<string, unknown>) => Record<string, unknown>;

/**
 * The client's own outbound envelope: on a modern-era connection, the `_meta` keys (protocol
 * version, client info, capabilities) every request must carry; before it, the message as it is.
 *
 * Relies on: @modelcontextprotocol/client 2.4.0, `Protocol.prototype._envelopeOutbound(message)`
 * (private; it wraps `_outboundMetaEnvelope()`, which `Client` overrides per negotiated era).
 * Undefined when the method is gone: direct calls then go through the client.
 */
export function clientEnvelope(client: Client): Envelope | undefined {
  const envelope = (client as unknown as { _envelopeOutbound?: (m: object) => Record<string, unknown> })
    ._envelopeOutbound;
  if (typeof envelope !== 'function') return undefined;
  return (m) => envelope.call(client, m);
}

/**
 * Put `take` in front of the client on a transport it is connected to: messages `take` claims
 * (returns true for) never reach the client, every other one does, as before; when the transport
 * closes, `onclose` runs, then the client's own close handling.
 *
 * Relies on: @modelcontextprotocol/client 2.4.0, `Protocol.connect(transport)` installing its
 * handlers as the transport's `onmessage` and `onclose` (public `Transport` fields, which the SDK
 * documents as owned by the protocol once connected). Call it after `connect`.
 */
export function interceptTransport(
  transport: Transport,
  take: (message: JSONRPCMessage) => boolean,
  onclose: () => void
): void {
  const sdkMessage = transport.onmessage;
  const sdkClose = transport.onclose;
  transport.onmessage = (message, extra) => {
    if (take(message)) return;
    sdkMessage?.call(transport, message, extra as never);
  };
  transport.onclose = () => {
    onclose();
    sdkClose?.call(transport);
  };
}

/**
 * Run `onclose` when `server`'s connection closes, after nothing and before whatever close handler
 * it had: the SDK's serving entries set `Server.onclose` themselves (the web handler does, per
 * exchange), so it is chained, never replaced.
 *
 * Relies on: @modelcontextprotocol/server 2.4.0, `Protocol.onclose` (public), called from the
 * transport close handler `connect` installs.
 */
export function chainServerClose(server: Server, onclose: () => void): void {
  const previous = server.onclose;
  server.onclose = () => {
    onclose();
    previous?.();
  };
}

/**
 * Let a new transport serve a session that was initialized on another replica. The SDK keeps the
 * session id and the initialized flag private; without them the request would be refused as
 * uninitialized. If the SDK's shape changes, resuming fails (the client is told to start anew)
 * rather than serving a half-made session.
 *
 * Relies on: @modelcontextprotocol/node 2.1.2, `NodeStreamableHTTPServerTransport._webStandardTransport`
 * (private), and on that inner transport (@modelcontextprotocol/server 2.4.0,
 * `WebStandardStreamableHTTPServerTransport`) its `sessionId` and private `_initialized`.
 */
export function markInitialized(transport: NodeStreamableHTTPServerTransport, id: string): void {
  const inner = (transport as unknown as { _webStandardTransport?: Record<string, unknown> })
    ._webStandardTransport;
  if (!inner || !('_initialized' in inner) || !('sessionId' in inner)) {
    throw new Error('this SDK version cannot resume sessions');
  }
  inner.sessionId = id;
  inner._initialized = true;
}

/**
 * Give a server serving a resumed session what the agent said at initialize on the replica that
 * opened it: its capabilities (without them, relayed sampling and elicitation requests are
 * refused) and the protocol version. The SDK keeps these in fields it sets only while handling
 * `initialize`; a version of it without them fails loudly here rather than serving half a session.
 *
 * Relies on: @modelcontextprotocol/server 2.4.0, `Server._clientCapabilities`, `_clientVersion`
 * and `_negotiatedProtocolVersion` (private; read back by the public `getClientCapabilities()`,
 * `getClientVersion()` and `getNegotiatedProtocolVersion()`).
 */
export function restoreHandshake(server: Server, meta: SessionMeta): void {
  const fields = server as unknown as {
    _clientCapabilities?: unknown;
    _clientVersion?: unknown;
    _negotiatedProtocolVersion?: unknown;
  };
  if (!('_clientCapabilities' in fields) || !('_negotiatedProtocolVersion' in fields)) {
    throw new Error('this SDK version cannot resume sessions');
  }
  if (meta.client?.capabilities) fields._clientCapabilities = meta.client.capabilities;
  if (meta.client?.info) fields._clientVersion = meta.client.info;
  if (meta.protocolVersion) fields._negotiatedProtocolVersion = meta.protocolVersion;
}
