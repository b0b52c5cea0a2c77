/**
 * Admin API, what is connected: `GET /sessions`, `POST /sessions/:id/end` (close a session's
 * connection), `POST /sessions/:id/revoke` (revoke the credential behind it), `GET /tools` (the
 * tool inventory and the pinned definitions), `POST /tools/:server/approve` (pin a server's current
 * definitions) and `POST /tools/:server/reject` (refuse its changes: they stay blocked). Every
 * action is audited with the administrator who took it.
 */
import { RevokeRefused } from '../core/revoke.js';
import { fail, readJson, send, type AdminRequest } from './respond.js';

/** The optional `note` of an action's body; undefined when the body is not JSON (answered here). */
async function noteOf({ req, res }: AdminRequest): Promise<{ note?: string } | undefined> {
  try {
    const body = await readJson(req);
    return typeof body.note === 'string' && body.note ? { note: body.note.slice(0, 500) } : {};
  } catch (err) {
    fail(res, 400, (err as Error).message);
    return undefined;
  }
}

async function sessionAction(r: AdminRequest, id: string, action: 'end' | 'revoke'): Promise<void> {
  const { gateway, res, who } = r;
  const session = gateway.sessions.get(id);
  if (!session) return fail(res, 404, `no open session ${id}`);
  const body = await noteOf(r);
  if (!body) return;
  const note = body.note ? `: ${body.note}` : '';
  const about = {
    identity: session.identity.id,
    roles: session.identity.roles,
    auth: session.identity.method,
    session: session.id,
    transport: session.transport
  };
  if (action === 'end') {
    if (!gateway.endSession(session)) {
      return fail(
        res,
        409,
        session.transport === 'stdio'
          ? 'a stdio session ends when its agent does'
          : 'this session is its credential (the client keeps no protocol session): revoke the token instead'
      );
    }
    gateway.audit({ event: 'session/close', ...about, outcome: 'ok', reason: `ended by ${who.id}${note}` });
    return send(res, 200, { session: session.id, ended: true, by: who.id });
  }
  const tokenId = session.identity.tokenId;
  if (!tokenId) return fail(res, 409, 'the session has no revocable credential (the admin token, or stdio)');
  let where: { file?: string; shared: boolean };
  try {
    where = await gateway.revokeCredential(tokenId);
  } catch (err) {
    if (err instanceof RevokeRefused) return fail(res, 409, err.message);
    throw err;
  }
  gateway.audit({
    event: 'auth/revoke',
    ...about,
    decision: 'deny',
    outcome: 'ok',
    reason: `token ${tokenId} revoked by ${who.id}${note}`
  });
  return send(res, 200, { session: session.id, token: tokenId, revoked: true, ...where, by: who.id });
}

export async function inventoryRoutes(r: AdminRequest): Promise<boolean> {
  const { gateway, res, path, method, who } = r;
  if (method === 'GET' && path === '/sessions') {
    // A credential can be revoked from here when there is a token file or a shared store to record it in.
    const revocable = Boolean(gateway.config.auth.tokens_file) || gateway.state.kind !== 'memory';
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
      counts: Object.fromEntries(s.counts),
      endable: s.end !== undefined,
      ...(s.identity.tokenId ? { token: s.identity.tokenId, revocable } : {})
    }));
    send(res, 200, { sessions });
    return true;
  }
  const sessionAct = /^\/sessions\/([^/]+)\/(end|revoke)$/.exec(path);
  if (sessionAct) {
    if (method !== 'POST') fail(res, 405, 'method not allowed');
    else await sessionAction(r, decodeURIComponent(sessionAct[1]!), sessionAct[2] as 'end' | 'revoke');
    return true;
  }
  if (method === 'GET' && path === '/tools') {
    const [tools, definitions] = await Promise.all([gateway.toolInventory(), gateway.definitionInventory()]);
    send(res, 200, { tools, definitions });
    return true;
  }
  const toolsAct = /^\/tools\/([A-Za-z0-9_-]+)\/(approve|reject)$/.exec(path);
  if (!toolsAct) return false;
  if (method !== 'POST') {
    fail(res, 405, 'method not allowed');
    return true;
  }
  const server = toolsAct[1]!;
  if (!gateway.upstreams.has(server)) {
    fail(res, 404, `no server "${server}"`);
    return true;
  }
  const body = await noteOf(r);
  if (!body) return true;
  if (toolsAct[2] === 'approve') {
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
  // Rejecting changes nothing but the record: the pins stay, so what differs from them stays blocked.
  const [tools, definitions] = await Promise.all([gateway.toolInventory(), gateway.definitionInventory()]);
  const refused = [...tools, ...definitions].filter(
    (t) => t.server === server && ['changed', 'blocked', 'new', 'removed'].includes(t.status)
  );
  gateway.audit({
    event: 'tools/rejected',
    server,
    decision: 'deny',
    outcome: 'ok',
    count: refused.length,
    reason: `changes rejected by ${who.id}${body.note ? `: ${body.note}` : ''}`
  });
  send(res, 200, { server, rejected: refused.map((t) => t.exposed), by: who.id });
  return true;
}
