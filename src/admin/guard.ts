/**
 * Who may use the admin API: a bearer credential with the admin role (the admin token, or a
 * gateway or OAuth token with an admin role), and only from the same site. No cookies are used, and
 * cross-site requests are refused, so a foreign page cannot act through an administrator's browser.
 * A refusal is answered here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Identity } from '../auth/index.js';
import type { Gateway } from '../core/gateway.js';
import { authAnswer } from '../transports/auth-answer.js';
import { fail } from './respond.js';

/** The admin token, or a gateway or OAuth token with an admin role; undefined when refused. */
export async function authenticateAdmin(
  gateway: Gateway,
  req: IncomingMessage,
  res: ServerResponse
): Promise<Identity | undefined> {
  const source = req.socket.remoteAddress ?? 'unknown';
  const outcome = await gateway.authenticateRequest(req.headers.authorization, source, 'admin');
  if (outcome.ok) return outcome.identity;
  const answer = authAnswer(outcome, () => 'Bearer realm="portcullis-admin"');
  fail(res, answer.status, answer.message, answer.headers);
  return undefined;
}

/** Refuse cross-site requests: a foreign Origin, or a browser saying the request is cross-site. */
export function sameSite(req: IncomingMessage, res: ServerResponse): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site') {
    fail(res, 403, 'cross-site request refused');
    return false;
  }
  const origin = req.headers.origin;
  if (origin) {
    let originHost: string | undefined;
    try {
      originHost = new URL(origin).host;
    } catch {
      originHost = undefined;
    }
    if (originHost !== req.headers.host) {
      fail(res, 403, 'cross-origin request refused');
      return false;
    }
  }
  if (req.method === 'POST' && !/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    fail(res, 415, 'send Content-Type: application/json');
    return false;
  }
  return true;
}
