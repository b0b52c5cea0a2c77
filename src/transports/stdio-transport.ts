/**
 * The server side of stdio framing: newline-delimited JSON-RPC on stdin/stdout. Unlike a plain
 * reader it answers what it cannot use instead of dropping it silently: a line that is not JSON
 * gets a -32700 parse error, JSON that is not a JSON-RPC message gets -32600, and a line longer
 * than the limit is discarded with an error. Nothing else is ever written to stdout.
 */
import type { Readable, Writable } from 'node:stream';
import { parseJSONRPCMessage, type JSONRPCMessage, type Transport } from '@modelcontextprotocol/server';
import { MAX_JSON_DEPTH, nestedDeeperThan } from './limits.js';

export const MAX_LINE_BYTES = 16 * 1024 * 1024;

export class LineStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private discarding = false;
  private closed = false;

  constructor(
    private readonly input: Readable = process.stdin,
    private readonly output: Writable = process.stdout,
    private readonly maxLineBytes = MAX_LINE_BYTES
  ) {}

  async start(): Promise<void> {
    this.input.on('data', this.onData);
    this.input.once('end', this.onEnd);
    this.input.once('close', this.onEnd);
    this.input.on('error', (err) => this.onerror?.(err));
    this.output.on('error', (err) => {
      this.onerror?.(err);
      void this.close();
    });
  }

  private readonly onData = (chunk: Buffer) => {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) break;
      this.push(chunk.subarray(start, nl));
      this.endLine();
      start = nl + 1;
    }
    if (start < chunk.length) this.push(chunk.subarray(start));
  };

  private push(part: Buffer): void {
    if (this.discarding) return;
    this.pendingBytes += part.length;
    if (this.pendingBytes > this.maxLineBytes) {
      this.discarding = true;
      this.pending = [];
      return;
    }
    this.pending.push(part);
  }

  private endLine(): void {
    if (this.discarding) {
      this.discarding = false;
      this.pendingBytes = 0;
      this.reply(-32600, `message larger than ${this.maxLineBytes} bytes`, null);
      return;
    }
    const line = Buffer.concat(this.pending).toString('utf8').replace(/\r$/, '');
    this.pending = [];
    this.pendingBytes = 0;
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.reply(-32700, 'Parse error: line is not JSON', null);
      return;
    }
    if (nestedDeeperThan(value)) {
      const id = (value as { id?: unknown } | null)?.id;
      this.reply(
        -32600,
        `Invalid Request: nested deeper than ${MAX_JSON_DEPTH} levels`,
        typeof id === 'string' || typeof id === 'number' ? id : null
      );
      return;
    }
    let message: JSONRPCMessage;
    try {
      // Validate the shape, but deliver the message as parsed: exactly what the client sent.
      parseJSONRPCMessage(value);
      message = value as JSONRPCMessage;
    } catch {
      const id = (value as { id?: unknown } | null)?.id;
      this.reply(
        -32600,
        'Invalid Request: not a JSON-RPC 2.0 message',
        typeof id === 'string' || typeof id === 'number' ? id : null
      );
      return;
    }
    this.onmessage?.(message);
  }

  private reply(code: number, message: string, id: string | number | null): void {
    this.onerror?.(new Error(message));
    void this.send({ jsonrpc: '2.0', id, error: { code, message } } as unknown as JSONRPCMessage);
  }

  private readonly onEnd = () => void this.close();

  send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      if (this.output.write(`${JSON.stringify(message)}\n`)) resolve();
      else this.output.once('drain', () => resolve());
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off('data', this.onData);
    this.onclose?.();
  }
}
