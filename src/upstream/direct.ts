/**
 * Tool calls sent straight over an upstream's transport, beside the SDK client that owns the
 * connection. The client still did the handshake and still handles everything else the server
 * sends (its requests, log messages, list changes); only the responses and progress of the calls
 * sent here are taken off the transport before the client sees them.
 *
 * Why: the client's request machinery validates every result with its full schema and builds
 * per-request state the gateway does not need; on a small call that is most of the cost of
 * forwarding it. What the client's validation gave the gateway is kept by `checkCallToolResult`
 * (src/protocol): a result that is not a tool result is refused, not forwarded.
 *
 * Ids: the client numbers its requests from 0; calls sent here use a separate numeric range, so
 * the two never meet. A 2026-07-28 result is unwrapped here when it is `complete`; anything else
 * (`input_required`) is handed back to the caller to repeat through the SDK client, which knows
 * how to fulfil it.
 */
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/client';
import { checkCallToolResult, isModern, isObject, withEmptyContent } from '../protocol/index.js';
import { interceptTransport, type Envelope } from '../protocol/sdk-private.js';
import { LocalError } from '../errors.js';

/** Ids of calls sent here start far above anything the SDK client's counter reaches. */
const ID_BASE = 2 ** 40;

interface DirectCallOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  onprogress?: (progress: { progress: number; total?: number; message?: string }) => void;
}

/** The upstream answered with a JSON-RPC error: code, message and data as it sent them. */
export class DirectCallError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown
  ) {
    super(message);
  }
}

/** The call could not complete: timed out, cancelled, connection gone, or an invalid result. */
export class DirectCallFailure extends LocalError {
  constructor(message?: string, options?: { cause?: unknown }) {
    super('direct_call_failed', message, options);
  }
}

/** A 2026-era result that is not complete: repeat the call through the SDK client. */
export class NeedsClient extends LocalError {
  constructor() {
    super('needs_client', 'result needs the SDK client');
  }
}

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
  onprogress?: DirectCallOptions['onprogress'];
  /** Restart the timeout (progress arrived). */
  touch(): void;
}

export class DirectCalls {
  private next = ID_BASE;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  private readonly modern: boolean;

  /**
   * @param envelope the SDK client's own outbound `_meta` envelope (2026-07-28 requires it on
   *   every request; earlier eras leave messages as they are)
   */
  constructor(
    private readonly transport: Transport,
    protocolVersion: string,
    private readonly envelope: Envelope
  ) {
    this.modern = isModern(protocolVersion);
    interceptTransport(
      transport,
      (message) => this.take(message),
      () => this.fail(new DirectCallFailure('connection closed'))
    );
  }

  /** A response or progress notification for a call sent here: handle it and say so. */
  private take(message: JSONRPCMessage): boolean {
    const m = message as { id?: unknown; method?: string; params?: { progressToken?: unknown } };
    if (m.method === undefined) {
      if (typeof m.id !== 'number' || m.id < ID_BASE) return false;
      const call = this.pending.get(m.id);
      if (!call) return true; // answered after it was cancelled or timed out: nobody waits
      this.pending.delete(m.id);
      const r = message as {
        result?: unknown;
        error?: { code?: unknown; message?: unknown; data?: unknown };
      };
      if (r.error !== undefined) {
        const e = r.error;
        call.reject(
          typeof e === 'object' && e !== null && typeof e.code === 'number'
            ? new DirectCallError(e.code, typeof e.message === 'string' ? e.message : 'error', e.data)
            : new DirectCallFailure('invalid error response')
        );
      } else call.resolve(r.result);
      return true;
    }
    if (m.method === 'notifications/progress') {
      const token = m.params?.progressToken;
      if (typeof token !== 'number' || token < ID_BASE) return false;
      const call = this.pending.get(token);
      if (call) {
        call.touch();
        const p = m.params as { progress?: unknown; total?: unknown; message?: unknown };
        if (typeof p.progress === 'number') {
          call.onprogress?.({
            progress: p.progress,
            ...(typeof p.total === 'number' ? { total: p.total } : {}),
            ...(typeof p.message === 'string' ? { message: p.message } : {})
          });
        }
      }
      return true;
    }
    return false;
  }

  /** Send one `tools/call`; resolves with the checked result. */
  call(params: Record<string, unknown>, options: DirectCallOptions): Promise<Record<string, unknown>> {
    if (this.closed) return Promise.reject(new DirectCallFailure('connection closed'));
    const id = this.next++;
    const meta = params._meta as Record<string, unknown> | undefined;
    const sent = options.onprogress ? { ...params, _meta: { ...meta, progressToken: id } } : params;
    const message = this.envelope({ jsonrpc: '2.0', id, method: 'tools/call', params: sent });
    return new Promise<unknown>((resolve, reject) => {
      const { signal } = options;
      const requestAbort =
        this.modern && this.transport.hasPerRequestStream ? new AbortController() : undefined;
      let timer: NodeJS.Timeout | undefined;
      const settle = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.pending.delete(id);
      };
      const cancel = (reason: string) => {
        if (!this.pending.has(id)) return;
        settle();
        if (requestAbort) requestAbort.abort();
        else {
          const note = this.envelope({
            jsonrpc: '2.0',
            method: 'notifications/cancelled',
            params: { requestId: id, reason }
          });
          this.transport.send(note as JSONRPCMessage).catch(() => undefined);
        }
        reject(new DirectCallFailure(reason));
      };
      const reasonOf = (s: AbortSignal) => (s.reason instanceof Error ? s.reason.message : String(s.reason));
      const onAbort = () => cancel(reasonOf(signal!));
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => cancel('Request timed out'), options.timeoutMs);
      };
      if (signal?.aborted) return reject(new DirectCallFailure(reasonOf(signal)));
      this.pending.set(id, {
        resolve: (result) => {
          settle();
          resolve(result);
        },
        reject: (err) => {
          settle();
          reject(err);
        },
        touch: arm,
        ...(options.onprogress ? { onprogress: options.onprogress } : {})
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      arm();
      this.transport
        .send(message as JSONRPCMessage, requestAbort ? { requestSignal: requestAbort.signal } : undefined)
        .catch((err: unknown) => {
          if (!this.pending.has(id)) return;
          settle();
          reject(new DirectCallFailure(err instanceof Error ? err.message : String(err)));
        });
    }).then((raw) => this.decode(raw));
  }

  private decode(raw: unknown): Record<string, unknown> {
    if (!isObject(raw)) throw new DirectCallFailure('Invalid result for tools/call: not an object');
    let result = raw;
    if (this.modern) {
      const kind = raw.resultType;
      if (kind === 'input_required') throw new NeedsClient();
      if (kind !== 'complete') {
        throw new DirectCallFailure(
          kind === undefined
            ? 'Invalid result for tools/call: missing required resultType'
            : `Unsupported result type '${String(kind)}' for tools/call`
        );
      }
      result = { ...raw };
      delete result.resultType;
    } else if ('resultType' in raw) {
      result = { ...raw };
      delete result.resultType;
    }
    const problem = checkCallToolResult(result, this.modern);
    if (problem) throw new DirectCallFailure(`Invalid result for tools/call: ${problem}`);
    return withEmptyContent(result);
  }

  /** Fail every call in flight (the connection is gone or being closed). */
  fail(err: Error): void {
    this.closed = true;
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const call of calls) call.reject(err);
  }
}
