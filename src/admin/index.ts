/**
 * The admin surface: the JSON API under /admin/api (docs/admin-api.md) and the web console's
 * static files under /admin. Every API request carries a bearer token (the admin token, or a
 * gateway or OAuth token with an admin role); no cookies are used, and cross-site requests are
 * refused, so a foreign page cannot act through an administrator's browser.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { ApprovalRefused, type HeldCall } from '../approval/index.js';
import type { AuditRecord } from '../audit/index.js';
import type { Identity } from '../auth/index.js';
import type { Gateway } from '../core/gateway.js';
import { ERRORS } from '../errors.js';
import { compilePolicy } from '../policy/index.js';
import { authAnswer } from '../transports/auth-answer.js';

const CONSOLE_DIR = fileURLToPath(new URL('../../console/', import.meta.url));
const MAX_BODY = 64 * 1024;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json'
};

const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store'
};

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {}
): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...SECURITY_HEADERS, ...headers });
  res.end(JSON.stringify(body));
}

function fail(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {}
): void {
  send(res, status, { error: message }, headers);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
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

export interface AdminHandler {
  /** Handle a request under /admin; false when the path is not the admin surface's. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
  close(): void;
}

export function createAdminHandler(gateway: Gateway, log: Logger): AdminHandler {
  const admin = gateway.config.admin;
  const streams = new Set<ServerResponse>();

  /** The admin token, or a gateway or OAuth token with an admin role; a refusal is answered here. */
  const authenticate = async (req: IncomingMessage, res: ServerResponse): Promise<Identity | undefined> => {
    const source = req.socket.remoteAddress ?? 'unknown';
    const outcome = await gateway.authenticateRequest(req.headers.authorization, source, 'admin');
    if (outcome.ok) return outcome.identity;
    const answer = authAnswer(outcome, () => 'Bearer realm="portcullis-admin"');
    fail(res, answer.status, answer.message, answer.headers);
    return undefined;
  };

  /** Refuse cross-site requests: a foreign Origin, or a browser saying the request is cross-site. */
  const sameSite = (req: IncomingMessage, res: ServerResponse): boolean => {
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
  };

  const filterAudit = (records: readonly AuditRecord[], q: URLSearchParams): AuditRecord[] => {
    const identity = q.get('identity');
    const tool = q.get('tool');
    const server = q.get('server');
    const decision = q.get('decision');
    const outcome = q.get('outcome');
    const session = q.get('session');
    const event = q.get('event');
    const text = q.get('q')?.toLowerCase();
    const since = q.get('since') ? Date.parse(q.get('since')!) : undefined;
    const limit = Math.min(5000, Math.max(1, Number(q.get('limit') ?? 200) || 200));
    const out: AuditRecord[] = [];
    for (let i = records.length - 1; i >= 0 && out.length < limit; i--) {
      const r = records[i]!;
      if (identity && r.identity !== identity) continue;
      if (tool && r.tool !== tool && r.name !== tool) continue;
      if (server && r.server !== server) continue;
      if (decision && r.decision !== decision) continue;
      if (outcome && r.outcome !== outcome) continue;
      if (session && r.session !== session) continue;
      if (event && r.event !== event) continue;
      if (since !== undefined && Date.parse(r.time) < since) continue;
      if (text && !JSON.stringify(r).toLowerCase().includes(text)) continue;
      out.push(r);
    }
    return out;
  };

  const api = async (req: IncomingMessage, res: ServerResponse, url: URL, who: Identity) => {
    const path = url.pathname.slice('/admin/api'.length) || '/';
    const method = req.method ?? 'GET';
    if (method === 'GET' && path === '/whoami') return send(res, 200, { identity: who.id, roles: who.roles });
    if (method === 'GET' && path === '/approvals') {
      const status = (url.searchParams.get('status') ?? 'pending') as 'pending' | 'decided' | 'all';
      if (!['pending', 'decided', 'all'].includes(status))
        return fail(res, 400, 'status is pending, decided or all');
      return send(res, 200, { approvals: gateway.approvals.list(status) });
    }
    const one = /^\/approvals\/([A-Za-z0-9_]+)(?:\/(approve|deny))?$/.exec(path);
    if (one) {
      const id = one[1]!;
      if (!one[2]) {
        if (method !== 'GET') return fail(res, 405, 'method not allowed');
        const held = gateway.approvals.get(id);
        return held ? send(res, 200, held) : fail(res, 404, `no held call ${id}`);
      }
      if (method !== 'POST') return fail(res, 405, 'method not allowed');
      let body: Record<string, unknown>;
      try {
        body = await readJson(req);
      } catch (err) {
        return fail(res, 400, (err as Error).message);
      }
      const note = typeof body.note === 'string' ? body.note : undefined;
      try {
        const held = await gateway.approvals.decide(id, who, one[2] === 'approve' ? 'approve' : 'deny', note);
        return send(res, 200, held);
      } catch (err) {
        if (err instanceof ApprovalRefused) return fail(res, err.status, err.message);
        throw err;
      }
    }
    if (method === 'GET' && path === '/audit') {
      return send(res, 200, { records: filterAudit(gateway.recentAudit(), url.searchParams) });
    }
    if (method === 'GET' && path === '/stats') {
      const minutes = Math.min(1440, Math.max(1, Number(url.searchParams.get('minutes') ?? 60) || 60));
      return send(res, 200, { buckets: gateway.stats(minutes) });
    }
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
      return send(res, 200, { sessions });
    }
    if (method === 'GET' && path === '/tools') {
      const [tools, definitions] = await Promise.all([
        gateway.toolInventory(),
        gateway.definitionInventory()
      ]);
      return send(res, 200, { tools, definitions });
    }
    const approveTools = /^\/tools\/([A-Za-z0-9_-]+)\/approve$/.exec(path);
    if (approveTools && method === 'POST') {
      const server = approveTools[1]!;
      if (!gateway.upstreams.has(server)) return fail(res, 404, `no server "${server}"`);
      const counts = await gateway.approveTools(server, who.id);
      return send(res, 200, {
        server,
        pinned: counts.tools,
        prompts: counts.prompts,
        resources: counts.resources,
        resourceTemplates: counts.resourceTemplates,
        by: who.id
      });
    }
    if (method === 'GET' && path === '/policy') {
      const { policy, version } = gateway.policy();
      return send(res, 200, {
        version,
        mode: policy.settings.mode,
        rules: policy.rules,
        settings: policy.settings,
        source: gateway.config.source
      });
    }
    if (method === 'POST' && path === '/explain') {
      let body: Record<string, unknown>;
      try {
        body = await readJson(req);
      } catch (err) {
        return fail(res, 400, (err as Error).message);
      }
      const name = typeof body.tool === 'string' ? body.tool : '';
      const k = name.indexOf('__');
      if (k <= 0) return fail(res, 400, 'tool must be <server>__<tool>');
      const roles = Array.isArray(body.roles) ? body.roles.map(String) : [];
      const now = typeof body.time === 'string' && body.time ? Date.parse(body.time) : Date.now();
      if (Number.isNaN(now)) return fail(res, 400, 'time is not an ISO date-time');
      const history = (Array.isArray(body.history) ? body.history.map(String) : []).map((h, i, all) => {
        const j = h.indexOf('__');
        return {
          server: j > 0 ? h.slice(0, j) : '',
          tool: j > 0 ? h.slice(j + 2) : h,
          at: now - (all.length - i) * 1000
        };
      });
      const args =
        body.args && typeof body.args === 'object' && !Array.isArray(body.args)
          ? (body.args as Record<string, unknown>)
          : {};
      const { policy, version } = gateway.policy();
      const { decision, trace } = compilePolicy(policy.rules, policy.settings).explain({
        roles,
        server: name.slice(0, k),
        tool: name.slice(k + 2),
        args,
        identity: { id: typeof body.user === 'string' && body.user ? body.user : 'explain', method: 'token' },
        now,
        history,
        risk: typeof body.risk === 'number' ? body.risk : 0
      });
      return send(res, 200, {
        version,
        server: name.slice(0, k),
        tool: name.slice(k + 2),
        roles,
        decision,
        trace
      });
    }
    if (method === 'GET' && path === '/events') {
      res.writeHead(200, {
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-cache, no-transform',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no'
      });
      res.write(': portcullis admin events\n\n');
      const onAudit = (r: AuditRecord) => res.write(`event: audit\ndata: ${JSON.stringify(r)}\n\n`);
      const onApproval = (h: HeldCall) => res.write(`event: approval\ndata: ${JSON.stringify(h)}\n\n`);
      const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
      gateway.events.on('audit', onAudit);
      gateway.approvals.events.on('held', onApproval);
      gateway.approvals.events.on('changed', onApproval);
      streams.add(res);
      res.on('close', () => {
        clearInterval(ping);
        gateway.events.off('audit', onAudit);
        gateway.approvals.events.off('held', onApproval);
        gateway.approvals.events.off('changed', onApproval);
        streams.delete(res);
      });
      return;
    }
    return fail(res, 404, 'not found');
  };

  const serveConsole = async (res: ServerResponse, url: URL) => {
    let rel = url.pathname.slice('/admin'.length);
    if (rel === '' || rel === '/') rel = '/index.html';
    const file = normalize(join(CONSOLE_DIR, rel));
    if (!file.startsWith(CONSOLE_DIR.endsWith(sep) ? CONSOLE_DIR : CONSOLE_DIR + sep))
      return fail(res, 404, 'not found');
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      return fail(res, 404, 'not found');
    }
    res.writeHead(200, {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      ...SECURITY_HEADERS
    });
    res.end(body);
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
        const who = await authenticate(req, res);
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
