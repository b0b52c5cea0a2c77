/**
 * The server side of stdio framing: newline-delimited JSON-RPC on stdin/stdout. Unlike a plain
 * reader it answers what it cannot use instead of dropping it silently: a line that is not JSON
 * gets a -32700 parse error, JSON that is not a JSON-RPC message gets -32600, and a line longer
 * than the limit is discarded with an error. Nothing else is ever written to stdout.
 *
 * Bounded for an agent that does not read: at most MAX_REQUESTS_IN_FLIGHT requests are handed on
 * at once (more wait here, and past MAX_HELD_BYTES of waiting requests stdin is not read), and
 * while stdout has a backlog stdin is not read at all. Answers the agent sends back (to relayed
 * sampling or elicitation requests) and notifications always go through. A request the agent
 * cancels stops counting: no answer will come for it.
 *
 * A `lean` path, when set, answers some requests itself instead of the server (lean-call.ts): it
 * picks them with a structural check of the parsed line, which replaces the schema parse for
 * them, and they count against the same bound.
 */
import type { Readable, Writable } from 'node:stream';
import {
  parseJSONRPCMessage,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type Transport
} from '@modelcontextprotocol/server';
import { MAX_JSON_DEPTH, nestedDeeperThan } from './limits.js';

const MAX_LINE_BYTES = 16 * 1024 * 1024;
/** Requests handed to the server at once; the rest wait in order. */
const MAX_REQUESTS_IN_FLIGHT = 32;
/** Waiting requests, in bytes, past which stdin is not read until some are answered. */
const MAX_HELD_BYTES = 4 * 1024 * 1024;

type RequestId = string | number;

/** Requests answered beside the server, under the transport's bounds. */
export interface LeanPath {
  /** Whether a parsed line is a well-formed request this path answers: a check of its structure. */
  takes(value: unknown): boolean;
  /** Answer one request it took: the response, or undefined when none is due (it was cancelled). */
  answer(request: JSONRPCRequest): Promise<JSONRPCMessage | undefined>;
  /** A cancellation from the agent: true when it named a request this path is answering. */
  cancel(requestId: RequestId, reason: unknown): boolean;
}

export class LineStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  lean?: LeanPath;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private discarding = false;
  private closed = false;
  /** Requests handed on and not yet answered, by id (a count: ids may repeat). */
  private readonly inflight = new Map<RequestId, number>();
  private inflightCount = 0;
  private held: Array<{ message: JSONRPCMessage; bytes: number; lean: boolean }> = [];
  private heldBytes = 0;
  private drainWaiters: Array<() => void> = [];

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
    this.output.on('drain', this.onDrain);
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
    const bytes = this.pendingBytes;
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
    if (this.lean?.takes(value)) {
      this.deliver(value as JSONRPCMessage, bytes, true);
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
    this.deliver(message, bytes, false);
  }

  /** Hand a message on, or hold a request while too many are in flight. */
  private deliver(message: JSONRPCMessage, bytes: number, lean: boolean): void {
    const m = message as {
      id?: RequestId;
      method?: string;
      params?: { requestId?: RequestId; reason?: unknown };
    };
    if (m.method === undefined || m.id === undefined) {
      if (m.method === 'notifications/cancelled' && this.cancelled(m.params?.requestId, m.params?.reason))
        return;
      this.onmessage?.(message);
      return;
    }
    if (this.held.length > 0 || this.inflightCount >= MAX_REQUESTS_IN_FLIGHT) {
      this.held.push({ message, bytes, lean });
      this.heldBytes += bytes;
      this.throttle();
      return;
    }
    this.dispatch(message, lean);
  }

  /** A cancellation; true when it is settled here and goes no further. */
  private cancelled(id: RequestId | undefined, reason: unknown): boolean {
    if (id === undefined) return false;
    // A request still waiting here is never handed on, nor answered.
    if (this.dropHeld(id)) return true;
    // The lean path aborts its own; its slot is freed when the call has stopped.
    if (this.lean?.cancel(id, reason)) return true;
    // The server aborts the request and never answers it, so its slot is free now.
    this.answered(id);
    return false;
  }

  private dispatch(message: JSONRPCMessage, lean: boolean): void {
    const id = (message as { id: RequestId }).id;
    this.inflight.set(id, (this.inflight.get(id) ?? 0) + 1);
    this.inflightCount++;
    if (!lean || !this.lean) {
      this.onmessage?.(message);
      return;
    }
    this.lean.answer(message as JSONRPCRequest).then(
      (response) => (response ? void this.send(response) : this.answered(id)),
      (err: unknown) => {
        this.onerror?.(err instanceof Error ? err : new Error(String(err)));
        this.reply(-32603, 'Internal error', id);
      }
    );
  }

  private answered(id: RequestId): void {
    const n = this.inflight.get(id);
    if (n === undefined) return;
    if (n <= 1) this.inflight.delete(id);
    else this.inflight.set(id, n - 1);
    this.inflightCount--;
    while (this.held.length > 0 && this.inflightCount < MAX_REQUESTS_IN_FLIGHT) {
      const next = this.held.shift()!;
      this.heldBytes -= next.bytes;
      this.dispatch(next.message, next.lean);
    }
    this.throttle();
  }

  private dropHeld(id: RequestId | undefined): boolean {
    const i = this.held.findIndex((h) => (h.message as { id?: RequestId }).id === id);
    if (i < 0) return false;
    this.heldBytes -= this.held[i]!.bytes;
    this.held.splice(i, 1);
    this.throttle();
    return true;
  }

  /** Read stdin only while stdout has no backlog and not too much is waiting. */
  private throttle(): void {
    if (this.closed) return;
    const stop = this.output.writableNeedDrain || this.heldBytes > MAX_HELD_BYTES;
    if (stop) this.input.pause();
    else if (this.input.isPaused()) this.input.resume();
  }

  private readonly onDrain = () => {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
    this.throttle();
  };

  private reply(code: number, message: string, id: string | number | null): void {
    this.onerror?.(new Error(message));
    void this.send({ jsonrpc: '2.0', id, error: { code, message } } as unknown as JSONRPCMessage);
  }

  private readonly onEnd = () => void this.close();

  send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) return Promise.resolve();
    const m = message as { id?: RequestId | null; method?: string };
    const written = this.output.write(`${JSON.stringify(message)}\n`);
    if (m.method === undefined && m.id !== undefined && m.id !== null) this.answered(m.id);
    if (written) return Promise.resolve();
    this.throttle();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off('data', this.onData);
    this.output.off('drain', this.onDrain);
    for (const resolve of this.drainWaiters) resolve();
    this.drainWaiters = [];
    this.onclose?.();
  }
}
