/**
 * DNS-rebinding guard for the HTTP downstream: a loopback listener answers only to loopback names
 * unless told otherwise; browsers may call only from the allowed origins (by default: the host
 * itself). The SDK's validators decide; this adapts them to the listener's configuration.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  localhostAllowedHostnames,
  validateHostHeader,
  validateOriginHeader
} from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/types.js';
import { httpError } from './http-answer.js';

export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** The check for one listener; a refusal is answered by it, and false returned. */
export function createHostOriginCheck(
  listen: GatewayConfig['listen'],
  loopback: boolean,
  log: Logger
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const allowedHosts = listen.allowed_hosts ?? (loopback ? localhostAllowedHostnames() : undefined);
  return (req, res) => {
    if (allowedHosts) {
      const host = validateHostHeader(req.headers.host, allowedHosts);
      if (!host.ok) {
        httpError(res, 'host_refused', { message: host.message });
        return false;
      }
    }
    const origin = req.headers.origin;
    if (origin) {
      let allowed = listen.allowed_origins;
      if (!allowed) {
        let hostname: string | undefined;
        try {
          hostname = new URL(`http://${req.headers.host ?? ''}`).hostname;
        } catch {
          hostname = undefined;
        }
        allowed = [...(loopback ? localhostAllowedHostnames() : []), ...(hostname ? [hostname] : [])];
      }
      const checked = validateOriginHeader(origin, allowed);
      if (!checked.ok) {
        log.warn({ origin, source: req.socket.remoteAddress }, 'foreign Origin refused');
        httpError(res, 'origin_refused', { message: checked.message });
        return false;
      }
    }
    return true;
  };
}
