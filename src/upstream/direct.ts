/**
 * Tool calls sent straight over an upstream's transport, beside the SDK client that owns the
 * connection. The client still did the handshake and still handles everything else the server
 * sends (its requests, log messages, list changes); only the responses and progress of the calls
 * sent here are taken off the transport before the client sees them.
 *
 * Why: the client's request machinery validates every result with its full schema and builds
 * per-request state the gateway does not need; on a small call that is most of the cost of
 * forwarding it. What the client's validation gave the gateway is kept by `checkCallToolResult`:
 * a result that is not a tool result is refused, not forwarded.
 *
 * Ids: the client numbers its requests from 0; calls sent here use a separate numeric range, so
 * the two never meet. A 2026-07-28 result is unwrapped here when it is `complete`; anything else
 * (`input_required`) is handed back to the caller to repeat through the SDK client, which knows
 * how to fulfil it.
 */
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/client';

/** Ids of calls sent here start far above anything the SDK client's counter reaches. */
const ID_BASE = 2 ** 40;
const MODERN_ERA = '2026-07-28';

export interface DirectCallOptions {
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
export class DirectCallFailure extends Error {}

/** A 2026-era result that is not complete: repeat the call through the SDK client. */
export class NeedsClient extends Error {
  constructor() {
    super('result needs the SDK client');
  }
}

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
  onprogress?: DirectCallOptions['onprogress'];
  /** Restart the timeout (progress arrived). */
  touch(): void;
}

type Envelope = (message: Record<string, unknown>) => Record<string, unknown>;

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
    this.modern = protocolVersion >= MODERN_ERA;
    const sdk = transport.onmessage;
    transport.onmessage = (message, extra) => {
      if (this.take(message)) return;
      sdk?.call(transport, message, extra as never);
    };
    const sdkClose = transport.onclose;
    transport.onclose = () => {
      this.fail(new DirectCallFailure('connection closed'));
      sdkClose?.call(transport);
    };
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
    if (!isPlainObject(raw)) throw new DirectCallFailure('Invalid result for tools/call: not an object');
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
    if (result.content === undefined) result = { ...result, content: [] };
    return result;
  }

  /** Fail every call in flight (the connection is gone or being closed). */
  fail(err: Error): void {
    this.closed = true;
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const call of calls) call.reject(err);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Result families that must not default into an empty tool result. */
const FOREIGN_KEYS = ['task', 'inputRequests', 'requestState'];

/**
 * What the protocol requires of a tool result, checked without a schema library: `content` an
 * array of content blocks each with its required fields, `structuredContent` an object (before
 * 2026-07-28, which allows any value), `isError` a boolean, `_meta` an object. A result without `content` gets an empty one, unless it carries
 * another result family's keys. Returns the first problem, or undefined.
 */
export function checkCallToolResult(r: Record<string, unknown>, modern = false): string | undefined {
  if (r.content === undefined) {
    const foreign = FOREIGN_KEYS.find((k) => k in r);
    return foreign ? `content is required when the result carries '${foreign}'` : undefined;
  }
  if (!Array.isArray(r.content)) return 'content is not an array';
  for (let i = 0; i < r.content.length; i++) {
    const problem = checkContentBlock(r.content[i]);
    if (problem) return `content[${i}]: ${problem}`;
  }
  if (!modern && r.structuredContent !== undefined && !isPlainObject(r.structuredContent))
    return 'structuredContent is not an object';
  if (r.isError !== undefined && typeof r.isError !== 'boolean') return 'isError is not a boolean';
  if (r._meta !== undefined && !isPlainObject(r._meta)) return '_meta is not an object';
  return undefined;
}

const str = (v: unknown) => typeof v === 'string';

/** Base64 as the protocol's schema accepts it: whatever `atob` decodes. */
function base64(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  try {
    atob(v);
    return true;
  } catch {
    return false;
  }
}

function checkAnnotations(a: unknown): string | undefined {
  if (a === undefined) return undefined;
  if (!isPlainObject(a)) return 'annotations is not an object';
  if (a.audience !== undefined) {
    if (!Array.isArray(a.audience) || !a.audience.every((r) => r === 'user' || r === 'assistant'))
      return 'annotations.audience must list user or assistant';
  }
  if (a.priority !== undefined && !(typeof a.priority === 'number' && a.priority >= 0 && a.priority <= 1))
    return 'annotations.priority must be a number from 0 to 1';
  if (a.lastModified !== undefined && !str(a.lastModified)) return 'annotations.lastModified is not a string';
  return undefined;
}

function checkContentBlock(b: unknown): string | undefined {
  if (!isPlainObject(b)) return 'not an object';
  if (b._meta !== undefined && !isPlainObject(b._meta)) return '_meta is not an object';
  const annotations = checkAnnotations(b.annotations);
  if (annotations) return annotations;
  switch (b.type) {
    case 'text':
      return str(b.text) ? undefined : 'text is not a string';
    case 'image':
    case 'audio':
      return base64(b.data) && str(b.mimeType) ? undefined : 'data must be base64 and mimeType a string';
    case 'resource_link':
      return str(b.uri) && str(b.name) ? undefined : 'uri and name must be strings';
    case 'resource': {
      const res = b.resource;
      if (!isPlainObject(res) || !str(res.uri)) return 'resource needs a uri';
      if (res.blob !== undefined) return base64(res.blob) ? undefined : 'resource blob is not base64';
      return str(res.text) ? undefined : 'resource needs text or blob';
    }
    default:
      return `unknown content type ${JSON.stringify(b.type)}`;
  }
}
