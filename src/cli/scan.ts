/**
 * `portcullis scan`: connect to MCP servers and report risky tools, prompts and resources. It
 * scans a portcullis.yaml (with its rules), a client's own MCP config, or, given neither, every
 * client config it finds for this user and folder.
 */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import type { GatewayConfig } from '../config/types.js';
import type { Discovered } from '../setup/policy.js';
import type { ScanReport } from '../survey/index.js';
import type { UpstreamTool } from '../upstream/index.js';
import { createLogger } from '../log.js';
import type { CliDeps } from './deps.js';
import { load } from './load-config.js';
import { err, out, UserError } from './output.js';

interface ScanOptions {
  config?: string;
  server?: string;
  format: 'text' | 'json' | 'sarif';
  failOn: 'low' | 'medium' | 'high' | 'critical';
  updatePins?: boolean;
  pins?: string;
  suggestRules?: boolean;
  sarifRoot?: string;
}

export function register(program: Command, deps: CliDeps): void {
  program
    .command('scan')
    .description(
      'connect to MCP servers and report poisoned or hidden text, pin changes, dangerous capabilities and open schemas'
    )
    .argument(
      '[file]',
      'a portcullis.yaml, or a client config (claude_desktop_config.json, .mcp.json, .cursor/mcp.json, ' +
        '.vscode/mcp.json, mcp_config.json); default: every client config found'
    )
    .option('--config <file>', 'configuration file (the same as giving it as the argument)')
    .option('--server <name>', 'only this server')
    .addOption(new Option('--format <format>', 'output').choices(['text', 'json', 'sarif']).default('text'))
    .addOption(
      new Option('--fail-on <severity>', 'exit 1 on findings this severe or worse')
        .choices(['low', 'medium', 'high', 'critical'])
        .default('high')
    )
    .option('--update-pins', 'record the current tool sets as the pins to compare with next time')
    .option('--pins <file>', "pin file for clients' configs (default ~/.portcullis/scan-pins.json)")
    .option('--suggest-rules', 'print rules for the tools found (YAML) on stdout, and the report on stderr')
    .option('--sarif-root <dir>', 'make SARIF URIs relative to this folder (default: the repository root)')
    .action((file: string | undefined, opts: ScanOptions) => scan(file, opts, deps.version));
}

type Listed = Map<string, UpstreamTool[]>;

interface Target {
  config: GatewayConfig;
  /** A client's config: no rules to check, pins kept per file, names as the file has them. */
  client?: { keys: Map<string, string> };
}

function homeOf(): string {
  return process.env.HOME ?? homedir();
}

async function targetsOf(
  file: string | undefined,
  pinsPath: string
): Promise<{ targets: Target[]; broken: Array<{ source: string; key: string; error: string }> }> {
  const { asClientConfig, knownClientConfigs, loadClientTarget } = await import('../survey/targets.js');
  const { SetupError } = await import('../setup/index.js');
  const targets: Target[] = [];
  const broken: Array<{ source: string; key: string; error: string }> = [];
  const gateways = new Set<string>();
  const given = file !== undefined;
  const clients = given
    ? [asClientConfig(resolve(file))].filter((c) => c !== undefined)
    : knownClientConfigs();
  if (given && clients.length === 0) return { targets: [{ config: load(file) }], broken };
  if (!given && clients.length === 0) {
    throw new UserError(
      `no MCP client config found for ${homeOf()} or in ${process.cwd()} ` +
        '(Claude Desktop, Claude Code, Cursor, VS Code, Windsurf); pass a file to scan'
    );
  }
  for (const c of clients) {
    let t;
    try {
      t = loadClientTarget(c, pinsPath);
    } catch (e) {
      if (!(e instanceof SetupError)) throw e;
      if (given) throw new UserError(e.message);
      err(`skipped ${c.client} ${c.path}: ${e.message}`);
      continue;
    }
    if (!given) err(`scanning ${c.client}: ${c.path}`);
    for (const [key, error] of Object.entries(t.broken)) broken.push({ source: c.path, key, error });
    if (t.config) targets.push({ config: t.config, client: { keys: t.keys } });
    for (const g of t.gateways) gateways.add(g);
  }
  // An entry that already runs the gateway: scan what it serves, under its own rules.
  for (const g of gateways) targets.push({ config: load(g) });
  return { targets, broken };
}

async function scan(file: string | undefined, opts: ScanOptions, version: string): Promise<void> {
  const pinsPath = resolve(opts.pins ?? join(homeOf(), '.portcullis', 'scan-pins.json'));
  const { targets, broken } = await targetsOf(file ?? opts.config, pinsPath);
  if (opts.server !== undefined && !targets.some((t) => opts.server! in t.config.servers)) {
    throw new UserError(
      `no server "${opts.server}" in ${targets.map((t) => t.config.source).join(', ') || 'the scanned files'}`
    );
  }
  if (opts.updatePins && targets.some((t) => t.client)) mkdirSync(dirname(pinsPath), { recursive: true });
  const { scanServers, formatText, formatSarif, worstAtLeast } = await import('../survey/index.js');
  const log = createLogger('error');
  async function scanOne(t: Target, into: Listed) {
    if (opts.server !== undefined && !(opts.server in t.config.servers)) return undefined;
    return scanServers(t.config, log, {
      ...(opts.server ? { only: opts.server } : {}),
      ...(opts.updatePins ? { updatePins: true } : {}),
      listed: into,
      ...(t.client
        ? {
            policy: false,
            keyOf: (n: string) => t.client!.keys.get(n) ?? n,
            pinKey: (n: string) => `${t.config.source}#${n}`
          }
        : {})
    });
  }
  const intos: Listed[] = targets.map(() => new Map());
  const reports = await Promise.all(targets.map((t, i) => scanOne(t, intos[i]!)));
  const report = {
    servers: reports.flatMap((r) => r?.servers ?? []),
    findings: reports.flatMap((r) => r?.findings ?? [])
  };
  for (const b of broken) {
    if (opts.server !== undefined && b.key !== opts.server) continue;
    report.servers.push({
      name: b.key,
      source: b.source,
      tools: 0,
      prompts: 0,
      resources: 0,
      error: b.error
    });
    report.findings.push({
      server: b.key,
      source: b.source,
      subject: b.key,
      rule: 'server-unavailable',
      severity: 'high',
      message: b.error
    });
  }

  const show = opts.suggestRules ? err : out;
  const fallback = targets[0]?.config.source ?? resolve(file ?? opts.config ?? '.');
  if (opts.format === 'json') show(JSON.stringify(report, null, 2));
  else if (opts.format === 'sarif')
    show(
      JSON.stringify(
        formatSarif(report, fallback, { version, ...(opts.sarifRoot ? { root: opts.sarifRoot } : {}) }),
        null,
        2
      )
    );
  else show(formatText(report));
  if (opts.suggestRules) out(await suggested(targets, intos, report));
  if (worstAtLeast(report, opts.failOn)) throw new UserError(`findings at or above ${opts.failOn}`);
}

/** Rules for every server scanned, under the names a portcullis.yaml would give them. */
async function suggested(targets: Target[], intos: Listed[], report: ScanReport): Promise<string> {
  const { servers, findings } = report;
  const { suggestPolicy } = await import('../setup/policy.js');
  const { freeName } = await import('../setup/names.js');
  const found: Record<string, Discovered> = {};
  targets.forEach((t, i) => {
    for (const name of Object.keys(t.config.servers)) {
      const tools = intos[i]!.get(name);
      const error = servers.find((s) => s.name === name && s.error)?.error;
      if (!tools && !error) continue;
      found[freeName(name, (n) => n in found)] = tools ? { tools } : { error: error! };
    }
  });
  const head =
    '# Rules for the servers scanned, written from what each says about its tools (portcullis scan\n' +
    '# --suggest-rules). They allow the role `local`, which portcullis wrap gives the agent on stdio.\n';
  // A tool the scan found poisoned or hidden-text-laden gets no rule (the gateway withholds it anyway).
  const withhold: Record<string, string> = {};
  for (const f of findings) {
    if (
      f.subject.includes('__') &&
      (f.severity === 'high' || f.severity === 'critical') &&
      !f.rule.startsWith('pin-')
    ) {
      withhold[f.subject] ??= `scan found ${f.rule} (${f.severity})`;
    }
  }
  return head + suggestPolicy(found, { withhold }).rules;
}
