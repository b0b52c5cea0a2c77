#!/usr/bin/env node
// The baseline for the session benchmark: the echo server (bench/overhead/echo-server.mjs) served
// the way the official SDK documents stateful Streamable HTTP: one McpServer and one transport per
// Mcp-Session-Id, ended by DELETE. Usage: node sdk-server.mjs [port]; prints the port.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { isInitializeRequest } from '@modelcontextprotocol/server';
import { buildEchoServer } from '../overhead/echo-server.mjs';

const sessions = new Map();

async function readJson(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
}

const http = createServer(async (req, res) => {
  const body = req.method === 'POST' ? await readJson(req) : undefined;
  const id = req.headers['mcp-session-id'];
  if (typeof id === 'string') {
    const transport = sessions.get(id);
    if (!transport) return res.writeHead(404).end();
    return transport.handleRequest(req, res, body);
  }
  if (req.method !== 'POST' || !isInitializeRequest(body)) return res.writeHead(400).end();
  const transport = new NodeStreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    onsessioninitialized: (sid) => sessions.set(sid, transport)
  });
  transport.onclose = () => {
    if (transport.sessionId) sessions.delete(transport.sessionId);
  };
  await buildEchoServer().connect(transport);
  await transport.handleRequest(req, res, body);
});
http.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () =>
  process.stdout.write(`${http.address().port}\n`)
);
process.on('SIGTERM', () => process.exit(0));
