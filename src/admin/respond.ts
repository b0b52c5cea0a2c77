/**
 * How the admin surface answers and reads: JSON with the console's security headers on every
 * answer, `{ error }` bodies for refusals, and small bounded JSON request bodies.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Identity } from '../auth/index.js';
import type { Gateway } from '../core/gateway.js';

const MAX_BODY = 64 * 1024;

export const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store'
};

export function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {}
): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...SECURITY_HEADERS, ...headers });
  res.end(JSON.stringify(body));
}

export function fail(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {}
): void {
  send(res, status, { error: message }, headers);
}

export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  const value = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('expected a JSON object');
  return value as Record<string, unknown>;
}

/** An authenticated request to the admin API, as each route group sees it. */
export interface AdminRequest {
  gateway: Gateway;
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The path below /admin/api ('/' for the root). */
  path: string;
  method: string;
  who: Identity;
}

/** A group of admin API routes: true when it answered the request. */
export type AdminRoutes = (r: AdminRequest) => boolean | Promise<boolean>;
