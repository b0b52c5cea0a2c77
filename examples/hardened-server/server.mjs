#!/usr/bin/env node
// An MCP server written with the hardening kit: strict arguments, structured results, an
// operation log on stderr, and a program run with an argument array (never a shell string).
// Run it behind the gateway like any stdio server: `command: node`, `args: [examples/hardened-server/server.mjs]`.
import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { defineTool, runProgram } from '../../dist/kit/index.js';

const log = (record) => process.stderr.write(`${JSON.stringify({ op: record })}\n`);

serveStdio(() => {
  const server = new McpServer({ name: 'hardened-example', version: '1.0.0' });
  defineTool(
    server,
    {
      name: 'word_count',
      description: 'Count the words in a text.',
      inputSchema: {
        type: 'object',
        properties: { text: { type: 'string', maxLength: 100000 } },
        required: ['text']
      },
      annotations: { readOnlyHint: true },
      handler: ({ text }) => ({ words: text.split(/\s+/).filter(Boolean).length })
    },
    { onOperation: log }
  );
  defineTool(
    server,
    {
      name: 'list_directory',
      description: 'List a directory with ls.',
      inputSchema: {
        type: 'object',
        properties: { path: { type: 'string', pattern: '^[^-]', maxLength: 4096 } },
        required: ['path']
      },
      annotations: { readOnlyHint: true },
      handler: async ({ path }) => {
        // The path is one argument to ls, whatever characters it holds.
        const r = await runProgram('ls', ['-1', '--', path], { timeoutMs: 5000 });
        return { code: r.code, entries: r.stdout.split('\n').filter(Boolean) };
      }
    },
    { onOperation: log }
  );
  return server;
});
