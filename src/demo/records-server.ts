#!/usr/bin/env node
/**
 * The demo "records" MCP server (stdio): a small in-memory customer record store with read and
 * destructive tools, each record a resource, and a prompt, written on the official SDK. It stands in for a real line-of-business server
 * behind the gateway in `portcullis demo` and in the tests.
 */
import { McpServer, fromJsonSchema } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';

interface RecordRow {
  id: string;
  name: string;
  email: string;
  tier: string;
}

const records = new Map<string, RecordRow>(
  [
    { id: 'r-1001', name: 'Ada Lovelace', email: 'ada@example.com', tier: 'gold' },
    { id: 'r-1002', name: 'Alan Turing', email: 'alan@example.com', tier: 'silver' },
    { id: 'r-1003', name: 'Grace Hopper', email: 'grace@example.com', tier: 'gold' },
    { id: 'r-1004', name: 'Edsger Dijkstra', email: 'edsger@example.com', tier: 'bronze' },
    { id: 'r-1005', name: 'Barbara Liskov', email: 'barbara@example.com', tier: 'silver' },
    { id: 'r-1006', name: 'Donald Knuth', email: 'don@example.com', tier: 'gold' },
    { id: 'r-1007', name: 'Frances Allen', email: 'fran@example.com', tier: 'bronze' }
  ].map((r) => [r.id, r])
);

const idSchema = fromJsonSchema<{ id: string }>({
  type: 'object',
  properties: { id: { type: 'string', pattern: '^r-[0-9]+$', description: 'Record id, e.g. r-1001' } },
  required: ['id'],
  additionalProperties: false
});

function text(value: unknown) {
  return {
    content: [
      { type: 'text' as const, text: typeof value === 'string' ? value : JSON.stringify(value, null, 2) }
    ]
  };
}

function build(): McpServer {
  const server = new McpServer({ name: 'records', version: '1.0.0' });
  server.registerTool(
    'list_records',
    {
      description: 'List all customer records (id and name).',
      inputSchema: fromJsonSchema({ type: 'object', properties: {}, additionalProperties: false }),
      annotations: { readOnlyHint: true }
    },
    async () => text([...records.values()].map(({ id, name }) => ({ id, name })))
  );
  server.registerTool(
    'get_record',
    { description: 'Read one customer record.', inputSchema: idSchema, annotations: { readOnlyHint: true } },
    async ({ id }) => {
      const row = records.get(id);
      return row ? text(row) : { ...text(`no record ${id}`), isError: true };
    }
  );
  server.registerTool(
    'delete_record',
    {
      description: 'Delete one customer record permanently.',
      inputSchema: idSchema,
      annotations: { destructiveHint: true, readOnlyHint: false }
    },
    async ({ id }) => {
      const existed = records.delete(id);
      return existed ? text(`deleted ${id}`) : { ...text(`no record ${id}`), isError: true };
    }
  );
  // Each record is also a resource (records://<id>), and a prompt asks for a summary of one: the
  // demo's policy lets both roles use the prompt and only admin read the records directly.
  for (const row of records.values()) {
    server.registerResource(
      row.id,
      `records://${row.id}`,
      { description: `Customer record ${row.id}.`, mimeType: 'application/json' },
      async (uri) => {
        const current = records.get(row.id);
        return { contents: [{ uri: uri.href, text: JSON.stringify(current ?? null, null, 2) }] };
      }
    );
  }
  server.registerPrompt(
    'summarise_record',
    { description: 'Ask for a one-paragraph summary of a customer record.', argsSchema: idSchema },
    ({ id }) => ({
      messages: [
        {
          role: 'user' as const,
          content: { type: 'text' as const, text: `Summarise customer record ${id} in one paragraph.` }
        }
      ]
    })
  );
  return server;
}

serveStdio(build);
