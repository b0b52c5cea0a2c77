/**
 * `portcullis audit query` on a log with planted records (the built CLI; `npm run build` first):
 * globs in --tool, --server and --identity, --since as a duration back from now, --findings, and
 * findings shown in the text output.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, NODE, run, tempDir } from '../helpers.js';

let log: string;
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
const injection = { kind: 'injection', rule: 'ignore-previous', severity: 'high', where: 'response' };
const secret = {
  kind: 'secret',
  rule: 'aws-access-key',
  severity: 'medium',
  field: 'key',
  where: 'arguments'
};

/** id, when, and what else the record says; every other field as a call's record has it. */
const records: Array<Record<string, unknown>> = [
  // Planted: srv's tools, within the hour, with findings.
  { id: 'hit-1', time: minutesAgo(5), server: 'srv', tool: 'read', findings: [injection] },
  {
    id: 'hit-2',
    time: minutesAgo(50),
    server: 'srv',
    tool: 'write',
    decision: 'deny',
    outcome: 'denied',
    code: 'secret_in_arguments',
    findings: [secret],
    identity: 'carol'
  },
  // Not: too old, no findings, an empty list, another server, a name that only starts alike.
  { id: 'old', time: minutesAgo(90), server: 'srv', tool: 'read', findings: [injection] },
  { id: 'clean', time: minutesAgo(10), server: 'srv', tool: 'read' },
  { id: 'empty', time: minutesAgo(10), server: 'srv', tool: 'read', findings: [] },
  { id: 'other', time: minutesAgo(10), server: 'other', tool: 'read', findings: [injection] },
  { id: 'prefix', time: minutesAgo(10), server: 'srv2', tool: 'read', findings: [injection] }
].map((r) => ({
  v: 1,
  event: 'tools/call',
  identity: 'bob',
  name: `${String(r.server)}__${String(r.tool)}`,
  decision: 'allow',
  outcome: 'ok',
  latency_ms: 3.5,
  ...r
}));

beforeAll(() => {
  log = join(tempDir(), 'audit.jsonl');
  writeFileSync(log, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
});

const query = (...args: string[]) => run(NODE, [CLI, 'audit', 'query', log, ...args]);
const ids = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { id: string }).id);

describe('audit query', () => {
  it("--tool 'srv__*' --since 1h --findings returns the planted records and only those", async () => {
    const r = await query('--tool', 'srv__*', '--since', '1h', '--findings', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(ids(r.stdout)).toEqual(['hit-1', 'hit-2']);
    expect(r.stderr).toContain('2 record(s)');
  });

  it('takes globs in --server and --identity, and minutes and ISO dates in --since and --until', async () => {
    expect(ids((await query('--server', 'srv*', '--json')).stdout)).toEqual([
      'hit-1',
      'hit-2',
      'old',
      'clean',
      'empty',
      'prefix'
    ]);
    expect(ids((await query('--identity', 'c?rol', '--json')).stdout)).toEqual(['hit-2']);
    expect(ids((await query('--since', '30m', '--server', 'srv', '--json')).stdout)).toEqual([
      'hit-1',
      'clean',
      'empty'
    ]);
    const iso = new Date(Date.now() - 60 * 60_000).toISOString();
    expect(ids((await query('--until', iso, '--json')).stdout)).toEqual(['old']);
    // A literal name is still exact: `srv` is not `srv2`.
    expect(ids((await query('--server', 'srv', '--tool', 'read', '--findings', '--json')).stdout)).toEqual([
      'hit-1',
      'old'
    ]);
  });

  it('shows findings in the text output, so a flagged call reads differently from a plain one', async () => {
    const r = await query('--server', 'srv', '--since', '1h');
    expect(r.code, r.stderr).toBe(0);
    const line = (id: string) => {
      const record = records.find((x) => x.id === id)!;
      return r.stdout.split('\n').find((l) => l.startsWith(String(record.time)));
    };
    expect(line('hit-1')).toMatch(
      /allow .*srv__read .*FLAGGED 1: injection\/high in response \[ignore-previous\]/
    );
    expect(line('hit-2')).toMatch(
      /deny .*\(secret_in_arguments\).*FLAGGED 1: secret\/medium in arguments key/
    );
    expect(line('clean')).toMatch(/allow .*srv__read/);
    expect(line('clean')).not.toContain('FLAGGED');
  });

  it('refuses a --since it cannot read (exit 1)', async () => {
    const r = await query('--since', 'yesterday');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not a time: "yesterday"/);
  });
});
