/** `portcullis init`: write a commented starter portcullis.yaml. */
import type { Command } from 'commander';
import { out, UserError } from './output.js';

export function register(program: Command): void {
  program
    .command('init')
    .description('write a commented starter portcullis.yaml')
    .option('--config <file>', 'file to write', 'portcullis.yaml')
    .option('--force', 'replace an existing file')
    .action(async (o: { config: string; force?: boolean }) => {
      const { writeStarterConfig, SetupError } = await import('../setup/index.js');
      try {
        const file = writeStarterConfig(o.config, { force: o.force === true });
        out(`wrote ${file}\nnext: portcullis policy check ${file}`);
      } catch (e) {
        if (e instanceof SetupError) throw new UserError(e.message);
        throw e;
      }
    });
}
