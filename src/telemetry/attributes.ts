/**
 * What a tool call's span says about it, from its audit record: the same facts, so a trace and
 * the audit log never disagree. Never the arguments, the result or the full reason: a collector is
 * not where the audit log's contents go.
 */
import type { Attributes } from '@opentelemetry/api';
import type { AuditInput } from '../audit/index.js';

export function callAttributes(record: AuditInput): Attributes {
  const attributes: Attributes = { 'mcp.method.name': 'tools/call' };
  const put = (key: string, value: string | number | undefined) => {
    if (value !== undefined) attributes[key] = value;
  };
  put('gen_ai.tool.name', record.name);
  put('enduser.id', record.identity);
  put('portcullis.server', record.server);
  put('portcullis.tool', record.tool);
  put('portcullis.transport', record.transport);
  put('portcullis.decision', record.decision);
  put('portcullis.outcome', record.outcome);
  put('portcullis.code', record.code);
  put('portcullis.policy_version', record.policy_version);
  put('portcullis.latency_ms', record.latency_ms);
  put('portcullis.upstream_ms', record.upstream_ms);
  put('portcullis.approval_ms', record.approval_ms);
  if (record.findings && record.findings.length > 0)
    attributes['portcullis.findings'] = record.findings.length;
  return attributes;
}
