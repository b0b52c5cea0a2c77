/**
 * The audit log as an auditor meets it: a real gateway writes it, `portcullis audit verify` checks
 * it, tampering is caught at the right record, a SIGKILL under load leaves a log that verifies once
 * the gateway restarts, and `audit query` finds records.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  CLI,
  NODE,
  RECORDS,
  connect,
  freePort,
  readAudit,
  run,
  tempDir,
  tryCall,
  waitFor
} from '../helpers.js';

function config(dir: string, extra = '') {
  const file = join(dir, 'portcullis.yaml');
  writeFileSync(
    file,
    `
servers:
  records: { command: ${NODE}, args: ["${RECORDS}"] }
auth:
  tokens: [{ id: a, identity: alice, roles: [admin], token: ${ADMIN_TOKEN} }]
audit:
  path: ./audit.jsonl
  checkpoint_every: 10
${extra}
rules:
  - { tool: "list_records", allowed_roles: [admin] }
`,
    { mode: 0o600 }
  );
  return file;
}

async function serve(file: string, port: number): Promise<ChildProcess> {
  const child = spawn(NODE, [CLI, 'serve', '--config', file, '--port', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe']
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await waitFor(() => err.includes('"msg":"serving"'), 15_000, 'gateway to serve');
  return child;
}

async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM') {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

describe('portcullis audit', () => {
  it('verifies a log a gateway wrote, with signed checkpoints, and catches tampering at the right record', async () => {
    const dir = tempDir();
    const keygen = await run(NODE, [CLI, 'audit', 'keygen', '--out', join(dir, 'signing')]);
    expect(keygen.code, keygen.stderr).toBe(0);
    const file = config(dir, '  signing_key: ./signing.pem');
    const port = await freePort();
    const gw = await serve(file, port);
    const client = await connect(`http://127.0.0.1:${port}/mcp`, ADMIN_TOKEN);
    for (let i = 0; i < 25; i++)
      await tryCall(client, i % 5 === 0 ? 'records__get_record' : 'records__list_records', { id: 'r-1001' });
    await client.close();
    await stop(gw);

    const log = join(dir, 'audit.jsonl');
    const pub = join(dir, 'signing.pub.pem');
    const ok = await run(NODE, [CLI, 'audit', 'verify', log, '--public-key', pub]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const records = readAudit(log);
    expect(records.length).toBeGreaterThanOrEqual(25);
    expect(readFileSync(`${log}.checkpoints`, 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(2);

    // Change one field of record 7: verification names line 7.
    const lines = readFileSync(log, 'utf8').split('\n');
    const original = lines.slice();
    lines[6] = lines[6]!
      .replace('"decision":"allow"', '"decision":"deny"')
      .replace('"decision":"deny"', '"decision":"allow"');
    if (lines[6] === original[6]) lines[6] = lines[6]!.replace('"identity":"alice"', '"identity":"mallory"');
    writeFileSync(log, lines.join('\n'));
    const modified = await run(NODE, [CLI, 'audit', 'verify', log, '--public-key', pub]);
    expect(modified.code).toBe(1);
    expect(modified.stdout).toMatch(/audit\.jsonl:7 seq 7: modified/);

    // Delete record 12.
    writeFileSync(log, [...original.slice(0, 11), ...original.slice(12)].join('\n'));
    const deleted = await run(NODE, [CLI, 'audit', 'verify', log, '--public-key', pub]);
    expect(deleted.code).toBe(1);
    expect(deleted.stdout).toMatch(/audit\.jsonl:12 .*(deleted|broken_link)/);

    // Truncate the tail below the last checkpoint.
    writeFileSync(log, original.slice(0, 5).join('\n') + '\n');
    const truncated = await run(NODE, [CLI, 'audit', 'verify', log, '--public-key', pub]);
    expect(truncated.code).toBe(1);

    // A checkpoint signed with another key is a forgery.
    writeFileSync(log, original.join('\n'));
    const other = await run(NODE, [CLI, 'audit', 'keygen', '--out', join(dir, 'other')]);
    expect(other.code).toBe(0);
    const forged = await run(NODE, [CLI, 'audit', 'verify', log, '--public-key', join(dir, 'other.pub.pem')]);
    expect(forged.code).toBe(1);

    const query = await run(NODE, [CLI, 'audit', 'query', log, '--tool', 'records__get_record', '--json']);
    expect(query.code).toBe(0);
    const found = query.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { tool: string; decision: string });
    expect(found.length).toBe(5);
    expect(found.every((r) => r.tool === 'get_record' && r.decision === 'deny')).toBe(true);
  }, 120_000);

  it('survives SIGKILL under load: after a restart the whole log verifies and nothing answered is lost', async () => {
    const dir = tempDir();
    const file = config(dir);
    const port = await freePort();
    const gw = await serve(file, port);
    const clients = await Promise.all(
      Array.from({ length: 4 }, () => connect(`http://127.0.0.1:${port}/mcp`, ADMIN_TOKEN))
    );
    let answered = 0;
    let stopped = false;
    const load = clients.map(async (c) => {
      while (!stopped) {
        const r = await tryCall(c, 'records__list_records', {});
        if (r.ok) answered++;
        else break;
      }
    });
    await waitFor(() => answered >= 100, 20_000, 'load');
    gw.kill('SIGKILL');
    stopped = true;
    await Promise.allSettled(load);
    await Promise.allSettled(clients.map((c) => c.close()));

    const log = join(dir, 'audit.jsonl');
    const calls = readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"event":"tools/call"')).length;
    // Every call the agent saw answered was audited before it was answered.
    expect(calls).toBeGreaterThanOrEqual(answered);

    const again = await serve(file, port);
    await stop(again);
    const verified = await run(NODE, [CLI, 'audit', 'verify', log]);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  });
});
