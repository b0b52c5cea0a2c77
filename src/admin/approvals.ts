/**
 * Admin API, held calls: `GET /approvals?status=`, `GET /approvals/:id`, and
 * `POST /approvals/:id/approve|deny` with an optional note. The approval queue decides whether a
 * decision is allowed; a refusal it gives is answered with its status.
 */
import { ApprovalRefused } from '../approval/index.js';
import { fail, readJson, send, type AdminRequest } from './respond.js';

export async function approvalRoutes({
  gateway,
  req,
  res,
  url,
  path,
  method,
  who
}: AdminRequest): Promise<boolean> {
  if (method === 'GET' && path === '/approvals') {
    const status = (url.searchParams.get('status') ?? 'pending') as 'pending' | 'decided' | 'all';
    if (!['pending', 'decided', 'all'].includes(status)) {
      fail(res, 400, 'status is pending, decided or all');
      return true;
    }
    send(res, 200, { approvals: gateway.approvals.list(status) });
    return true;
  }
  const one = /^\/approvals\/([A-Za-z0-9_]+)(?:\/(approve|deny))?$/.exec(path);
  if (!one) return false;
  const id = one[1]!;
  if (!one[2]) {
    if (method !== 'GET') fail(res, 405, 'method not allowed');
    else {
      const held = gateway.approvals.get(id);
      if (held) send(res, 200, held);
      else fail(res, 404, `no held call ${id}`);
    }
    return true;
  }
  if (method !== 'POST') {
    fail(res, 405, 'method not allowed');
    return true;
  }
  let body: Record<string, unknown>;
  try {
    body = await readJson(req);
  } catch (err) {
    fail(res, 400, (err as Error).message);
    return true;
  }
  const note = typeof body.note === 'string' ? body.note : undefined;
  try {
    const held = await gateway.approvals.decide(id, who, one[2] === 'approve' ? 'approve' : 'deny', note);
    send(res, 200, held);
  } catch (err) {
    if (err instanceof ApprovalRefused) fail(res, err.status, err.message);
    else throw err;
  }
  return true;
}
