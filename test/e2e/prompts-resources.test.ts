/**
 * Prompts and resources under policy, through a running gateway in front of the real
 * server-everything (prompts, resources, templates, subscriptions and completion), tee'd so the
 * test sees every request the server received: default deny for listing, reading, getting,
 * subscribing and completing; what a rule allows works; nothing refused reaches the server.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import {
  ANALYST_TOKEN,
  EVERYTHING,
  GUEST_TOKEN,
  NODE,
  TEE,
  connect,
  received,
  startGateway,
  tempDir,
  waitFor,
  type TestGateway
} from '../helpers.js';

const METRICS_TOKEN = 'metrics-scrape-token-0123456789';
const DOCS = 'demo://resource/static/document';
const doc = (name: string) => `portcullis://ev/${DOCS}/${name}`;
const TEXT = 'demo://resource/dynamic/text/{resourceId}';
const BLOB = 'demo://resource/dynamic/blob/{resourceId}';

let gw: TestGateway;
let log: string;
let analyst: Client;
let guest: Client;
// Subscriptions are a 2025-era method: these sessions subscribe.
let analyst2025: Client;
let guest2025: Client;

beforeAll(async () => {
  log = join(tempDir(), 'upstream.log');
  gw = await startGateway(`
servers:
  ev: { command: ${NODE}, args: ${JSON.stringify([TEE, log, NODE, EVERYTHING, 'stdio'])} }
auth:
  tokens:
    - { id: analyst, identity: bob, roles: [analyst], token: ${ANALYST_TOKEN} }
    - { id: guest, identity: gus, roles: [guest], token: ${GUEST_TOKEN} }
metrics: { token: ${METRICS_TOKEN} }
rules:
  - { tool: echo, allowed_roles: [analyst, guest] }
  - { id: docs, server: ev, resource: "${DOCS}/*", allowed_roles: [analyst] }
  - { id: text, resource: "demo://resource/dynamic/text/*", allowed_roles: [analyst] }
  - { id: no-blobs, resource: "demo://resource/dynamic/blob/**", deny: true }
  - id: cities
    prompt: args-prompt
    allowed_roles: [analyst]
    parameter_constraints:
      city: { enum: [Paris, Berlin] }
  - { id: completable, prompt: completable-prompt, allowed_roles: [analyst] }
  - { id: held, prompt: simple-prompt, allowed_roles: [analyst], require_approval: true }
`);
  analyst = await connect(gw.mcp, ANALYST_TOKEN);
  guest = await connect(gw.mcp, GUEST_TOKEN);
  analyst2025 = await connect(gw.mcp, ANALYST_TOKEN, 'legacy');
  guest2025 = await connect(gw.mcp, GUEST_TOKEN, 'legacy');
}, 60_000);

afterAll(async () => {
  await analyst?.close();
  await guest?.close();
  await analyst2025?.close();
  await guest2025?.close();
  await gw?.close();
});

/** The JSON-RPC error code a request ends in, or 'ok'. */
async function codeOf(work: () => Promise<unknown>): Promise<number | 'ok'> {
  try {
    await work();
    return 'ok';
  } catch (err) {
    return (err as { code: number }).code;
  }
}

const complete = (c: Client, ref: Record<string, string>, name: string, value: string) =>
  c.request({ method: 'completion/complete', params: { ref, argument: { name, value } } });

/** What the server received of a method, as the params it got. */
const got = (method: string) => received(log, method).map((m) => m.params ?? {});

describe('a caller no prompt or resource rule allows', () => {
  it('is listed no prompt, resource or template', async () => {
    expect((await guest.listPrompts()).prompts).toEqual([]);
    expect((await guest.listResources()).resources).toEqual([]);
    expect((await guest.listResourceTemplates()).resourceTemplates).toEqual([]);
    // The tool rule still holds: the listing filters prompts and resources only.
    expect((await guest.listTools()).tools.map((t) => t.name)).toEqual(['ev__echo']);
  });

  it('can neither read, subscribe to, get nor complete any of them, and the server sees none of it', async () => {
    const uri = doc('features.md');
    expect(await codeOf(() => guest.readResource({ uri }))).toBe(-32051);
    expect(await codeOf(() => guest2025.subscribeResource({ uri }))).toBe(-32051);
    expect(
      await codeOf(() => guest.readResource({ uri: 'portcullis://ev/demo://resource/dynamic/text/1' }))
    ).toBe(-32051);
    expect(
      await codeOf(() => guest.getPrompt({ name: 'ev__args-prompt', arguments: { city: 'Paris' } }))
    ).toBe(-32051);
    expect(
      await codeOf(() =>
        complete(guest, { type: 'ref/prompt', name: 'ev__completable-prompt' }, 'department', 'E')
      )
    ).toBe(-32051);
    expect(
      await codeOf(() =>
        complete(guest, { type: 'ref/resource', uri: `portcullis://ev/${TEXT}` }, 'resourceId', '1')
      )
    ).toBe(-32051);

    const audit = gw.audit().filter((r) => r.identity === 'gus' && r.outcome === 'denied');
    expect(audit.map((r) => [r.event, r.code]).sort()).toEqual(
      [
        ['completion/complete', 'role_not_allowed'],
        ['completion/complete', 'role_not_allowed'],
        ['prompts/get', 'role_not_allowed'],
        ['resources/read', 'role_not_allowed'],
        ['resources/read', 'role_not_allowed'],
        ['resources/subscribe', 'role_not_allowed']
      ].sort()
    );
    const read = audit.find((r) => r.event === 'resources/read' && r.uri === uri);
    expect(read).toMatchObject({ decision: 'deny', resource: `${DOCS}/features.md`, rules: ['docs'] });
    expect(read?.policy_version).toMatch(/^[0-9a-f]{12}$/);
    expect(audit.find((r) => r.event === 'prompts/get')).toMatchObject({
      prompt: 'args-prompt',
      rules: ['cities']
    });

    // The server received none of these: no read, subscription, prompt or completion at all yet.
    expect(got('resources/read')).toEqual([]);
    expect(got('resources/subscribe')).toEqual([]);
    expect(got('prompts/get')).toEqual([]);
    expect(got('completion/complete')).toEqual([]);
  });
});

describe('a caller the rules allow', () => {
  it('is listed exactly what its rules allow', async () => {
    const prompts = (await analyst.listPrompts()).prompts.map((p) => p.name).sort();
    expect(prompts).toEqual(['ev__args-prompt', 'ev__completable-prompt', 'ev__simple-prompt']);
    const resources = (await analyst.listResources()).resources.map((r) => r.uri);
    expect(resources.length).toBeGreaterThan(0);
    expect(resources.every((u) => u.startsWith(`portcullis://ev/${DOCS}/`))).toBe(true);
    expect(resources).toContain(doc('features.md'));
    const templates = (await analyst.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
    expect(templates).toEqual([`portcullis://ev/${TEXT}`]);
    expect(templates).not.toContain(`portcullis://ev/${BLOB}`);
  });

  it('reads, gets, subscribes and completes what is allowed; the server receives each', async () => {
    const read = await analyst.readResource({ uri: doc('features.md') });
    expect(read.contents[0]?.uri).toBe(doc('features.md'));
    const text = await analyst.readResource({ uri: 'portcullis://ev/demo://resource/dynamic/text/1' });
    expect(text.contents.length).toBe(1);
    const prompt = await analyst.getPrompt({ name: 'ev__args-prompt', arguments: { city: 'Paris' } });
    expect(JSON.stringify(prompt.messages)).toContain('Paris');
    expect(await codeOf(() => analyst2025.subscribeResource({ uri: doc('features.md') }))).toBe('ok');
    const done = (await complete(
      analyst,
      { type: 'ref/prompt', name: 'ev__completable-prompt' },
      'department',
      'E'
    )) as { completion: { values: string[] } };
    expect(done.completion.values).toContain('Engineering');

    expect(got('resources/read').map((p) => p.uri)).toEqual([
      `${DOCS}/features.md`,
      'demo://resource/dynamic/text/1'
    ]);
    expect(got('prompts/get')).toEqual([{ name: 'args-prompt', arguments: { city: 'Paris' } }]);
    expect(got('resources/subscribe')).toEqual([{ uri: `${DOCS}/features.md` }]);
    expect(got('completion/complete').map((p) => p.ref)).toEqual([
      { type: 'ref/prompt', name: 'completable-prompt' }
    ]);
    const allowed = gw.audit().find((r) => r.event === 'prompts/get' && r.outcome === 'ok');
    expect(allowed).toMatchObject({ decision: 'allow', prompt: 'args-prompt', rules: ['cities'] });
  });

  it('is refused what a deny, a constraint, an approval or no rule withholds, before the server sees it', async () => {
    const before = {
      read: got('resources/read').length,
      get: got('prompts/get').length,
      subscribe: got('resources/subscribe').length,
      complete: got('completion/complete').length
    };
    // A `..` segment is refused whatever the rules say: the server might resolve it.
    expect(await codeOf(() => analyst.readResource({ uri: doc('..%2F..%2Fdynamic/blob/1') }))).toBe(-32051);
    // `*` stops at `/`: a document one level deeper is not under the docs rule.
    expect(await codeOf(() => analyst.readResource({ uri: doc('nested/features.md') }))).toBe(-32051);
    expect(
      await codeOf(() => analyst.readResource({ uri: 'portcullis://ev/demo://resource/dynamic/blob/1' }))
    ).toBe(-32051);
    expect(
      await codeOf(() =>
        analyst2025.subscribeResource({ uri: 'portcullis://ev/demo://resource/dynamic/blob/1' })
      )
    ).toBe(-32051);
    expect(
      await codeOf(() => analyst.getPrompt({ name: 'ev__args-prompt', arguments: { city: 'London' } }))
    ).toBe(-32052);
    expect(await codeOf(() => analyst.getPrompt({ name: 'ev__simple-prompt' }))).toBe(-32053);
    expect(
      await codeOf(() =>
        analyst.getPrompt({
          name: 'ev__resource-prompt',
          arguments: { resourceType: 'Text', resourceId: '1' }
        })
      )
    ).toBe(-32051);
    expect(
      await codeOf(() =>
        complete(analyst, { type: 'ref/prompt', name: 'ev__resource-prompt' }, 'resourceType', 'T')
      )
    ).toBe(-32051);
    expect(
      await codeOf(() =>
        complete(analyst, { type: 'ref/resource', uri: `portcullis://ev/${BLOB}` }, 'resourceId', '1')
      )
    ).toBe(-32051);

    const codes = gw
      .audit()
      .filter((r) => r.identity === 'bob' && r.outcome === 'denied')
      .map((r) => `${r.event} ${r.code}`);
    expect(codes.sort()).toEqual(
      [
        'resources/read no_rule',
        'resources/read policy_denied',
        'resources/read policy_denied',
        'resources/subscribe policy_denied',
        'prompts/get constraint_failed',
        'prompts/get approval_unsupported',
        'prompts/get no_rule',
        'completion/complete no_rule',
        'completion/complete policy_denied'
      ].sort()
    );
    expect(got('resources/read').length).toBe(before.read);
    expect(got('prompts/get').length).toBe(before.get);
    expect(got('resources/subscribe').length).toBe(before.subscribe);
    expect(got('completion/complete').length).toBe(before.complete);
  });

  it('counts prompt and resource requests in /metrics by event, decision and reason', async () => {
    await waitFor(() => gw.audit().length > 0, 5000, 'audit');
    const res = await fetch(`${gw.url}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
    const text = await res.text();
    const line = (labels: string) =>
      text.split('\n').find((l) => l.startsWith(`portcullis_prompt_resource_requests_total{${labels}}`));
    expect(
      line('event="prompts/get",server="ev",decision="deny",outcome="denied",reason="constraint_failed"')
    ).toMatch(/ 1$/);
    expect(line('event="resources/read",server="ev",decision="allow",outcome="ok",reason=""')).toMatch(/ 2$/);
    expect(
      line(
        'event="prompts/get",server="ev",decision="approval",outcome="denied",reason="approval_unsupported"'
      )
    ).toMatch(/ 1$/);
  });
});
