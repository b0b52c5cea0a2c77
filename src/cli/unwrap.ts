/** `portcullis unwrap`: restore a client config from the newest backup `wrap` made. */
import type { Command } from 'commander';
import { out, UserError } from './output.js';

export function register(program: Command): void {
  program
    .command('unwrap')
    .description('restore the client config from the newest backup wrap made')
    .argument('<client-config>')
    .action(async (client: string) => {
      const { unwrap, SetupError } = await import('../setup/index.js');
      try {
        out(unwrap(client).message);
      } catch (e) {
        if (e instanceof SetupError) throw new UserError(e.message);
        throw e;
      }
    });
}
