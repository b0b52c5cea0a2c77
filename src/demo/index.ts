/**
 * `portcullis demo`: the embedded default. Copies the bundled demo data (public/ and private/) to
 * a fresh folder, fills the bundled demo config with its paths and a random token per role, and
 * serves it over HTTP. No service or setup needed; the folder goes when the demo stops.
 */
import { cpSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { RE2JS } from 're2js';
import { loadConfig } from '../config/index.js';
import type { GatewayConfig } from '../config/types.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The package root: dist/demo/ is two levels down. */
export const PACKAGE_ROOT = resolve(here, '..', '..');

export interface DemoSetup {
  config: GatewayConfig;
  configFile: string;
  dataDir: string;
  /** The folder with the data, the audit log and the pins. */
  workDir: string;
  tokens: { admin: string; analyst: string; approver: string };
  /** Remove the folder, when prepareDemo made it (a folder it was given stays). */
  cleanup(): void;
}

export function newToken(): string {
  return `pcl_${randomBytes(24).toString('base64url')}`;
}

export function prepareDemo(options: { workDir?: string } = {}): DemoSetup {
  const owned = options.workDir === undefined;
  const work = realpathSync(options.workDir ?? mkdtempSync(join(tmpdir(), 'portcullis-demo-')));
  const dataDir = join(work, 'data');
  cpSync(join(PACKAGE_ROOT, 'demo', 'data'), dataDir, { recursive: true });
  const require = createRequire(import.meta.url);
  const tokens = { admin: newToken(), analyst: newToken(), approver: newToken() };
  const configFile = join(PACKAGE_ROOT, 'demo', 'portcullis.demo.yaml');
  const env = {
    PORTCULLIS_NODE: process.execPath,
    PORTCULLIS_DEMO_FILESYSTEM: require.resolve('@modelcontextprotocol/server-filesystem/dist/index.js'),
    PORTCULLIS_DEMO_RECORDS: join(here, 'records-server.js'),
    PORTCULLIS_DEMO_DATA: dataDir,
    PORTCULLIS_DEMO_DATA_RE: RE2JS.quote(dataDir),
    PORTCULLIS_DEMO_AUDIT: join(work, 'portcullis-audit.jsonl'),
    PORTCULLIS_DEMO_PINS: join(work, 'portcullis-pins.json'),
    PORTCULLIS_DEMO_ADMIN_TOKEN: tokens.admin,
    PORTCULLIS_DEMO_ANALYST_TOKEN: tokens.analyst,
    PORTCULLIS_DEMO_APPROVER_TOKEN: tokens.approver
  };
  const cleanup = () => {
    if (owned) rmSync(work, { recursive: true, force: true });
  };
  let config: GatewayConfig;
  try {
    config = loadConfig(configFile, { env });
  } catch (e) {
    cleanup();
    throw e;
  }
  return { config, configFile, dataDir, workDir: work, tokens, cleanup };
}

const listToolsBody = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/list',
  params: {
    _meta: {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientInfo': { name: 'curl', version: '1' },
      'io.modelcontextprotocol/clientCapabilities': {}
    }
  }
});

export function demoBanner(url: string, setup: DemoSetup): string {
  const mcp = `${url}/mcp`;
  return [
    '',
    `Portcullis demo is serving at ${mcp}`,
    '',
    `  admin token    (alice): ${setup.tokens.admin}`,
    `  analyst token  (bob):   ${setup.tokens.analyst}`,
    `  approver token (carol): ${setup.tokens.approver}`,
    '',
    `  console:     ${url}/admin   (sign in with carol's token to approve alice's delete_record calls)`,
    `  data folder: ${setup.dataDir}   (public/ is readable by analysts, private/ is not)`,
    `  audit log:   ${setup.config.audit.path}`,
    `  config:      ${setup.configFile}`,
    '',
    'List the tools an analyst may call (a 2026-07-28 request, no session needed):',
    '',
    `  curl -s ${mcp} -H 'Authorization: Bearer ${setup.tokens.analyst}' -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: tools/list' -d '${listToolsBody}'`,
    '',
    'Or connect any MCP client to the URL above with one of the tokens as a bearer token.',
    '',
    'Press Ctrl-C to stop.',
    ''
  ].join('\n');
}
