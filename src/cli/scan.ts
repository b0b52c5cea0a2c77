/** `portcullis scan`: connect to the configured servers and report risky tools, prompts and resources. */
import { type Command, Option } from 'commander';
import { createLogger } from '../log.js';
import type { CliDeps } from './deps.js';
import { load } from './load-config.js';
import { out, UserError } from './output.js';

interface ScanOptions {
  config: string;
  server?: string;
  format: 'text' | 'json' | 'sarif';
  failOn: 'low' | 'medium' | 'high' | 'critical';
  updatePins?: boolean;
}

export function register(program: Command, deps: CliDeps): void {
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
    .action((opts: ScanOptions) => scan(opts, deps.version));
}

async function scan(opts: ScanOptions, version: string): Promise<void> {
  const config = load(opts.config);
  if (opts.server !== undefined && !(opts.server in config.servers)) {
    throw new UserError(`no server "${opts.server}" in ${config.source}`);
  }
  const { scanServers, formatText, formatSarif, worstAtLeast } = await import('../survey/index.js');
  const report = await scanServers(config, createLogger('error'), {
    ...(opts.server ? { only: opts.server } : {}),
    ...(opts.updatePins ? { updatePins: true } : {})
  });
  if (opts.format === 'json') out(JSON.stringify(report, null, 2));
  else if (opts.format === 'sarif') out(JSON.stringify(formatSarif(report, config, version), null, 2));
  else out(formatText(report));
  if (worstAtLeast(report, opts.failOn)) throw new UserError(`findings at or above ${opts.failOn}`);
}
