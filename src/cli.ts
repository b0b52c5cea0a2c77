#!/usr/bin/env node
/**
 * The `portcullis` command. Exit codes: 0 ok, 1 user error (bad config, failed check),
 * 2 usage. Human output goes to stdout except under `stdio`, where stdout is the protocol.
 * Each command is one file under cli/ with its `register`; this file composes them in order.
 */
import { Command, CommanderError, Option } from 'commander';
import * as approvals from './cli/approvals.js';
import * as audit from './cli/audit.js';
import * as demo from './cli/demo.js';
import type { CliDeps } from './cli/deps.js';
import * as init from './cli/init.js';
import { err, out, UserError } from './cli/output.js';
import * as pins from './cli/pins.js';
import * as policy from './cli/policy.js';
import * as scan from './cli/scan.js';
import * as serve from './cli/serve.js';
import * as stdio from './cli/stdio.js';
import * as token from './cli/token.js';
import * as unwrap from './cli/unwrap.js';
import * as wrap from './cli/wrap.js';
import { LOG_LEVELS, setLogLevel } from './log.js';
import { VERSION } from './version.js';

/** The commands in the order `--help` lists them. */
const COMMANDS: Array<(program: Command, deps: CliDeps) => void> = [
  demo.register,
  stdio.register,
  serve.register,
  policy.register,
  init.register,
  wrap.register,
  unwrap.register,
  scan.register,
  audit.register,
  approvals.register,
  pins.register,
  token.register
];

export function buildProgram(): Command {
  const program = new Command('portcullis')
    .description('A security gateway for MCP tool servers.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: err })
    .addOption(
      new Option('--log-level <level>', 'log level (default: PORTCULLIS_LOG_LEVEL, else info)').choices(
        LOG_LEVELS
      )
    )
    .hook('preAction', (self) => setLogLevel((self.opts() as { logLevel?: string }).logLevel));
  const deps: CliDeps = { version: VERSION, entry: import.meta.url };
  for (const register of COMMANDS) register(program, deps);
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
