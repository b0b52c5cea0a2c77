/**
 * `portcullis unwrap`: put back the servers `wrap` moved behind Portcullis, from the newest backup
 * it made, keeping every server added to or changed in the client config since.
 */
import type { Command } from 'commander';
import { out, UserError } from './output.js';

export function register(program: Command): void {
  program
    .command('unwrap')
    .description(
      'put back the servers wrap moved, from its newest backup; servers added or changed since stay as they are'
    )
    .argument('<client-config>')
    .option('--dry-run', 'show the diff, write nothing')
    .action(async (client: string, o: { dryRun?: boolean }) => {
      const { unwrap, SetupError } = await import('../setup/index.js');
      try {
        const r = unwrap(client, o.dryRun ? { dryRun: true } : {});
        if (o.dryRun && r.diff) out(r.diff);
        for (const note of r.notes) out(`note: ${note}`);
        out(r.message);
      } catch (e) {
        if (e instanceof SetupError) throw new UserError(e.message);
        throw e;
      }
    });
}
