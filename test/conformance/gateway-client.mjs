#!/usr/bin/env node
// The gateway as the client under test in the conformance suite's client scenarios:
// `conformance client --command "node gateway-client.mjs"` appends the scenario server's URL and
// names the scenario in MCP_CONFORMANCE_SCENARIO. This starts Portcullis (from dist/) in this
// process with that server as its only upstream, connects an SDK client to the gateway, and does
// through the gateway what the scenario expects a client to do. Exit 0 when the client side
// completed; the suite judges what the server saw.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { pino } from 'pino';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { loadConfig } = await import(join(ROOT, 'dist/config/index.js'));
const { createGateway } = await import(join(ROOT, 'dist/core/gateway.js'));
const { serveHttp } = await import(join(ROOT, 'dist/transports/http.js'));

const upstream = process.argv.at(-1);
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
const TOKEN = 'conformance-client-token-0123456789';

const dir = mkdtempSync(join(tmpdir(), 'portcullis-conformance-client-'));
const file = join(dir, 'portcullis.yaml');
writeFileSync(
  file,
  `servers:
  upstream: { url: "${upstream}", namespace: false }
auth:
  tokens:
    - { id: c, identity: conformance, roles: [tester], token: ${TOKEN} }
audit: { path: ./audit.jsonl }
rules:
  - { tool: "*", allowed_roles: [tester] }
  - { prompt: "*", allowed_roles: [tester] }
  - { resource: "**", allowed_roles: [tester] }
`,
  { mode: 0o600 }
);
const log = pino({ level: process.env.PORTCULLIS_LOG_LEVEL ?? 'silent' });
const gateway = createGateway({ config: loadConfig(file), log });
const http = await serveHttp(gateway, log, { host: '127.0.0.1', port: 0 });

const client = new Client(
  { name: 'conformance-agent', version: '1.0.0' },
  { capabilities: { elicitation: { form: { applyDefaults: true } } }, versionNegotiation: { mode: 'legacy' } }
);
// The agent answers elicitation by accepting with nothing filled in: defaults are the point.
client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: {} }));

let code = 0;
try {
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${http.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } }
    })
  );
  // The gateway reaches its upstream on first use: listing tools is that use.
  const { tools } = await client.listTools();
  if (scenario === 'tools_call') {
    await client.callTool({ name: 'add_numbers', arguments: { a: 5, b: 3 } });
  } else if (scenario === 'elicitation-sep1034-client-defaults') {
    await client.callTool({ name: 'test_client_elicitation_defaults', arguments: {} });
  } else if (scenario === 'sse-retry') {
    await client.callTool({ name: 'test_reconnection', arguments: {} });
  } else if (scenario !== 'initialize') {
    for (const tool of tools)
      await client.callTool({ name: tool.name, arguments: {} }).catch(() => undefined);
  }
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  code = 1;
} finally {
  await client.close().catch(() => undefined);
  await http.close();
  await gateway.close();
}
process.exit(code);
