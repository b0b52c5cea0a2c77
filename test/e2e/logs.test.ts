/**
 * The gateway's own log, read from the built CLI's stderr: JSON lines with one `pid` each (an
 * upstream's process id is `upstream_pid`), the level set by `--log-level` or
 * PORTCULLIS_LOG_LEVEL, and readable lines instead of JSON when asked for (or on a terminal).
 */
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { CLI, NODE, RECORDS, run, tempDir } from '../helpers.js';

let configFile: string;

beforeAll(() => {
  const dir = tempDir();
  configFile = join(dir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    `servers:
  records: { command: ${NODE}, args: ["${RECORDS}"] }
auth:
  stdio: { identity: local, roles: [user] }
audit: { path: ./audit.jsonl }
rules:
  - { tool: "*", allowed_roles: [user] }
`,
    { mode: 0o600 }
  );
});

/** Serve one agent over stdio with these arguments and environment; list tools; return stderr. */
async function logsOf(args: string[], env: Record<string, string> = {}): Promise<string> {
  const transport = new StdioClientTransport({
    command: NODE,
    args: [CLI, ...args],
    env: { PATH: process.env.PATH ?? '', ...env },
    stderr: 'pipe'
  });
  let text = '';
  const stderr = transport.stderr as Readable;
  stderr.on('data', (b: Buffer) => (text += b.toString('utf8')));
  const ended = once(stderr, 'end');
  const client = new Client({ name: 'log-test', version: '1.0.0' });
  await client.connect(transport);
  // Listing the records tool means the upstream has connected (and the gateway has logged it).
  expect((await client.listTools()).tools.map((t) => t.name)).toContain('records__list_records');
  await client.close();
  await ended;
  return text;
}

describe('the log', () => {
  it("is JSON with one pid a line; the upstream's process id is upstream_pid", async () => {
    const text = await logsOf(['stdio', '--config', configFile]);
    const lines = text.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      // Parsing would keep only the last of two equal keys: count them in the text.
      expect(line.match(/"pid":/g)?.length ?? 0, line).toBeLessThanOrEqual(1);
      expect(JSON.parse(line)).toMatchObject({ level: expect.any(Number), msg: expect.any(String) });
    }
    const connected = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'upstream connected');
    expect(connected?.pid).toEqual(expect.any(Number));
    expect(connected?.upstream_pid).toEqual(expect.any(Number));
    expect(connected?.upstream_pid).not.toBe(connected?.pid);
  });

  it('takes its level from --log-level over PORTCULLIS_LOG_LEVEL', async () => {
    const debug = await logsOf(['--log-level', 'debug', 'stdio', '--config', configFile], {
      PORTCULLIS_LOG_LEVEL: 'warn'
    });
    const levels = (text: string) =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { level: number }).level);
    expect(levels(debug)).toContain(20);
    expect(debug).toContain('upstream connected');
    // The environment alone: warn leaves out the info line for the connected upstream.
    const warn = await logsOf(['stdio', '--config', configFile], { PORTCULLIS_LOG_LEVEL: 'warn' });
    expect(warn).not.toContain('upstream connected');
    expect(levels(warn).every((l) => l >= 40)).toBe(true);
  });

  it('refuses a level it does not know (exit 2)', async () => {
    const r = await run(NODE, [CLI, '--log-level', 'loud', 'stdio', '--config', configFile]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--log-level.*loud/);
  });

  it('is readable lines when PORTCULLIS_LOG_FORMAT=pretty', async () => {
    const text = await logsOf(['stdio', '--config', configFile], { PORTCULLIS_LOG_FORMAT: 'pretty' });
    const connected = text.split('\n').find((l) => l.includes('upstream connected'));
    expect(connected).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}upstream connected .*upstream_pid=\d+/);
    expect(text).not.toMatch(/^\{/m);
  });
});
