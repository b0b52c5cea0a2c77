/**
 * Traces over OTLP/HTTP from the built CLI (`npm run build` first) to a receiver this test runs (a
 * plain HTTP server on port 0 taking POST /v1/traces): a tool call's span arrives with the call's
 * attributes when OTEL_EXPORTER_OTLP_ENDPOINT or `telemetry.otlp` names it, and nothing is sent
 * when neither does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ANALYST_TOKEN,
  CLI,
  NODE,
  RECORDS,
  connect,
  tempDir,
  tokensYaml,
  tryCall,
  waitFor
} from '../helpers.js';

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: OtlpTraces;
}
interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
}
interface OtlpSpan {
  name: string;
  attributes: Array<{ key: string; value: OtlpValue }>;
}
interface OtlpTraces {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: OtlpValue }> };
    scopeSpans: Array<{ spans: OtlpSpan[] }>;
  }>;
}

let receiver: Server;
let endpoint: string;
const received: Received[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let text = '';
    req.on('data', (b: Buffer) => (text += b.toString('utf8')));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(text) as OtlpTraces });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  endpoint = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
});
afterAll(() => receiver?.close());
afterEach(() => {
  received.length = 0;
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function configFile(extra = ''): string {
  const file = join(tempDir(), 'portcullis.yaml');
  writeFileSync(
    file,
    `servers:
  records: { command: ${NODE}, args: ["${RECORDS}"] }
auth:${tokensYaml}
audit: { path: ./audit.jsonl }
rules:
  - { tool: list_records, allowed_roles: [analyst] }
${extra}`,
    { mode: 0o600 }
  );
  return file;
}

/** `portcullis serve` on port 0 with this environment (nothing of OTEL_* from ours); its MCP URL. */
async function serve(
  file: string,
  env: Record<string, string>
): Promise<{ child: ChildProcess; mcp: string }> {
  const child = spawn(NODE, [CLI, 'serve', '--config', file, '--port', '0'], {
    env: { PATH: process.env.PATH ?? '', PORTCULLIS_LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'ignore', 'pipe']
  });
  children.push(child);
  for await (const line of createInterface({ input: child.stderr! })) {
    const entry = JSON.parse(line) as { msg?: string; url?: string };
    if (entry.msg === 'serving' && entry.url) return { child, mcp: entry.url };
  }
  throw new Error('the gateway stopped before serving');
}

/** One allowed and one denied call, then a clean stop (which sends any spans still buffered). */
async function callsThenStop(gateway: { child: ChildProcess; mcp: string }): Promise<void> {
  const client = await connect(gateway.mcp, ANALYST_TOKEN);
  expect((await tryCall(client, 'records__list_records', {})).ok).toBe(true);
  expect((await tryCall(client, 'records__delete_record', { id: 'r-1001' })).ok).toBe(false);
  await client.close();
  const exited = once(gateway.child, 'exit');
  gateway.child.kill('SIGTERM');
  await exited;
}

const spans = () =>
  received.flatMap((r) => r.body.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans)));
const attributes = (span: OtlpSpan) =>
  Object.fromEntries(
    span.attributes.map((a) => [a.key, a.value.stringValue ?? a.value.intValue ?? a.value.doubleValue])
  );
const callSpan = (tool: string) =>
  spans().find((s) => s.name === 'portcullis tools/call' && attributes(s)['portcullis.tool'] === tool);

describe('traces over OTLP/HTTP', () => {
  it("sends a tool call's span with the call's attributes to OTEL_EXPORTER_OTLP_ENDPOINT", async () => {
    const gateway = await serve(configFile(), {
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '100'
    });
    await callsThenStop(gateway);
    await waitFor(() => callSpan('delete_record') !== undefined, 10_000, 'the spans');
    expect(received.every((r) => r.path === '/v1/traces')).toBe(true);
    expect(attributes(callSpan('list_records')!)).toMatchObject({
      'mcp.tool.name': 'records__list_records',
      'gen_ai.tool.name': 'records__list_records',
      'enduser.id': 'bob',
      'portcullis.server': 'records',
      'portcullis.tool': 'list_records',
      'portcullis.decision': 'allow',
      'portcullis.outcome': 'ok'
    });
    expect(attributes(callSpan('delete_record')!)).toMatchObject({
      'portcullis.server': 'records',
      'portcullis.decision': 'deny',
      'portcullis.outcome': 'denied',
      'portcullis.code': 'no_rule'
    });
    const resource = Object.fromEntries(
      received[0]!.body.resourceSpans[0]!.resource.attributes.map((a) => [a.key, a.value.stringValue])
    );
    expect(resource['service.name']).toBe('portcullis');
  });

  it('sends to telemetry.otlp.endpoint with its headers', async () => {
    const file = configFile(
      `telemetry:\n  otlp: { endpoint: "${endpoint}/", headers: { x-api-key: collector-key } }\n`
    );
    await callsThenStop(await serve(file, {}));
    await waitFor(() => callSpan('list_records') !== undefined, 10_000, 'the spans');
    expect(received[0]?.path).toBe('/v1/traces');
    expect(received[0]?.headers['x-api-key']).toBe('collector-key');
  });

  it('sends nothing when no endpoint is set', async () => {
    await callsThenStop(await serve(configFile(), {}));
    expect(received).toEqual([]);
  });
});
