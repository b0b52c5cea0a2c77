/** `portcullis stdio`: one agent on stdin/stdout; logs go to stderr. */
import type { Command } from 'commander';
import { GatewayError } from '../errors.js';
import { createLogger } from '../log.js';
import { loadToServe } from './load-config.js';
import { UserError } from './output.js';
import { onSignals, serving, tracing } from './serving.js';

export function register(program: Command): void {
  program
    .command('stdio')
    .description('serve one agent on stdin/stdout (logs go to stderr)')
    .requiredOption('--config <file>', 'configuration file')
    .action(serveStdio);
}

async function serveStdio(opts: { config: string }): Promise<void> {
  const config = loadToServe(opts.config);
  if (config.audit.enabled && config.audit.path === 'stdout') {
    throw new UserError(
      'audit.path: stdout carries the protocol under `portcullis stdio`; use stderr or a file'
    );
  }
  const log = createLogger();
  const { createGateway, serveGatewayStdio, watchConfig, openSharedState } = await serving();
  const traces = await tracing(config, log);
  const gateway = createGateway({ config, log, state: await openSharedState(config.state, log) });
  const watcher = watchConfig(config.source, gateway, log);
  let handle;
  try {
    handle = serveGatewayStdio(gateway, log);
  } catch (e) {
    await gateway.close();
    await traces?.shutdown();
    if (e instanceof GatewayError) throw new UserError(e.detail);
    throw e;
  }
  onSignals(async () => {
    watcher.close();
    await handle.close();
    await traces?.shutdown();
  }, log);
  await handle.closed;
  watcher.close();
  await traces?.shutdown();
  process.exit(0);
}
