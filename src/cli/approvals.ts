/** `portcullis approvals list|approve|deny`: act on held calls through the admin API. */
import type { Command } from 'commander';
import { type AdminOptions, adminCall, adminOptions } from './admin-client.js';
import { out } from './output.js';

export function register(program: Command): void {
  const approvals = program.command('approvals').description('act on held calls through the admin API');
  adminOptions(
    approvals
      .command('list')
      .description('held calls')
      .option('--all', 'include decided ones')
      .option('--json', 'as JSON')
  ).action(list);
  for (const verb of ['approve', 'deny'] as const) {
    adminOptions(
      approvals
        .command(verb)
        .description(`${verb} a held call`)
        .argument('<id>')
        .option('--note <text>', 'a note for the audit record')
    ).action(async (id: string, opts: AdminOptions & { note?: string }) => {
      const held = await adminCall(
        opts,
        `/approvals/${encodeURIComponent(id)}/${verb}`,
        opts.note ? { note: opts.note } : {}
      );
      out(`${id}: ${String(held.status)}`);
    });
  }
}

async function list(opts: AdminOptions & { all?: boolean; json?: boolean }): Promise<void> {
  const data = await adminCall(opts, `/approvals?status=${opts.all ? 'all' : 'pending'}`);
  const held = data.approvals as Array<Record<string, unknown>>;
  if (opts.json) {
    out(JSON.stringify(held, null, 2));
    return;
  }
  if (held.length === 0) {
    out('no held calls');
    return;
  }
  for (const a of held) {
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
}
