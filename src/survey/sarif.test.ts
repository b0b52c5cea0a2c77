import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ScanReport } from './index.js';
import { formatSarif, serverRegion } from './sarif.js';

interface Run {
  originalUriBaseIds?: Record<string, { uri: string }>;
  tool: {
    driver: { informationUri?: string; rules: Array<{ id: string; properties: Record<string, string> }> };
  };
  results: Array<{ locations: Array<{ physicalLocation: { artifactLocation: unknown; region?: unknown } }> }>;
}

const runOf = (sarif: Record<string, unknown>) => (sarif as unknown as { runs: Run[] }).runs[0]!;

function temp(): string {
  return realpathSync(mkdtempSync(join(tmpdir(), 'portcullis-sarif-')));
}

describe('serverRegion', () => {
  it("points at the server's key in JSONC and in YAML", () => {
    const dir = temp();
    const jsonc = join(dir, 'mcp.json');
    writeFileSync(
      jsonc,
      '// servers\n{\n  "servers": {\n    /* the one */ "files": { "command": "x" }\n  }\n}\n'
    );
    expect(serverRegion(jsonc, 'files')).toEqual({ startLine: 4, startColumn: 19 });
    expect(serverRegion(jsonc, 'other')).toBeUndefined();
    const claude = join(dir, '.claude.json');
    writeFileSync(
      claude,
      '{\n  "projects": {\n    "/src/app": {\n      "mcpServers": {\n        "files": {}\n      }\n    }\n  }\n}\n'
    );
    expect(serverRegion(claude, 'files')).toEqual({ startLine: 5, startColumn: 9 });
    const yaml = join(dir, 'portcullis.yaml');
    writeFileSync(yaml, 'auth: {}\nservers:\n  a: { command: x }\n  files:\n    command: y\n');
    expect(serverRegion(yaml, 'files')).toEqual({ startLine: 4, startColumn: 3 });
  });
});

describe('formatSarif', () => {
  const report = (source: string): ScanReport => ({
    servers: [{ name: 'my-server', key: 'my server', source, tools: 1, prompts: 0, resources: 0 }],
    findings: [
      {
        server: 'my-server',
        source,
        subject: 'my-server__t',
        rule: 'pin-changed',
        severity: 'high',
        message: 'm'
      },
      {
        server: 'my-server',
        source,
        subject: 'my-server__t',
        rule: 'writes-files',
        severity: 'low',
        message: 'm'
      }
    ]
  });

  it('makes URIs relative to the repository, encoded, and ranks each rule', () => {
    const repo = temp();
    mkdirSync(join(repo, '.git'));
    mkdirSync(join(repo, 'my conf'));
    const file = join(repo, 'my conf', 'mcp.json');
    writeFileSync(file, '{\n  "mcpServers": {\n    "my server": {}\n  }\n}\n');
    const run = runOf(formatSarif(report(file), file, { version: '1' }));
    expect(run.originalUriBaseIds).toEqual({ ROOT: { uri: `file://${repo}/` } });
    expect(run.results[0]!.locations[0]!.physicalLocation).toEqual({
      artifactLocation: { uri: 'my%20conf/mcp.json', uriBaseId: 'ROOT' },
      region: { startLine: 3, startColumn: 5 }
    });
    expect(run.tool.driver.informationUri).toBeUndefined();
    expect(run.tool.driver.rules.map((r) => [r.id, r.properties['security-severity']])).toEqual([
      ['pin-changed', '8.0'],
      ['writes-files', '2.0']
    ]);
  });

  it('falls back to an absolute URI outside any repository or root', () => {
    const dir = temp();
    const file = join(dir, 'mcp.json');
    writeFileSync(file, '{}');
    const run = runOf(formatSarif(report(file), file, { version: '1', root: join(dir, 'elsewhere') }));
    expect(run.originalUriBaseIds).toBeUndefined();
    expect(run.results[0]!.locations[0]!.physicalLocation.artifactLocation).toEqual({
      uri: `file://${file}`
    });
  });
});
