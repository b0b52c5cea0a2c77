/**
 * The legacy HTTP+SSE server transport (protocol 2024-11-05): `GET /sse` opens an event stream
 * whose first event names the endpoint to POST messages to; `POST /messages?sessionId=…` delivers
 * one JSON-RPC message. The v2 SDK serves no SSE, so this small transport implements the SDK's
 * `Transport` interface and moves bytes; it decides nothing.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { AuthInfo, JSONRPCMessage, Transport } from '@modelcontextprotocol/server';

/** Bytes buffered for a client that does not read before the stream is dropped. */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;

export class SseServerTransport implements Transport {
  readonly sessionId = randomUUID();
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: { authInfo?: AuthInfo }) => void;
  private closed = false;

  constructor(
    private readonly endpoint: string,
    private readonly res: ServerResponse
  ) {}

  async start(): Promise<void> {
    this.res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no'
    });
    this.res.write(`event: endpoint\ndata: ${this.endpoint}?sessionId=${this.sessionId}\n\n`);
    this.res.on('close', () => this.finish());
  }

  /** Deliver one message the client POSTed. */
  receive(message: JSONRPCMessage, authInfo: AuthInfo | undefined): void {
    this.onmessage?.(message, authInfo ? { authInfo } : undefined);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) throw new Error('SSE stream is closed');
    if (this.res.writableLength > MAX_PENDING_BYTES) {
      this.onerror?.(new Error('SSE client is not reading; closing the stream'));
      await this.close();
      return;
    }
    this.res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  }

  async close(): Promise<void> {
    if (!this.closed) this.res.end();
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.();
  }
}
