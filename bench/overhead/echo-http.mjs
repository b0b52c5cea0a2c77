#!/usr/bin/env node
// The echo server over Streamable HTTP at /mcp (both protocol eras), on node:http.
// Usage: node echo-http.mjs [port]; prints the port it listens on, then serves until killed.
import { createServer } from 'node:http';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler } from '@modelcontextprotocol/server';
import { buildEchoServer } from './echo-server.mjs';

const handle = toNodeHandler(createMcpHandler(buildEchoServer));
const server = createServer((req, res) => {
  if (new URL(req.url ?? '/', 'http://x').pathname !== '/mcp') {
    res.writeHead(404).end();
    return;
  }
  void handle(req, res);
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
