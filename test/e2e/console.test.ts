/**
 * The web console at /admin, driven in a real Chromium (playwright-core) against a real gateway:
 * an agent's call waits on a held approval while a person approves or denies it in the browser;
 * timeouts, policy changes and self-approval; every page rendered with real data; sign-in refusals.
 * The screenshots in docs/screenshots/ are taken here, at 1280×800.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { needTool } from '../support/tools.js';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { loadConfig } from '../../src/config/index.js';
import { pinsFor, type PinFile } from '../../src/pins/index.js';
import {
  ADMIN_TOKEN,
  ANALYST_TOKEN,
  FIXTURES,
  NODE,
  RECORDS,
  ROOT,
  connect,
  startGateway,
  tempDir,
  tokensYaml,
  tryCall,
  waitFor,
  type TestGateway
} from '../helpers.js';

const chromiumTool = needTool('chromium');
const withChromium = chromiumTool.describe;

const SHOTS = join(ROOT, 'docs', 'screenshots');
const VIEWPORT = { width: 1280, height: 800 };
const ADMIN_API_TOKEN = 'console-test-admin-api-token-0123';
const TOKEN_KEY = 'portcullis.console.token';

const RULES = `
rules:
  - { tool: delete_record, allowed_roles: [admin, analyst], require_approval: true }
  - { tool: list_records, allowed_roles: [admin, analyst], max_calls_per_session: 100 }
  - { tool: get_record, allowed_roles: [admin, analyst] }
`;
const DENY_DELETE = `
rules:
  - { tool: delete_record, deny: true }
  - { tool: list_records, allowed_roles: [admin, analyst], max_calls_per_session: 100 }
  - { tool: get_record, allowed_roles: [admin, analyst] }
`;

const config = (timeoutS: number, rules = RULES) => `
servers:
  records: { command: ${NODE}, args: ["${RECORDS}"] }
auth:${tokensYaml}
admin: { token: ${ADMIN_API_TOKEN} }
approvals: { timeout_s: ${timeoutS}, approver_roles: [admin], progress_interval_s: 1 }
${rules}`;

type CallOutcome =
  | { ok: true; result: { content?: Array<{ text?: string }>; isError?: boolean } }
  | { ok: false; code: number; message: string };

/** Start a call that will be held; the promise settles when the call finishes, however it ends. */
function heldCall(client: Client, id: string): Promise<CallOutcome> & { settled: () => boolean } {
  let done = false;
  const p = client
    .request(
      { method: 'tools/call', params: { name: 'records__delete_record', arguments: { id } } },
      { timeout: 120_000, resetTimeoutOnProgress: true }
    )
    .then(
      (result) => ({ ok: true as const, result: result as { content?: Array<{ text?: string }> } }),
      (err: { code: number; message: string }) => ({
        ok: false as const,
        code: err.code,
        message: err.message
      })
    )
    .finally(() => {
      done = true;
    });
  return Object.assign(p, { settled: () => done });
}

/** The approval record as the API sees it (the test's own view, independent of the console). */
async function approval(gw: TestGateway, id: string): Promise<{ status: string; decisions: unknown[] }> {
  const res = await fetch(`${gw.url}/admin/api/approvals/${id}`, {
    headers: { Authorization: `Bearer ${ADMIN_API_TOKEN}` }
  });
  return (await res.json()) as { status: string; decisions: unknown[] };
}

async function denyViaApi(gw: TestGateway, id: string): Promise<void> {
  await fetch(`${gw.url}/admin/api/approvals/${id}/deny`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_API_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ note: 'test cleanup' })
  });
}

let browser: Browser;

interface ConsolePage {
  page: Page;
  context: BrowserContext;
  /** Page errors and CSP violations seen so far (a strict CSP must never be tripped). */
  problems: string[];
  close(): Promise<void>;
}

async function openConsole(gw: TestGateway): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport: VIEWPORT, colorScheme: 'light', timezoneId: 'UTC' });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    const text = msg.text();
    // Refused API calls (401, 403, 409) are expected in some scenarios and logged by Chromium.
    if (msg.type() === 'error' && !text.startsWith('Failed to load resource')) problems.push(text);
    if (/Content Security Policy/i.test(text)) problems.push(text);
  });
  await page.goto(`${gw.url}/admin/`);
  return { page, context, problems, close: () => context.close() };
}

async function signIn(c: ConsolePage, token: string, identity: string): Promise<void> {
  await c.page.getByLabel('Token').fill(token);
  await c.page.getByRole('button', { name: 'Sign in' }).click();
  await c.page.locator('#whoami', { hasText: identity }).waitFor();
}

const text = async (page: Page, selector: string) =>
  ((await page.locator(selector).first().textContent()) ?? '').trim();

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.mouse.move(0, VIEWPORT.height - 1);
  await page.screenshot({ path: join(SHOTS, name) });
}

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: chromiumTool.path,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync'
    ]
  });
});

afterAll(async () => {
  await browser?.close();
});

withChromium('the console against a gateway (approvals time out after 20 s)', { timeout: 60_000 }, () => {
  let gw: TestGateway;
  let bob: Client;
  let alice: Client;

  beforeAll(async () => {
    gw = await startGateway(config(20));
    bob = await connect(gw.mcp, ANALYST_TOKEN);
    alice = await connect(gw.mcp, ADMIN_TOKEN);
  });
  afterAll(async () => {
    await bob?.close();
    await alice?.close();
    await gw?.close();
  });

  it('serves the console with a strict CSP and no inline code', async () => {
    const res = await fetch(`${gw.url}/admin/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/\sstyle=/i);
    for (const [file, type] of [
      ['app.js', /^text\/javascript/],
      ['style.css', /^text\/css/]
    ] as const) {
      const r = await fetch(`${gw.url}/admin/${file}`);
      expect(r.status, file).toBe(200);
      expect(r.headers.get('content-type'), file).toMatch(type);
    }
  });

  it('refuses a wrong token: stays on sign-in with an error, and keeps nothing', async () => {
    const c = await openConsole(gw);
    try {
      await c.page.getByLabel('Token').fill('not-a-valid-token-0123456789');
      await c.page.getByRole('button', { name: 'Sign in' }).click();
      const error = c.page.locator('.signin-error');
      await error.filter({ hasText: 'not accepted' }).waitFor();
      expect(await c.page.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(true);
      expect(await c.page.locator('#whoami').count()).toBe(0);
      expect(await c.page.evaluate(`sessionStorage.getItem('${TOKEN_KEY}')`)).toBeNull();
      expect(c.page.url()).toContain('#/signin');

      // A token that stops working mid-session (here: replaced) returns to sign-in with a message.
      await signIn(c, ADMIN_TOKEN, 'alice');
      expect(await c.page.evaluate(`sessionStorage.getItem('${TOKEN_KEY}')`)).toBe(ADMIN_TOKEN);
      await c.page.evaluate(`sessionStorage.setItem('${TOKEN_KEY}', 'revoked-token-0123456789abc')`);
      await c.page.reload();
      await c.page.locator('.alert', { hasText: '401' }).waitFor();
      expect(await c.page.getByLabel('Token').isVisible()).toBe(true);
      expect(c.problems).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it('bob waits on a held call; alice approves it in the console; the call runs and the audit says who and when', async () => {
    const call = heldCall(bob, 'r-1001');
    const c = await openConsole(gw);
    try {
      await signIn(c, ADMIN_TOKEN, 'alice');
      const card = c.page.locator('.approval-card', { hasText: '"r-1001"' });
      await card.waitFor();
      const id = (await card.getAttribute('data-approval-id'))!;
      expect(id).toMatch(/^apr_/);
      expect(await card.locator('[data-field=identity]').textContent()).toBe('bob');
      expect(await card.locator('.card-title').textContent()).toBe('records__delete_record');
      expect(JSON.parse((await card.locator('.code-args').textContent())!)).toEqual({ id: 'r-1001' });
      expect(await card.locator('[data-field=progress]').textContent()).toBe('0 of 1');
      expect(await card.locator('.own-call').isVisible()).toBe(false);
      expect(await card.locator('.timing-expires .num').textContent()).toMatch(/^0:(1\d|20)$/);
      expect(await text(c.page, '#nav-pending')).toBe('1');
      expect(call.settled()).toBe(false);

      await card.getByLabel('Note').fill('checked with the customer');
      await card.getByRole('button', { name: 'Approve' }).click();

      const outcome = await call;
      expect(outcome.ok).toBe(true);
      if (outcome.ok) expect(outcome.result.content?.[0]?.text).toBe('deleted r-1001');

      // The console moves it to the decided list, approved by alice, and shows that it ran.
      const row = c.page.locator(`#decided-table tr[data-approval-id="${id}"]`);
      await row.waitFor();
      expect(await row.getAttribute('data-status')).toBe('approved');
      expect(await row.textContent()).toContain('Approved by alice');
      await row.locator('.result-ok').waitFor();
      expect(await card.count()).toBe(0);

      await waitFor(() => gw.audit().some((r) => r.approval?.id === id), 5000, 'the audit record');
      const record = gw.audit().find((r) => r.approval?.id === id)!;
      expect(record).toMatchObject({
        event: 'tools/call',
        identity: 'bob',
        name: 'records__delete_record',
        outcome: 'ok',
        approval: { id, status: 'approved' }
      });
      const decision = record.approval!.decisions![0]!;
      expect(decision).toMatchObject({ by: 'alice', decision: 'approve', note: 'checked with the customer' });
      expect(Number.isNaN(Date.parse(decision.at))).toBe(false);
      expect(c.problems).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it('alice denies a held call in the console; the agent gets "approval denied"; the audit names alice', async () => {
    const call = heldCall(bob, 'r-1002');
    const c = await openConsole(gw);
    try {
      await signIn(c, ADMIN_TOKEN, 'alice');
      const card = c.page.locator('.approval-card', { hasText: '"r-1002"' });
      await card.waitFor();
      const id = (await card.getAttribute('data-approval-id'))!;
      await card.getByLabel('Note').fill('not without a ticket');
      await card.getByRole('button', { name: 'Deny' }).click();

      const outcome = await call;
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) {
        expect(outcome.code).toBe(-32061);
        expect(outcome.message).toBe('approval denied');
      }
      const row = c.page.locator(`#decided-table tr[data-approval-id="${id}"]`);
      await row.waitFor();
      expect(await row.getAttribute('data-status')).toBe('denied');
      expect(await row.textContent()).toContain('Denied by alice');

      await waitFor(() => gw.audit().some((r) => r.approval?.id === id), 5000, 'the audit record');
      const record = gw.audit().find((r) => r.approval?.id === id)!;
      expect(record).toMatchObject({
        outcome: 'denied',
        code: 'approval_denied',
        approval: { status: 'denied' }
      });
      expect(record.approval!.decisions![0]).toMatchObject({
        by: 'alice',
        decision: 'deny',
        note: 'not without a ticket'
      });
      expect(c.problems).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it('refuses self-approval: alice cannot approve her own call; the console says so and the call keeps waiting', async () => {
    const call = heldCall(alice, 'r-1003');
    const c = await openConsole(gw);
    let id = '';
    try {
      await signIn(c, ADMIN_TOKEN, 'alice');
      const card = c.page.locator('.approval-card', { hasText: '"r-1003"' });
      await card.waitFor();
      id = (await card.getAttribute('data-approval-id'))!;
      expect(await card.locator('.own-call').isVisible()).toBe(true);
      await card.getByRole('button', { name: 'Approve' }).click();
      const error = card.locator('.card-error');
      await error.filter({ hasText: '403' }).waitFor();
      expect(await error.textContent()).toContain('own call');
      expect(await error.isVisible()).toBe(true);

      // Still pending, in the API and in the console, and the agent is still waiting.
      expect((await approval(gw, id)).status).toBe('pending');
      expect((await approval(gw, id)).decisions).toEqual([]);
      await c.page.waitForTimeout(500);
      expect(await card.count()).toBe(1);
      expect(call.settled()).toBe(false);
      expect(gw.audit().some((r) => r.approval?.id === id)).toBe(false);
      expect(c.problems).toEqual([]);
    } finally {
      await c.close();
      if (id) await denyViaApi(gw, id);
      await call;
    }
  });

  it('shows 409 inline when the call was already decided by someone else', async () => {
    // r-1003 still exists: alice's own call about it was denied.
    const call = heldCall(bob, 'r-1003');
    const first = await openConsole(gw);
    const second = await openConsole(gw);
    try {
      // The second console gets no events, and once it shows the call, no list refreshes either:
      // its view stays stale while its decisions still reach the gateway.
      await second.page.route('**/admin/api/events', (route) => route.abort());
      await signIn(first, ADMIN_TOKEN, 'alice');
      await signIn(second, ADMIN_API_TOKEN, 'admin');
      const cardOf = (c: ConsolePage) => c.page.locator('.approval-card', { hasText: '"r-1003"' });
      await cardOf(first).waitFor();
      await cardOf(second).waitFor();
      await second.page.route(
        (url) => url.pathname === '/admin/api/approvals',
        (route) => route.abort()
      );

      await cardOf(first).getByRole('button', { name: 'Approve' }).click();
      const outcome = await call;
      expect(outcome.ok).toBe(true);

      await cardOf(second).getByRole('button', { name: 'Approve' }).click();
      const error = cardOf(second).locator('.card-error');
      await error.filter({ hasText: '409' }).waitFor();
      expect(await error.textContent()).toContain('already approved');
      expect(first.problems).toEqual([]);
      expect(second.problems).toEqual([]);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('re-decides an approved call against the current policy: a policy change while it waits refuses it', async () => {
    const file = join(gw.dir, 'portcullis.yaml');
    const before = gw.gateway.policy().version;
    const call = heldCall(bob, 'r-1004');
    const c = await openConsole(gw);
    try {
      await signIn(c, ADMIN_TOKEN, 'alice');
      const card = c.page.locator('.approval-card', { hasText: '"r-1004"' });
      await card.waitFor();
      const id = (await card.getAttribute('data-approval-id'))!;
      expect(await text(c.page, '#policy-version')).toBe(before);

      writeFileSync(file, config(20, DENY_DELETE));
      const after = gw.gateway.reloadPolicy(loadConfig(file));
      expect(after).toBeTruthy();
      expect(after).not.toBe(before);
      // The header follows the reload.
      await c.page.locator('#policy-version', { hasText: after! }).waitFor();

      await card.getByRole('button', { name: 'Approve' }).click();
      const outcome = await call;
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) {
        expect(outcome.code).toBe(-32051);
        expect(outcome.message).toContain('denied by policy');
      }
      const row = c.page.locator(`#decided-table tr[data-approval-id="${id}"]`);
      await row.waitFor();
      await row.locator('[data-field=refusal]').waitFor();
      expect(await row.locator('[data-field=refusal]').textContent()).toContain('policy changed');

      await waitFor(() => gw.audit().some((r) => r.approval?.id === id), 5000, 'the audit record');
      const record = gw.audit().find((r) => r.approval?.id === id)!;
      expect(record).toMatchObject({
        outcome: 'denied',
        policy_version: after,
        approval: { status: 'approved' }
      });
      expect(record.reason).toContain('policy changed');
      expect(record.approval!.decisions![0]).toMatchObject({ by: 'alice', decision: 'approve' });
      expect(c.problems).toEqual([]);
    } finally {
      await c.close();
      writeFileSync(file, config(20));
      gw.gateway.reloadPolicy(loadConfig(file));
      if (!call.settled()) await call;
    }
  });

  it('falls back to polling when the event stream is unavailable, and still decides calls', async () => {
    const c = await openConsole(gw);
    try {
      // Chromium cannot reach /admin/api/events at all: the console must poll instead.
      await c.page.route('**/admin/api/events', (route) => route.abort());
      await signIn(c, ADMIN_TOKEN, 'alice');
      await c.page.locator('#stream-state.stream-offline').waitFor();
      expect(await text(c.page, '#stream-state')).toBe('Polling');
      await c.page.locator('.approval-list .empty').waitFor();

      // r-1002 still exists: the call above that named it was denied.
      const call = heldCall(bob, 'r-1002');
      const card = c.page.locator('.approval-card', { hasText: '"r-1002"' });
      await card.waitFor({ timeout: 12_000 });
      await card.getByRole('button', { name: 'Approve' }).click();
      const outcome = await call;
      expect(outcome.ok).toBe(true);
      if (outcome.ok) expect(outcome.result.content?.[0]?.text).toBe('deleted r-1002');
      await c.page
        .locator('#decided-table tr[data-status=approved]', { hasText: 'r-1002' })
        .waitFor({ timeout: 12_000 });
      expect(c.problems).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it('renders every page with real data: approvals, live feed and chart, search, sessions, tools, policy and explain', async () => {
    // Traffic: allowed, refused by schema, unknown tool, from two identities.
    for (let i = 0; i < 3; i++) expect((await tryCall(bob, 'records__list_records', {})).ok).toBe(true);
    expect((await tryCall(bob, 'records__get_record', { id: 'r-1006' })).ok).toBe(true);
    expect((await tryCall(bob, 'records__get_record', { id: 'not-an-id' })).ok).toBe(false);
    expect((await tryCall(bob, 'records__no_such_tool', {})).ok).toBe(false);
    expect((await tryCall(alice, 'records__get_record', { id: 'r-1005' })).ok).toBe(true);
    const pending = heldCall(bob, 'r-1007');

    const c = await openConsole(gw);
    const { page } = c;
    let heldId = '';
    try {
      await signIn(c, ADMIN_TOKEN, 'alice');

      // Approvals: the pending call, and the calls decided earlier.
      const card = page.locator('.approval-card', { hasText: '"r-1007"' });
      await card.waitFor();
      heldId = (await card.getAttribute('data-approval-id'))!;
      expect(await page.locator('#decided-table tbody tr').count()).toBeGreaterThanOrEqual(4);
      await shot(page, 'console-approvals.png');

      // Live feed: records and the per-minute chart.
      await page.getByRole('link', { name: 'Live feed' }).click();
      await page.locator('#feed-table').waitFor();
      const calls = () => gw.audit().filter((r) => r.event === 'tools/call');
      await waitFor(
        async () => (await page.locator('#feed-table tbody tr').count()) === calls().length,
        5000,
        'every call in the feed'
      );
      const names = await page.locator('#feed-table tbody td.cell-tool').allTextContents();
      expect(names).toContain('records__list_records');
      expect(names).toContain('records__no_such_tool');
      expect(await page.locator('#feed-table tbody tr[data-decision=deny]').count()).toBe(
        calls().filter((r) => r.decision === 'deny').length
      );
      await page.locator('#calls-chart svg g.bar.has-data').first().waitFor();
      const barCalls = async () =>
        (
          await page
            .locator('#calls-chart svg g.bar')
            .evaluateAll((els) => els.map((e) => e.getAttribute('data-calls')))
        )
          .map(Number)
          .reduce((a, b) => a + b, 0);
      await waitFor(async () => (await barCalls()) === calls().length, 8000, 'the chart to count every call');
      const bars = await page.locator('#calls-chart svg g.bar').count();
      expect(bars).toBe(60);
      expect(await page.locator('#calls-chart svg rect.bar-denials').count()).toBeGreaterThan(0);
      expect(await page.locator('#calls-chart svg text.axis-label', { hasText: 'now' }).count()).toBe(1);
      await shot(page, 'console-feed.png');

      // A record's full JSON.
      const first = page.locator('#feed-table tbody tr').first();
      const recordId = (await first.getAttribute('data-record-id'))!;
      await first.locator('button').click();
      const dialog = page.locator('dialog.drawer[open]');
      await dialog.waitFor();
      expect(JSON.parse((await dialog.locator('pre').textContent())!)).toMatchObject({ id: recordId, v: 1 });
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' }).catch(() => undefined);
      expect(await page.locator('dialog.drawer[open]').count()).toBe(0);

      // Search narrows the feed to the one call about r-1006.
      await page.getByLabel('Search').fill('r-1006');
      await waitFor(
        async () => (await page.locator('#feed-table tbody tr').count()) === 1,
        5000,
        'the search'
      );
      expect(await text(page, '#feed-table tbody td.cell-tool')).toBe('records__get_record');
      await page.getByLabel('Search').fill('');
      await page.getByLabel('Decision').selectOption('deny');
      await waitFor(
        async () =>
          (await page.locator('#feed-table tbody tr').count()) ===
          calls().filter((r) => r.decision === 'deny').length,
        5000,
        'the decision filter'
      );
      expect(await page.locator('#feed-table tbody tr:not([data-decision=deny])').count()).toBe(0);

      // Sessions: bob's and alice's.
      await page.getByRole('link', { name: 'Sessions' }).click();
      await page.locator('#sessions-table').waitFor();
      const sessions = await page.locator('#sessions-table tbody tr').allTextContents();
      expect(sessions.some((s) => s.includes('bob') && s.includes('analyst') && s.includes('http'))).toBe(
        true
      );
      expect(sessions.some((s) => s.includes('alice'))).toBe(true);
      // bob's per-rule count for the capped list_records rule (rules[1]): the three calls above.
      const bobRow = page.locator('#sessions-table tbody tr', { hasText: 'bob' });
      expect(
        (await bobRow.locator('.chip-count').allTextContents()).map((t) => t.replace(/\s+/g, ''))
      ).toEqual(['rules[1]3']);
      // The tokens are in the config: nothing to revoke them in, so no Revoke button.
      expect(await bobRow.getByRole('button', { name: 'Revoke token' }).count()).toBe(0);
      const bobSession = (await bobRow.getAttribute('data-session-id'))!;
      const revoke = await fetch(`${gw.url}/admin/api/sessions/${encodeURIComponent(bobSession)}/revoke`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${ADMIN_API_TOKEN}`, 'Content-Type': 'application/json' },
        body: '{}'
      });
      expect(revoke.status).toBe(409);
      expect((await tryCall(bob, 'records__list_records', {})).ok).toBe(true);

      // Tools: the upstream's tools under their exposed names.
      await page.getByRole('link', { name: 'Tools' }).click();
      const del = page.locator('#tools-table tr[data-tool="records__delete_record"]');
      await del.waitFor();
      expect(await del.locator('.badge').textContent()).toBeTruthy();
      expect(await page.locator('#tools-table tbody tr[data-tool]').count()).toBe(3);

      // Policy: the version, and explanations.
      await page.getByRole('link', { name: 'Policy' }).click();
      await page.locator('#policy-page-version', { hasText: gw.gateway.policy().version }).waitFor();
      expect(await page.locator('.rule').count()).toBe(3);
      await page.getByLabel('Roles').fill('analyst');
      await page.getByLabel('Tool', { exact: true }).fill('records__list_records');
      await page.getByRole('button', { name: 'Explain' }).click();
      await page.locator('#explain-verdict[data-effect=allow]').waitFor();
      expect(await text(page, '#explain-verdict .verdict-word')).toBe('ALLOW');
      expect(await page.locator('#explain-verdict .trace-item.matched').count()).toBe(1);

      await page.getByLabel('Tool', { exact: true }).fill('records__unknown_tool');
      await page.getByRole('button', { name: 'Explain' }).click();
      await page.locator('#explain-verdict[data-effect=deny]').waitFor();
      expect(await text(page, '#explain-verdict .verdict-word')).toBe('DENY');
      expect(await page.locator('#explain-verdict .trace-item').count()).toBe(3);
      expect(await page.locator('#explain-verdict .trace-item.matched').count()).toBe(0);
      await page.locator('#explain-verdict').scrollIntoViewIfNeeded();
      await shot(page, 'console-policy.png');

      expect(c.problems).toEqual([]);
    } finally {
      await c.close();
      if (heldId) await denyViaApi(gw, heldId);
      await pending;
    }
  });
});

withChromium('the console when nobody decides (approvals time out after 2 s)', { timeout: 60_000 }, () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startGateway(config(2));
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('shows the call as expired, and the agent gets an approval-timeout error', async () => {
    const c = await openConsole(gw);
    const bob = await connect(gw.mcp, ANALYST_TOKEN);
    try {
      await signIn(c, ADMIN_TOKEN, 'alice');
      await c.page.locator('.approval-list .empty').waitFor();
      // Live: the held call and its expiry arrive over the event stream.
      await c.page.locator('#stream-state.stream-live').waitFor();
      const call = heldCall(bob, 'r-1001');
      const card = c.page.locator('.approval-card', { hasText: '"r-1001"' });
      await card.waitFor();
      const id = (await card.getAttribute('data-approval-id'))!;

      const outcome = await call;
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) {
        expect(outcome.code).toBe(-32062);
        expect(outcome.message).toBe('approval timed out');
      }
      const row = c.page.locator(`#decided-table tr[data-approval-id="${id}"]`);
      await row.waitFor();
      expect(await row.getAttribute('data-status')).toBe('expired');
      expect(await row.locator('.badge').textContent()).toBe('Expired');
      expect(await card.count()).toBe(0);
      expect(await c.page.locator('.approval-list .empty').isVisible()).toBe(true);
      expect(await c.page.locator('#nav-pending').isVisible()).toBe(false);
      expect((await approval(gw, id)).status).toBe('expired');
      expect(c.problems).toEqual([]);
    } finally {
      await c.close();
      await bob.close();
    }
  });
});

// ---- acting where you look: changed tools, sessions, the feed ----------------------------------

const PID = join(FIXTURES, 'pid-server.mjs');
/** The description the pid server lists now: attacker-controlled text that looks like markup. */
const NOW_DESCRIPTION = 'Report the server pid. <img src=x id=pwned><b>bold</b>';
const PINNED_TOOL = {
  name: 'whoami',
  description: 'Report the server pid.',
  inputSchema: { type: 'object', properties: { verbose: { type: 'boolean' } } }
};

const actingConfig = (dir: string) => `
servers:
  records: { command: ${NODE}, args: ["${RECORDS}"] }
  pid: { command: ${NODE}, args: ["${PID}"], env: { DESCRIBE_FILE: "${join(dir, 'describe.txt')}" } }
auth:
  tokens: ${join(dir, 'tokens.yaml')}
admin: { token: ${ADMIN_API_TOKEN} }
scanning: { pins: { path: ${JSON.stringify(join(dir, 'pins.json'))} } }
rules:
  - { tool: "*", allowed_roles: [admin, analyst] }
`;

/** Start a gateway whose `pid` server was pinned with an older definition of its tool. */
async function startActingGateway(): Promise<TestGateway> {
  const dir = tempDir();
  writeFileSync(join(dir, 'describe.txt'), NOW_DESCRIPTION);
  const pins: PinFile = { version: 1, servers: { pid: pinsFor({ tools: [PINNED_TOOL] }, 'carol') } };
  writeFileSync(join(dir, 'pins.json'), JSON.stringify(pins, null, 2));
  writeFileSync(
    join(dir, 'tokens.yaml'),
    `tokens:\n  - { id: admin, identity: alice, roles: [admin], token: ${ADMIN_TOKEN} }\n  - { id: analyst, identity: bob, roles: [analyst], token: ${ANALYST_TOKEN} }\n`
  );
  return startGateway(actingConfig(dir));
}

const toolNames = async (c: Client) => (await c.listTools()).tools.map((t) => t.name);

withChromium(
  'the console acts: approves changed tools, ends sessions, revokes tokens',
  { timeout: 90_000 },
  () => {
    let gw: TestGateway;
    let bob: Client;

    beforeAll(async () => {
      gw = await startActingGateway();
      bob = await connect(gw.mcp, ANALYST_TOKEN);
    });
    afterAll(async () => {
      await bob?.close().catch(() => undefined);
      await gw?.close();
    });

    it('shows a changed tool blocked with its reason and a pinned-vs-now diff, as text; Reject keeps it blocked; Approve brings it back', async () => {
      // Blocked for the agent: not listed, and a call is refused.
      expect(await toolNames(bob)).not.toContain('pid__whoami');
      const refused = await tryCall(bob, 'pid__whoami', {});
      expect(refused.ok).toBe(false);

      const c = await openConsole(gw);
      const { page } = c;
      try {
        await signIn(c, ADMIN_TOKEN, 'alice');
        await page.getByRole('link', { name: 'Tools' }).click();
        const row = page.locator('#tools-table tr[data-tool="pid__whoami"]');
        await row.waitFor();
        expect(['blocked', 'changed']).toContain(await row.getAttribute('data-status'));
        const reason = (await row.locator('[data-field=reason]').textContent()) ?? '';
        expect(reason).toMatch(/changed/i);

        // The details are open for an item under review: the reason, and the diff of description and schema.
        const details = page.locator('#tools-table tr.details-row').first();
        await details.waitFor();
        expect(await details.locator('[data-field=detail-reason]').textContent()).toBe(reason);
        const description = details.locator('.diff', { hasText: 'Description' });
        expect(await description.locator('.diff-del').allTextContents()).toEqual([
          '-Report the server pid.\n'
        ]);
        expect(await description.locator('.diff-add').allTextContents()).toEqual([`+${NOW_DESCRIPTION}\n`]);
        const schema = details.locator('.diff', { hasText: 'Input schema' });
        expect((await schema.locator('.diff-del').allTextContents()).join('')).toContain('"verbose"');
        // The attacker's markup is text: no element was made from it, anywhere on the page.
        expect(await page.locator('#pwned').count()).toBe(0);
        expect(await page.locator('#tools-table b').count()).toBe(0);
        expect(await row.textContent()).toContain('<img src=x id=pwned>');

        await shot(page, 'console-tools.png');

        // The filter: only what is changed or blocked (the records server's tools are pinned).
        expect(await page.locator('#tools-table tbody tr[data-tool^="records__"]').count()).toBe(3);
        await page.getByLabel('Changed or blocked only').check();
        await waitFor(
          async () => (await page.locator('#tools-table tbody tr[data-tool^="records__"]').count()) === 0,
          5000,
          'the filter'
        );
        expect(await page.locator('#tools-table tbody tr[data-tool]').count()).toBe(1);
        expect(await page.locator('#tools-review .review-card').count()).toBe(1);

        const card = page.locator('#tools-review .review-card[data-server=pid]');
        const dialog = page.locator('dialog.confirm-dialog[open]');

        // Cancel changes nothing.
        await card.getByRole('button', { name: 'Approve' }).click();
        await dialog.waitFor();
        expect(await dialog.textContent()).toContain('Approve the changes of pid?');
        await dialog.getByRole('button', { name: 'Cancel' }).click();
        await dialog.waitFor({ state: 'detached' });
        expect(gw.audit().some((r) => r.event === 'tools/pinned' && r.server === 'pid')).toBe(false);

        // Reject: audited, and the tool stays blocked.
        await card.getByRole('button', { name: 'Reject' }).click();
        await dialog.getByLabel('Note').fill('not this description');
        await dialog.getByRole('button', { name: 'Reject' }).click();
        await card.locator('.review-result', { hasText: 'Rejected by alice' }).waitFor();
        await waitFor(() => gw.audit().some((r) => r.event === 'tools/rejected'), 5000, 'the rejection');
        expect(gw.audit().find((r) => r.event === 'tools/rejected')).toMatchObject({
          server: 'pid',
          decision: 'deny',
          reason: 'changes rejected by alice: not this description'
        });
        expect((await tryCall(bob, 'pid__whoami', {})).ok).toBe(false);
        expect(await row.getAttribute('data-status')).not.toBe('pinned');

        // Approve: the agent sees the tool again and can call it.
        await card.getByRole('button', { name: 'Approve' }).click();
        await dialog.getByRole('button', { name: 'Approve' }).click();
        await card.locator('.review-result', { hasText: 'Approved by alice' }).waitFor();
        expect(await toolNames(bob)).toContain('pid__whoami');
        const called = await tryCall(bob, 'pid__whoami', {});
        expect(called.ok).toBe(true);
        if (called.ok) expect(called.result.content?.[0]?.text).toMatch(/^\d+$/);
        await waitFor(
          () =>
            gw.audit().some((r) => r.event === 'tools/pinned' && r.reason?.startsWith('approved by alice')),
          5000,
          'the approval record'
        );
        // Nothing left to review.
        await page.getByLabel('Changed or blocked only').uncheck();
        await page.locator('#tools-table tr[data-tool="pid__whoami"][data-status=pinned]').waitFor();
        expect(await page.locator('#tools-table tr.details-row').count()).toBe(0);
        expect(c.problems).toEqual([]);
      } finally {
        await c.close();
      }
    });

    it('ends a session in the console: its next call is refused; refuses the same action without a token or cross-site', async () => {
      const carl = await connect(gw.mcp, ANALYST_TOKEN, 'legacy');
      const c = await openConsole(gw);
      const { page } = c;
      try {
        const id = (carl.transport as StreamableHTTPClientTransport).sessionId!;
        expect(id).toBeTruthy();
        expect((await tryCall(carl, 'records__list_records', {})).ok).toBe(true);
        const end = (headers: Record<string, string>) =>
          fetch(`${gw.url}/admin/api/sessions/${id}/end`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', ...headers },
            body: '{}'
          });
        expect((await end({})).status).toBe(401);
        expect(
          (await end({ Authorization: `Bearer ${ADMIN_API_TOKEN}`, Origin: 'https://evil.example' })).status
        ).toBe(403);
        expect(gw.gateway.sessions.get(id)).toBeDefined();

        await signIn(c, ADMIN_TOKEN, 'alice');
        await page.getByRole('link', { name: 'Sessions' }).click();
        const row = page.locator(`#sessions-table tr[data-session-id="${id}"]`);
        await row.waitFor();
        await shot(page, 'console-sessions.png');
        await row.getByRole('button', { name: 'End session' }).click();
        const dialog = page.locator('dialog.confirm-dialog[open]');
        await dialog.waitFor();
        expect(await dialog.textContent()).toContain("End bob's session?");
        await dialog.getByRole('button', { name: 'End session' }).click();
        await page.locator('[data-result=end]', { hasText: 'ended by alice' }).waitFor();
        await row.waitFor({ state: 'detached' });

        // The session is gone: a request under its id is refused, and so is the client's next call.
        expect(gw.gateway.sessions.get(id)).toBeUndefined();
        const raw = await fetch(gw.mcp, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${ANALYST_TOKEN}`,
            'Content-Type': 'application/json',
            Accept: 'application/json, text/event-stream',
            'Mcp-Session-Id': id,
            'Mcp-Protocol-Version': '2025-11-25'
          },
          body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' })
        });
        expect(raw.status).toBe(404);
        expect((await tryCall(carl, 'records__list_records', {})).ok).toBe(false);
        const record = gw.audit().find((r) => r.event === 'session/close' && r.session === id);
        expect(record).toMatchObject({ identity: 'bob', reason: 'ended by alice' });
        expect(c.problems).toEqual([]);
      } finally {
        await c.close();
        await carl.close().catch(() => undefined);
      }
    });

    it("shows a call's findings in the feed, and links the record to the explanation of its decision", async () => {
      const alice = await connect(gw.mcp, ADMIN_TOKEN);
      const c = await openConsole(gw);
      const { page } = c;
      try {
        expect((await tryCall(alice, 'records__get_record', { id: 'r-1001' })).ok).toBe(true);
        await waitFor(
          () => gw.audit().some((r) => r.name === 'records__get_record' && r.identity === 'alice'),
          5000,
          'the call record'
        );
        const record = gw.audit().find((r) => r.name === 'records__get_record' && r.identity === 'alice')!;
        // The reply holds an email address: a PII finding (flagged, not blocked).
        expect(record.findings?.length).toBeGreaterThan(0);

        await signIn(c, ADMIN_TOKEN, 'alice');
        await page.getByRole('link', { name: 'Live feed' }).click();
        const row = page.locator(`#feed-table tr[data-record-id="${record.id}"]`);
        await row.waitFor();
        const chips = await row.locator('.cell-findings .chip-finding').allTextContents();
        expect(chips.length).toBe(Math.min(3, record.findings!.length));
        expect(chips[0]).toContain(
          String(record.findings![0]!.kind ?? record.findings![0]!.rule).replace(/_/g, ' ')
        );

        await row.getByRole('link', { name: /^Explain / }).click();
        await page.locator('#explain-verdict[data-effect=allow]').waitFor();
        expect(page.url()).toContain('#/policy?');
        expect(await page.locator('#explain-origin').getAttribute('data-record')).toBe(record.id);
        expect(await text(page, '#explain-verdict .verdict-word')).toBe('ALLOW');
        expect(await page.locator('#explain-verdict .trace-item.matched').count()).toBe(1);
        expect(await page.getByLabel('Tool', { exact: true }).inputValue()).toBe('records__get_record');
        expect(JSON.parse(await page.getByLabel('Arguments (JSON)').inputValue())).toEqual(
          record.arguments ?? {}
        );
        expect(c.problems).toEqual([]);
      } finally {
        await c.close();
        await alice.close();
      }
    });

    it('answers the actions it cannot take: unknown session or server 404, GET 405, a session that is its credential 409', async () => {
      const post = (path: string, method = 'POST') =>
        fetch(`${gw.url}/admin/api${path}`, {
          method,
          headers: { Authorization: `Bearer ${ADMIN_API_TOKEN}`, 'Content-Type': 'application/json' },
          ...(method === 'POST' ? { body: '{}' } : {})
        });
      expect((await post('/sessions/no-such-session/end')).status).toBe(404);
      expect((await post('/sessions/no-such-session/revoke')).status).toBe(404);
      expect((await post('/tools/nosuch/reject')).status).toBe(404);
      expect((await post('/tools/pid/reject', 'GET')).status).toBe(405);
      // bob's 2026-era session is his credential: it cannot be ended, only its token revoked.
      const cred = [...gw.gateway.sessions.all()].find((s) => s.identity.id === 'bob' && !s.end);
      expect(cred).toBeDefined();
      const refused = await post(`/sessions/${encodeURIComponent(cred!.id)}/end`);
      expect(refused.status).toBe(409);
      expect(((await refused.json()) as { error: string }).error).toContain('revoke the token instead');
      expect(gw.gateway.sessions.get(cred!.id)).toBeDefined();
    });

    it("revokes a session's token in the console: every later request with it is refused", async () => {
      expect((await tryCall(bob, 'records__list_records', {})).ok).toBe(true);
      const c = await openConsole(gw);
      const { page } = c;
      try {
        await signIn(c, ADMIN_TOKEN, 'alice');
        await page.getByRole('link', { name: 'Sessions' }).click();
        const row = page.locator('#sessions-table tbody tr', { hasText: 'bob' }).first();
        await row.waitFor();
        await row.getByRole('button', { name: 'Revoke token' }).click();
        const dialog = page.locator('dialog.confirm-dialog[open]');
        await dialog.waitFor();
        expect(await dialog.textContent()).toContain('Revokes token analyst');
        await dialog.getByRole('button', { name: 'Revoke token' }).click();
        await page
          .locator('[data-result=revoke]', { hasText: 'Token analyst of bob revoked by alice' })
          .waitFor();

        expect((await tryCall(bob, 'records__list_records', {})).ok).toBe(false);
        const fresh = await fetch(gw.mcp, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${ANALYST_TOKEN}`,
            'Content-Type': 'application/json',
            Accept: 'application/json, text/event-stream'
          },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' })
        });
        expect(fresh.status).toBe(401);
        expect(readFileSync(gw.gateway.config.auth.tokens_file!, 'utf8')).toMatch(/id: analyst.*revoked/s);
        expect(gw.audit().find((r) => r.event === 'auth/revoke')).toMatchObject({
          identity: 'bob',
          reason: 'token analyst revoked by alice'
        });
        expect(c.problems).toEqual([]);
      } finally {
        await c.close();
      }
    });
  }
);
