/**
 * Admin API, the policy: `GET /policy` (the rules in force and their version) and `POST /explain`
 * (how the policy in force would decide a described call, prompt or resource read, with the trace
 * of rules it weighed).
 * The policy engine decides; this only reads the question and writes its answer.
 */
import { parseResourceUri } from '../core/names.js';
import { compilePolicy } from '../policy/index.js';
import { fail, readJson, send, type AdminRequest } from './respond.js';

async function explain({ gateway, req, res }: AdminRequest): Promise<void> {
  let body: Record<string, unknown>;
  try {
    body = await readJson(req);
  } catch (err) {
    return fail(res, 400, (err as Error).message);
  }
  const named = (['tool', 'prompt', 'resource'] as const).filter((key) => typeof body[key] === 'string');
  if (named.length > 1) return fail(res, 400, 'name exactly one of tool, prompt or resource');
  const kind = named[0] ?? 'tool';
  const target = typeof body[kind] === 'string' ? (body[kind] as string) : '';
  const routed = kind === 'resource' ? parseResourceUri(target) : undefined;
  const k = target.indexOf('__');
  if (kind === 'resource' && !routed) return fail(res, 400, 'resource must be portcullis://<server>/<uri>');
  if (kind !== 'resource' && k <= 0) return fail(res, 400, `${kind} must be <server>__<${kind}>`);
  const server = routed ? routed.server : target.slice(0, k);
  const name = routed ? routed.uri : target.slice(k + 2);
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
  const { decision, trace } = compilePolicy(policy.rules, policy.settings, policy.servers).explain({
    roles,
    server,
    tool: name,
    kind,
    args,
    identity: { id: typeof body.user === 'string' && body.user ? body.user : 'explain', method: 'token' },
    now,
    history,
    risk: typeof body.risk === 'number' ? body.risk : 0
  });
  return send(res, 200, {
    version,
    server,
    [kind]: name,
    roles,
    decision,
    trace
  });
}

export async function policyRoutes(r: AdminRequest): Promise<boolean> {
  const { gateway, res, path, method } = r;
  if (method === 'GET' && path === '/policy') {
    const { policy, version } = gateway.policy();
    send(res, 200, {
      version,
      mode: policy.settings.mode,
      rules: policy.rules,
      settings: policy.settings,
      source: gateway.config.source
    });
    return true;
  }
  if (method === 'POST' && path === '/explain') {
    await explain(r);
    return true;
  }
  return false;
}
