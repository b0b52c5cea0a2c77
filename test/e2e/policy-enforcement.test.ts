/**
 * The core scenarios, end to end: the official filesystem server and the demo records
 * server behind a gateway on a real socket, real SDK clients of both protocol eras, and a tee on
 * each upstream's stdin proving what it did and did not receive.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import {
  ADMIN_TOKEN,
  ANALYST_TOKEN,
  FILESYSTEM,
  GUEST_TOKEN,
  NODE,
  RECORDS,
  TEE,
  connect,
  dataDir,
  received,
  startGateway,
  tempDir,
  tokensYaml,
  tryCall,
  type TestGateway
} from '../helpers.js';

let gw: TestGateway;
let data: string;
let filesLog: string;
let recordsLog: string;

beforeAll(async () => {
  data = dataDir();
  const logs = tempDir();
  filesLog = join(logs, 'files.jsonl');
  recordsLog = join(logs, 'records.jsonl');
  const re = data.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  gw = await startGateway(`
servers:
  files:
    command: ${NODE}
    args: ["${TEE}", "${filesLog}", "${NODE}", "${FILESYSTEM}", "${data}"]
  records:
    command: ${NODE}
    args: ["${TEE}", "${recordsLog}", "${NODE}", "${RECORDS}"]
auth:${tokensYaml}
rules:
  - tool: "delete_record"
    allowed_roles: ["admin"]
    max_calls_per_session: 5
  - tool: "read_file"
    allowed_roles: ["admin", "analyst"]
    parameter_constraints:
      path: { pattern: "^${re}/public/" }
  - tool: "get_record"
    allowed_roles: ["admin", "analyst"]
  - id: list-records
    tool: "list_records"
    allowed_roles: ["admin", "analyst", "guest"]
`);
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

const callsTo = (log: string, tool: string) =>
  received(log, 'tools/call').filter((m) => m.params?.name === tool);

describe.each(['auto', 'legacy'] as const)('through the gateway (%s-era client)', (mode) => {
  let analyst: Client;
  let admin: Client;

  beforeAll(async () => {
    analyst = await connect(gw.mcp, ANALYST_TOKEN, mode);
    admin = await connect(gw.mcp, ADMIN_TOKEN, mode);
  });
  afterAll(async () => {
    await analyst?.close();
    await admin?.close();
  });

  it('negotiates the era the client asked for', () => {
    const version = analyst.getNegotiatedProtocolVersion();
    if (mode === 'auto') expect(version).toBe('2026-07-28');
    else expect(version).not.toBe('2026-07-28');
  });

  it('lets an analyst read /data/public/x', async () => {
    const r = await tryCall(analyst, 'files__read_file', { path: `${data}/public/x.txt` });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.result.content?.[0]?.text).toBe('public contents\n');
  });

  const mustMatch = 'argument "path" must match the pattern the policy sets for it';
  it.each([
    ['a private file', (d: string) => ({ path: `${d}/private/x.txt` }), mustMatch],
    ['a traversal out of public/', (d: string) => ({ path: `${d}/public/../private/x.txt` }), mustMatch],
    ['a doubled-slash traversal', (d: string) => ({ path: `${d}/public//..//private/x.txt` }), mustMatch],
    ['a path far outside', () => ({ path: '/SECRET-VALUE/x.txt' }), mustMatch],
    ['a call with path missing', () => ({}), 'argument "path" is required']
  ])('refuses an analyst %s, and the upstream never sees it', async (_what, args, hint) => {
    const before = callsTo(filesLog, 'read_file').length;
    const r = await tryCall(analyst, 'files__read_file', args(data));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe(-32052);
      // The kind of refusal, the argument and what it must be: never the rule's internals (its
      // pattern, its name) nor the value sent.
      expect(r.message).toBe(`denied by policy: parameter constraint: ${hint}`);
      expect(r.message).not.toContain('^');
      expect(r.message).not.toContain('rules[');
      expect(r.message).not.toContain(data);
      expect(r.message).not.toContain('SECRET-VALUE');
    }
    expect(callsTo(filesLog, 'read_file').length).toBe(before);
  });

  it('hides and refuses tools a role may not call', async () => {
    const guest = await connect(gw.mcp, GUEST_TOKEN, mode);
    try {
      const names = (await guest.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(['records__list_records']);
      const before = callsTo(recordsLog, 'delete_record').length;
      const r = await tryCall(guest, 'records__delete_record', { id: 'r-1001' });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.code).toBe(-32051);
      expect(callsTo(recordsLog, 'delete_record').length).toBe(before);
    } finally {
      await guest.close();
    }
  });

  it('shows an analyst exactly the tools its rules allow, namespaced', async () => {
    const names = (await analyst.listTools()).tools.map((t) => t.name).sort();
    expect(names).toEqual(['files__read_file', 'records__get_record', 'records__list_records']);
  });

  it('refuses an unknown tool', async () => {
    for (const name of ['files__no_such_tool', 'nosuchserver__read_file', 'read_file', '__read_file']) {
      const r = await tryCall(admin, name, {});
      expect(r.ok, name).toBe(false);
      if (!r.ok) expect([-32051, -32055]).toContain(r.code);
    }
  });

  it("refuses arguments that violate the tool's own schema before they reach the server", async () => {
    const before = callsTo(recordsLog, 'get_record').length;
    const cases: Array<[Record<string, unknown>, string]> = [
      [{}, 'argument "id" is missing; expected a string'],
      [{ id: 42 }, 'argument "id" must be string'],
      [{ id: 'not-an-id' }, 'argument "id" must match pattern "^r-[0-9]+$"'],
      [{ id: 'r-1001', extra: true }, 'argument "extra" is not accepted by this tool; accepted: id']
    ];
    for (const [args, hint] of cases) {
      const r = await tryCall(analyst, 'records__get_record', args);
      expect(r.ok, JSON.stringify(args)).toBe(false);
      if (!r.ok) {
        expect(r.code).toBe(-32602);
        expect(r.message).toBe(`invalid arguments: ${hint}`);
      }
    }
    expect(callsTo(recordsLog, 'get_record').length).toBe(before);
    const ok = await tryCall(analyst, 'records__get_record', { id: 'r-1002' });
    expect(ok.ok).toBe(true);
    expect(callsTo(recordsLog, 'get_record').length).toBe(before + 1);
  });

  it('never tells the agent back the value of an argument it refused', async () => {
    for (const args of [
      { id: 'SECRET-VALUE-1' },
      { id: ['SECRET-VALUE-2'] },
      { id: 'r-1001', extra: 'SECRET-VALUE-3' },
      { id: { nested: 'SECRET-VALUE-4' } }
    ]) {
      const r = await tryCall(analyst, 'records__get_record', args);
      expect(r.ok, JSON.stringify(args)).toBe(false);
      if (!r.ok) {
        expect(r.message).toMatch(/^invalid arguments: argument "(id|extra)"/);
        expect(r.message).not.toContain('SECRET-VALUE');
      }
    }
  });
});

describe('per-session call caps', () => {
  it('refuses the sixth delete_record in a session, and a new session starts afresh', async () => {
    const admin = await connect(gw.mcp, ADMIN_TOKEN, 'legacy');
    const before = callsTo(recordsLog, 'delete_record').length;
    const outcomes: Array<boolean> = [];
    for (let i = 0; i < 6; i++) {
      const r = await tryCall(admin, 'records__delete_record', { id: `r-10${10 + i}` });
      outcomes.push(r.ok);
      if (i === 5 && !r.ok) expect(r.code).toBe(-32054);
    }
    expect(outcomes).toEqual([true, true, true, true, true, false]);
    expect(callsTo(recordsLog, 'delete_record').length).toBe(before + 5);
    await admin.close();

    const again = await connect(gw.mcp, ADMIN_TOKEN, 'legacy');
    const r = await tryCall(again, 'records__delete_record', { id: 'r-1099' });
    expect(r.ok).toBe(true);
    await again.close();
  });

  it('counts concurrent calls exactly: five of ten racing calls get through', async () => {
    const admin = await connect(gw.mcp, ADMIN_TOKEN, 'legacy');
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => tryCall(admin, 'records__delete_record', { id: `r-20${10 + i}` }))
    );
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    expect(results.filter((r) => !r.ok && r.code === -32054)).toHaveLength(5);
    await admin.close();
  });
});

describe('audit', () => {
  it('records every denial with identity, rule, reason and the arguments', () => {
    const denials = gw.audit().filter((r) => r.event === 'tools/call' && r.decision === 'deny');
    const traversal = denials.find(
      (r) =>
        r.tool === 'read_file' &&
        (r.arguments as { path?: string }).path === `${data}/public/../private/x.txt`
    );
    expect(traversal).toMatchObject({
      identity: 'bob',
      roles: ['analyst'],
      server: 'files',
      name: 'files__read_file',
      code: 'constraint_failed',
      outcome: 'denied',
      rules: ['rules[1]']
    });
    expect(traversal?.reason).toContain('does not match the pattern');
    expect(traversal?.session).toBeTruthy();
    expect(typeof traversal?.latency_ms).toBe('number');
    expect(traversal?.policy_version).toMatch(/^[0-9a-f]{12}$/);
    const capped = denials.find((r) => r.code === 'call_limit');
    expect(capped).toMatchObject({ identity: 'alice', tool: 'delete_record', rules: ['rules[0]'] });
    expect(denials.some((r) => r.code === 'unknown_tool')).toBe(true);
    expect(denials.some((r) => r.code === 'invalid_arguments')).toBe(true);
    expect(denials.some((r) => r.code === 'role_not_allowed')).toBe(true);
  });

  it('records allowed calls with their outcome and upstream latency, and every listing', () => {
    const records = gw.audit();
    const ok = records.find((r) => r.event === 'tools/call' && r.tool === 'read_file' && r.outcome === 'ok');
    expect(ok).toMatchObject({ decision: 'allow', identity: 'bob', rules: ['rules[1]'] });
    expect(typeof ok?.upstream_ms).toBe('number');
    expect(records.filter((r) => r.event === 'tools/list').length).toBeGreaterThan(0);
  });
});
