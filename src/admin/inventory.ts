/**
 * Admin API, what is connected: `GET /sessions`, `GET /tools` (the tool inventory and the pinned
 * definitions), and `POST /tools/:server/approve` (pin a server's current definitions).
 */
import { fail, send, type AdminRequest } from './respond.js';

export async function inventoryRoutes({ gateway, res, path, method, who }: AdminRequest): Promise<boolean> {
  if (method === 'GET' && path === '/sessions') {
    const sessions = [...gateway.sessions.all()].map((s) => ({
      id: s.id,
      identity: s.identity.id,
      roles: s.identity.roles,
      auth: s.identity.method,
      ...(s.identity.agent ? { agent: s.identity.agent } : {}),
      transport: s.transport,
      createdAt: new Date(s.createdAt).toISOString(),
      lastSeen: new Date(s.lastSeen).toISOString(),
      calls: s.history.length,
      risk: Math.round(s.risk * 100) / 100,
      counts: Object.fromEntries(s.counts)
    }));
    send(res, 200, { sessions });
    return true;
  }
  if (method === 'GET' && path === '/tools') {
    const [tools, definitions] = await Promise.all([gateway.toolInventory(), gateway.definitionInventory()]);
    send(res, 200, { tools, definitions });
    return true;
  }
  const approveTools = /^\/tools\/([A-Za-z0-9_-]+)\/approve$/.exec(path);
  if (approveTools && method === 'POST') {
    const server = approveTools[1]!;
    if (!gateway.upstreams.has(server)) {
      fail(res, 404, `no server "${server}"`);
      return true;
    }
    const counts = await gateway.approveTools(server, who.id);
    send(res, 200, {
      server,
      pinned: counts.tools,
      prompts: counts.prompts,
      resources: counts.resources,
      resourceTemplates: counts.resourceTemplates,
      by: who.id
    });
    return true;
  }
  return false;
}
