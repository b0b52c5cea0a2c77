/**
 * `portcullis scan` on the configs MCP clients already have: with no file it finds the clients'
 * configs under $HOME and scans their servers (the official reference servers: nothing medium or
 * worse); given a client's config it finds every issue planted in a fixture server, notices a pin
 * change, suggests rules, and writes SARIF that validates, with URIs relative to the repository and
 * a region at the server's entry. Needs `npm run build`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CLI, EVERYTHING, FILESYSTEM, NODE, ROOT, run, tempDir } from '../helpers.js';

const require = createRequire(import.meta.url);
const MEMORY = join(ROOT, 'node_modules/@modelcontextprotocol/server-memory/dist/index.js');
const PLANTED = join(ROOT, 'test/support/planted-server.mjs');

type Finding = { server: string; source?: string; subject: string; rule: string; severity: string };
type Report = {
  servers: Array<{ name: string; source?: string; tools: number; error?: string }>;
  findings: Finding[];
};

function scan(home: string, cwd: string, args: string[]) {
  return run(NODE, [CLI, 'scan', ...args], { cwd, env: { ...process.env, HOME: home }, timeout: 90_000 });
}

function write(file: string, value: unknown): string {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
  return file;
}

function validateSarif(sarif: unknown): void {
  const Ajv04 = require('ajv-draft-04') as { default?: new (o: object) => unknown };
  const AjvClass = (Ajv04.default ?? Ajv04) as unknown as new (o: object) => {
    compile(s: object): ((d: unknown) => boolean) & { errors?: unknown };
  };
  const ajv = new AjvClass({ strict: false, unicodeRegExp: false, allErrors: true });
  (require('ajv-formats') as (a: unknown) => void)(ajv);
  const validate = ajv.compile(require('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json') as object);
  expect(validate(sarif), JSON.stringify(validate.errors)).toBe(true);
}

describe('portcullis scan on client configs', () => {
  it('finds the clients under $HOME; the reference servers have nothing medium or worse', async () => {
    const home = tempDir('portcullis-scan-home-');
    const work = tempDir('portcullis-scan-cwd-');
    const data = join(home, 'data');
    mkdirSync(data);
    const cursor = write(join(home, '.cursor', 'mcp.json'), {
      mcpServers: {
        filesystem: { command: NODE, args: [FILESYSTEM, data] },
        everything: { command: NODE, args: [EVERYTHING, 'stdio'] }
      }
    });
    const windsurf = write(join(home, '.codeium', 'windsurf', 'mcp_config.json'), {
      mcpServers: {
        memory: { command: NODE, args: [MEMORY], env: { MEMORY_FILE_PATH: join(home, 'm.jsonl') } }
      }
    });
    const r = await scan(home, work, ['--format', 'json', '--fail-on', 'medium']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toContain(`scanning Cursor: ${cursor}`);
    expect(r.stderr).toContain(`scanning Windsurf: ${windsurf}`);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.servers.map((s) => [s.name, s.source, s.error]).sort()).toEqual([
      ['everything', cursor, undefined],
      ['filesystem', cursor, undefined],
      ['memory', windsurf, undefined]
    ]);
    expect(report.findings.filter((f) => f.severity !== 'low')).toEqual([]);
    // Tools that take no parameters are not open schemas; the capabilities are there, as low.
    expect(report.findings.some((f) => f.rule === 'no-input-schema')).toBe(false);
    const has = (subject: string, rule: string) =>
      report.findings.some((f) => f.subject === subject && f.rule === rule);
    expect(has('everything__get-env', 'reads-environment')).toBe(true);
    expect(has('filesystem__write_file', 'writes-files')).toBe(true);
    expect(has('filesystem__read_text_file', 'writes-files')).toBe(false);

    // Nothing to find: said, and exit 1.
    const empty = await scan(tempDir('portcullis-scan-nohome-'), work, []);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/no MCP client config found/);
  }, 120_000);

  it('finds every planted issue in a client config given as the argument, and pin changes', async () => {
    const home = tempDir('portcullis-scan-home-');
    const repo = tempDir('portcullis-scan-repo-');
    mkdirSync(join(repo, '.git'));
    const file = join(repo, 'conf', 'claude_desktop_config.json');
    const entry = (variant: string) => ({
      mcpServers: {
        // Keys on lines of their own, so the region's line is known.
        planted: { command: NODE, args: [PLANTED], env: { PLANTED_VARIANT: variant } }
      }
    });
    write(file, entry('a'));
    const pins = join(home, 'pins.json');
    const first = await scan(home, repo, [
      file,
      '--format',
      'json',
      '--fail-on',
      'critical',
      '--update-pins',
      '--pins',
      pins
    ]);
    const report = JSON.parse(first.stdout) as Report;
    const found = (subject: string, rule: string) =>
      report.findings.find((f) => f.subject === `planted__${subject}` && f.rule === rule);
    expect(found('poison', 'poisoned-definition')?.severity).toMatch(/high|critical/);
    expect(found('hidden', 'unicode-tags')?.severity).toMatch(/high|critical/);
    expect(found('run_shell_command', 'runs-commands')?.severity).toBe('medium');
    expect(found('print_env', 'reads-environment')).toBeDefined();
    expect(found('save_file', 'writes-files')).toBeDefined();
    expect(found('fetch_url', 'reaches-network')).toBeDefined();
    expect(found('query', 'no-input-schema')?.severity).toBe('medium');
    // The clean tools: nothing, and a tool without parameters is not an open schema.
    expect(report.findings.filter((f) => ['planted__lookup', 'planted__ping'].includes(f.subject))).toEqual(
      []
    );
    // A client's config has no policy: no rule findings.
    expect(report.findings.some((f) => f.rule === 'no-rule')).toBe(false);
    expect(first.code).toBe(1);

    write(file, entry('b'));
    const second = await scan(home, repo, [
      file,
      '--format',
      'json',
      '--fail-on',
      'critical',
      '--pins',
      pins
    ]);
    const pinFindings = (JSON.parse(second.stdout) as Report).findings.filter((f) =>
      f.rule.startsWith('pin-')
    );
    expect(pinFindings.map((f) => [f.subject, f.rule])).toEqual([['planted__motto', 'pin-changed']]);

    // SARIF: valid, relative to the repository, pointing at the server's key.
    const sarifRun = await scan(home, repo, [
      file,
      '--format',
      'sarif',
      '--fail-on',
      'critical',
      '--pins',
      pins
    ]);
    const sarif = JSON.parse(sarifRun.stdout) as {
      runs: Array<{
        tool: {
          driver: {
            informationUri?: string;
            rules: Array<{ id: string; help?: { text: string }; properties?: Record<string, string> }>;
          };
        };
        originalUriBaseIds?: Record<string, { uri: string }>;
        results: Array<{
          ruleId: string;
          locations: Array<{
            physicalLocation: {
              artifactLocation: { uri: string; uriBaseId?: string };
              region?: { startLine: number; startColumn: number };
            };
          }>;
        }>;
      }>;
    };
    validateSarif(sarif);
    const runOut = sarif.runs[0]!;
    expect(runOut.tool.driver.informationUri).toBeUndefined();
    expect(runOut.originalUriBaseIds?.ROOT?.uri).toBe(`file://${repo}/`);
    const loc = runOut.results[0]!.locations[0]!.physicalLocation;
    expect(loc.artifactLocation).toEqual({ uri: 'conf/claude_desktop_config.json', uriBaseId: 'ROOT' });
    // "planted" is on line 3 of the file, indented by four spaces.
    expect(loc.region).toEqual({ startLine: 3, startColumn: 5 });
    for (const rule of runOut.tool.driver.rules) {
      expect(rule.help?.text.length).toBeGreaterThan(20);
      expect(Number(rule.properties?.['security-severity'])).toBeGreaterThan(0);
    }
    const tags = runOut.tool.driver.rules.find((x) => x.id === 'unicode-tags');
    expect(Number(tags?.properties?.['security-severity'])).toBeGreaterThanOrEqual(9);

    const rooted = await scan(home, repo, [
      file,
      '--format',
      'sarif',
      '--fail-on',
      'critical',
      '--pins',
      pins,
      '--sarif-root',
      join(repo, 'conf')
    ]);
    const rootedLoc = (JSON.parse(rooted.stdout) as typeof sarif).runs[0]!.results[0]!.locations[0]!
      .physicalLocation;
    expect(rootedLoc.artifactLocation.uri).toBe('claude_desktop_config.json');

    // --suggest-rules: YAML on stdout; poisoned tools get no rule, commands wait for approval.
    const suggest = await scan(home, repo, [
      file,
      '--suggest-rules',
      '--fail-on',
      'critical',
      '--pins',
      pins
    ]);
    const rules = (parse(suggest.stdout) as { rules: Array<Record<string, unknown>> }).rules;
    // A rule names its tools in a list when one treatment covers several.
    const names = (r: Record<string, unknown>) => [r.tool].flat();
    const ruleFor = (tool: string) => rules.find((r) => names(r).includes(tool));
    expect(ruleFor('lookup')).toMatchObject({ server: 'planted', allowed_roles: ['local'] });
    expect(ruleFor('lookup')?.require_approval).toBeUndefined();
    expect(ruleFor('run_shell_command')).toMatchObject({ require_approval: true });
    expect(ruleFor('run_shell_command')?.mode).toBeUndefined();
    expect(ruleFor('poison')).toBeUndefined();
    expect(ruleFor('hidden')).toBeUndefined();
    expect(rules.some((r) => names(r).includes('*'))).toBe(false);
    expect(suggest.stdout).toMatch(/# planted: no rule for poison: scan found/);
    expect(suggest.stderr).toMatch(/planted__poison/);
  }, 150_000);
});
