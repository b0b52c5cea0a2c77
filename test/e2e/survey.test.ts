/**
 * `portcullis scan` against real servers: every planted problem in a fixture server is reported,
 * a clean server gets nothing, pin changes since the last scan show up, the exit code follows
 * --fail-on, and the SARIF output validates against the SARIF 2.1.0 schema.
 */
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, FIXTURES, NODE, RECORDS, run, tempDir } from '../helpers.js';

const require = createRequire(import.meta.url);
const RISKY = join(FIXTURES, 'risky-server.mjs');

function configFor(dir: string, variant: 'a' | 'b') {
  const file = join(dir, 'portcullis.yaml');
  writeFileSync(
    file,
    `
servers:
  risky: { command: ${NODE}, args: ["${RISKY}"], env: { VARIANT: "${variant}" } }
  records: { command: ${NODE}, args: ["${RECORDS}"] }
rules:
  - { server: risky, tool: lookup, allowed_roles: [analyst] }
  - { server: risky, tool: anything, allowed_roles: [analyst] }
  - { server: risky, tool: drop_table, allowed_roles: [admin] }
  - { server: risky, tool: weather, allowed_roles: [analyst] }
  - { server: risky, tool: quote, allowed_roles: [analyst] }
  - { server: records, tool: list_records, allowed_roles: [analyst] }
  - { server: records, tool: get_record, allowed_roles: [analyst] }
  - { server: records, tool: delete_record, allowed_roles: [admin], require_approval: true }
`,
    { mode: 0o600 }
  );
  return file;
}

type Finding = { server: string; subject: string; rule: string; severity: string };
const scan = async (file: string, ...args: string[]) => {
  const r = await run(NODE, [CLI, 'scan', '--config', file, ...args], { timeout: 60_000 });
  return r;
};

describe('portcullis scan', () => {
  it('finds every planted issue, reports nothing on a clean server, and notices pin changes', async () => {
    const dir = tempDir();
    let file = configFor(dir, 'a');
    const first = await scan(file, '--format', 'json', '--update-pins', '--fail-on', 'critical');
    const report = JSON.parse(first.stdout) as {
      findings: Finding[];
      servers: Array<{ name: string; tools: number }>;
    };
    const risky = report.findings.filter((f) => f.server === 'risky');
    const has = (subject: string, rule: string) =>
      risky.some((f) => f.subject === subject && f.rule === rule);
    expect(
      risky.some((f) => f.subject === 'risky__weather' && ['high', 'critical'].includes(f.severity))
    ).toBe(true);
    expect(has('risky__anything', 'no-input-schema')).toBe(true);
    expect(has('risky__drop_table', 'destructive-without-approval')).toBe(true);
    expect(has('risky__orphan', 'no-rule')).toBe(true);
    expect(risky.some((f) => f.subject === 'risky__lookup')).toBe(false);
    expect(report.servers.find((s) => s.name === 'records')?.tools).toBe(3);

    // Pinned now: the clean server reports nothing at all, even at the lowest threshold.
    const clean = await scan(file, '--server', 'records', '--fail-on', 'low');
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).toContain('0 finding(s)');

    // The risky server changes one description: the scan reports it against the pins.
    file = configFor(dir, 'b');
    const changed = await scan(file, '--server', 'risky', '--format', 'json', '--fail-on', 'critical');
    const after = (JSON.parse(changed.stdout) as { findings: Finding[] }).findings;
    expect(after.some((f) => f.subject === 'risky__quote' && f.rule === 'pin-changed')).toBe(true);
    expect(after.some((f) => f.subject === 'risky__lookup' && f.rule.startsWith('pin-'))).toBe(false);
  }, 120_000);

  it('exits 1 on findings at or above --fail-on, 0 below it', async () => {
    const file = configFor(tempDir(), 'a');
    expect((await scan(file, '--server', 'risky', '--fail-on', 'high')).code).toBe(1);
    const low = await scan(file, '--server', 'records', '--fail-on', 'medium');
    expect(low.code, low.stdout).toBe(0);
  }, 60_000);

  it('writes SARIF that validates against the SARIF 2.1.0 schema', async () => {
    const file = configFor(tempDir(), 'a');
    const r = await scan(file, '--format', 'sarif', '--fail-on', 'critical');
    const sarif = JSON.parse(r.stdout) as {
      version: string;
      runs: Array<{ results: Array<{ ruleId: string; level: string }> }>;
    };
    const Ajv04 = require('ajv-draft-04') as { default?: new (o: object) => unknown };
    const AjvClass = (Ajv04.default ?? Ajv04) as unknown as new (o: object) => {
      compile(s: object): ((d: unknown) => boolean) & { errors?: unknown };
    };
    const ajv = new AjvClass({ strict: false, unicodeRegExp: false, allErrors: true });
    (require('ajv-formats') as (a: unknown) => void)(ajv);
    const schema = require('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json') as object;
    const validate = ajv.compile(schema);
    expect(validate(sarif), JSON.stringify(validate.errors)).toBe(true);
    expect(sarif.version).toBe('2.1.0');
    const results = sarif.runs[0]!.results;
    expect(results.some((x) => x.ruleId === 'destructive-without-approval' && x.level === 'error')).toBe(
      true
    );
    expect(results.some((x) => x.ruleId === 'no-rule' && x.level === 'note')).toBe(true);
  });
});
