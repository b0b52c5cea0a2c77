/**
 * Admin API, what happened: `GET /audit` (the recent audit records, newest first, filtered by the
 * query) and `GET /stats?minutes=` (per-minute call counts).
 */
import type { AuditRecord } from '../audit/index.js';
import { send, type AdminRequest } from './respond.js';

function filterAudit(records: readonly AuditRecord[], q: URLSearchParams): AuditRecord[] {
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
}

export function auditRoutes({ gateway, res, url, path, method }: AdminRequest): boolean {
  if (method !== 'GET') return false;
  if (path === '/audit') {
    send(res, 200, { records: filterAudit(gateway.recentAudit(), url.searchParams) });
    return true;
  }
  if (path === '/stats') {
    const minutes = Math.min(1440, Math.max(1, Number(url.searchParams.get('minutes') ?? 60) || 60));
    send(res, 200, { buckets: gateway.stats(minutes) });
    return true;
  }
  return false;
}
