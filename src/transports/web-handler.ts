/**
 * Serve the SDK's web-standard MCP handler (`createMcpHandler`) from node:http, for a POST whose body
 * the HTTP adapter has already read, bounded and parsed. It does what the SDK's `toNodeHandler` does
 * (request headers and an abort signal in, status, headers and body out, a client that goes away
 * cancels the exchange) with less work per request: the handler is given the parsed body, so the
 * web `Request` carries no copy of it (the SDK's adapter serialises it again into a body stream the
 * handler never reads), and a JSON answer is written in one piece instead of chunk by chunk.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo, McpHttpHandler } from '@modelcontextprotocol/server';

type AuthedRequest = IncomingMessage & { auth?: AuthInfo };

type ParsedBodyHandler = (req: AuthedRequest, res: ServerResponse, body: unknown) => Promise<void>;

/** Headers that describe a body the web `Request` does not carry. */
const BODY_HEADERS = new Set(['content-length', 'content-encoding', 'transfer-encoding']);

function webRequest(req: IncomingMessage, signal: AbortSignal): Request {
  const host = req.headers.host ?? 'localhost';
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name.startsWith(':') || BODY_HEADERS.has(name)) continue;
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else headers.set(name, value);
  }
  return new Request(`http://${host}${req.url ?? '/'}`, { method: req.method ?? 'POST', headers, signal });
}

/** The JSON-RPC id an error answer may echo: a request's string or number id, else null. */
function echoableId(body: unknown): string | number | null {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null;
  const { method, id } = body as { method?: unknown; id?: unknown };
  if (typeof method !== 'string') return null;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

function isJson(contentType: string | null): boolean {
  return (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase() === 'application/json';
}

export function parsedBodyHandler(
  handler: McpHttpHandler,
  onerror?: (err: Error) => void
): ParsedBodyHandler {
  return async (req, res, body) => {
    let finished = false;
    const abort = new AbortController();
    res.on('close', () => {
      if (!finished) abort.abort();
    });
    if (res.destroyed) abort.abort();
    let response: Response;
    try {
      response = await handler.fetch(webRequest(req, abort.signal), {
        ...(req.auth !== undefined ? { authInfo: req.auth } : {}),
        parsedBody: body
      });
    } catch (err) {
      try {
        onerror?.(err instanceof Error ? err : new Error(String(err)));
      } catch {
        // The fallback answer below is what matters.
      }
      response = Response.json(
        { jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: echoableId(body) },
        { status: 500 }
      );
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of response.headers) headers[name] = value;
    res.writeHead(response.status, headers);
    if (response.body === null) {
      finished = true;
      res.end();
      return;
    }
    if (isJson(response.headers.get('content-type'))) {
      // A JSON answer is complete when it is made: one write.
      const bytes = Buffer.from(await response.arrayBuffer().catch(() => new ArrayBuffer(0)));
      finished = true;
      res.end(bytes);
      return;
    }
    // A stream (SSE): pass each chunk on as it comes, waiting for the socket when it is full.
    const reader = response.body.getReader();
    let drained: (() => void) | undefined;
    res.on('drain', () => {
      drained?.();
      drained = undefined;
    });
    const closed = new Promise<void>((resolve) =>
      abort.signal.addEventListener('abort', () => resolve(), { once: true })
    );
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (abort.signal.aborted) {
          await reader.cancel().catch(() => undefined);
          break;
        }
        if (!res.write(value))
          await Promise.race([new Promise<void>((resolve) => (drained = resolve)), closed]);
      }
    } catch {
      // The stream failed or the client went away: end the response either way.
    }
    finished = true;
    res.end();
  };
}
