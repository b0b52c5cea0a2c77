/**
 * Canaries for sdk-private.ts: each accessor against the installed SDK (@modelcontextprotocol/client,
 * /server and /node), on real clients, servers and transports. A failure here after an SDK upgrade
 * names the private field or callback that moved; fix the accessor in sdk-private.ts, nowhere else.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Client,
  InMemoryTransport,
  PROTOCOL_VERSION_META_KEY,
  type JSONRPCMessage
} from '@modelcontextprotocol/client';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { Server } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { afterEach, describe, expect, it } from 'vitest';
import type { SessionMeta } from '../state/index.js';
import { MODERN_REVISION } from './era.js';
import {
  chainServerClose,
  clientEnvelope,
  interceptTransport,
  markInitialized,
  restoreHandshake
} from './sdk-private.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean().catch(() => undefined);
});

const newServer = () => new Server({ name: 'canary', version: '1.0.0' }, { capabilities: { tools: {} } });

/** A real client connected to a real server through the SDK's stdio serving entry, in memory. */
async function connected(era: 'modern' | 'legacy') {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const servers: Server[] = [];
  const handle = serveStdio(
    () => {
      const server = newServer();
      server.setRequestHandler('tools/list', async () => ({ tools: [] }));
      servers.push(server);
      return server;
    },
    { legacy: 'serve', transport: serverSide }
  );
  const client = new Client(
    { name: 'canary-client', version: '1.0.0' },
    era === 'modern' ? { versionNegotiation: { mode: 'auto' } } : {}
  );
  cleanups.push(
    () => handle.close(),
    () => client.close()
  );
  await client.connect(clientSide);
  return { client, clientSide, servers };
}

describe('clientEnvelope (client 2.4.0: Client._envelopeOutbound)', () => {
  it("is the client's own envelope: the modern era's reserved _meta keys, none before it", async () => {
    const modern = await connected('modern');
    expect(modern.client.getNegotiatedProtocolVersion()).toBe(MODERN_REVISION);
    const envelope = clientEnvelope(modern.client);
    expect(
      envelope,
      'Client._envelopeOutbound is gone or renamed: direct tool calls to modern-era upstreams fall back to the SDK client'
    ).toBeTypeOf('function');
    const sent = envelope!({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x' } }) as {
      params: { name: string; _meta: Record<string, unknown> };
    };
    expect(sent.params.name).toBe('x');
    expect(
      sent.params._meta[PROTOCOL_VERSION_META_KEY],
      'Client._envelopeOutbound no longer adds the protocol version to a request'
    ).toBe(MODERN_REVISION);

    const legacy = await connected('legacy');
    expect(legacy.client.getNegotiatedProtocolVersion()! < MODERN_REVISION).toBe(true);
    const message = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x' } };
    expect(clientEnvelope(legacy.client)!(message), 'a 2025-era message must leave unchanged').toEqual(
      message
    );
  });

  it('reports that it cannot help when the method is missing', () => {
    expect(clientEnvelope({} as Client)).toBeUndefined();
  });
});

describe("interceptTransport (client 2.4.0: Protocol.connect owns the transport's onmessage and onclose)", () => {
  it("takes the messages it claims, hands the client the rest, and closes before the client's own close", async () => {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const answers: JSONRPCMessage[] = [];
    serverSide.onmessage = (m) => {
      const msg = m as { id?: number; method?: string };
      if (msg.method === 'initialize') {
        void serverSide.send({
          jsonrpc: '2.0',
          id: msg.id!,
          result: {
            protocolVersion: '2025-11-25',
            capabilities: { tools: {} },
            serverInfo: { name: 'scripted', version: '1.0.0' }
          }
        } as JSONRPCMessage);
      } else if (msg.method === 'tools/list') {
        void serverSide.send({ jsonrpc: '2.0', id: msg.id!, result: { tools: [] } } as JSONRPCMessage);
      }
    };
    await serverSide.start();
    const client = new Client({ name: 'canary-client', version: '1.0.0' });
    cleanups.push(() => client.close());
    await client.connect(clientSide);
    expect(
      clientSide.onmessage,
      'Client.connect no longer installs transport.onmessage: direct tool calls cannot see their answers'
    ).toBeTypeOf('function');
    expect(
      clientSide.onclose,
      'Client.connect no longer installs transport.onclose: direct tool calls cannot see the connection close'
    ).toBeTypeOf('function');

    const order: string[] = [];
    const clientErrors: Error[] = [];
    client.onclose = () => order.push('client');
    client.onerror = (err) => clientErrors.push(err);
    interceptTransport(
      clientSide,
      (m) => {
        if ((m as { id?: unknown }).id !== 9_999) return false;
        answers.push(m);
        return true;
      },
      () => order.push('intercepted')
    );
    await serverSide.send({ jsonrpc: '2.0', id: 9_999, result: { content: [] } } as JSONRPCMessage);
    expect(answers).toEqual([{ jsonrpc: '2.0', id: 9_999, result: { content: [] } }]);
    // The client never saw it (it reports a response to an id it did not send as an error).
    expect(clientErrors).toEqual([]);
    await expect(client.listTools()).resolves.toMatchObject({ tools: [] });
    await serverSide.close();
    expect(order).toEqual(['intercepted', 'client']);
  });
});

describe('chainServerClose (server 2.4.0: Protocol.onclose)', () => {
  it('runs on close, before the close handler the server had', async () => {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const server = newServer();
    const order: string[] = [];
    server.onclose = () => order.push('previous');
    await server.connect(serverSide);
    chainServerClose(server, () => order.push('chained'));
    await clientSide.close();
    expect(order, 'Server.onclose is no longer called when its transport closes').toEqual([
      'chained',
      'previous'
    ]);
  });
});

describe('restoreHandshake (server 2.4.0: Server._clientCapabilities, _clientVersion, _negotiatedProtocolVersion)', () => {
  it('gives a server the handshake of a session opened elsewhere, as its public getters read it', () => {
    const server = newServer();
    const meta = {
      id: 's',
      owner: 'o',
      transport: 'http',
      createdAt: 0,
      protocolVersion: '2025-06-18',
      client: { capabilities: { sampling: {} }, info: { name: 'agent', version: '2.0.0' } }
    } as unknown as SessionMeta;
    expect(
      () => restoreHandshake(server, meta),
      'Server._clientCapabilities or _negotiatedProtocolVersion is gone: sessions cannot be resumed on another replica'
    ).not.toThrow();
    expect(
      server.getClientCapabilities(),
      'Server.getClientCapabilities() no longer reads _clientCapabilities'
    ).toEqual({
      sampling: {}
    });
    expect(server.getClientVersion(), 'Server.getClientVersion() no longer reads _clientVersion').toEqual({
      name: 'agent',
      version: '2.0.0'
    });
    expect(
      server.getNegotiatedProtocolVersion(),
      'Server.getNegotiatedProtocolVersion() no longer reads _negotiatedProtocolVersion'
    ).toBe('2025-06-18');
  });

  it('fails loudly rather than half-restore a server without those fields', () => {
    expect(() => restoreHandshake({} as Server, { client: {} } as unknown as SessionMeta)).toThrow(
      'this SDK version cannot resume sessions'
    );
  });
});

describe('markInitialized (node 2.1.2: NodeStreamableHTTPServerTransport._webStandardTransport; server 2.4.0: its sessionId and _initialized)', () => {
  async function serve(transport: NodeStreamableHTTPServerTransport): Promise<string> {
    const http: HttpServer = createServer((req, res) => void transport.handleRequest(req, res));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => http.close(resolve)));
    cleanups.push(async () => http.closeAllConnections());
    return `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  }

  it('makes a fresh transport serve a session initialized elsewhere, under its id', async () => {
    const transport = new NodeStreamableHTTPServerTransport({ sessionIdGenerator: () => 'unused' });
    expect(
      () => markInitialized(transport, 'resumed-session'),
      'NodeStreamableHTTPServerTransport._webStandardTransport (or its _initialized, sessionId) is gone: sessions cannot be resumed on another replica'
    ).not.toThrow();
    expect(transport.sessionId, 'the inner transport no longer holds the session id').toBe('resumed-session');
    const server = newServer();
    server.setRequestHandler('tools/list', async () => ({ tools: [] }));
    restoreHandshake(server, { protocolVersion: '2025-11-25', client: {} } as unknown as SessionMeta);
    cleanups.push(() => server.close());
    await server.connect(transport);
    const url = await serve(transport);
    const post = (sessionId: string) =>
      fetch(url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json, text/event-stream',
          'Mcp-Session-Id': sessionId,
          'Mcp-Protocol-Version': '2025-11-25'
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} })
      });
    const served = await post('resumed-session');
    const body = await served.text();
    expect(served.status, `a marked session is not served: ${body}`).toBe(200);
    expect(body).toContain('"tools":[]');
    // The session id still counts: another one is refused.
    const other = await post('another-session');
    await other.text();
    expect(other.status).toBe(404);
  });

  it('fails loudly on a transport without the inner fields', () => {
    expect(() => markInitialized({} as NodeStreamableHTTPServerTransport, 'x')).toThrow(
      'this SDK version cannot resume sessions'
    );
  });
});
