/**
 * Pins end to end, against a real upstream whose definitions change while it runs: a change to any
 * part of a tool a model reads (title, description, a nested input description, an enum value, a
 * property name, the output schema, annotations, _meta), or to a prompt, a resource or a resource
 * template, withholds it from its listing and refuses its use until an admin approves the server
 * (admin API or CLI). Pin files written before tool hashes covered the output schema and _meta keep
 * working. A poisoned output schema is withheld at first sight.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { toolHash, toolHashV1, type PinFile } from '../../src/pins/index.js';
import type { UpstreamTool } from '../../src/upstream/index.js';
import {
  ADMIN_TOKEN,
  CLI,
  FIXTURES,
  NODE,
  connect,
  run,
  startGateway,
  tempDir,
  tryCall,
  waitFor,
  type TestGateway
} from '../helpers.js';

const SHIFTING = join(FIXTURES, 'shifting-server.mjs');
const TOOL_BLOCKED = -32063;

const config = (options: { args?: string[]; pins?: string } = {}) => `
servers:
  s: { command: ${NODE}, args: ${JSON.stringify([SHIFTING, ...(options.args ?? [])])} }
auth:
  tokens: [{ id: a, identity: alice, roles: [admin], token: ${ADMIN_TOKEN} }]
admin: { roles: [admin] }
${options.pins ? `scanning: { pins: { path: ${JSON.stringify(options.pins)} } }` : ''}
rules:
  - { tool: "*", allowed_roles: [admin] }
  - { prompt: "*", allowed_roles: [admin] }
  - { resource: "**", allowed_roles: [admin] }
`;

let gw: TestGateway | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
  await gw?.close();
  gw = undefined;
});

async function start(options: Parameters<typeof config>[0] = {}) {
  gw = await startGateway(config(options));
  client = await connect(gw.mcp, ADMIN_TOKEN);
  return { gw, client };
}

const toolNames = async (c: Client) => (await c.listTools()).tools.map((t) => t.name);

async function shift(c: Client, what: string) {
  const r = await tryCall(c, 's__shift', { what });
  expect(r.ok, JSON.stringify(r)).toBe(true);
}

/** Approve server `s` as an admin would: through the admin API, or with `portcullis pins approve`. */
async function approve(g: TestGateway, how: 'api' | 'cli') {
  if (how === 'cli') {
    const r = await run(NODE, [CLI, 'pins', 'approve', 's', '--url', g.url, '--token', ADMIN_TOKEN]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^pinned 2 tool\(s\), 1 prompt\(s\), 1 resource\(s\), 1 resource template\(s\) of s/
    );
    return;
  }
  const res = await fetch(`${g.url}/admin/api/tools/s/approve`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: '{}'
  });
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({
    server: 's',
    pinned: 2,
    prompts: 1,
    resources: 1,
    resourceTemplates: 1,
    by: 'alice'
  });
}

/** A request's JSON-RPC error code, or 'ok'. */
async function outcome(fn: () => Promise<unknown>): Promise<number | 'ok'> {
  try {
    await fn();
    return 'ok';
  } catch (err) {
    return (err as { code: number }).code;
  }
}

describe('tools', () => {
  // What changes, and how the change is approved.
  const changes: Array<[string, 'api' | 'cli']> = [
    ['title', 'cli'],
    ['description', 'api'],
    ['input-description', 'api'],
    ['enum', 'api'],
    ['property-name', 'api'],
    ['output-schema', 'cli'],
    ['annotations', 'api'],
    ['_meta', 'api']
  ];

  it.each(changes)(
    'a change to the %s withholds the tool and refuses its calls until approved (%s)',
    async (what, how) => {
      const { gw, client } = await start();
      expect(await toolNames(client)).toContain('s__target');
      expect((await tryCall(client, 's__target', {})).ok).toBe(true);

      await shift(client, what);
      await waitFor(
        async () => !(await toolNames(client)).includes('s__target'),
        10_000,
        `the tool withheld after its ${what} changed`
      );
      expect(await toolNames(client)).toContain('s__shift');
      const refused = await tryCall(client, 's__target', {});
      expect(refused).toMatchObject({ ok: false, code: TOOL_BLOCKED });
      const vetted = gw.audit().find((r) => r.event === 'tools/vetted' && r.tool === 'target');
      expect(vetted).toMatchObject({
        decision: 'deny',
        code: 'tool_blocked',
        reason: expect.stringMatching(/changed/)
      });

      await approve(gw, how);
      expect(await toolNames(client)).toContain('s__target');
      expect((await tryCall(client, 's__target', {})).ok).toBe(true);
    }
  );

  it('withholds a tool whose output schema hides an instruction in a nested description, at first listing', async () => {
    const { gw, client } = await start({ args: ['--poisoned-output'] });
    const names = await toolNames(client);
    expect(names).toContain('s__target');
    expect(names).not.toContain('s__report');
    expect(await tryCall(client, 's__report', {})).toMatchObject({ ok: false, code: TOOL_BLOCKED });
    const vetted = gw.audit().find((r) => r.event === 'tools/vetted' && r.tool === 'report');
    expect(vetted).toMatchObject({ decision: 'deny', code: 'tool_blocked' });
    expect(
      (vetted?.findings as Array<{ field?: string }>).some((f) => f.field?.startsWith('outputSchema'))
    ).toBe(true);
  });
});

describe('prompts, resources and resource templates', () => {
  it("a change to a prompt's description withholds it and refuses prompts/get until approved", async () => {
    const { gw, client } = await start();
    const prompts = async () => (await client.listPrompts()).prompts.map((p) => p.name);
    const get = () => outcome(() => client.getPrompt({ name: 's__greet', arguments: { who: 'Ada' } }));
    expect(await prompts()).toEqual(['s__greet']);
    expect(await get()).toBe('ok');

    await shift(client, 'prompt');
    // Refused before anyone lists again: the server announced the change.
    await waitFor(async () => (await get()) === TOOL_BLOCKED, 10_000, 'prompts/get refused');
    expect(await prompts()).toEqual([]);
    const refused = gw.audit().find((r) => r.event === 'prompts/get' && r.outcome === 'denied');
    expect(refused).toMatchObject({ code: 'tool_blocked', decision: 'deny', server: 's' });

    // The CLI shows what changed since the pin.
    const listed = await run(NODE, [CLI, 'pins', 'list', '--url', gw.url, '--token', ADMIN_TOKEN]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/blocked\s+s__greet {2}\[prompt\]/);
    expect(listed.stdout).toContain('- pinned: Greets someone.');
    expect(listed.stdout).toContain('+ now:    Greets someone warmly.');
    expect(listed.stdout).toMatch(/pinned\s+s__target\n/);

    await approve(gw, 'cli');
    expect(await prompts()).toEqual(['s__greet']);
    expect(await get()).toBe('ok');
  });

  it("a change to a resource's description withholds it and refuses resources/read until approved", async () => {
    const { gw, client } = await start();
    const uri = 'portcullis://s/note://one';
    const resources = async () => (await client.listResources()).resources.map((r) => r.uri);
    const read = () => outcome(() => client.readResource({ uri }));
    expect(await resources()).toEqual([uri]);
    expect(await read()).toBe('ok');

    await shift(client, 'resource');
    expect(await resources()).toEqual([]);
    expect(await read()).toBe(TOOL_BLOCKED);
    // The admin API lists it with the description it was pinned with.
    const inventory = (await (
      await fetch(`${gw.url}/admin/api/tools`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } })
    ).json()) as { definitions: Array<Record<string, unknown>> };
    expect(inventory.definitions.find((d) => d.exposed === uri)).toMatchObject({
      kind: 'resource',
      status: 'blocked',
      description: 'The first note, revised.',
      pinnedDescription: 'The first note.'
    });

    await approve(gw, 'api');
    expect(await resources()).toEqual([uri]);
    expect(await read()).toBe('ok');
  });

  it('a change to a resource template withholds it and refuses reads of the URIs it produces until approved', async () => {
    const { gw, client } = await start();
    const templates = async () =>
      (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
    const read = (uri: string) => outcome(() => client.readResource({ uri }));
    expect(await templates()).toEqual(['portcullis://s/note://by-id/{id}']);
    expect(await read('portcullis://s/note://by-id/7')).toBe('ok');

    await shift(client, 'template');
    expect(await templates()).toEqual([]);
    expect(await read('portcullis://s/note://by-id/7')).toBe(TOOL_BLOCKED);
    // A listed resource the template does not produce is read as before.
    expect(await read('portcullis://s/note://one')).toBe('ok');

    await approve(gw, 'api');
    expect(await templates()).toEqual(['portcullis://s/note://by-id/{id}']);
    expect(await read('portcullis://s/note://by-id/7')).toBe('ok');
  });
});

describe('pin files written before tool hashes were v2', () => {
  it('serves tools that match their v1 pins and rewrites those pins; withholds a tool that does not', async () => {
    const pinsPath = join(tempDir(), 'pins.json');
    // Pin the server once to learn its tools as the gateway sees them, then write the file as a
    // gateway before v2 would have: v1 hashes, no hash version, tools only, `target` pinned before
    // its description changed.
    let first = await start({ pins: pinsPath });
    await toolNames(first.client);
    const tools = first.gw.gateway.upstreams.get('s')!.cachedTools()! as UpstreamTool[];
    await client!.close();
    client = undefined;
    await first.gw.close();
    gw = undefined;
    const byName = new Map(tools.map((t) => [t.name, t]));
    const v1: PinFile = {
      version: 1,
      servers: {
        s: {
          pinnedAt: '2025-01-01T00:00:00.000Z',
          approvedBy: 'admin',
          tools: {
            shift: {
              hash: toolHashV1(byName.get('shift')!),
              description: String(byName.get('shift')!.description)
            },
            target: {
              hash: toolHashV1({ ...byName.get('target')!, description: 'Looks up a city.' }),
              description: 'Looks up a city.'
            }
          }
        }
      }
    };
    writeFileSync(pinsPath, JSON.stringify(v1, null, 2));

    first = await start({ pins: pinsPath });
    const { gw: g, client: c } = first;
    expect(await toolNames(c)).toEqual(['s__shift']);
    expect(await tryCall(c, 's__target', {})).toMatchObject({ ok: false, code: TOOL_BLOCKED });
    let file = JSON.parse(readFileSync(pinsPath, 'utf8')) as PinFile;
    expect(file.servers.s).toMatchObject({ approvedBy: 'admin', pinnedAt: '2025-01-01T00:00:00.000Z' });
    expect(file.servers.s!.tools!.shift).toEqual({
      hash: toolHash(byName.get('shift')!),
      hashVersion: 2,
      description: byName.get('shift')!.description
    });
    expect(file.servers.s!.tools!.target).toEqual(v1.servers.s!.tools!.target);
    expect(g.audit().find((r) => r.event === 'tools/pinned')).toMatchObject({
      server: 's',
      count: 1,
      reason: expect.stringMatching(/earlier hash version.*shift/)
    });

    // The prompts were not in the old file: their first listing pins them.
    expect((await c.listPrompts()).prompts.map((p) => p.name)).toEqual(['s__greet']);
    file = JSON.parse(readFileSync(pinsPath, 'utf8')) as PinFile;
    expect(Object.keys(file.servers.s!.prompts!)).toEqual(['greet']);
    expect(file.servers.s!.approvedBy).toBe('admin');

    const listed = await run(NODE, [CLI, 'pins', 'list', '--url', g.url, '--token', ADMIN_TOKEN]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/blocked\s+s__target/);
    expect(listed.stdout).toContain('- pinned: Looks up a city.');
    expect(listed.stdout).toContain('+ now:    Looks up a place.');

    await approve(g, 'cli');
    expect((await toolNames(c)).sort()).toEqual(['s__shift', 's__target']);
    file = JSON.parse(readFileSync(pinsPath, 'utf8')) as PinFile;
    expect(file.servers.s!.approvedBy).toBe('alice');
    for (const kind of ['tools', 'prompts', 'resources', 'resourceTemplates'] as const) {
      const entries = Object.values(file.servers.s![kind]!);
      expect(entries.length, kind).toBe(kind === 'tools' ? 2 : 1);
      expect(entries.every((e) => e.hashVersion === (kind === 'tools' ? 2 : 1))).toBe(true);
    }
  });
});
