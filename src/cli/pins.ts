/** `portcullis pins list|approve`: review and approve what servers offer, through the admin API. */
import type { Command } from 'commander';
import { type AdminOptions, adminCall, adminOptions } from './admin-client.js';
import { out } from './output.js';

interface Entry {
  exposed: string;
  kind?: string;
  status: string;
  description?: string;
  pinnedDescription?: string;
  reason?: string;
  findings: Array<{ rule: string; severity: string }>;
}

const KIND: Record<string, string> = {
  prompt: 'prompt',
  resource: 'resource',
  resourceTemplate: 'resource template'
};

export function register(program: Command): void {
  const pinsCmd = program
    .command('pins')
    .description("review and approve servers' tools, prompts, resources and resource templates");
  adminOptions(
    pinsCmd
      .command('list')
      .description('every tool, prompt, resource and resource template with its pin status and findings')
      .option('--json', 'as JSON')
  ).action(list);
  adminOptions(
    pinsCmd
      .command('approve')
      .description('approve what a server offers now: its tools, prompts, resources and resource templates')
      .argument('<server>')
  ).action(approve);
}

async function list(opts: AdminOptions & { json?: boolean }): Promise<void> {
  const data = await adminCall(opts, '/tools');
  const tools = data.tools as Entry[];
  // Gateways before prompts and resources were pinned answer with tools alone.
  const definitions = (data.definitions as Entry[] | undefined) ?? [];
  if (opts.json) {
    // One array, as before: tools first, then the rest, each with its `kind`.
    out(JSON.stringify([...tools, ...definitions], null, 2));
    return;
  }
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
}

async function approve(server: string, opts: AdminOptions): Promise<void> {
  const data = await adminCall(opts, `/tools/${encodeURIComponent(server)}/approve`, {});
  const others = (['prompts', 'resources', 'resourceTemplates'] as const)
    .filter((k) => typeof data[k] === 'number')
    .map((k) => `${String(data[k])} ${k === 'resourceTemplates' ? 'resource template' : k.slice(0, -1)}(s)`);
  out(`pinned ${String(data.pinned)} tool(s)${others.length ? `, ${others.join(', ')}` : ''} of ${server}`);
}
