/**
 * What the serving commands (demo, serve, stdio) share: loading the serving stack on demand,
 * serving HTTP with a banner, and stopping cleanly on SIGINT/SIGTERM.
 */
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/types.js';
import { out, UserError } from './output.js';

// The serving stack (MCP SDK, transports) loads only for the commands that serve.
export const serving = async () => {
  const [{ createGateway }, { serveHttp }, { serveGatewayStdio }, { watchConfig }, demo] = await Promise.all([
    import('../core/gateway.js'),
    import('../transports/http.js'),
    import('../transports/stdio.js'),
    import('../config/watch.js'),
    import('../demo/index.js')
  ]);
  const { openSharedState } = await import('../state/open.js');
  return { createGateway, serveHttp, serveGatewayStdio, watchConfig, openSharedState, ...demo };
};

/** Export traces when the config or the environment names an OTLP endpoint (src/telemetry). */
export async function tracing(config: GatewayConfig, log: Logger) {
  const [{ startTracing }, { SERVER_INFO }] = await Promise.all([
    import('../telemetry/index.js'),
    import('../transports/mcp-server.js')
  ]);
  return startTracing(config, log, SERVER_INFO.version);
}

export function onSignals(close: () => Promise<void>, log: Logger, graceMs = 10_000): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), graceMs + 5_000);
    force.unref();
    close()
      .catch((e: unknown) => log.error({ err: String(e) }, 'error while stopping'))
      .finally(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** Serve `config` over HTTP until a signal; `banner` prints once listening. */
export async function serve(
  config: GatewayConfig,
  host: string,
  port: number,
  log: Logger,
  banner?: (url: string) => string,
  watch = true
) {
  const { createGateway, serveHttp, watchConfig, openSharedState } = await serving();
  const traces = await tracing(config, log);
  const gateway = createGateway({ config, log, state: await openSharedState(config.state, log) });
  const watcher = watch ? watchConfig(config.source, gateway, log) : undefined;
  let http;
  try {
    http = await serveHttp(gateway, log, { host, port });
  } catch (e) {
    await gateway.close();
    await traces?.shutdown();
    throw new UserError(`cannot listen on ${host}:${port}: ${(e as Error).message}`);
  }
  log.info(
    { url: `${http.url}/mcp`, servers: Object.keys(config.servers), policy: gateway.policy().version },
    'serving'
  );
  if (banner) out(banner(http.url));
  onSignals(
    async () => {
      watcher?.close();
      await http.close(config.limits.shutdown_grace_s * 1000);
      await gateway.close();
      // The spans of the last calls are sent before the process ends.
      await traces?.shutdown();
    },
    log,
    config.limits.shutdown_grace_s * 1000
  );
}
