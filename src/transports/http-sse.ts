/**
 * The legacy SSE routes: `GET /sse` opens an event stream with its own gateway session, and
 * `POST /messages?sessionId=…` carries the client's messages to it. Only the identity that opened
 * a stream may post to it.
 */
import type { ServerResponse } from 'node:http';
import { parseJSONRPCMessage } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import { identityKey, type Identity } from '../auth/index.js';
import type { Gateway } from '../core/gateway.js';
import type { Session } from '../core/session.js';
import type { Admission } from './http-admission.js';
import { httpError, readBodyOr413, type AuthedRequest } from './http-answer.js';
import type { HttpAuth } from './http-auth.js';
import { nestedDeeperThan } from './limits.js';
import { announceListChanges, createMcpServer } from './mcp-server.js';
import { SseServerTransport } from './sse.js';

export interface SseEntry {
  transport: SseServerTransport;
  owner: string;
  session: Session;
}

export interface SseRoutes {
  handleSse(req: AuthedRequest, res: ServerResponse, identity: Identity): Promise<void>;
  handleMessages(req: AuthedRequest, res: ServerResponse, identity: Identity, url: URL): Promise<void>;
}

export function createSseRoutes(
  gateway: Gateway,
  log: Logger,
  admission: Admission,
  auth: HttpAuth,
  entries: Map<string, SseEntry>
): SseRoutes {
  const maxBody = gateway.config.listen.max_body_bytes;
  return {
    async handleSse(_req, res, identity) {
      const owner = identityKey(identity);
      if (!admission.admitSession(owner, res)) return;
      const transport = new SseServerTransport('/messages', res);
      const session = gateway.openSession(identity, 'sse', transport.sessionId);
      const entry: SseEntry = { transport, owner, session };
      session.end = () => void transport.close();
      entries.set(transport.sessionId, entry);
      transport.onclose = () => {
        entries.delete(transport.sessionId);
        gateway.closeSession(session);
        admission.releaseSession(owner);
      };
      const server = createMcpServer(gateway, () => session, log);
      announceListChanges(gateway, server);
      await server.connect(transport);
    },

    async handleMessages(req, res, identity, url) {
      const entry = entries.get(url.searchParams.get('sessionId') ?? '');
      if (!entry) return httpError(res, 'session_not_found');
      if (entry.owner !== identityKey(identity)) return httpError(res, 'session_foreign');
      const raw = await readBodyOr413(req, res, maxBody);
      if (!raw) return;
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
      if (await auth.insufficientScope(res, identity, message, 'sse')) return;
      res.writeHead(202).end('Accepted');
      entry.transport.receive(message, {
        token: identity.tokenId ?? identity.id,
        clientId: identity.id,
        scopes: [],
        extra: { identity }
      });
    }
  };
}
