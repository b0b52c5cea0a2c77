/** `portcullis demo`: the bundled demo config and demo upstreams over HTTP. */
import type { Command } from 'commander';
import { createLogger } from '../log.js';
import { parsePort } from './options.js';
import { serve, serving } from './serving.js';

export function register(program: Command): void {
  program
    .command('demo')
    .description('serve the bundled demo config and demo upstreams over HTTP')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', parsePort, 8080)
    .action(async (opts: { host: string; port: number }) => {
      const log = createLogger();
      const { prepareDemo, demoBanner } = await serving();
      const setup = prepareDemo();
      // The demo's folder goes however the process ends: a signal (serve stops the gateway, then
      // exits), an error, or a normal exit. A signal before the gateway serves ends it at once.
      process.once('exit', () => setup.cleanup());
      const early = () => process.exit(0);
      process.once('SIGINT', early);
      process.once('SIGTERM', early);
      try {
        // The demo config is filled from the environment at start; it is not watched.
        await serve(setup.config, opts.host, opts.port, log, (url) => demoBanner(url, setup), false);
      } finally {
        process.off('SIGINT', early);
        process.off('SIGTERM', early);
      }
    });
}
