/** `portcullis serve`: Streamable HTTP at /mcp, legacy SSE at /sse, and /healthz. */
import type { Command } from 'commander';
import { createLogger } from '../log.js';
import { loadToServe } from './load-config.js';
import { parsePort } from './options.js';
import { serve } from './serving.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve Streamable HTTP at /mcp, legacy SSE at /sse, and /healthz')
    .requiredOption('--config <file>', 'configuration file')
    .option('--host <host>', 'address to listen on (default from config, else 127.0.0.1)')
    .option('--port <port>', 'port to listen on (default from config, else 8080)', parsePort)
    .action(async (opts: { config: string; host?: string; port?: number }) => {
      const config = loadToServe(opts.config);
      await serve(config, opts.host ?? config.listen.host, opts.port ?? config.listen.port, createLogger());
    });
}
