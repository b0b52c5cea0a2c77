/**
 * Approval at the agent's own client (`approvals.ask_client_roles`): under `portcullis stdio` there
 * is no console, so a held call is put to the person at the client as an MCP elicitation. Accepting
 * lets the call run, declining refuses it, dismissing leaves it to time out; a client that cannot
 * ask, a caller whose role is not listed, and a call that needs two approvers are not released by
 * the client alone. The real filesystem server writes (or not) a real file. Needs `npm run build`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/client';
import { FILESYSTEM, NODE, readAudit, stdioGateway, tempDir, tryCall, waitFor } from '../helpers.js';

let dir: string;
let data: string;

/** A config whose `write_file` needs approval; `extra` lines go under `approvals:`. */
function config(name: string, { role = 'local', approvals = '' } = {}): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `servers:
  fs: { command: ${NODE}, args: ["${FILESYSTEM}", "${data}"] }
auth:
  stdio: { identity: local, roles: [${role}] }
audit: { path: ./${name}-audit.jsonl }
approvals:
  timeout_s: 3
  progress_interval_s: 1
  approver_roles: [admin]
  ask_client_roles: [local]
${approvals}
rules:
  - { tool: "*", allowed_roles: [local, other] }
  - { id: approve-writes, tool: write_file, allowed_roles: [local, other], require_approval: true }
`
  );
  return file;
}

type Answer = { action: 'accept' | 'decline' | 'cancel'; content?: Record<string, unknown> };
type Person = (message: string, signal: AbortSignal) => Answer | Promise<Answer>;

/** The built CLI under `portcullis stdio`, as a desktop client starts it; `answer` is its person. */
async function connect(
  file: string,
  answer?: Person,
  mode: 'legacy' | 'auto' = 'legacy'
): Promise<{ client: Client; asked: string[] }> {
  const asked: string[] = [];
  const client = new Client(
    { name: 'desktop-like', version: '1.0.0' },
    { capabilities: answer ? { elicitation: {} } : {}, versionNegotiation: { mode } }
  );
  if (answer) {
    client.setRequestHandler('elicitation/create', async (req, ctx) => {
      const message = String((req.params as { message?: unknown }).message);
      asked.push(message);
      return (await answer(message, ctx.mcpReq.signal)) as never;
    });
  }
  await client.connect(stdioGateway(file, dir));
  return { client, asked };
}

const write = (client: Client, file: string) =>
  tryCall(client, 'fs__write_file', { path: join(data, file), content: 'written' });

beforeAll(() => {
  dir = tempDir('portcullis-ask-client-');
  data = join(dir, 'data');
  mkdirSync(data);
});

describe('a held call is put to the person at the client', () => {
  it('accepting runs the call once, on record as approved by <identity>@client', async () => {
    const file = config('accept');
    const { client, asked } = await connect(file, () => ({
      action: 'accept',
      content: { note: 'looks right' }
    }));
    try {
      const done = await write(client, 'accepted.txt');
      expect(done.ok, JSON.stringify(done)).toBe(true);
      expect(readFileSync(join(data, 'accepted.txt'), 'utf8')).toBe('written');
      expect(asked).toHaveLength(1);
      // The question names the tool, shows the arguments and says why it is held.
      expect(asked[0]).toContain('fs__write_file');
      expect(asked[0]).toContain('accepted.txt');
      expect(asked[0]).toMatch(/Why it is held: .*approve-writes/);
      // Approval is for this call only: the next one is asked again.
      const again = await write(client, 'again.txt');
      expect(again.ok).toBe(true);
      expect(asked).toHaveLength(2);
    } finally {
      await client.close();
    }
    const record = readAudit(join(dir, 'accept-audit.jsonl')).find(
      (r) => r.event === 'tools/call' && r.name === 'fs__write_file'
    );
    expect(record).toMatchObject({
      decision: 'approval',
      outcome: 'ok',
      approval: {
        status: 'approved',
        decisions: [{ by: 'local@client', decision: 'approve', note: 'looks right' }]
      }
    });
  }, 60_000);

  it('a modern-era client (2026-07-28) is not asked yet: the call waits for others and times out', async () => {
    // The modern era has no server-to-client request during a call (questions ride in an
    // input_required result instead), so the held call is left to the other approvers.
    const { client, asked } = await connect(config('modern'), () => ({ action: 'accept' }), 'auto');
    try {
      const refused = await write(client, 'modern.txt');
      expect(JSON.stringify(refused)).toContain('approval_timeout');
      expect(asked).toHaveLength(0);
      expect(existsSync(join(data, 'modern.txt'))).toBe(false);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('declining refuses the call and writes nothing', async () => {
    const { client, asked } = await connect(config('decline'), () => ({ action: 'decline' }));
    try {
      const refused = await write(client, 'declined.txt');
      expect(refused).toMatchObject({ ok: false });
      expect(JSON.stringify(refused)).toContain('approval_denied');
      expect(asked).toHaveLength(1);
      expect(existsSync(join(data, 'declined.txt'))).toBe(false);
    } finally {
      await client.close();
    }
    const record = readAudit(join(dir, 'decline-audit.jsonl')).find((r) => r.event === 'tools/call');
    expect(record).toMatchObject({
      outcome: 'denied',
      code: 'approval_denied',
      approval: { status: 'denied', decisions: [{ by: 'local@client', decision: 'deny' }] }
    });
  }, 60_000);

  it('dismissing the question leaves the call to time out, refused', async () => {
    const { client, asked } = await connect(config('dismiss'), () => ({ action: 'cancel' }));
    try {
      const refused = await write(client, 'dismissed.txt');
      expect(JSON.stringify(refused)).toContain('approval_timeout');
      expect(asked).toHaveLength(1);
      expect(existsSync(join(data, 'dismissed.txt'))).toBe(false);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('a question nobody answers is withdrawn when the call times out', async () => {
    let withdrawn = false;
    const { client, asked } = await connect(
      config('unanswered'),
      (_message, signal) =>
        new Promise<Answer>((resolve) =>
          signal.addEventListener('abort', () => {
            withdrawn = true;
            resolve({ action: 'accept' });
          })
        )
    );
    try {
      const refused = await write(client, 'unanswered.txt');
      expect(JSON.stringify(refused)).toContain('approval_timeout');
      expect(asked).toHaveLength(1);
      await waitFor(() => withdrawn, 5000, 'the question withdrawn');
      expect(existsSync(join(data, 'unanswered.txt'))).toBe(false);
    } finally {
      await client.close();
    }
  }, 60_000);
});

describe('the client alone does not release a call it may not approve', () => {
  it('a client without elicitation is not asked: the call times out', async () => {
    const { client } = await connect(config('no-elicitation'));
    try {
      const refused = await write(client, 'unasked.txt');
      expect(JSON.stringify(refused)).toContain('approval_timeout');
      expect(existsSync(join(data, 'unasked.txt'))).toBe(false);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('a caller whose role is not in ask_client_roles is never asked', async () => {
    const { client, asked } = await connect(config('other-role', { role: 'other' }), () => ({
      action: 'accept'
    }));
    try {
      const refused = await write(client, 'other.txt');
      expect(JSON.stringify(refused)).toContain('approval_timeout');
      expect(asked).toHaveLength(0);
      expect(existsSync(join(data, 'other.txt'))).toBe(false);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('with two approvers needed, the client counts as one', async () => {
    const file = config('two', { approvals: '  approvers: 2' });
    const { client, asked } = await connect(file, () => ({ action: 'accept' }));
    try {
      const refused = await write(client, 'two.txt');
      expect(JSON.stringify(refused)).toContain('approval_timeout');
      expect(asked).toHaveLength(1);
      expect(existsSync(join(data, 'two.txt'))).toBe(false);
    } finally {
      await client.close();
    }
  }, 60_000);
});
