// The Portcullis configs the overhead and checks benchmarks share: "all checks" (a role rule with a
// maxLength constraint, argument validation, an audit file, scanning and pins at their defaults) and
// "checks off" (every check the config can turn off, off). Each config is written into a directory
// of its own, so its audit file and pins file (both relative to it) are its own too.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ECHO_STDIO, NODE } from './processes.mjs';

/**
 * Write `<dir>/portcullis.yaml` for one variant and return its path.
 *
 * upstream: { kind: 'stdio' } for bench/overhead/echo-stdio.mjs, or { kind: 'http', url }.
 * token: a bearer token for HTTP (the stdio identity is always there).
 * features: which optional sections this build's schema has ({ scanning: [keys], metrics }); the
 * "off" config turns off only what exists, so an older build can be measured too.
 */
export function writeBenchConfig(
  dir,
  { checks, upstream = { kind: 'stdio' }, token, features, injection = true }
) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const server =
    upstream.kind === 'stdio'
      ? `    command: ${JSON.stringify(NODE)}\n    args: [${JSON.stringify(ECHO_STDIO)}]`
      : `    url: ${JSON.stringify(upstream.url)}`;
  const lines = ['servers:', '  echo:', server, 'auth:'];
  if (token) {
    lines.push(
      '  tokens:',
      `    - { id: bench, identity: bench, roles: [bench], token: ${JSON.stringify(token)} }`
    );
  }
  lines.push('  stdio: { identity: bench, roles: [bench] }');
  if (checks) {
    lines.push(
      'audit: { path: ./audit.jsonl }',
      'rules:',
      '  - id: echo-bench',
      '    tool: echo',
      '    allowed_roles: [bench]',
      '    parameter_constraints:',
      '      text: { maxLength: 1000 }'
    );
    // Scanning, where this build has it, stays at its defaults ("everything starts on"); with
    // `injection: false` the injection scorer is off in results and arguments (the rest of the
    // checks measured without the scorer, whose behaviours change more often than the pipeline).
    if (!injection && features.scanning?.includes('responses')) {
      lines.push('scanning: { responses: { injection: off }, arguments: { injection: off } }');
    }
  } else {
    lines.push(
      'validation: { arguments: false }',
      'audit: { enabled: false }',
      'rules:',
      '  - { tool: "*", allowed_roles: ["*"] }'
    );
    if (features.scanning) {
      const off = '{ injection: off, secrets: off, pii: off }';
      const parts = [];
      if (features.scanning.includes('descriptions')) parts.push('descriptions: { enabled: false }');
      if (features.scanning.includes('pins')) parts.push('pins: { enabled: false }');
      if (features.scanning.includes('responses')) parts.push(`responses: ${off}`);
      if (features.scanning.includes('arguments')) parts.push(`arguments: ${off}`);
      lines.push(`scanning: { ${parts.join(', ')} }`);
    }
    if (features.metrics) lines.push('metrics: { enabled: false }');
  }
  const file = join(dir, 'portcullis.yaml');
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  return file;
}

/** Which optional config sections the build in `dist` has (its schema is the source of truth). */
export async function configFeatures(dist) {
  const { configSchema } = await import(join(dist, 'config/schema.js'));
  const props = configSchema.properties ?? {};
  return {
    scanning: props.scanning ? Object.keys(props.scanning.properties ?? {}) : undefined,
    metrics: Boolean(props.metrics),
    auditFlush: props.audit?.properties?.flush?.enum
  };
}
