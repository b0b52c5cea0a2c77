// The benchmark's upstream: a minimal MCP server on the official SDK with one `echo` tool that
// takes `{ text: string }` and returns it. Imported by echo-stdio.mjs and echo-http.mjs so both
// transports serve exactly the same server.
import { McpServer, fromJsonSchema } from '@modelcontextprotocol/server';

export function buildEchoServer() {
  const server = new McpServer({ name: 'bench-echo', version: '1.0.0' });
  server.registerTool(
    'echo',
    {
      description: 'Returns the text it is given.',
      inputSchema: fromJsonSchema({
        type: 'object',
        properties: { text: { type: 'string' } },
        required: ['text']
      })
    },
    async ({ text }) => ({ content: [{ type: 'text', text }] })
  );
  return server;
}
