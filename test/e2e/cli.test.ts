/**
 * The `portcullis` command itself, run as a user would: policy check and explain, serve with a
 * broken config, and the demo with a real client following the banner's instructions.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CLI,
  NODE,
  connect,
  freePort,
  inspector,
  readAudit,
  run,
  tempDir,
  tryCall,
  waitFor
} from '../helpers.js';

const dir = tempDir();
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const good = write(
  'good.yaml',
  `servers:
  files: { command: npx, args: ["@modelcontextprotocol/server-filesystem", "/data"] }
rules:
  - tool: "read_file"
    allowed_roles: ["admin", "analyst"]
    parameter_constraints:
      path: { pattern: "^/data/public/" }
  - tool: "delete_record"
    require_approval: true
    allowed_roles: ["admin"]
    max_calls_per_session: 5
`
);

describe('portcullis policy check', () => {
  it('accepts a valid config (exit 0)', async () => {
    const r = await run(NODE, [CLI, 'policy', 'check', good]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('2 rule(s), 1 server(s)');
  });

  it('reports every error with file:line:col and the key (exit 1)', async () => {
    const bad = write(
      'bad.yaml',
      `rules:\n  - tool: read_file\n    allowed_roles: analyst\n  - tool: x\n    colour: red\n`
    );
    const r = await run(NODE, [CLI, 'policy', 'check', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}:3:20 rules[0].allowed_roles: expected a list of strings`);
    expect(r.stderr).toContain(`${bad}:5:5 rules[1].colour: unknown key`);
  });

  it('validates a rules-only file', async () => {
    const rules = write('rules.yaml', `- tool: read_file\n  allowed_roles: [analyst]\n`);
    expect((await run(NODE, [CLI, 'policy', 'check', rules])).code).toBe(0);
  });

  it('exits 2 on usage errors', async () => {
    expect((await run(NODE, [CLI, 'policy', 'check'])).code).toBe(2);
    expect((await run(NODE, [CLI, 'no-such-command'])).code).toBe(2);
    expect((await run(NODE, [CLI, 'serve'])).code).toBe(2);
  });
});

describe('portcullis policy explain', () => {
  it('gives the decision and why, for every rule', async () => {
    const r = await run(NODE, [
      CLI,
      'policy',
      'explain',
      '--config',
      good,
      '--role',
      'analyst',
      '--tool',
      'files__read_file',
      '--args',
      '{"path":"/data/public/../private/x"}'
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('decision: DENY (constraint_failed)');
    expect(r.stdout).toContain('* rules[0]');
    expect(r.stdout).toContain('constraint fails: parameter "path" does not match the pattern');
    expect(r.stdout).toContain('rules[1] (not applicable)');
  });

  it('prints JSON on request', async () => {
    const r = await run(NODE, [
      CLI,
      'policy',
      'explain',
      '--config',
      good,
      '--role',
      'admin',
      '--server',
      'files',
      '--tool',
      'delete_record',
      '--args',
      '{"id":"r-1"}',
      '--json'
    ]);
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.stdout) as { decision: { effect: string; rules: string[] } };
    expect(parsed.decision).toMatchObject({ effect: 'approval', rules: ['rules[1]'] });
  });

  it("reads a windows server's paths as Windows does (path_style: windows)", async () => {
    const win = write(
      'windows.yaml',
      `servers:
  files: { command: npx, args: ["@modelcontextprotocol/server-filesystem", "C:\\\\data"], path_style: windows }
rules:
  - tool: "read_file"
    allowed_roles: ["analyst"]
    parameter_constraints:
      path: { prefix: 'C:\\data\\public\\' }
`
    );
    const explain = (path: string) =>
      run(NODE, [
        CLI,
        'policy',
        'explain',
        '--config',
        win,
        '--role',
        'analyst',
        '--tool',
        'files__read_file',
        '--args',
        JSON.stringify({ path })
      ]);
    const allowed = await explain('c:\\data\\public\\a.txt');
    expect(allowed.stdout).toContain('decision: ALLOW');
    const traversal = await explain('C:/data/public/../secret.txt');
    expect(traversal.stdout).toContain('decision: DENY (constraint_failed)');
    expect(traversal.stdout).toContain('parameter "path" does not start with the required prefix');
    const stream = await explain('C:\\data\\public\\a.txt:stream');
    expect(stream.stdout).toContain('parameter "path" names an alternate data stream');
  });

  it('refuses a server the config does not list, suggesting the one meant', async () => {
    const explain = (...args: string[]) =>
      run(NODE, [CLI, 'policy', 'explain', '--config', good, '--role', 'analyst', ...args]);
    const r = await explain('--tool', 'file__read_file', '--args', '{"path":"/data/public/x"}');
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('decision:');
    expect(r.stderr).toContain('unknown server "file" (did you mean "files"?); servers: files');
    const s = await explain('--server', 'filez', '--tool', 'read_file');
    expect(s.code).toBe(1);
    expect(s.stderr).toContain('unknown server "filez" (did you mean "files"?)');
    const h = await explain('--tool', 'files__read_file', '--history', 'fils__list');
    expect(h.code).toBe(1);
    expect(h.stderr).toContain('--history fils__list: unknown server "fils" (did you mean "files"?)');
  });

  it('explains a prompt and a resource read, and wants exactly one of --tool, --prompt, --resource', async () => {
    const docs = write(
      'docs.yaml',
      `servers:
  docs: { command: docs-mcp }
rules:
  - { id: summaries, prompt: summarise, allowed_roles: [analyst], parameter_constraints: { length: { enum: [short] } } }
  - { id: guides, server: docs, resource: "file:///srv/docs/*", allowed_roles: [analyst] }
  - { id: search, tool: summarise, allowed_roles: [admin] }
`
    );
    const explain = (...args: string[]) =>
      run(NODE, [CLI, 'policy', 'explain', '--config', docs, '--role', 'analyst', ...args]);
    const prompt = await explain('--prompt', 'docs__summarise', '--args', '{"length":"epic"}');
    expect(prompt.code).toBe(0);
    expect(prompt.stdout).toContain('decision: DENY (constraint_failed)');
    expect(prompt.stdout).toContain('* summaries');
    expect(prompt.stdout).toContain('names a tool, not a prompt');
    const read = await explain('--server', 'docs', '--resource', 'file:///srv/docs/guide.md', '--json');
    expect(read.code).toBe(0);
    expect(JSON.parse(read.stdout)).toMatchObject({
      server: 'docs',
      resource: 'file:///srv/docs/guide.md',
      decision: { effect: 'allow', rules: ['guides'] }
    });
    const deeper = await explain('--resource', 'portcullis://docs/file:///srv/docs/a/b.md');
    expect(deeper.stdout).toContain('decision: DENY (no_rule)');
    expect(deeper.stdout).toContain('resource "file:///srv/docs/a/b.md" does not match "file:///srv/docs/*"');
    const none = await explain('--server', 'docs');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('name exactly one of --tool, --prompt or --resource');
    const two = await explain('--tool', 'docs__summarise', '--prompt', 'docs__summarise');
    expect(two.code).toBe(1);
    expect(two.stderr).toContain('name exactly one of --tool, --prompt or --resource');
    const unrouted = await explain('--resource', 'file:///srv/docs/guide.md');
    expect(unrouted.code).toBe(1);
    expect(unrouted.stderr).toContain('names no server: add server: <server>');
  });

  it('rejects arguments that are not a JSON object', async () => {
    const r = await run(NODE, [
      CLI,
      'policy',
      'explain',
      '--config',
      good,
      '--role',
      'a',
      '--tool',
      'files__x',
      '--args',
      '[1]'
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--args must be a JSON object');
  });
});

describe('portcullis serve', () => {
  it('refuses to start on a broken config, naming the problem', async () => {
    const bad = write('broken.yaml', `servers:\n  files:\n    command: [npx]\n`);
    const r = await run(NODE, [CLI, 'serve', '--config', bad, '--port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}:3:14 servers.files.command: expected a string`);
  });
});

describe('portcullis demo', () => {
  it('serves the bundled config; the banner has working tokens and a working command', async () => {
    const port = await freePort();
    const child = spawn(NODE, [CLI, 'demo', '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => out.includes('Press Ctrl-C'), 20_000, 'demo banner');
      const url = `http://127.0.0.1:${port}/mcp`;
      expect(out).toContain(`serving at ${url}`);
      const analyst = /analyst token\s+\(bob\):\s+(\S+)/.exec(out)?.[1];
      const admin = /admin token\s+\(alice\):\s+(\S+)/.exec(out)?.[1];
      const data = /data folder: (\S+)/.exec(out)?.[1];
      const audit = /audit log:\s+(\S+)/.exec(out)?.[1];
      expect(analyst && admin && data && audit).toBeTruthy();

      // The copy-paste command from the banner, run as printed.
      const curl = out
        .split('\n')
        .find((l) => l.trim().startsWith('curl '))!
        .trim();
      const r = await run('bash', ['-c', curl]);
      expect(r.code).toBe(0);
      const listed = (
        JSON.parse(r.stdout) as { result: { tools: Array<{ name: string }> } }
      ).result.tools.map((t) => t.name);
      expect(listed).toContain('files__read_file');
      expect(listed).not.toContain('records__delete_record');

      const client = await connect(url, analyst!);
      expect((await tryCall(client, 'files__read_file', { path: `${data}/public/report.txt` })).ok).toBe(
        true
      );
      expect(
        (await tryCall(client, 'files__read_file', { path: `${data}/private/credentials.txt` })).ok
      ).toBe(false);
      await client.close();

      // alice's delete_record waits for a person; carol approves it through the admin API.
      const approver = /approver token \(carol\):\s+(\S+)/.exec(out)?.[1];
      const adminClient = await connect(url, admin!);
      const pending = tryCall(adminClient, 'records__delete_record', { id: 'r-1001' });
      let heldId: string | undefined;
      await waitFor(
        async () => {
          const res = await fetch(`http://127.0.0.1:${port}/admin/api/approvals`, {
            headers: { Authorization: `Bearer ${approver}` }
          });
          const body = (await res.json()) as { approvals: Array<{ id: string }> };
          heldId = body.approvals[0]?.id;
          return heldId !== undefined;
        },
        10_000,
        'held delete_record'
      );
      const decided = await fetch(`http://127.0.0.1:${port}/admin/api/approvals/${heldId}/approve`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${approver}`, 'Content-Type': 'application/json' },
        body: '{}'
      });
      expect(decided.status).toBe(200);
      const del = await pending;
      expect(del.ok).toBe(true);
      await adminClient.close();

      const viaInspector = await inspector([
        url,
        '--transport',
        'http',
        '--header',
        `Authorization: Bearer ${analyst}`,
        '--method',
        'tools/list'
      ]);
      expect(viaInspector.code).toBe(0);
      expect(viaInspector.stdout).toContain('records__list_records');

      const records = readAudit(audit!);
      expect(
        records.some(
          (r) => r.decision === 'approval' && r.identity === 'alice' && r.approval?.status === 'approved'
        )
      ).toBe(true);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
