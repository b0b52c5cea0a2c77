/**
 * How the HTTP downstream answers and reads: JSON-RPC error bodies (from the error registry where
 * the entry has an HTTP status), bounded request bodies, and request headers read the way the
 * SDK's web `Headers` would give them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { ERRORS, LocalError, type ErrorCode } from '../errors.js';

export type AuthedRequest = IncomingMessage & { auth?: AuthInfo };

export function jsonRpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers = {},
  id: string | number | null = null
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id }));
}

/** The registry entries answered at the HTTP level (those with a status). */
type HttpErrorCode = {
  [K in ErrorCode]: (typeof ERRORS)[K] extends { status: number } ? K : never;
}[ErrorCode];

/** Answer with a registry entry answered at the HTTP level: its status, JSON-RPC code and message. */
export function httpError(
  res: ServerResponse,
  code: HttpErrorCode,
  options: { message?: string; headers?: Record<string, string>; id?: string | number } = {}
): void {
  const e = ERRORS[code];
  jsonRpcError(res, e.status, e.rpc, options.message ?? e.message, options.headers, options.id ?? null);
}

class BodyTooLarge extends LocalError {
  constructor(message?: string) {
    super('body_over_limit', message);
  }
}

/** A request header as the web `Headers` of the SDK would give it: repeated values joined by ", ". */
export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The body, or undefined once a body over `limit` has been answered 413. */
export async function readBodyOr413(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number
): Promise<Buffer | undefined> {
  try {
    return await readBody(req, limit);
  } catch (err) {
    if (!(err instanceof BodyTooLarge)) throw err;
    httpError(res, 'body_too_large');
    return undefined;
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limit) {
      reject(new BodyTooLarge());
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLarge());
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
