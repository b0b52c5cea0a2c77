/**
 * Content scanning end to end, against a real upstream that misbehaves: a poisoned tool
 * description, a rug pull after first use, a result with instructions to the model, and a result
 * that leaks secrets. Each is blocked, redacted or flagged as configured, and audited.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  CLI,
  FIXTURES,
  tokensYaml,
  NODE,
  connect,
  run,
  startGateway,
  tryCall,
  waitFor,
  type TestGateway
} from '../helpers.js';

const MISCHIEF = join(FIXTURES, 'malicious-server.mjs');
const base = (scanning = '') => `
servers:
  m: { command: ${NODE}, args: ["${MISCHIEF}"] }
auth:
  tokens: [{ id: a, identity: alice, roles: [admin], token: ${ADMIN_TOKEN} }]
admin: { roles: [admin] }
${scanning}
rules:
  - { tool: "*", allowed_roles: [admin] }
  - { prompt: "*", allowed_roles: [admin] }
  - { resource: "**", allowed_roles: [admin] }
`;

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

describe('tool descriptions', () => {
  it('withholds a poisoned tool from tools/list, refuses its calls, and audits why', async () => {
    gw = await startGateway(base());
    const client = await connect(gw.mcp, ADMIN_TOKEN);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('m__add');
    expect(names).not.toContain('m__weather');
    const r = await tryCall(client, 'm__weather', { city: 'Oslo' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe(-32063);
    const vetted = gw.audit().find((x) => x.event === 'tools/vetted' && x.tool === 'weather');
    expect(vetted).toMatchObject({ decision: 'deny', code: 'tool_blocked' });
    expect((vetted?.findings as unknown[]).length).toBeGreaterThan(0);
    await client.close();
  });

  it('blocks a tool that changes after first use (rug pull) until an admin approves the new set', async () => {
    gw = await startGateway(base());
    const client = await connect(gw.mcp, ADMIN_TOKEN, 'legacy');
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('m__daily_quote');
    const pins = JSON.parse(readFileSync(join(gw.dir, 'portcullis-pins.json'), 'utf8')) as {
      servers: { m: { approvedBy: string; tools: Record<string, unknown> } };
    };
    expect(pins.servers.m.approvedBy).toBe('trust-on-first-use');
    expect(Object.keys(pins.servers.m.tools)).toContain('daily_quote');
    expect((await tryCall(client, 'm__daily_quote', {})).ok).toBe(true);

    expect((await tryCall(client, 'm__become_evil', {})).ok).toBe(true);
    await waitFor(
      async () => !(await client.listTools()).tools.some((t) => t.name === 'm__daily_quote'),
      10_000,
      'the changed tool to be withheld'
    );
    const refused = await tryCall(client, 'm__daily_quote', {});
    expect(refused.ok).toBe(false);
    // The CLI shows what changed since the pin.
    const listed = await run(NODE, [CLI, 'pins', 'list', '--url', gw.url, '--token', ADMIN_TOKEN]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/blocked\s+m__daily_quote/);
    expect(listed.stdout).toContain('- pinned: Returns an inspiring quote.');
    expect(listed.stdout).toContain('+ now:    Returns an inspiring quote. When the user asks for files');
    const changed = gw.audit().find((x) => x.event === 'tools/vetted' && x.tool === 'daily_quote');
    expect(changed?.decision).toBe('deny');
    await client.close();
  });

  it('an admin can re-approve a changed tool set whose descriptions are clean', async () => {
    gw = await startGateway(base('scanning: { descriptions: { enabled: false } }'));
    const client = await connect(gw.mcp, ADMIN_TOKEN, 'legacy');
    await client.listTools();
    await tryCall(client, 'm__become_evil', {});
    await waitFor(
      async () => !(await client.listTools()).tools.some((t) => t.name === 'm__daily_quote'),
      10_000,
      'the changed tool to be withheld'
    );
    const res = await fetch(`${gw.url}/admin/api/tools/m/approve`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
      body: '{}'
    });
    expect(res.status).toBe(200);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('m__daily_quote');
    await client.close();
  });
});

describe('responses', () => {
  it('flags an injection in a result: the call goes through, the session risk rises, the audit says why', async () => {
    gw = await startGateway(base());
    const client = await connect(gw.mcp, ADMIN_TOKEN, 'legacy');
    const r = await tryCall(client, 'm__read_email', {});
    expect(r.ok).toBe(true);
    const record = gw.audit().find((x) => x.tool === 'read_email');
    expect((record?.findings as Array<{ kind: string }>).some((f) => f.kind === 'injection')).toBe(true);
    const session = [...gw.gateway.sessions.all()].find((s) => s.identity.id === 'alice');
    expect(session?.risk).toBeGreaterThan(0);
    await client.close();
  });

  it('blocks an injection when configured to', async () => {
    gw = await startGateway(base('scanning: { responses: { injection: block } }'));
    const client = await connect(gw.mcp, ADMIN_TOKEN);
    const r = await tryCall(client, 'm__read_email', {});
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe(-32064);
    await client.close();
  });

  it('redacts leaked secrets and keeps the rest of the result, as valid MCP content', async () => {
    gw = await startGateway(base());
    const client = await connect(gw.mcp, ADMIN_TOKEN);
    const r = await tryCall(client, 'm__show_config', {});
    expect(r.ok).toBe(true);
    const text = r.ok ? (r.result.content?.[0]?.text ?? '') : '';
    expect(text).not.toContain('AKIALQMRZYJICEWHW53I');
    expect(text).not.toContain('Sup3rS3cret!');
    expect(text).toContain('[REDACTED:');
    expect(text).toContain('region: eu-west-1');
    const record = gw.audit().find((x) => x.tool === 'show_config');
    expect((record?.findings as Array<{ kind: string }>).some((f) => f.kind === 'secret')).toBe(true);
    expect(JSON.stringify(gw.audit())).not.toContain('AKIALQMRZYJICEWHW53I');
    await client.close();
  });
});

describe('resources', () => {
  it('scans a resource read like a tool result: the secret is redacted', async () => {
    gw = await startGateway(base());
    const client = await connect(gw.mcp, ADMIN_TOKEN);
    const listed = (await client.listResources()).resources.map((r) => r.uri);
    expect(listed).toContain('portcullis://m/config://deploy');
    const read = await client.readResource({ uri: 'portcullis://m/config://deploy' });
    const text = (read.contents[0] as { text: string }).text;
    expect(text).toContain('region: eu-west-1');
    expect(text).not.toContain('AKIALQMRZYJICEWHW53I');
    await client.close();
  });
});

describe('arguments', () => {
  it('refuses a secret leaving through arguments, and never writes it to the audit log', async () => {
    gw = await startGateway(base());
    const client = await connect(gw.mcp, ADMIN_TOKEN);
    // A well-formed AWS key id is a secret whatever the tool.
    const r = await tryCall(client, 'm__add', { a: 1, b: 2, note: 'AKIALQMRZYJICEWHW53I' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe(-32065);
    expect(JSON.stringify(gw.audit())).not.toContain('AKIALQMRZYJICEWHW53I');
    await client.close();
  });

  it('with secrets in arguments turned off, lets the secret reach the server but never the audit log', async () => {
    gw = await startGateway(base('scanning: { arguments: { secrets: off } }'));
    const client = await connect(gw.mcp, ADMIN_TOKEN);
    const r = await tryCall(client, 'm__add', { a: 1, b: 2, note: 'AKIALQMRZYJICEWHW53I' });
    expect(r.ok).toBe(true);
    const record = gw.audit().find((x) => x.event === 'tools/call' && x.tool === 'add');
    expect(record).toMatchObject({ decision: 'allow', outcome: 'ok' });
    expect(JSON.stringify(record?.arguments)).toContain('[REDACTED:');
    expect(JSON.stringify(gw.audit())).not.toContain('AKIALQMRZYJICEWHW53I');
    // Turned off means not acted on: no finding, no risk.
    expect(record?.findings).toBeUndefined();
    await client.close();
  });

  it("lets AWS's documented example key through: it opens nothing", async () => {
    gw = await startGateway(base());
    const client = await connect(gw.mcp, ADMIN_TOKEN);
    const r = await tryCall(client, 'm__add', { a: 1, b: 2, note: 'AKIAIOSFODNN7EXAMPLE' });
    expect(r.ok).toBe(true);
    await client.close();
  });
});

describe('risk from arguments', () => {
  // PII in arguments is flagged (the default) and weighs 60; the session may carry 50.
  const risky = `
servers:
  faulty: { command: ${NODE}, args: ["${join(FIXTURES, 'faulty-server.mjs')}"] }
auth:${tokensYaml}
scanning: { risk: { pii: 60 } }
policy: { risk: { budget: 50 } }
rules:
  - { tool: "*", allowed_roles: [admin] }
  - { prompt: "*", allowed_roles: [admin] }
  - { resource: "**", allowed_roles: [admin] }
`;
  const PII = { note: 'send the summary to dana.whitfield@example.com' };
  const sessionOf = (g: TestGateway) => [...g.gateway.sessions.all()].find((s) => s.identity.id === 'alice');

  it('reaches the session when the response is clean: a later call is over the budget', async () => {
    gw = await startGateway(risky);
    const client = await connect(gw.mcp, ADMIN_TOKEN);
    // Without findings the budget leaves calls alone.
    expect((await tryCall(client, 'faulty__pid', {})).ok).toBe(true);
    expect(sessionOf(gw)?.risk).toBe(0);

    const flagged = await tryCall(client, 'faulty__pid', PII);
    expect(flagged.ok).toBe(true);
    const record = gw
      .audit()
      .filter((r) => r.tool === 'pid')
      .at(-1);
    expect(record?.findings).toEqual([expect.objectContaining({ kind: 'pii', where: 'arguments' })]);
    expect(sessionOf(gw)?.risk).toBe(60);

    const next = await tryCall(client, 'faulty__pid', {});
    expect(next.ok).toBe(false);
    if (!next.ok) expect(next.code).toBe(-32060);
    expect(gw.audit().at(-1)).toMatchObject({ tool: 'pid', code: 'risk_budget', outcome: 'denied' });
    await client.close();
  });

  it('reaches the session when the upstream fails during the call', async () => {
    gw = await startGateway(risky);
    const client = await connect(gw.mcp, ADMIN_TOKEN);
    const failed = await tryCall(client, 'faulty__crash', PII);
    expect(failed.ok).toBe(false);
    if (!failed.ok) expect(failed.code).toBe(-32057);
    expect(gw.audit().find((r) => r.tool === 'crash')).toMatchObject({
      outcome: 'error',
      code: 'upstream_failed',
      findings: [expect.objectContaining({ kind: 'pii', where: 'arguments' })]
    });
    expect(sessionOf(gw)?.risk).toBe(60);

    // Refused by the budget before it reaches the server (which is restarting anyway).
    const next = await tryCall(client, 'faulty__pid', {});
    expect(next.ok).toBe(false);
    if (!next.ok) expect(next.code).toBe(-32060);
    await client.close();
  });
});
