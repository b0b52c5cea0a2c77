/**
 * The complete policy engine on a live gateway: conditions that read the session (history, risk,
 * rate limits), observe mode in the audit log, hot reload under concurrent calls, and the
 * `policy test` command.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { watchConfig } from '../../src/config/watch.js';
import {
  ANALYST_TOKEN,
  CLI,
  FIXTURES,
  NODE,
  RECORDS,
  connect,
  run,
  startGateway,
  tempDir,
  tokensYaml,
  tryCall,
  waitFor,
  type TestGateway
} from '../helpers.js';

const servers = `
servers:
  records:
    command: ${NODE}
    args: ["${RECORDS}"]
  faulty:
    command: ${NODE}
    args: ["${join(FIXTURES, 'faulty-server.mjs')}"]
auth:${tokensYaml}
`;

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

describe('conditions that read the live session', () => {
  it('forbids a sequence: after get_record, echo is refused in that session only', async () => {
    gw = await startGateway(`${servers}
rules:
  - { tool: "*", allowed_roles: [analyst] }
  - { id: no-leak, server: faulty, tool: echo, deny: true, after: { tools: ["records__get_record"] } }
`);
    const a = await connect(gw.mcp, ANALYST_TOKEN, 'legacy');
    expect((await tryCall(a, 'faulty__echo', { text: 'before' })).ok).toBe(true);
    expect((await tryCall(a, 'records__get_record', { id: 'r-1001' })).ok).toBe(true);
    const after = await tryCall(a, 'faulty__echo', { text: 'after' });
    expect(after.ok).toBe(false);
    if (!after.ok) expect(after.code).toBe(-32051);
    const b = await connect(gw.mcp, ANALYST_TOKEN, 'legacy');
    expect((await tryCall(b, 'faulty__echo', { text: 'other session' })).ok).toBe(true);
    await a.close();
    await b.close();
    const denied = gw.audit().find((r) => r.tool === 'echo' && r.decision === 'deny');
    expect(denied).toMatchObject({ rules: ['no-leak'], code: 'policy_denied' });
  });

  it('accumulates risk to the budget: exactly the call that crosses it is refused', async () => {
    gw = await startGateway(`${servers}
policy:
  risk: { budget: 50 }
rules:
  - { tool: "*", allowed_roles: [analyst] }
  - { tool: get_record, risk: 20 }
`);
    const a = await connect(gw.mcp, ANALYST_TOKEN, 'legacy');
    const results = [];
    for (let i = 0; i < 4; i++) results.push((await tryCall(a, 'records__get_record', { id: 'r-1001' })).ok);
    expect(results).toEqual([true, true, false, false]);
    // Calls without risk still pass.
    expect((await tryCall(a, 'records__list_records', {})).ok).toBe(true);
    await a.close();
    const audit = gw.audit().filter((r) => r.tool === 'get_record');
    expect(audit.map((r) => r.session_risk ?? null).slice(0, 2)).toEqual([20, 40]);
    expect(audit[2]).toMatchObject({ code: 'risk_budget', decision: 'deny' });
  });

  it('rate-limits a rule per identity across sessions, and per session when asked', async () => {
    gw = await startGateway(`${servers}
rules:
  - { tool: "*", allowed_roles: [analyst] }
  - { tool: list_records, rate_limit: 3/min }
  - { tool: get_record, rate_limit: 2/min, rate_scope: session }
`);
    const a = await connect(gw.mcp, ANALYST_TOKEN, 'legacy');
    const b = await connect(gw.mcp, ANALYST_TOKEN, 'legacy');
    const listed = [
      (await tryCall(a, 'records__list_records', {})).ok,
      (await tryCall(b, 'records__list_records', {})).ok,
      (await tryCall(a, 'records__list_records', {})).ok,
      (await tryCall(b, 'records__list_records', {})).ok
    ];
    expect(listed).toEqual([true, true, true, false]);
    const got = [
      (await tryCall(a, 'records__get_record', { id: 'r-1001' })).ok,
      (await tryCall(a, 'records__get_record', { id: 'r-1001' })).ok,
      (await tryCall(a, 'records__get_record', { id: 'r-1001' })).ok,
      (await tryCall(b, 'records__get_record', { id: 'r-1001' })).ok
    ];
    expect(got).toEqual([true, true, false, true]);
    const limited = await tryCall(b, 'records__list_records', {});
    if (!limited.ok) expect(limited.code).toBe(-32059);
    await a.close();
    await b.close();
  });

  it('observe mode lets the call through and records what would have been refused', async () => {
    gw = await startGateway(`${servers}
rules:
  - { tool: "*", allowed_roles: [analyst] }
  - { id: trial, tool: echo, mode: observe, parameter_constraints: { text: { maxLength: 5 } } }
`);
    const a = await connect(gw.mcp, ANALYST_TOKEN);
    expect((await tryCall(a, 'faulty__echo', { text: 'much too long' })).ok).toBe(true);
    await a.close();
    const record = gw.audit().find((r) => r.tool === 'echo');
    expect(record).toMatchObject({ decision: 'allow', outcome: 'ok' });
    expect(record?.observed).toMatchObject({ effect: 'deny', code: 'constraint_failed', rules: ['trial'] });
  });
});

describe('rules naming a list of globs', () => {
  it('a list allows each tool it names, lists only those, and the third is refused with no_rule', async () => {
    gw = await startGateway(`${servers}
rules:
  - { id: reads, server: records, tool: [get_record, list_records], allowed_roles: [analyst] }
  - { id: faulty-some, server: faulty, tool: ["ec?o", "p*"], allowed_roles: [analyst] }
  - { id: no-pid, server: faulty, tool: [pid, env], deny: true }
`);
    const a = await connect(gw.mcp, ANALYST_TOKEN, 'legacy');
    const names = (await a.listTools()).tools.map((t) => t.name).sort();
    expect(names).toEqual(['faulty__echo', 'records__get_record', 'records__list_records']);
    expect((await tryCall(a, 'records__get_record', { id: 'r-1001' })).ok).toBe(true);
    expect((await tryCall(a, 'records__list_records', {})).ok).toBe(true);
    expect((await tryCall(a, 'faulty__echo', { text: 'hi' })).ok).toBe(true);
    const refused = await tryCall(a, 'records__delete_record', { id: 'r-1001' });
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.code).toBe(-32051);
      expect(refused.message).toBe('denied by policy: no rule allows this tool');
    }
    // A deny list refuses what the allow list's wildcard would have let through.
    const denied = await tryCall(a, 'faulty__pid', {});
    expect(denied.ok).toBe(false);
    await a.close();
    // The record is still there: the delete never reached the server.
    const b = await connect(gw.mcp, ANALYST_TOKEN, 'legacy');
    expect((await tryCall(b, 'records__get_record', { id: 'r-1001' })).ok).toBe(true);
    await b.close();
    const calls = gw.audit().filter((r) => r.event === 'tools/call');
    expect(calls.find((r) => r.tool === 'delete_record')).toMatchObject({
      decision: 'deny',
      code: 'no_rule'
    });
    expect(calls.find((r) => r.tool === 'pid')).toMatchObject({
      decision: 'deny',
      code: 'policy_denied',
      rules: ['no-pid']
    });
    expect(calls.filter((r) => r.tool === 'get_record').map((r) => [r.decision, r.rules])).toEqual([
      ['allow', ['reads']],
      ['allow', ['reads']]
    ]);
  });
});

describe('hot reload', () => {
  it('swaps the policy atomically under concurrent calls; a broken file keeps the last good one', async () => {
    const allowAll = `${servers}
rules:
  - { tool: "*", allowed_roles: [analyst] }
`;
    gw = await startGateway(allowAll);
    const file = join(gw.dir, 'portcullis.yaml');
    const watch = watchConfig(file, gw.gateway, pino({ level: 'silent' }), 50);
    const v1 = gw.gateway.policy().version;
    const client = await connect(gw.mcp, ANALYST_TOKEN, 'legacy');
    let stop = false;
    const outcomes: Array<{ ok: boolean; code?: number }> = [];
    const load = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (!stop) {
          const r = await tryCall(client, 'records__list_records', {});
          outcomes.push(r.ok ? { ok: true } : { ok: false, code: r.code });
        }
      })
    );
    await waitFor(() => outcomes.length > 20, 10_000, 'calls before reload');
    writeFileSync(file, allowAll.replace('rules:', 'rules:\n  - { tool: list_records, deny: true }'));
    await waitFor(() => gw!.gateway.policy().version !== v1, 10_000, 'policy reload');
    const v2 = gw.gateway.policy().version;
    await waitFor(() => outcomes.slice(-5).every((o) => !o.ok), 10_000, 'denials after reload');

    writeFileSync(file, 'rules:\n  - { tool: [broken\n');
    await waitFor(
      () => gw!.audit().some((r) => r.event === 'config/reload' && r.outcome === 'error'),
      10_000,
      'failed reload'
    );
    stop = true;
    await load;
    expect(gw.gateway.policy().version).toBe(v2);
    expect((await tryCall(client, 'records__list_records', {})).ok).toBe(false);
    await client.close();
    watch.close();

    // Every call either passed or was refused by policy: nothing failed in between.
    expect(outcomes.every((o) => o.ok || o.code === -32051)).toBe(true);
    // Each audit record agrees with the policy version that decided it.
    const calls = gw.audit().filter((r) => r.event === 'tools/call');
    expect(calls.filter((r) => r.policy_version === v1).every((r) => r.decision === 'allow')).toBe(true);
    expect(calls.filter((r) => r.policy_version === v2).every((r) => r.decision === 'deny')).toBe(true);
    expect(calls.some((r) => r.policy_version === v1) && calls.some((r) => r.policy_version === v2)).toBe(
      true
    );
    const reloads = gw.audit().filter((r) => r.event === 'config/reload');
    expect(reloads.map((r) => r.outcome)).toEqual(['ok', 'error']);
    expect(reloads[1]?.reason).toMatch(/portcullis\.yaml:\d+:\d+/);
  });
});

describe('portcullis policy test', () => {
  it('runs the example policy tests', async () => {
    const r = await run(NODE, [CLI, 'policy', 'test', 'examples/policy/portcullis.test.yaml']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^18 passed, 0 failed$/m);
  });

  it('fails (exit 1) on a wrong expectation, naming the case and what happened', async () => {
    const dir = tempDir();
    const file = join(dir, 'cases.yaml');
    writeFileSync(
      file,
      `rules:
  - { id: r, tool: read_file, allowed_roles: [analyst], parameter_constraints: { path: { prefix: /pub/ } } }
tests:
  - name: right
    roles: [analyst]
    tool: files__read_file
    args: { path: /pub/x }
    expect: allow
    rule: r
  - name: wrong on purpose
    roles: [analyst]
    tool: files__read_file
    args: { path: /secret }
    expect: allow
`
    );
    const r = await run(NODE, [CLI, 'policy', 'test', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('ok   right');
    expect(r.stdout).toContain(`FAIL wrong on purpose (${file}:10)`);
    expect(r.stdout).toContain('expected allow, got deny');
    expect(r.stdout).toMatch(/^1 passed, 1 failed$/m);
  });

  it('rejects a malformed test file with positions', async () => {
    const dir = tempDir();
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, `tests:\n  - tool: x\n    expect: maybe\n`);
    const r = await run(NODE, [CLI, 'policy', 'test', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:3:13 tests[0].expect: expected one of: allow, deny, approval`);
  });
});
