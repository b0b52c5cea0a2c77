#!/usr/bin/env node
/**
 * The `portcullis` command. Exit codes: 0 ok, 1 user error (bad config, failed check),
 * 2 usage. Human output goes to stdout except under `stdio`, where stdout is the protocol.
 */
import { writeSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import type { Logger } from 'pino';
import { loadConfig } from './config/index.js';
import type { GatewayConfig } from './config/types.js';
import { ConfigError, GatewayError } from './errors.js';
import { createLogger } from './log.js';
import { compilePolicy } from './policy/index.js';

// The serving stack (MCP SDK, transports) loads only for the commands that serve.
const serving = async () => {
  const [{ createGateway }, { serveHttp }, { serveGatewayStdio }, demo] = await Promise.all([
    import('./core/gateway.js'),
    import('./transports/http.js'),
    import('./transports/stdio.js'),
    import('./demo/index.js')
  ]);
  return { createGateway, serveHttp, serveGatewayStdio, ...demo };
};

const out = (text: string) => writeSync(1, text.endsWith('\n') ? text : `${text}\n`);
const err = (text: string) => writeSync(2, text.endsWith('\n') ? text : `${text}\n`);

class UserError extends Error {}

function load(file: string): GatewayConfig {
  try {
    return loadConfig(file);
  } catch (e) {
    if (e instanceof ConfigError) throw new UserError(`invalid configuration:\n${e.message}`);
    throw e;
  }
}

function onSignals(close: () => Promise<void>, log: Logger): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    close()
      .catch((e: unknown) => log.error({ err: String(e) }, 'error while stopping'))
      .finally(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

async function serve(
  config: GatewayConfig,
  host: string,
  port: number,
  log: Logger,
  banner?: (url: string) => string
) {
  const { createGateway, serveHttp } = await serving();
  const gateway = createGateway({ config, log });
  let http;
  try {
    http = await serveHttp(gateway, log, { host, port });
  } catch (e) {
    await gateway.close();
    throw new UserError(`cannot listen on ${host}:${port}: ${(e as Error).message}`);
  }
  log.info(
    { url: `${http.url}/mcp`, servers: Object.keys(config.servers), policy: gateway.policy().version },
    'serving'
  );
  if (banner) out(banner(http.url));
  onSignals(async () => {
    await http.close();
    await gateway.close();
  }, log);
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new CommanderError(2, 'portcullis.port', `invalid port: ${value}`);
  return n;
}

export function buildProgram(): Command {
  const program = new Command('portcullis')
    .description('A security gateway for MCP tool servers.')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: err });

  program
    .command('demo')
    .description('serve the bundled demo config and demo upstreams over HTTP')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', parsePort, 8080)
    .action(async (opts: { host: string; port: number }) => {
      const log = createLogger();
      const { prepareDemo, demoBanner } = await serving();
      const setup = prepareDemo();
      await serve(setup.config, opts.host, opts.port, log, (url) => demoBanner(url, setup));
    });

  program
    .command('stdio')
    .description('serve one agent on stdin/stdout (logs go to stderr)')
    .requiredOption('--config <file>', 'configuration file')
    .action(async (opts: { config: string }) => {
      const config = load(opts.config);
      const log = createLogger();
      const { createGateway, serveGatewayStdio } = await serving();
      const gateway = createGateway({ config, log });
      let handle;
      try {
        handle = serveGatewayStdio(gateway, log);
      } catch (e) {
        await gateway.close();
        if (e instanceof GatewayError) throw new UserError(e.detail);
        throw e;
      }
      onSignals(() => handle.close(), log);
      await handle.closed;
      process.exit(0);
    });

  program
    .command('serve')
    .description('serve Streamable HTTP at /mcp, legacy SSE at /sse, and /healthz')
    .requiredOption('--config <file>', 'configuration file')
    .option('--host <host>', 'address to listen on (default from config, else 127.0.0.1)')
    .option('--port <port>', 'port to listen on (default from config, else 8080)', parsePort)
    .action(async (opts: { config: string; host?: string; port?: number }) => {
      const config = load(opts.config);
      await serve(config, opts.host ?? config.listen.host, opts.port ?? config.listen.port, createLogger());
    });

  const policy = program.command('policy').description('check and explain policies');
  policy
    .command('check')
    .description('validate a whole config or a rules-only file')
    .argument('<file>')
    .action((file: string) => {
      const config = load(file);
      out(
        `ok: ${config.source}: ${config.rules.length} rule(s), ${Object.keys(config.servers).length} server(s)`
      );
    });

  policy
    .command('explain')
    .description('show the decision for one call and every rule that was considered')
    .requiredOption('--config <file>', 'configuration file')
    .requiredOption('--role <role...>', 'role(s) of the caller')
    .requiredOption('--tool <tool>', 'tool name: <server>__<tool>, or the bare tool with --server')
    .option('--server <server>', 'server of the tool')
    .option('--args <json>', 'arguments as a JSON object', '{}')
    .addOption(new Option('--json', 'print the explanation as JSON'))
    .action(
      (opts: {
        config: string;
        role: string[];
        tool: string;
        server?: string;
        args: string;
        json?: boolean;
      }) => {
        const config = load(opts.config);
        let args: unknown;
        try {
          args = JSON.parse(opts.args);
        } catch (e) {
          throw new UserError(`--args is not JSON: ${(e as Error).message}`);
        }
        if (!args || typeof args !== 'object' || Array.isArray(args))
          throw new UserError('--args must be a JSON object');
        let server = opts.server;
        let tool = opts.tool;
        const sep = tool.indexOf('__');
        if (server === undefined && sep > 0 && tool.slice(0, sep) in config.servers) {
          server = tool.slice(0, sep);
          tool = tool.slice(sep + 2);
        }
        if (server === undefined)
          throw new UserError('name the server: --server S, or --tool <server>__<tool>');
        const { decision, trace } = compilePolicy(config.rules).explain({
          roles: opts.role,
          server,
          tool,
          args: args as Record<string, unknown>
        });
        if (opts.json) {
          out(JSON.stringify({ server, tool, roles: opts.role, decision, trace }, null, 2));
          return;
        }
        out(`decision: ${decision.effect.toUpperCase()}${decision.code ? ` (${decision.code})` : ''}`);
        out(`reason:   ${decision.reason}`);
        out(`rules:    ${decision.rules.join(', ') || '(none)'}`);
        out('');
        for (const t of trace) {
          out(`${t.matched ? '*' : ' '} ${t.rule}${t.matched ? '' : ' (not applicable)'}`);
          for (const note of t.notes) out(`    - ${note}`);
        }
      }
    );

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0)
        return 0;
      if (e.code === 'portcullis.port') err(`error: ${e.message}`);
      return 2;
    }
    if (e instanceof UserError) {
      err(`error: ${e.message}`);
      return 1;
    }
    err(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 1;
  }
}

const code = await main(process.argv);
if (code !== 0) process.exit(code);
