/** `portcullis wrap`: move an MCP client's servers behind Portcullis and point the client at it. */
import { type Command, Option } from 'commander';
import type { CliDeps } from './deps.js';
import { err, out, UserError } from './output.js';

interface WrapOptions {
  format?: 'claude-desktop' | 'cursor' | 'vscode' | 'claude-code';
  config: string;
  only?: string[];
  dryRun?: boolean;
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
    .action((client: string, o: WrapOptions) => wrapClient(client, o, deps.entry));
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
