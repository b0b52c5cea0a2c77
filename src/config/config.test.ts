import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, formatIssue } from '../errors.js';
import { configSchema, hashToken, loadConfig } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'portcullis-config-'));
let n = 0;
function file(text: string): string {
  const path = join(dir, `c${n++}.yaml`);
  writeFileSync(path, text);
  return path;
}

function issues(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  const path = file(text);
  try {
    loadConfig(path, { env });
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => formatIssue({ ...i, file: 'F' }));
    throw err;
  }
  throw new Error('expected the config to be rejected');
}

describe('loading a valid config', () => {
  it('reads the DESIGN example shape, with defaults', () => {
    const path = file(`
servers:
  files:
    command: npx
    args: ["@modelcontextprotocol/server-filesystem", "/data"]
    env: {}
  crm:
    url: https://crm.internal/mcp
    headers: { Authorization: "Bearer \${CRM_TOKEN}" }
auth:
  stdio: { identity: local, roles: [admin] }
audit:
  path: ./portcullis-audit.jsonl
rules:
  - tool: "delete_record"
    require_approval: true
    allowed_roles: ["admin"]
    max_calls_per_session: 5
  - tool: "read_file"
    allowed_roles: ["admin", "analyst"]
    parameter_constraints:
      path: { pattern: "^/data/public/" }
`);
    const config = loadConfig(path, { env: { CRM_TOKEN: 'sekrit' } });
    expect(config.servers.files).toMatchObject({ kind: 'stdio', command: 'npx', env: {}, timeout_ms: 60000 });
    expect(config.servers.crm).toMatchObject({
      kind: 'http',
      transport: 'streamable-http',
      headers: { Authorization: 'Bearer sekrit' }
    });
    expect(config.rules).toHaveLength(2);
    expect(config.audit).toMatchObject({
      enabled: true,
      path: join(dir, 'portcullis-audit.jsonl'),
      flush: 'os',
      arguments: 'full'
    });
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8080, max_body_bytes: 4 * 1024 * 1024 });
    expect(config.auth.lockout).toEqual({ failures: 10, window_s: 60, duration_s: 300 });
    expect(config.auth.scopes).toEqual({ read: 'tools:read', call: 'tools:call' });
    expect(config.security.check_permissions).toBe(true);
    expect(config.validation.arguments).toBe(true);
    expect(config.auth.stdio).toEqual({ identity: 'local', roles: ['admin'] });
  });

  it('keeps a $${literal} and stores tokens only as hashes', () => {
    const config = loadConfig(
      file(`
servers:
  s: { command: x, env: { A: "$\${NOT_A_VAR}" } }
auth:
  tokens:
    - { id: t1, roles: [admin], token: "\${TOKEN}" }
    - { id: t2, roles: [analyst], sha256: "${hashToken('another-token-123456')}" }
`),
      { env: { TOKEN: 'a-token-that-is-long-enough' } }
    );
    expect((config.servers.s as { env: Record<string, string> }).env.A).toBe('${NOT_A_VAR}');
    expect(config.auth.tokens).toEqual([
      { id: 't1', identity: 't1', roles: ['admin'], sha256: hashToken('a-token-that-is-long-enough') },
      { id: 't2', identity: 't2', roles: ['analyst'], sha256: hashToken('another-token-123456') }
    ]);
    expect(JSON.stringify(config)).not.toContain('a-token-that-is-long-enough');
  });

  it('reads tokens from a separate file', () => {
    const tokens = join(dir, 'tokens.yaml');
    writeFileSync(
      tokens,
      `tokens:\n  - { id: ops, identity: olga, roles: [ops], sha256: "${hashToken('ops-token-0123456789')}" }\n`
    );
    const config = loadConfig(file(`auth:\n  tokens: ./tokens.yaml\n`));
    expect(config.auth.tokens[0]).toMatchObject({ id: 'ops', identity: 'olga', roles: ['ops'] });
  });

  it("reads the token file's revocations, and refuses one without a valid time", () => {
    const tokens = join(dir, 'revoking-tokens.yaml');
    writeFileSync(tokens, `tokens: []\nrevocations:\n  - { id: jti-1, revoked: "2026-11-01T00:00:00Z" }\n`);
    const config = loadConfig(file(`auth:\n  tokens: ./revoking-tokens.yaml\n`));
    expect(config.auth.revocations).toEqual([{ id: 'jti-1', revoked: '2026-11-01T00:00:00Z' }]);
    writeFileSync(tokens, `tokens: []\nrevocations:\n  - { id: jti-1, revoked: "last tuesday" }\n`);
    expect(() => loadConfig(file(`auth:\n  tokens: ./revoking-tokens.yaml\n`))).toThrow(
      /revocations\[0\]\.revoked: expected an ISO 8601 date-time/
    );
    writeFileSync(tokens, `tokens: []\nrevocations:\n  - { id: "", revoked: "2026-11-01T00:00:00Z" }\n`);
    expect(() => loadConfig(file(`auth:\n  tokens: ./revoking-tokens.yaml\n`))).toThrow(ConfigError);
  });

  it('reads an audit chain in PostgreSQL, with its defaults and the URL from the environment', () => {
    const config = loadConfig(file(`audit:\n  postgres: { url: "\${PG_URL}" }\n`), {
      env: { PG_URL: 'postgres://gw:secret@db.internal:5432/audit' }
    });
    expect(config.audit).toMatchObject({
      path: '',
      flush: 'every',
      postgres: {
        url: 'postgres://gw:secret@db.internal:5432/audit',
        table: 'portcullis_audit',
        queue_records: 10_000,
        commit_timeout_s: 10,
        connect_timeout_s: 5
      }
    });
    const batch = loadConfig(
      file(
        `audit:\n  postgres: { url: "postgresql:///audit?host=/run/postgresql", table: ops.audit }\n  flush: batch\n`
      )
    );
    expect(batch.audit).toMatchObject({ flush: 'batch', postgres: { table: 'ops.audit' } });
  });

  it('accepts a rules-only file (a list of rules)', () => {
    const config = loadConfig(file(`- tool: read_file\n  allowed_roles: [analyst]\n`));
    expect(config.rules).toEqual([{ tool: 'read_file', allowed_roles: ['analyst'] }]);
  });
});

describe('rejecting a broken config with file:line:col and the key', () => {
  it('names the offending key and what was expected', () => {
    expect(
      issues(`rules:
  - tool: read_file
    allowed_roles: [admin]
  - tool: delete_record
    allowed_roles: admin
`)
    ).toEqual(['F:5:20 rules[1].allowed_roles: expected a list of strings']);
  });

  it('reports every problem at once', () => {
    const found = issues(`servers:
  files:
    comand: npx
rules:
  - tool: 5
    max_calls_per_session: -1
  - allowed_roles: [x]
audit:
  path: [1]
`);
    expect(found).toEqual(
      expect.arrayContaining([
        'F:3:5 servers.files.comand: unknown key (did you mean "command"?)',
        'F:5:11 rules[0].tool: expected a string or a list of strings',
        'F:6:28 rules[0].max_calls_per_session: expected a number >= 0',
        'F:7:5 rules[1]: a rule names exactly one of "tool", "prompt" or "resource"; this one names none',
        'F:9:9 audit.path: expected a string'
      ])
    );
  });

  it('reports what the later checks find in one pass with the schema findings', () => {
    const text = `servers:
  files:
    command: node
    timeout_ms: slow
listen:
  port: abc
rules:
  - tool: read_file
    server: fils
    allowed_roles: [analyst]
    parameter_constraints:
      path: { pattern: "(" }
  - tool: write_file
    server: files
    allowed_roles: analyst
  - tool: x
    deny: true
    require_approval: true
  - tool: y
    server: \${NOT_SET}
`;
    expect(issues(text)).toEqual([
      'F:4:17 servers.files.timeout_ms: expected an integer',
      'F:6:9 listen.port: expected an integer',
      'F:15:20 rules[1].allowed_roles: expected a list of strings',
      'F:20:13 rules[3].server: environment variable NOT_SET is not set',
      'F:9:13 rules[0].server: no configured server matches "fils"',
      expect.stringMatching(
        /^F:12:\d+ rules\[0\]\.parameter_constraints\.path\.pattern: not a valid RE2 pattern/
      ),
      'F:18:23 rules[2].require_approval: a deny rule cannot also require approval'
    ]);
    // In a rules-only file too, and an unset variable does not hide the later checks either.
    expect(
      issues(
        `- tool: a\n  allowed_roles: x\n- tool: b\n  server: s\n  deny: true\n  require_approval: true\n`
      )
    ).toEqual([
      'F:2:18 [0].allowed_roles: expected a list of strings',
      'F:6:21 [1].require_approval: a deny rule cannot also require approval'
    ]);
    expect(issues(`servers:\n  s: { command: "\${NOT_SET}" }\nrules:\n  - { tool: t, server: z }\n`)).toEqual(
      [
        'F:2:17 servers.s.command: environment variable NOT_SET is not set',
        'F:4:24 rules[0].server: no configured server matches "z"'
      ]
    );
  });

  it('rejects unknown top-level and rule keys', () => {
    expect(issues(`rulez: []\n`)).toEqual(['F:1:1 rulez: unknown key (did you mean "rules"?)']);
    expect(issues(`rules:\n  - tool: x\n    alowed_roles: [a]\n`)).toEqual([
      'F:3:5 rules[0].alowed_roles: unknown key (did you mean "allowed_roles"?)'
    ]);
  });

  it('reports YAML syntax errors with their position', () => {
    const [first] = issues(`rules:\n  - tool: [unclosed\n`);
    expect(first).toMatch(/^F:\d+:\d+ /);
  });

  it('rejects duplicate keys', () => {
    expect(issues(`rules: []\nrules: []\n`)[0]).toMatch(/^F:2:1 .*[Uu]nique|duplicate/i);
  });

  it('rejects patterns that are not valid RE2', () => {
    expect(
      issues(`rules:\n  - tool: t\n    parameter_constraints:\n      p: { pattern: "(?<=x)y" }\n`)
    ).toEqual([
      expect.stringMatching(/^F:4:\d+ rules\[0\]\.parameter_constraints\.p\.pattern: not a valid RE2 pattern/)
    ]);
  });

  it('rejects servers that are neither or both of command and url, and bad names', () => {
    const found = issues(`servers:
  a: { args: [] }
  b: { command: x, url: "http://h/mcp" }
  c__d: { command: x }
  e: { url: "ftp://h" }
  f: { command: x, headers: {} }
`);
    expect(found).toEqual(
      expect.arrayContaining([
        'F:2:6 servers.a: expected exactly one of "command" (stdio) or "url" (HTTP)',
        'F:3:6 servers.b: expected exactly one of "command" (stdio) or "url" (HTTP)',
        expect.stringMatching(/^F:4:3 servers.c__d: server names use/),
        expect.stringMatching(/^F:5:\d+ servers.e.url: expected an http: or https: URL/),
        expect.stringMatching(/^F:6:\d+ servers.f.headers: "headers" applies only to url servers/)
      ])
    );
  });

  it('allows namespace: false only on a lone server', () => {
    const lone = loadConfig(file(`servers:\n  files: { command: x, namespace: false }\n`), { env: {} });
    expect(lone.servers.files?.namespace).toBe(false);
    expect(issues(`servers:\n  a: { command: x, namespace: false }\n  b: { url: "http://h/mcp" }\n`)).toEqual(
      [
        expect.stringMatching(
          /^F:2:\d+ servers.a.namespace: "namespace: false" needs this to be the only server/
        )
      ]
    );
  });

  it('rejects a rule naming a server that does not exist', () => {
    expect(issues(`servers:\n  files: { command: x }\nrules:\n  - { tool: t, server: fils }\n`)).toEqual([
      'F:4:24 rules[0].server: no configured server matches "fils"'
    ]);
  });

  it('reads a rule naming a list of globs, of each kind', () => {
    const config = loadConfig(
      file(`rules:
  - tool: [read_*, list_*]
    allowed_roles: [local]
  - prompt: [summarise, "review_*"]
  - resource: ["file:///docs/**", "file:///notes/*"]
  - tool: one
`),
      { env: {} }
    );
    expect(config.rules).toEqual([
      { tool: ['read_*', 'list_*'], allowed_roles: ['local'] },
      { prompt: ['summarise', 'review_*'] },
      { resource: ['file:///docs/**', 'file:///notes/*'] },
      { tool: 'one' }
    ]);
  });

  it('rejects an empty list of globs and names an element that is not a non-empty string, all in one pass', () => {
    expect(
      issues(`rules:
  - tool: []
  - tool: [a, 5]
  - prompt: [x, ""]
  - resource: ["file:///a", { uri: b }]
  - tool: [ok, files__read]
  - tool: { a: 1 }
`)
    ).toEqual([
      'F:2:11 rules[0].tool: expected a non-empty list',
      'F:3:15 rules[1].tool[1]: expected a string',
      'F:5:29 rules[3].resource[1]: expected a string',
      'F:7:11 rules[5].tool: expected a string or a list of strings',
      'F:4:17 rules[2].prompt[1]: expected a non-empty prompt name or glob',
      `F:6:16 rules[4].tool[1]: "tool" is the upstream's own tool name; use server: "files" and tool: "read"`
    ]);
    // A rules-only file names the rule by its index alone.
    expect(issues(`- tool: [a, 5]\n- tool: [b, ""]\n`)).toEqual([
      'F:1:13 [0].tool[1]: expected a string',
      'F:2:13 [1].tool[1]: expected a non-empty tool name or glob'
    ]);
  });

  it('reports an unset environment variable where it is used', () => {
    expect(issues(`servers:\n  s:\n    url: "\${CRM_URL}"\n`)).toEqual([
      'F:3:10 servers.s.url: environment variable CRM_URL is not set'
    ]);
  });

  it('rejects tokens that are short, duplicated or both hashed and plain', () => {
    const found = issues(`auth:
  tokens:
    - { id: a, roles: [x], token: short }
    - { id: a, roles: [x], sha256: "${'0'.repeat(64)}" }
    - { id: b, roles: [x] }
    - { id: c, roles: [x], sha256: "nothex" }
`);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^F:6:\d+ auth.tokens\[3\].sha256: expected a string matching/)
      ])
    );
    const found2 = issues(`auth:
  tokens:
    - { id: a, roles: [x], token: short }
    - { id: a, roles: [x], sha256: "${'0'.repeat(64)}" }
    - { id: b, roles: [x] }
`);
    expect(found2).toEqual([
      expect.stringMatching(/^F:3:\d+ auth.tokens\[0\].token: tokens must be at least 16 characters/),
      expect.stringMatching(/^F:4:\d+ auth.tokens\[1\].id: duplicate token id "a"/),
      expect.stringMatching(/^F:5:\d+ auth.tokens\[2\]: expected exactly one of "sha256" or "token"/)
    ]);
  });

  it('rejects a PostgreSQL audit with file settings, flush: os, a bad URL or table name', () => {
    expect(issues(`audit:\n  postgres: { url: "postgres://db/x", table: "Audit-Log" }\n`)).toEqual([
      expect.stringMatching(/^F:2:\d+ audit\.postgres\.table: expected a string matching/)
    ]);
    expect(
      issues(`audit:
  path: ./a.jsonl
  rotate_s: 60
  flush: os
  postgres: { url: "mysql://x/y" }
`)
    ).toEqual([
      'F:2:3 audit.path: "path" applies only to an audit file, not postgres',
      'F:3:3 audit.rotate_s: "rotate_s" applies only to an audit file, not postgres',
      'F:4:10 audit.flush: with postgres, flush is "every" (the default) or "batch"',
      'F:5:20 audit.postgres.url: expected a postgres:// or postgresql:// URL'
    ]);
  });

  it('says when the file cannot be read', () => {
    expect(() => loadConfig(join(dir, 'missing.yaml'))).toThrow(/cannot read file/);
  });
});

describe('the published JSON Schema', () => {
  it('is the one the loader validates with', () => {
    const published = JSON.parse(
      readFileSync(join(__dirname, '../../schema/portcullis.schema.json'), 'utf8')
    );
    expect(published).toEqual(JSON.parse(JSON.stringify(configSchema)));
  });
});

describe('isolation', () => {
  it('is shared by default; session takes an idle_timeout duration', () => {
    const config = loadConfig(
      file(`
servers:
  a: { command: node }
  b: { command: node, isolation: session, idle_timeout: 90s }
limits: { max_upstream_processes: 7 }
`)
    );
    expect(config.servers.a).toMatchObject({ isolation: 'shared', idle_timeout_ms: 900_000 });
    expect(config.servers.b).toMatchObject({ isolation: 'session', idle_timeout_ms: 90_000 });
    expect(config.limits.max_upstream_processes).toBe(7);
    expect(loadConfig(file('servers: {}\n')).limits.max_upstream_processes).toBe(100);
  });

  it('refuses isolation on a url server, an unreadable idle_timeout and an unknown mode', () => {
    expect(
      issues('servers:\n  h: { url: "http://127.0.0.1:1/mcp", isolation: session }\n').join('\n')
    ).toMatch(/"isolation" applies only to command servers/);
    expect(
      issues('servers:\n  a: { command: node, isolation: session, idle_timeout: soon }\n').join('\n')
    ).toMatch(/idle_timeout.*expected a duration/);
    expect(issues('servers:\n  a: { command: node, isolation: process }\n').join('\n')).toMatch(/isolation/);
  });
});
