/**
 * The admin surface: the JSON API under /admin/api (docs/admin-api.md) and the web console's
 * static files under /admin. Every API request carries a bearer token (the admin token, or a
 * gateway or OAuth token with an admin role); no cookies are used, and cross-site requests are
 * refused, so a foreign page cannot act through an administrator's browser.
 *
 * This file composes the surface; each route group has its own module.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Identity } from '../auth/index.js';
import type { Gateway } from '../core/gateway.js';
import { ERRORS } from '../errors.js';
import { approvalRoutes } from './approvals.js';
import { auditRoutes } from './audit.js';
import { serveConsole } from './console.js';
import { eventRoutes } from './events.js';
import { authenticateAdmin, sameSite } from './guard.js';
import { inventoryRoutes } from './inventory.js';
import { policyRoutes } from './policy.js';
import { fail, send, type AdminRoutes } from './respond.js';

export interface AdminHandler {
  /** Handle a request under /admin; false when the path is not the admin surface's. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
  close(): void;
}

export function createAdminHandler(gateway: Gateway, log: Logger): AdminHandler {
  const admin = gateway.config.admin;
  const streams = new Set<ServerResponse>();
  const groups: AdminRoutes[] = [
    approvalRoutes,
    auditRoutes,
    inventoryRoutes,
    policyRoutes,
    (r) => eventRoutes(r, streams)
  ];

  const api = async (req: IncomingMessage, res: ServerResponse, url: URL, who: Identity) => {
    const path = url.pathname.slice('/admin/api'.length) || '/';
    const method = req.method ?? 'GET';
    if (method === 'GET' && path === '/whoami') return send(res, 200, { identity: who.id, roles: who.roles });
    const request = { gateway, req, res, url, path, method, who };
    for (const group of groups) if (await group(request)) return;
    return fail(res, 404, 'not found');
  };

  return {
    async handle(req, res, url) {
      if (url.pathname !== '/admin' && !url.pathname.startsWith('/admin/')) return false;
      if (!admin.enabled) {
        fail(res, 404, 'not found');
        return true;
      }
      if (url.pathname === '/admin/api' || url.pathname.startsWith('/admin/api/')) {
        if (!sameSite(req, res)) return true;
        const who = await authenticateAdmin(gateway, req, res);
        if (!who) return true;
        try {
          await api(req, res, url, who);
        } catch (err) {
          log.error({ err: err instanceof Error ? err.stack : String(err) }, 'admin API failed');
          if (!res.headersSent) fail(res, 500, ERRORS.internal.message);
        }
        return true;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        fail(res, 405, 'method not allowed');
        return true;
      }
      await serveConsole(res, url);
      return true;
    },
    close() {
      for (const res of streams) res.end();
    }
  };
}
