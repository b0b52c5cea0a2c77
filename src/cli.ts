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
import {
  createTokenEntry,
  readTokenFile,
  revokeTokenEntry,
  rotateTokenEntry,
  tokenProblem
} from './auth/token-file.js';
import { readLastUsed } from './auth/token-watch.js';
import { permissionProblems } from './security/permissions.js';

// The serving stack (MCP SDK, transports) loads only for the commands that serve.
const serving = async () => {
  const [{ createGateway }, { serveHttp }, { serveGatewayStdio }, { watchConfig }, demo] = await Promise.all([
    import('./core/gateway.js'),
    import('./transports/http.js'),
    import('./transports/stdio.js'),
    import('./config/watch.js'),
    import('./demo/index.js')
  ]);
  const { openSharedState } = await import('./state/open.js');
  return { createGateway, serveHttp, serveGatewayStdio, watchConfig, openSharedState, ...demo };
};

const out = (text: string) => writeSync(1, text.endsWith('\n') ? text : `${text}\n`);
const err = (text: string) => writeSync(2, text.endsWith('\n') ? text : `${text}\n`);

class UserError extends Error {}

interface AuditSourceOptions {
  postgres?: string;
  table?: string;
  config?: string;
}
type AuditSource = { kind: 'file'; path: string } | { kind: 'postgres'; url: string; table: string };

interface ExplainOptions {
  config: string;
  role: string[];
  tool: string;
  server?: string;
  args: string;
  json?: boolean;
  user?: string;
  agent?: string;
  time?: string;
  history?: string[];
  risk: string;
}

function load(file: string): GatewayConfig {
  try {
    return loadConfig(file);
  } catch (e) {
    if (e instanceof ConfigError) throw new UserError(`invalid configuration:\n${e.message}`);
    throw e;
  }
}

/** Load a config to serve from: also refuse files others could have changed. */
function loadToServe(file: string): GatewayConfig {
  const config = load(file);
  if (config.security.check_permissions) {
    const problems = permissionProblems([
      config.source,
      ...(config.auth.tokens_file ? [config.auth.tokens_file] : [])
    ]);
    if (problems.length > 0) {
      throw new UserError(
        `refusing to start:\n${problems.join('\n')}\n(set security.check_permissions: false to override)`
      );
    }
  }
  return config;
}

/** `90s`, `15m`, `12h`, `30d` in seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!m) throw new UserError(`not a duration: "${text}" (use e.g. 90s, 15m, 12h, 30d)`);
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

/** The token file a token command works on: --file, or the config's auth.tokens. */
function tokenFile(opts: { file?: string; config?: string }): string {
  if (opts.file) return opts.file;
  if (opts.config) {
    const config = load(opts.config);
    if (config.auth.tokens_file) return config.auth.tokens_file;
    throw new UserError(`${opts.config}: auth.tokens is not a file path`);
  }
  throw new UserError('name the token file: --file F, or --config F whose auth.tokens is a file');
}

function onSignals(close: () => Promise<void>, log: Logger, graceMs = 10_000): void {
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

async function serve(
  config: GatewayConfig,
  host: string,
  port: number,
  log: Logger,
  banner?: (url: string) => string,
  watch = true
) {
  const { createGateway, serveHttp, watchConfig, openSharedState } = await serving();
  const gateway = createGateway({ config, log, state: await openSharedState(config.state, log) });
  const watcher = watch ? watchConfig(config.source, gateway, log) : undefined;
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
  onSignals(
    async () => {
      watcher?.close();
      await http.close(config.limits.shutdown_grace_s * 1000);
      await gateway.close();
    },
    log,
    config.limits.shutdown_grace_s * 1000
  );
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
      // The demo config is filled from the environment at start; it is not watched.
      await serve(setup.config, opts.host, opts.port, log, (url) => demoBanner(url, setup), false);
    });

  program
    .command('stdio')
    .description('serve one agent on stdin/stdout (logs go to stderr)')
    .requiredOption('--config <file>', 'configuration file')
    .action(async (opts: { config: string }) => {
      const config = loadToServe(opts.config);
      if (config.audit.enabled && config.audit.path === 'stdout') {
        throw new UserError(
          'audit.path: stdout carries the protocol under `portcullis stdio`; use stderr or a file'
        );
      }
      const log = createLogger();
      const { createGateway, serveGatewayStdio, watchConfig, openSharedState } = await serving();
      const gateway = createGateway({ config, log, state: await openSharedState(config.state, log) });
      const watcher = watchConfig(config.source, gateway, log);
      let handle;
      try {
        handle = serveGatewayStdio(gateway, log);
      } catch (e) {
        await gateway.close();
        if (e instanceof GatewayError) throw new UserError(e.detail);
        throw e;
      }
      onSignals(async () => {
        watcher.close();
        await handle.close();
      }, log);
      await handle.closed;
      watcher.close();
      process.exit(0);
    });

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
    .command('test')
    .description('run policy test files: each case names a call and the decision it must get')
    .argument('<files...>')
    .action(async (files: string[]) => {
      const { runPolicyTestFile } = await import('./policy/testing.js');
      let passed = 0;
      let failed = 0;
      for (const file of files) {
        let results;
        try {
          results = runPolicyTestFile(file);
        } catch (e) {
          if (e instanceof ConfigError) throw new UserError(`invalid policy test file:\n${e.message}`);
          throw e;
        }
        for (const r of results) {
          if (r.passed) {
            passed++;
            out(`ok   ${r.name}`);
          } else {
            failed++;
            out(`FAIL ${r.name} (${r.file}:${r.line})`);
            for (const p of r.problems) out(`       ${p}`);
            out(`       reason: ${r.decision.reason}`);
          }
        }
      }
      out(`${passed} passed, ${failed} failed`);
      if (failed > 0) throw new UserError(`${failed} policy test(s) failed`);
    });

  policy
    .command('explain')
    .description('show the decision for one call and every rule that was considered')
    .requiredOption('--config <file>', 'configuration file')
    .requiredOption('--role <role...>', 'role(s) of the caller')
    .requiredOption('--tool <tool>', 'tool name: <server>__<tool>, or the bare tool with --server')
    .option('--server <server>', 'server of the tool')
    .option('--args <json>', 'arguments as a JSON object', '{}')
    .option('--user <id>', 'the caller (for principal conditions)')
    .option('--agent <id>', 'the client acting for the user')
    .option('--time <iso>', 'decide as of this time (default now)')
    .option('--history <tools...>', 'earlier calls in the session, oldest first (server__tool)')
    .option('--risk <n>', 'the session risk so far', '0')
    .addOption(new Option('--json', 'print the explanation as JSON'))
    .action((opts: ExplainOptions) => {
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
      const now = opts.time !== undefined ? Date.parse(opts.time) : Date.now();
      if (Number.isNaN(now)) throw new UserError(`--time is not an ISO date-time: ${opts.time}`);
      const risk = Number(opts.risk);
      if (!Number.isFinite(risk) || risk < 0) throw new UserError('--risk must be a number >= 0');
      const history = (opts.history ?? []).map((name, i, all) => {
        const k = name.indexOf('__');
        return {
          server: k > 0 ? name.slice(0, k) : '',
          tool: k > 0 ? name.slice(k + 2) : name,
          at: now - (all.length - i) * 1000
        };
      });
      const { decision, trace } = compilePolicy(config.rules, config.policy).explain({
        roles: opts.role,
        server,
        tool,
        args: args as Record<string, unknown>,
        identity: {
          id: opts.user ?? 'explain',
          ...(opts.agent ? { agent: opts.agent } : {}),
          method: 'token'
        },
        now,
        history,
        risk
      });
      if (opts.json) {
        out(JSON.stringify({ server, tool, roles: opts.role, decision, trace }, null, 2));
        return;
      }
      out(`decision: ${decision.effect.toUpperCase()}${decision.code ? ` (${decision.code})` : ''}`);
      out(`reason:   ${decision.reason}`);
      out(`rules:    ${decision.rules.join(', ') || '(none)'}`);
      if (decision.risk > 0) out(`risk:     +${decision.risk}`);
      if (decision.observed) {
        const o = decision.observed;
        out(
          `observed: ${o.effect.toUpperCase()}${o.code ? ` (${o.code})` : ''} in observe mode: ${o.reason}`
        );
      }
      out('');
      for (const t of trace) {
        out(`${t.matched ? '*' : ' '} ${t.rule}${t.matched ? '' : ' (not applicable)'}`);
        for (const note of t.notes) out(`    - ${note}`);
      }
    });

  program
    .command('init')
    .description('write a commented starter portcullis.yaml')
    .option('--config <file>', 'file to write', 'portcullis.yaml')
    .option('--force', 'replace an existing file')
    .action(async (o: { config: string; force?: boolean }) => {
      const { writeStarterConfig, SetupError } = await import('./setup/index.js');
      try {
        const file = writeStarterConfig(o.config, { force: o.force === true });
        out(`wrote ${file}\nnext: portcullis policy check ${file}`);
      } catch (e) {
        if (e instanceof SetupError) throw new UserError(e.message);
        throw e;
      }
    });
  program
    .command('wrap')
    .description("move an MCP client's servers behind Portcullis and point the client at it")
    .argument(
      '<client-config>',
      'claude_desktop_config.json, .cursor/mcp.json, .vscode/mcp.json or .mcp.json'
    )
    .addOption(new Option('--format <format>').choices(['claude-desktop', 'cursor', 'vscode', 'claude-code']))
    .option('--config <file>', 'portcullis.yaml to move the servers into', 'portcullis.yaml')
    .option('--only <names...>', 'move only these servers')
    .option('--dry-run', 'show the diff, write nothing')
    .action(
      async (
        client: string,
        o: {
          format?: 'claude-desktop' | 'cursor' | 'vscode' | 'claude-code';
          config: string;
          only?: string[];
          dryRun?: boolean;
        }
      ) => {
        const { wrap, SetupError } = await import('./setup/index.js');
        const { resolve: resolvePath } = await import('node:path');
        // From an installed package the client runs `npx portcullis`; from a clone, this very CLI.
        const fromClone = !import.meta.url.includes('/node_modules/');
        const self = fromClone
          ? {
              command: process.execPath,
              args: [new URL(import.meta.url).pathname, 'stdio', '--config', resolvePath(o.config)]
            }
          : undefined;
        try {
          const r = wrap(client, {
            portcullisConfig: o.config,
            ...(o.format ? { format: o.format } : {}),
            ...(o.only ? { only: o.only } : {}),
            ...(o.dryRun ? { dryRun: true } : {}),
            ...(self ? { command: self } : {})
          });
          if (o.dryRun && r.diff) out(r.diff);
          for (const w of r.warnings) err(`warning: ${w}`);
          out(r.message);
          if (r.backup) out(`backup: ${r.backup} (portcullis unwrap ${r.clientPath} restores it)`);
        } catch (e) {
          if (e instanceof SetupError) throw new UserError(e.message);
          throw e;
        }
      }
    );
  program
    .command('unwrap')
    .description('restore the client config from the newest backup wrap made')
    .argument('<client-config>')
    .action(async (client: string) => {
      const { unwrap, SetupError } = await import('./setup/index.js');
      try {
        out(unwrap(client).message);
      } catch (e) {
        if (e instanceof SetupError) throw new UserError(e.message);
        throw e;
      }
    });

  program
    .command('scan')
    .description('connect to the configured servers and report risky tools, prompts and resources')
    .requiredOption('--config <file>', 'configuration file')
    .option('--server <name>', 'only this server')
    .addOption(new Option('--format <format>', 'output').choices(['text', 'json', 'sarif']).default('text'))
    .addOption(
      new Option('--fail-on <severity>', 'exit 1 on findings this severe or worse')
        .choices(['low', 'medium', 'high', 'critical'])
        .default('high')
    )
    .option('--update-pins', 'record the current tool sets as the pins to compare with next time')
    .action(
      async (opts: {
        config: string;
        server?: string;
        format: 'text' | 'json' | 'sarif';
        failOn: 'low' | 'medium' | 'high' | 'critical';
        updatePins?: boolean;
      }) => {
        const config = load(opts.config);
        if (opts.server !== undefined && !(opts.server in config.servers)) {
          throw new UserError(`no server "${opts.server}" in ${config.source}`);
        }
        const { scanServers, formatText, formatSarif, worstAtLeast } = await import('./survey/index.js');
        const report = await scanServers(config, createLogger('error'), {
          ...(opts.server ? { only: opts.server } : {}),
          ...(opts.updatePins ? { updatePins: true } : {})
        });
        if (opts.format === 'json') out(JSON.stringify(report, null, 2));
        else if (opts.format === 'sarif') out(JSON.stringify(formatSarif(report, config, '0.1.0'), null, 2));
        else out(formatText(report));
        if (worstAtLeast(report, opts.failOn)) throw new UserError(`findings at or above ${opts.failOn}`);
      }
    );

  const auditCmd = program.command('audit').description('verify, follow and search the audit log');
  /** Where a log is, named the one way the user chose: a file, --postgres URL, or --config F. */
  const auditSource = (log: string | undefined, opts: AuditSourceOptions): AuditSource => {
    const given = [log, opts.postgres, opts.config].filter((x) => x !== undefined).length;
    if (given !== 1)
      throw new CommanderError(
        2,
        'portcullis.usage',
        'name one audit log: a file, --postgres URL or --config FILE'
      );
    if (opts.table !== undefined && opts.postgres === undefined)
      throw new CommanderError(
        2,
        'portcullis.usage',
        '--table goes with --postgres (with --config, the config names the table)'
      );
    if (opts.postgres !== undefined) {
      return { kind: 'postgres', url: opts.postgres, table: opts.table ?? 'portcullis_audit' };
    }
    if (opts.config !== undefined) {
      const config = load(opts.config);
      const pg = config.audit.postgres;
      if (pg) return { kind: 'postgres', url: pg.url, table: pg.table };
      if (!config.audit.enabled || config.audit.path === 'stderr' || config.audit.path === 'stdout')
        throw new UserError(`${config.source} writes no audit file or table to read`);
      return { kind: 'file', path: config.audit.path };
    }
    return { kind: 'file', path: log! };
  };
  const sourceOptions = (cmd: Command) =>
    cmd
      .option('--postgres <url>', 'read the log from PostgreSQL (password: PGPASSWORD or ~/.pgpass)')
      .option('--table <name>', 'with --postgres: the audit table (default portcullis_audit)')
      .option('--config <file>', "read the log the config's audit section names");
  const unreachable = (e: unknown) =>
    new UserError(`cannot read the audit database: ${(e as Error).message}`);

  sourceOptions(
    auditCmd
      .command('verify')
      .description('check the hash chain and checkpoints; name the first bad record (exit 1)')
      .argument('[log]', 'the audit file (rotated files beside it are included)')
      .option('--public-key <pem>', 'Ed25519 public key (PEM file) the checkpoints must be signed with')
      .option('--checkpoints <file>', 'checkpoint file (default <log>.checkpoints)')
      .option('--no-checkpoints', 'verify the chain only')
      .option('--allow-truncated-start', 'the oldest rotated files (or rows) were deleted on purpose')
  ).action(
    async (
      log: string | undefined,
      opts: AuditSourceOptions & {
        publicKey?: string;
        checkpoints?: string | false;
        allowTruncatedStart?: boolean;
      }
    ) => {
      const audit = await import('./audit/index.js');
      const source = auditSource(log, opts);
      let report;
      if (source.kind === 'postgres') {
        if (typeof opts.checkpoints === 'string')
          throw new UserError('--checkpoints FILE is for files; a table keeps its checkpoints beside it');
        try {
          report = await audit.verifyPostgresAudit(
            { url: source.url, table: source.table },
            {
              ...(opts.checkpoints === false ? { checkpoints: false } : {}),
              ...(opts.publicKey ? { publicKey: opts.publicKey } : {}),
              ...(opts.allowTruncatedStart ? { allowTruncatedStart: true } : {})
            }
          );
        } catch (e) {
          throw unreachable(e);
        }
      } else {
        const path = source.path;
        try {
          report = audit.verifyAuditLog(audit.listAuditFiles(path), {
            ...(opts.checkpoints !== false ? { checkpoints: opts.checkpoints ?? `${path}.checkpoints` } : {}),
            ...(opts.publicKey ? { publicKey: opts.publicKey } : {}),
            ...(opts.allowTruncatedStart ? { allowTruncatedStart: true } : {})
          });
        } catch (e) {
          throw new UserError(`cannot verify ${path}: ${(e as Error).message}`);
        }
      }
      out(audit.formatVerifyReport(report));
      if (!report.ok) throw new UserError('audit log verification failed');
    }
  );
  const formatRecord = (r: Record<string, unknown>) =>
    [
      String(r.time ?? ''),
      String(r.decision ?? r.outcome ?? '').padEnd(8),
      String(r.identity ?? r.source ?? '-'),
      String(r.name ?? r.event ?? ''),
      r.code ? `(${String(r.code)})` : '',
      r.latency_ms !== undefined ? `${String(r.latency_ms)} ms` : ''
    ]
      .filter(Boolean)
      .join('  ');
  sourceOptions(
    auditCmd
      .command('tail')
      .description('print the last records, and follow new ones with --follow')
      .argument('[log]')
      .option('-n, --lines <n>', 'how many', '20')
      .option('-f, --follow', 'keep printing records as they are written')
      .option('--json', 'print records as JSON lines')
  ).action(
    async (
      log: string | undefined,
      opts: AuditSourceOptions & { lines: string; follow?: boolean; json?: boolean }
    ) => {
      const source = auditSource(log, opts);
      const count = Math.max(0, Number(opts.lines) || 0);
      const show = (line: string) => {
        if (!line.trim()) return;
        try {
          out(opts.json ? line : formatRecord(JSON.parse(line) as Record<string, unknown>));
        } catch {
          out(line);
        }
      };
      if (source.kind === 'postgres') {
        const { tailPostgresAudit } = await import('./audit/index.js');
        try {
          await tailPostgresAudit({ url: source.url, table: source.table }, count, (r) => show(r.text), {
            ...(opts.follow ? { follow: true } : {})
          });
        } catch (e) {
          throw unreachable(e);
        }
        return;
      }
      const file = source.path;
      const { readFileSync, statSync, watchFile, openSync, readSync } = await import('node:fs');
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new UserError(`cannot read ${file}: ${(e as Error).message}`);
      }
      const lines = text.split('\n').filter(Boolean);
      for (const line of lines.slice(-count)) show(line);
      if (!opts.follow) return;
      let offset = statSync(file).size;
      let partial = '';
      await new Promise<void>(() => {
        watchFile(file, { interval: 250 }, (curr) => {
          if (curr.size < offset) offset = 0;
          if (curr.size === offset) return;
          const fd = openSync(file, 'r');
          const buf = Buffer.alloc(curr.size - offset);
          readSync(fd, buf, 0, buf.length, offset);
          offset = curr.size;
          const chunk = partial + buf.toString('utf8');
          const parts = chunk.split('\n');
          partial = parts.pop() ?? '';
          for (const p of parts) show(p);
        });
      });
    }
  );
  sourceOptions(
    auditCmd
      .command('query')
      .description('filter records by time, identity, tool, decision')
      .argument('[log]', 'the audit file (rotated files beside it are included)')
      .option('--since <iso>', 'records at or after this time')
      .option('--until <iso>', 'records before this time')
      .option('--identity <id>')
      .option('--tool <name>', 'tool name or <server>__<tool>')
      .option('--server <name>')
      .option('--decision <d>', 'allow, deny or approval')
      .option('--event <e>', 'e.g. tools/call, auth/failure')
      .option('--json', 'print records as JSON lines')
  ).action(
    async (
      log: string | undefined,
      opts: AuditSourceOptions & {
        since?: string;
        until?: string;
        identity?: string;
        tool?: string;
        server?: string;
        decision?: string;
        event?: string;
        json?: boolean;
      }
    ) => {
      const { listAuditFiles, matchesQuery, queryPostgresAudit } = await import('./audit/index.js');
      const source = auditSource(log, opts);
      const since = opts.since ? Date.parse(opts.since) : undefined;
      const until = opts.until ? Date.parse(opts.until) : undefined;
      if (Number.isNaN(since) || Number.isNaN(until))
        throw new UserError('--since/--until must be ISO date-times');
      const query = {
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
        ...(opts.identity ? { identity: opts.identity } : {}),
        ...(opts.tool ? { tool: opts.tool } : {}),
        ...(opts.server ? { server: opts.server } : {}),
        ...(opts.decision ? { decision: opts.decision } : {}),
        ...(opts.event ? { event: opts.event } : {})
      };
      let count = 0;
      const show = (line: string, r: Record<string, unknown>) => {
        count++;
        out(opts.json ? line : formatRecord(r));
      };
      if (source.kind === 'postgres') {
        try {
          for await (const r of queryPostgresAudit({ url: source.url, table: source.table }, query))
            show(r.text, r.record);
        } catch (e) {
          throw unreachable(e);
        }
      } else {
        const { readFileSync } = await import('node:fs');
        for (const file of listAuditFiles(source.path)) {
          let text: string;
          try {
            text = readFileSync(file, 'utf8');
          } catch (e) {
            throw new UserError(`cannot read ${file}: ${(e as Error).message}`);
          }
          for (const line of text.split('\n')) {
            if (!line.trim()) continue;
            let r: Record<string, unknown>;
            try {
              r = JSON.parse(line) as Record<string, unknown>;
            } catch {
              continue;
            }
            if (matchesQuery(r, query)) show(line, r);
          }
        }
      }
      err(`${count} record(s)`);
    }
  );
  auditCmd
    .command('keygen')
    .description('make an Ed25519 key pair for signing audit checkpoints')
    .requiredOption('--out <prefix>', 'writes <prefix>.pem (private, 0600) and <prefix>.pub.pem')
    .action(async (opts: { out: string }) => {
      const { writeFileSync, existsSync } = await import('node:fs');
      const { generateAuditKeyPair } = await import('./audit/index.js');
      const priv = `${opts.out}.pem`;
      const pub = `${opts.out}.pub.pem`;
      if (existsSync(priv) || existsSync(pub))
        throw new UserError(`${priv} or ${pub} exists; not overwriting`);
      const pair = generateAuditKeyPair();
      writeFileSync(priv, pair.privateKey, { mode: 0o600 });
      writeFileSync(pub, pair.publicKey, { mode: 0o644 });
      out(
        `wrote ${priv} (audit.signing_key) and ${pub} (portcullis audit verify --public-key); key id ${pair.kid}`
      );
    });

  const approvals = program.command('approvals').description('act on held calls through the admin API');
  const adminOptions = (cmd: Command) =>
    cmd
      .option('--url <url>', 'the gateway', process.env.PORTCULLIS_URL ?? 'http://127.0.0.1:8080')
      .option('--token <token>', 'admin token (default $PORTCULLIS_ADMIN_TOKEN)');
  const adminCall = async (opts: { url: string; token?: string }, path: string, body?: unknown) => {
    const token = opts.token ?? process.env.PORTCULLIS_ADMIN_TOKEN;
    if (!token) throw new UserError('an admin token is needed: --token T or PORTCULLIS_ADMIN_TOKEN');
    let res: Response;
    try {
      res = await fetch(new URL(`/admin/api${path}`, opts.url), {
        method: body === undefined ? 'GET' : 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) })
      });
    } catch (e) {
      throw new UserError(`cannot reach ${opts.url}: ${(e as Error).message}`);
    }
    const data = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) throw new UserError(`${res.status}: ${String(data.error ?? res.statusText)}`);
    return data;
  };
  adminOptions(
    approvals
      .command('list')
      .description('held calls')
      .option('--all', 'include decided ones')
      .option('--json', 'as JSON')
  ).action(async (opts: { url: string; token?: string; all?: boolean; json?: boolean }) => {
    const data = await adminCall(opts, `/approvals?status=${opts.all ? 'all' : 'pending'}`);
    const list = data.approvals as Array<Record<string, unknown>>;
    if (opts.json) {
      out(JSON.stringify(list, null, 2));
      return;
    }
    if (list.length === 0) {
      out('no held calls');
      return;
    }
    for (const a of list) {
      const decisions = (a.decisions as Array<{ by: string; decision: string }>).map(
        (d) => `${d.decision} by ${d.by}`
      );
      out(
        `${String(a.id)}  ${String(a.status).padEnd(8)}  ${String(a.identity)} -> ${String(a.name)} ${JSON.stringify(a.arguments)}`
      );
      out(
        `    ${String(a.reason)}; expires ${String(a.expiresAt)}${decisions.length ? `; ${decisions.join(', ')}` : ''}`
      );
    }
  });
  for (const verb of ['approve', 'deny'] as const) {
    adminOptions(
      approvals
        .command(verb)
        .description(`${verb} a held call`)
        .argument('<id>')
        .option('--note <text>', 'a note for the audit record')
    ).action(async (id: string, opts: { url: string; token?: string; note?: string }) => {
      const held = await adminCall(
        opts,
        `/approvals/${encodeURIComponent(id)}/${verb}`,
        opts.note ? { note: opts.note } : {}
      );
      out(`${id}: ${String(held.status)}`);
    });
  }

  const pinsCmd = program
    .command('pins')
    .description("review and approve servers' tools, prompts, resources and resource templates");
  adminOptions(
    pinsCmd
      .command('list')
      .description('every tool, prompt, resource and resource template with its pin status and findings')
      .option('--json', 'as JSON')
  ).action(async (opts: { url: string; token?: string; json?: boolean }) => {
    const data = await adminCall(opts, '/tools');
    type Entry = {
      exposed: string;
      kind?: string;
      status: string;
      description?: string;
      pinnedDescription?: string;
      reason?: string;
      findings: Array<{ rule: string; severity: string }>;
    };
    const tools = data.tools as Entry[];
    // Gateways before prompts and resources were pinned answer with tools alone.
    const definitions = (data.definitions as Entry[] | undefined) ?? [];
    if (opts.json) {
      // One array, as before: tools first, then the rest, each with its `kind`.
      out(JSON.stringify([...tools, ...definitions], null, 2));
      return;
    }
    const KIND: Record<string, string> = {
      prompt: 'prompt',
      resource: 'resource',
      resourceTemplate: 'resource template'
    };
    for (const t of [...tools, ...definitions]) {
      const kind = t.kind ? `  [${KIND[t.kind] ?? t.kind}]` : '';
      out(`${t.status.padEnd(11)} ${t.exposed}${kind}${t.reason ? `  (${t.reason})` : ''}`);
      for (const f of t.findings) out(`            ${f.severity}: ${f.rule}`);
      // What changed since the pin: the description it was approved with, and the one now.
      if (t.pinnedDescription !== undefined) {
        out(`            - pinned: ${t.pinnedDescription || '(no description)'}`);
        if (t.status !== 'removed') out(`            + now:    ${t.description ?? '(no description)'}`);
      }
    }
  });
  adminOptions(
    pinsCmd
      .command('approve')
      .description('approve what a server offers now: its tools, prompts, resources and resource templates')
      .argument('<server>')
  ).action(async (server: string, opts: { url: string; token?: string }) => {
    const data = await adminCall(opts, `/tools/${encodeURIComponent(server)}/approve`, {});
    const others = (['prompts', 'resources', 'resourceTemplates'] as const)
      .filter((k) => typeof data[k] === 'number')
      .map(
        (k) => `${String(data[k])} ${k === 'resourceTemplates' ? 'resource template' : k.slice(0, -1)}(s)`
      );
    out(`pinned ${String(data.pinned)} tool(s)${others.length ? `, ${others.join(', ')}` : ''} of ${server}`);
  });

  const token = program.command('token').description('manage hashed, scoped bearer tokens');
  const fileOptions = (cmd: Command) =>
    cmd
      .option('--file <tokens.yaml>', 'the token file')
      .option('--config <file>', "use the config's auth.tokens file");
  fileOptions(
    token
      .command('create')
      .description('issue a token; it is printed once and only its hash is stored')
      .requiredOption('--identity <name>', 'who the token is for')
      .requiredOption('--role <role...>', 'role(s) the token carries')
      .option('--scope <scope...>', 'scope(s) the token carries (default: all)')
      .option('--expires <duration>', 'lifetime, e.g. 30d')
      .option('--description <text>', 'a note shown by list')
  ).action(
    (opts: {
      identity: string;
      role: string[];
      scope?: string[];
      expires?: string;
      description?: string;
      file?: string;
      config?: string;
    }) => {
      const file = tokenFile(opts);
      const created = createTokenEntry(file, {
        identity: opts.identity,
        roles: opts.role,
        ...(opts.scope ? { scopes: opts.scope } : {}),
        ...(opts.expires
          ? { expires: new Date(Date.now() + parseDuration(opts.expires) * 1000).toISOString() }
          : {}),
        ...(opts.description ? { description: opts.description } : {})
      });
      err(`created ${created.id} for ${opts.identity} in ${file}; the token is shown once:`);
      out(created.token);
    }
  );
  fileOptions(
    token.command('list').description('show tokens (never the tokens themselves)').option('--json', 'as JSON')
  ).action((opts: { file?: string; config?: string; json?: boolean }) => {
    const file = tokenFile(opts);
    const { tokens, issues } = readTokenFile(file);
    if (issues.length > 0)
      throw new UserError(
        issues.map((i) => `${i.file}:${i.line}:${i.col} ${i.path}: ${i.message}`).join('\n')
      );
    const lastUsed = readLastUsed(file);
    const rows = tokens.map((t) => ({
      id: t.id,
      identity: t.identity,
      roles: t.roles,
      scopes: t.scopes ?? ['(all)'],
      status: tokenProblem(t)?.replace(/^token /, '') ?? 'active',
      created: t.created ?? null,
      expires: t.expires ?? null,
      last_used: lastUsed[t.id] ?? null,
      ...(t.rotated_to ? { rotated_to: t.rotated_to } : {})
    }));
    if (opts.json) {
      out(JSON.stringify(rows, null, 2));
      return;
    }
    const header = ['ID', 'IDENTITY', 'ROLES', 'SCOPES', 'STATUS', 'EXPIRES', 'LAST USED'];
    const table = [
      header,
      ...rows.map((r) => [
        r.id,
        r.identity,
        r.roles.join(','),
        r.scopes.join(','),
        r.status,
        r.expires ?? '-',
        r.last_used ?? 'never'
      ])
    ];
    const widths = header.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    for (const row of table)
      out(
        row
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd()
      );
  });
  fileOptions(
    token
      .command('revoke')
      .description('revoke a token; a running gateway refuses it within a second')
      .argument('<id>')
      .option(
        '--jti',
        'the id is an OAuth token id (`jti`): revoke it in the shared state only (needs --config)'
      )
  ).action(async (id: string, opts: { file?: string; config?: string; jti?: boolean }) => {
    const config = opts.config ? load(opts.config) : undefined;
    const shared = config !== undefined && config.state.store !== 'memory';
    if (opts.jti && !shared) {
      throw new UserError('--jti revokes in the shared state: give --config F whose state.store is redis');
    }
    const file = opts.jti ? undefined : tokenFile(opts);
    if (file) {
      try {
        revokeTokenEntry(file, id);
      } catch (e) {
        throw new UserError((e as Error).message);
      }
    }
    if (!shared) {
      out(`revoked ${id}`);
      return;
    }
    // With shared state, every replica refuses it at once, whatever its own token file says.
    const { openSharedState } = await import('./state/open.js');
    const state = await openSharedState(config.state, createLogger());
    try {
      await state.revoke(id);
    } catch (e) {
      const where = file ? `revoked in ${file}, but` : 'not revoked:';
      throw new UserError(`${where} not on the other replicas: ${(e as Error).message}`);
    } finally {
      await state.close();
    }
    out(`revoked ${id} (${file ? 'token file and ' : ''}shared state)`);
  });
  fileOptions(
    token
      .command('rotate')
      .description('issue a successor; the old token stays valid for the grace period, then is refused')
      .argument('<id>')
      .option('--grace <duration>', 'how long the old token keeps working', '1h')
  ).action((id: string, opts: { file?: string; config?: string; grace: string }) => {
    const file = tokenFile(opts);
    let rotated;
    try {
      rotated = rotateTokenEntry(file, id, parseDuration(opts.grace));
    } catch (e) {
      throw new UserError((e as Error).message);
    }
    err(
      `rotated ${id} to ${rotated.id}; ${id} is refused from ${rotated.graceUntil}. The new token is shown once:`
    );
    out(rotated.token);
  });

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
      if (e.code.startsWith('portcullis.')) err(`error: ${e.message}`);
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
