#!/usr/bin/env node
// The echo server over stdio (newline-delimited JSON-RPC on stdin/stdout).
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { buildEchoServer } from './echo-server.mjs';

serveStdio(buildEchoServer);
