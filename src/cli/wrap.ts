/** `portcullis wrap`: move an MCP client's servers behind Portcullis and point the client at it. */
import { type Command, Option } from 'commander';
import type { CliDeps } from './deps.js';
import { err, out, UserError } from './output.js';
import type { SuggestedPolicy } from '../setup/policy.js';
import type { WrapResult } from '../setup/wrap.js';

interface WrapOptions {
  format?: 'claude-desktop' | 'cursor' | 'vscode' | 'claude-code';
  config: string;
  only?: string[];
  dryRun?: boolean;
  strict?: boolean;
  probe: boolean;
  probeTimeout: string;
}

export function register(program: Command, deps: CliDeps): void {
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
    .option('--strict', 'write every rule commented out: the agent sees no tool until you allow it')
    .option('--no-probe', 'do not start the servers to list their tools (the generic starter policy)')
    .option('--probe-timeout <seconds>', 'how long each server has to list its tools', '20')
    .action((client: string, o: WrapOptions) => wrapClient(client, o, deps.entry));
}

/** Start the servers `wrap` would move, list their tools, and write rules for them. */
async function probe(planned: WrapResult, strict: boolean, timeoutMs: number): Promise<SuggestedPolicy> {
  const { discoverTools } = await import('../setup/discover.js');
  const { suggestPolicy } = await import('../setup/policy.js');
  const { createLogger } = await import('../log.js');
  const names = planned.moved.map((m) => m.to);
  err(`listing the tools of ${names.join(', ')} (up to ${Math.round(timeoutMs / 1000)} s each)…`);
  const found = await discoverTools(
    planned.portcullisAfter,
    planned.portcullisPath,
    names,
    createLogger('silent'),
    timeoutMs
  );
  for (const [name, d] of Object.entries(found)) {
    if ('error' in d) {
      err(
        `warning: server "${name}" did not list its tools (${d.error}); its tools are denied, and its rules are written commented out`
      );
    }
  }
  return suggestPolicy(found, { strict });
}

/** `entry` is the URL of the running `portcullis` script, which the client is pointed at from a clone. */
async function wrapClient(client: string, o: WrapOptions, entry: string): Promise<void> {
  const { wrap, SetupError } = await import('../setup/index.js');
  const { resolve: resolvePath } = await import('node:path');
  // From an installed package the client runs `npx portcullis`; from a clone, this very CLI.
  const fromClone = !entry.includes('/node_modules/');
  const self = fromClone
    ? {
        command: process.execPath,
        args: [new URL(entry).pathname, 'stdio', '--config', resolvePath(o.config)]
      }
    : undefined;
  const seconds = Number(o.probeTimeout);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new UserError('--probe-timeout: expected seconds > 0');
  const options = {
    portcullisConfig: o.config,
    ...(o.format ? { format: o.format } : {}),
    ...(o.only ? { only: o.only } : {}),
    ...(self ? { command: self } : {})
  };
  try {
    // First what would move, then ask those servers for their tools, then write.
    const planned = wrap(client, { ...options, dryRun: true });
    const policy =
      o.probe && planned.changed ? await probe(planned, o.strict === true, seconds * 1000) : undefined;
    const r = wrap(client, {
      ...options,
      ...(o.dryRun ? { dryRun: true } : {}),
      ...(policy ? { policy } : {})
    });
    if (o.dryRun && r.diff) out(r.diff);
    for (const w of r.warnings) err(`warning: ${w}`);
    out(r.message);
    if (r.backup) out(`backup: ${r.backup} (portcullis unwrap ${r.clientPath} restores it)`);
    if (policy && r.portcullisBefore !== '') {
      out(`${r.portcullisPath} existed, so its rules were left as they are; rules for the moved servers:`);
      out(policy.rules);
    } else if (policy) {
      const { describeVisible } = await import('../setup/policy.js');
      const lines = describeVisible(policy.visible);
      out(
        lines.length > 0
          ? `the agent will see:\n${lines.join('\n')}`
          : `the agent will see no tool until you allow some in ${r.portcullisPath}`
      );
    }
  } catch (e) {
    if (e instanceof SetupError) throw new UserError(e.message);
    throw e;
  }
}
