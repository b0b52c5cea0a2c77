/**
 * Admission bounds of the HTTP downstream. Sessions: one caller cannot hold more than its share,
 * and nobody more than the total. Requests open at once, per caller: a response stays open until
 * the client has taken it, so a client that sends calls and never reads holds at most this many
 * responses in the gateway. A refusal is answered here, and false returned.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayConfig } from '../config/types.js';
import { httpError } from './http-answer.js';

export interface Admission {
  admitSession(owner: string, res: ServerResponse): boolean;
  releaseSession(owner: string): void;
  admitRequest(owner: string, req: IncomingMessage, res: ServerResponse): boolean;
}

/** `openSessions` counts the sessions held now, of every kind. */
export function createAdmission(limits: GatewayConfig['limits'], openSessions: () => number): Admission {
  const perOwner = new Map<string, number>();
  const openRequests = new Map<string, number>();
  return {
    admitSession(owner, res) {
      if (openSessions() >= limits.max_sessions) {
        httpError(res, 'sessions_full', { headers: { 'Retry-After': '5' } });
        return false;
      }
      if ((perOwner.get(owner) ?? 0) >= limits.max_sessions_per_identity) {
        httpError(res, 'identity_sessions_full', { headers: { 'Retry-After': '5' } });
        return false;
      }
      perOwner.set(owner, (perOwner.get(owner) ?? 0) + 1);
      return true;
    },
    releaseSession(owner) {
      const n = (perOwner.get(owner) ?? 1) - 1;
      if (n <= 0) perOwner.delete(owner);
      else perOwner.set(owner, n);
    },
    admitRequest(owner, req, res) {
      const n = openRequests.get(owner) ?? 0;
      if (n >= limits.max_requests_per_identity) {
        httpError(res, 'identity_requests_full', { headers: { 'Retry-After': '1' } });
        return false;
      }
      openRequests.set(owner, n + 1);
      const release = () => {
        const left = (openRequests.get(owner) ?? 1) - 1;
        if (left <= 0) openRequests.delete(owner);
        else openRequests.set(owner, left);
      };
      res.once('close', () => {
        // A response handed to a socket the client does not read from is still held here.
        const socket = req.socket;
        if (socket.destroyed || !socket.writableNeedDrain) return release();
        const done = () => {
          socket.off('drain', done);
          socket.off('close', done);
          release();
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
      return true;
    }
  };
}
