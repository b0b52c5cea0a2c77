/**
 * Human approval through the admin API and the CLI, with real agents waiting on real calls:
 * approve, deny, timeout, several approvers, self-approval, approver roles, re-evaluation after a
 * policy change, the webhook, and the admin API's own protection.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { loadConfig } from '../../src/config/index.js';
import {
  ADMIN_TOKEN,
  ANALYST_TOKEN,
  CLI,
  NODE,
  RECORDS,
  connect,
  run,
  startGateway,
  waitFor,
  type TestGateway
} from '../helpers.js';

const CAROL = 'carol-admin-token-0123456789';
const DAVE = 'dave-admin-token-0123456789';
const ADMIN_API_TOKEN = 'the-admin-api-token-0123456789';

let hook: Server;
const announced: Array<{ type: string; approval: { id: string; name: string } }> = [];
let gw: TestGateway;

const yaml = (extra: string, hookPort: number) => `
servers:
  records: { command: ${NODE}, args: ["${RECORDS}"] }
auth:
  tokens:
    - { id: alice, identity: alice, roles: [admin], token: ${ADMIN_TOKEN} }
    - { id: bob, identity: bob, roles: [analyst], token: ${ANALYST_TOKEN} }
    - { id: carol, identity: carol, roles: [admin], token: ${CAROL} }
    - { id: dave, identity: dave, roles: [admin], token: ${DAVE} }
admin: { token: ${ADMIN_API_TOKEN} }
approvals:
  timeout_s: 30
  approver_roles: [admin]
  progress_interval_s: 1
  webhook: { url: "http://127.0.0.1:${hookPort}/hook", headers: { X-Hook-Secret: s3cret } }
${extra}
rules:
  - { tool: delete_record, allowed_roles: [admin, analyst], require_approval: true }
  - { tool: list_records, allowed_roles: [admin, analyst] }
`;

async function api(path: string, token: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${gw.url}/admin/api${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Start a call that needs approval; resolves when it finishes, however it finishes. */
function held(client: Client, id: string, progress?: number[]) {
  return client
    .request(
      { method: 'tools/call', params: { name: 'records__delete_record', arguments: { id } } },
      { timeout: 5000, resetTimeoutOnProgress: true, onprogress: (p) => progress?.push(p.progress) }
    )
    .then(
      (result) => ({ ok: true as const, result: result as { content: Array<{ text: string }> } }),
      (err: { code: number; message: string }) => ({
        ok: false as const,
        code: err.code,
        message: err.message
      })
    );
}

async function pendingFor(name: string) {
  let found: { id: string } | undefined;
  await waitFor(
    async () => {
      const list = (await api('/approvals', ADMIN_API_TOKEN)).body.approvals as Array<{
        id: string;
        arguments: { id: string };
      }>;
      found = list.find((a) => a.arguments.id === name);
      return found !== undefined;
    },
    10_000,
    `held call for ${name}`
  );
  return found!.id;
}

beforeAll(async () => {
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.headers['x-hook-secret'] === 's3cret') announced.push(JSON.parse(body));
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  gw = await startGateway(yaml('', (hook.address() as { port: number }).port));
});

afterAll(async () => {
  await gw?.close();
  hook?.close();
});

describe('a call that needs approval', () => {
  it('waits, with progress notifications, until another admin approves; then runs; the audit says who and when', async () => {
    const bob = await connect(gw.mcp, ANALYST_TOKEN, 'legacy');
    const progress: number[] = [];
    const call = held(bob, 'r-1001', progress);
    const id = await pendingFor('r-1001');
    // The call outlives the client's 5 s timeout because progress keeps resetting it.
    await new Promise((r) => setTimeout(r, 6000));
    expect(progress.length).toBeGreaterThanOrEqual(4);
    const approved = await api(`/approvals/${id}/approve`, CAROL, { note: 'checked with the customer' });
    expect(approved.status).toBe(200);
    const outcome = await call;
    expect(outcome.ok).toBe(true);
    if (outcome.ok) expect(outcome.result.content[0]?.text).toBe('deleted r-1001');
    const record = gw.audit().find((r) => r.approval?.id === id);
    expect(record).toMatchObject({
      decision: 'approval',
      outcome: 'ok',
      identity: 'bob',
      approval: { status: 'approved' }
    });
    expect((record?.approval?.decisions as Array<{ by: string; at: string; note: string }>)[0]).toMatchObject(
      {
        by: 'carol',
        note: 'checked with the customer'
      }
    );
    expect(record?.approval?.decided_at).toBeTruthy();
    expect(announced.some((a) => a.type === 'approval.requested' && a.approval.id === id)).toBe(true);
    await bob.close();
  });

  it('is refused when an approver denies it', async () => {
    const bob = await connect(gw.mcp, ANALYST_TOKEN);
    const call = held(bob, 'r-1002');
    const id = await pendingFor('r-1002');
    const r = await run(NODE, [
      CLI,
      'approvals',
      'deny',
      id,
      '--url',
      gw.url,
      '--token',
      DAVE,
      '--note',
      'not today'
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${id}: denied`);
    const outcome = await call;
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.code).toBe(-32061);
      expect(outcome.message).toBe('approval denied');
    }
    expect(gw.audit().find((x) => x.approval?.id === id)).toMatchObject({
      outcome: 'denied',
      code: 'approval_denied'
    });
    await bob.close();
  });

  it('refuses self-approval and approvers without an approver role, and keeps the call waiting', async () => {
    const alice = await connect(gw.mcp, ADMIN_TOKEN);
    const call = held(alice, 'r-1003');
    const id = await pendingFor('r-1003');
    const self = await api(`/approvals/${id}/approve`, ADMIN_TOKEN, {});
    expect(self.status).toBe(403);
    expect(String(self.body.error)).toContain('own call');
    const analyst = await api(`/approvals/${id}/approve`, ANALYST_TOKEN, {});
    expect(analyst.status).toBe(401);
    expect(((await api(`/approvals/${id}`, ADMIN_API_TOKEN)).body as { status: string }).status).toBe(
      'pending'
    );
    const list = await run(NODE, [CLI, 'approvals', 'list', '--url', gw.url, '--token', ADMIN_API_TOKEN]);
    expect(list.stdout).toContain(id);
    expect((await api(`/approvals/${id}/approve`, CAROL, {})).status).toBe(200);
    expect((await api(`/approvals/${id}/approve`, DAVE, {})).status).toBe(409);
    expect((await call).ok).toBe(true);
    await alice.close();
  });

  it('is re-decided against the current policy on approval', async () => {
    const bob = await connect(gw.mcp, ANALYST_TOKEN);
    const call = held(bob, 'r-1004');
    const id = await pendingFor('r-1004');
    const file = join(gw.dir, 'portcullis.yaml');
    const original = loadConfig(file);
    const changed = join(gw.dir, 'changed.yaml');
    writeFileSync(
      changed,
      `${original.source ? '' : ''}rules:\n  - { tool: delete_record, allowed_roles: [admin] , require_approval: true }\n  - { tool: list_records, allowed_roles: [admin, analyst] }\n`
    );
    gw.gateway.reloadPolicy(loadConfig(changed));
    expect((await api(`/approvals/${id}/approve`, CAROL, {})).status).toBe(200);
    const outcome = await call;
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.code).toBe(-32051);
    const record = gw.audit().find((x) => x.approval?.id === id);
    expect(record?.reason).toContain('policy changed while it waited');
    gw.gateway.reloadPolicy(original);
    await bob.close();
  });
});

describe('approval settings', () => {
  it('times out when nobody decides, and needs every required approver', async () => {
    const port = (hook.address() as { port: number }).port;
    const strict = await startGateway(
      yaml('', port).replace('timeout_s: 30', 'timeout_s: 2\n  approvers: 2')
    );
    const saved = gw;
    gw = strict;
    try {
      const bob = await connect(strict.mcp, ANALYST_TOKEN);
      const lonely = await held(bob, 'r-1005');
      expect(lonely.ok).toBe(false);
      if (!lonely.ok) expect(lonely.code).toBe(-32062);
      expect(strict.gateway.approvals.list('decided')[0]?.status).toBe('expired');

      const call = held(bob, 'r-1006');
      const id = await pendingFor('r-1006');
      expect((await api(`/approvals/${id}/approve`, CAROL, {})).status).toBe(200);
      expect(((await api(`/approvals/${id}`, ADMIN_API_TOKEN)).body as { status: string }).status).toBe(
        'pending'
      );
      expect((await api(`/approvals/${id}/approve`, DAVE, {})).status).toBe(200);
      expect((await call).ok).toBe(true);
      await bob.close();
    } finally {
      gw = saved;
      await strict.close();
    }
  });
});

describe('approver roles apart from admin roles', () => {
  it('lets an admin-API user without an approver role neither approve nor deny a held call', async () => {
    const OPS = 'erin-ops-token-0123456789abcdef';
    const port = (hook.address() as { port: number }).port;
    const split = await startGateway(
      yaml('', port)
        .replace(
          `admin: { token: ${ADMIN_API_TOKEN} }`,
          `admin: { token: ${ADMIN_API_TOKEN}, roles: [admin, ops] }`
        )
        .replace(
          `    - { id: dave,`,
          `    - { id: erin, identity: erin, roles: [ops], token: ${OPS} }\n    - { id: dave,`
        )
    );
    const saved = gw;
    gw = split;
    try {
      const bob = await connect(split.mcp, ANALYST_TOKEN);
      const call = held(bob, 'r-1007');
      const id = await pendingFor('r-1007');
      // erin may use the admin API (she can read the approval) but may not decide it.
      expect((await api(`/approvals/${id}`, OPS)).status).toBe(200);
      const approve = await api(`/approvals/${id}/approve`, OPS, {});
      expect(approve.status).toBe(403);
      expect(String(approve.body.error)).toContain('approving needs one of the roles admin');
      const deny = await api(`/approvals/${id}/deny`, OPS, {});
      expect(deny.status).toBe(403);
      expect(((await api(`/approvals/${id}`, ADMIN_API_TOKEN)).body as { status: string }).status).toBe(
        'pending'
      );
      expect((await api(`/approvals/${id}/approve`, CAROL, {})).status).toBe(200);
      const outcome = await call;
      expect(outcome.ok).toBe(true);
      const record = split.audit().find((x) => x.approval?.id === id);
      const decisions = record?.approval?.decisions as Array<{ by: string }>;
      expect(decisions.map((d) => d.by)).toEqual(['carol']);
      await bob.close();
    } finally {
      gw = saved;
      await split.close();
    }
  });
});

describe('the admin API', () => {
  it('refuses requests without admin credentials', async () => {
    for (const token of ['', 'nope-nope-nope-nope-nope', ANALYST_TOKEN]) {
      const res = await fetch(`${gw.url}/admin/api/approvals`, {
        headers: token ? { Authorization: `Bearer ${token}` } : {}
      });
      expect(res.status).toBe(401);
    }
    expect((await api('/whoami', ADMIN_TOKEN)).body).toEqual({ identity: 'alice', roles: ['admin'] });
    expect((await api('/whoami', ADMIN_API_TOKEN)).body).toEqual({ identity: 'admin', roles: ['admin'] });
  });

  it('refuses cross-site requests even with a valid token', async () => {
    expect(
      (await api('/approvals', ADMIN_API_TOKEN, undefined, { Origin: 'http://localhost:9999' })).status
    ).toBe(403);
    expect(
      (await api('/approvals', ADMIN_API_TOKEN, undefined, { 'Sec-Fetch-Site': 'cross-site' })).status
    ).toBe(403);
    const form = await fetch(`${gw.url}/admin/api/approvals/apr_x/approve`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${ADMIN_API_TOKEN}`,
        'Content-Type': 'application/x-www-form-urlencoded'
      },
      body: 'note=x'
    });
    expect(form.status).toBe(415);
  });

  it('serves audit records, stats, sessions, tools, policy and explanations', async () => {
    const audit = await api('/audit?decision=approval&limit=50', ADMIN_API_TOKEN);
    const records = audit.body.records as Array<{ decision: string }>;
    expect(records.length).toBeGreaterThan(0);
    expect(records.every((r) => r.decision === 'approval')).toBe(true);
    const stats = (await api('/stats?minutes=5', ADMIN_API_TOKEN)).body.buckets as Array<{ calls: number }>;
    expect(stats).toHaveLength(5);
    expect(stats.reduce((a, b) => a + b.calls, 0)).toBeGreaterThan(0);
    const sessions = (await api('/sessions', ADMIN_API_TOKEN)).body.sessions as Array<{ identity: string }>;
    expect(sessions.some((s) => s.identity === 'bob')).toBe(true);
    const tools = (await api('/tools', ADMIN_API_TOKEN)).body.tools as Array<{ exposed: string }>;
    expect(tools.map((t) => t.exposed)).toContain('records__delete_record');
    const policy = (await api('/policy', ADMIN_API_TOKEN)).body;
    expect(policy.version).toBe(gw.gateway.policy().version);
    const explained = await api('/explain', ADMIN_API_TOKEN, {
      roles: ['analyst'],
      tool: 'records__list_records'
    });
    expect((explained.body.decision as { effect: string }).effect).toBe('allow');
    const denied = await api('/explain', ADMIN_API_TOKEN, {
      roles: ['guest'],
      tool: 'records__list_records'
    });
    expect((denied.body.decision as { effect: string }).effect).toBe('deny');
    // A prompt or resource: only their own rules decide, and there are none here.
    const prompt = await api('/explain', ADMIN_API_TOKEN, {
      roles: ['analyst'],
      prompt: 'records__list_records'
    });
    expect(prompt.body).toMatchObject({
      server: 'records',
      prompt: 'list_records',
      decision: { code: 'no_rule' }
    });
    expect((prompt.body.trace as Array<{ notes: string[] }>)[0]!.notes).toEqual([
      'names a tool, not a prompt'
    ]);
    const resource = await api('/explain', ADMIN_API_TOKEN, {
      roles: ['analyst'],
      resource: 'portcullis://records/records://r-1001'
    });
    expect(resource.body).toMatchObject({
      server: 'records',
      resource: 'records://r-1001',
      decision: { effect: 'deny', code: 'no_rule' }
    });
    const two = await api('/explain', ADMIN_API_TOKEN, { roles: ['analyst'], tool: 'a__b', prompt: 'a__b' });
    expect(two.status).toBe(400);
    const unrouted = await api('/explain', ADMIN_API_TOKEN, {
      roles: ['analyst'],
      resource: 'records://r-1001'
    });
    expect(unrouted.status).toBe(400);
  });

  it('streams audit records as they are written', async () => {
    const controller = new AbortController();
    const res = await fetch(`${gw.url}/admin/api/events`, {
      headers: { Authorization: `Bearer ${ADMIN_API_TOKEN}` },
      signal: controller.signal
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const bob = await connect(gw.mcp, ANALYST_TOKEN);
    await bob.request({ method: 'tools/call', params: { name: 'records__list_records', arguments: {} } });
    let text = '';
    await waitFor(
      async () => {
        const { value } = await reader.read();
        text += new TextDecoder().decode(value);
        return text.includes('"tool":"list_records"');
      },
      10_000,
      'audit event'
    );
    expect(text).toContain('event: audit');
    controller.abort();
    await bob.close();
  });
});
