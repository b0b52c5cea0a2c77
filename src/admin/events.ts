/**
 * Admin API, `GET /events`: a server-sent event stream of new audit records and of held calls as
 * they are held and decided, with a comment ping every 15 s. Open streams are kept so that closing
 * the admin surface ends them.
 */
import type { ServerResponse } from 'node:http';
import type { HeldCall } from '../approval/index.js';
import type { AuditRecord } from '../audit/index.js';
import type { AdminRequest } from './respond.js';

export function eventRoutes(
  { gateway, res, path, method }: AdminRequest,
  streams: Set<ServerResponse>
): boolean {
  if (method !== 'GET' || path !== '/events') return false;
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
  return true;
}
