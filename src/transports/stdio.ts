/**
 * stdio downstream: serve one agent on stdin/stdout. stdout carries protocol messages only; all
 * logs go to stderr. The connection is one gateway session with the identity the config names.
 * When the agent closes stdin, the gateway stops and reaps every upstream child. The SDK serves the
 * connection in whichever era the agent opens; on a 2025-era connection, tools/call takes the
 * lean path (lean-call.ts) once the handshake is complete.
 */
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import type { Logger } from 'pino';
import type { Gateway } from '../core/gateway.js';
import { createLeanCalls } from './lean-call.js';
import { announceListChanges, createMcpServer } from './mcp-server.js';
import { LineStdioTransport } from './stdio-transport.js';

export interface StdioHandle {
  closed: Promise<void>;
  close(): Promise<void>;
}

export function serveGatewayStdio(gateway: Gateway, log: Logger): StdioHandle {
  // Authentication, and the records of a refusal or of the session opening, are the core's.
  const session = gateway.openStdioSession();
  const transport = new LineStdioTransport();
  const lean = createLeanCalls(gateway, session, log, (message) => transport.send(message));
  transport.lean = lean;
  const factory = ({ era }: { era: 'legacy' | 'modern' }) => {
    const server = createMcpServer(gateway, () => session, log);
    announceListChanges(gateway, server);
    // Once the 2025-era handshake is complete, tools/call is answered beside the server.
    if (era === 'legacy') server.oninitialized = () => lean.serve(server);
    return server;
  };
  const handle = serveStdio(factory, {
    legacy: 'serve',
    transport,
    onerror: (err) => log.warn({ err: err.message }, 'stdio protocol error')
  });
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let closing = false;
  const close = async () => {
    if (closing) return closed;
    closing = true;
    await handle.close().catch(() => undefined);
    gateway.closeSession(session);
    await gateway.close();
    resolveClosed();
    return closed;
  };
  process.stdin.once('end', () => void close());
  process.stdin.once('close', () => void close());
  return { closed, close };
}
