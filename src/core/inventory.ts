/**
 * The inventory for the console and the admin API: every tool, prompt, resource and resource
 * template each server offers, with its pin status, findings and approval; and approving (re-pinning)
 * what a server offers now.
 */
import { GatewayError } from '../errors.js';
import { unifiedDiff } from '../setup/diff.js';
import { findingSummary, type DefinitionKind, type Inspector } from '../inspect/index.js';
import type { PinEntry, PinSets, PinStore } from '../pins/index.js';
import type { Upstream } from '../upstream/index.js';
import { CAPABILITY, type Catalog } from './catalog.js';
import type { Names } from './names.js';

/** What the gateway knows about one listed definition: its pin status, findings and approval. */
interface InventoryEntry {
  server: string;
  /** As agents see it: `server__name`, or the resource URI or template in the gateway's namespace. */
  exposed: string;
  description?: string;
  status: 'pinned' | 'new' | 'changed' | 'blocked' | 'unavailable' | 'removed';
  /** For an item that differs from its pin: the description it was pinned with. */
  pinnedDescription?: string;
  /**
   * For an item that differs from its pin: unified line diffs from what was pinned to what is
   * listed now, of the description and (tools pinned with their schema) the input schema; a part
   * that did not change is absent.
   */
  diff?: { description?: string; inputSchema?: string };
  findings: unknown[];
  hash?: string;
  pinnedAt?: string;
  approvedBy?: string;
  reason?: string;
  error?: string;
}

export interface ToolInventoryEntry extends InventoryEntry {
  name: string;
}

/** A prompt, resource or resource template with what the gateway knows about it. */
export interface DefinitionInventoryEntry extends InventoryEntry {
  kind: 'prompt' | 'resource' | 'resourceTemplate';
  /** The prompt's name, the resource's URI or the template, as the server lists it. */
  name: string;
}

/** How many of each kind an approval pinned. */
export interface ApprovedCounts {
  tools: number;
  prompts: number;
  resources: number;
  resourceTemplates: number;
}

/** The pinned-vs-now diffs of a changed item (see InventoryEntry.diff). */
function changeDiff(
  entry: PinEntry,
  description: string | undefined,
  inputSchema: unknown
): InventoryEntry['diff'] {
  const out: NonNullable<InventoryEntry['diff']> = {};
  const before = entry.description ?? '';
  // A pin keeps at most 2,000 characters of the description: compare as much as it kept.
  const now = (description ?? '').slice(0, 2000);
  const d = unifiedDiff(`${before}\n`, `${now}\n`, 'pinned', 'now');
  if (d) out.description = d;
  if (entry.inputSchema !== undefined) {
    const s = unifiedDiff(
      `${JSON.stringify(entry.inputSchema, null, 2)}\n`,
      `${JSON.stringify(inputSchema ?? null, null, 2)}\n`,
      'pinned',
      'now'
    );
    if (s) out.inputSchema = s;
  }
  return out;
}

/** What a vetted definition's entry says of it: its status, findings, hash and pin. */
function vettedFields(
  v: {
    status: InventoryEntry['status'];
    findings: Parameters<typeof findingSummary>[0];
    hash: string;
    reason?: string;
    pin?: string;
  },
  description: string | undefined,
  pinned: { pinnedAt: string; approvedBy: string } | undefined,
  entry: PinEntry | undefined,
  inputSchema?: unknown
): Omit<InventoryEntry, 'server' | 'exposed'> {
  return {
    ...(description !== undefined ? { description } : {}),
    status: v.status,
    findings: findingSummary(v.findings),
    hash: v.hash,
    ...(v.reason ? { reason: v.reason } : {}),
    ...(pinned ? { pinnedAt: pinned.pinnedAt, approvedBy: pinned.approvedBy } : {}),
    ...(entry && v.pin === 'changed'
      ? { pinnedDescription: entry.description ?? '', diff: changeDiff(entry, description, inputSchema) }
      : {})
  };
}

export function createInventory(
  upstreams: ReadonlyMap<string, Upstream>,
  names: Names,
  catalog: Catalog,
  inspector: Inspector,
  pins: PinStore | undefined
) {
  return {
    async toolInventory(): Promise<ToolInventoryEntry[]> {
      const out: ToolInventoryEntry[] = [];
      await Promise.all(
        [...upstreams.values()].map(async (up) => {
          try {
            // A server that is down is reported as it is, not waited for.
            up.assertUp();
            const tools = await catalog.vetted(up);
            // Read after vetting: a first use or a rewrite of older pins is in them now.
            const pinned = pins?.get(up.name);
            const section = pinned?.tools ?? {};
            for (const v of tools.values()) {
              const entry = Object.hasOwn(section, v.tool.name) ? section[v.tool.name] : undefined;
              out.push({
                server: up.name,
                name: v.tool.name,
                exposed: names.join(up.name, v.tool.name),
                ...vettedFields(v, v.tool.description || undefined, pinned, entry, v.tool.inputSchema)
              });
            }
            // Pinned tools the server no longer offers are a change too.
            for (const [name, entry] of Object.entries(section)) {
              if (tools.has(name)) continue;
              out.push({
                server: up.name,
                name,
                exposed: names.join(up.name, name),
                status: 'removed',
                findings: [],
                pinnedDescription: entry.description ?? ''
              });
            }
          } catch (err) {
            out.push({
              server: up.name,
              name: '*',
              exposed: `${up.name}__*`,
              status: 'unavailable',
              findings: [],
              error: err instanceof GatewayError ? err.detail : (err as Error).message
            });
          }
        })
      );
      return out.sort((a, b) => a.exposed.localeCompare(b.exposed));
    },

    async definitionInventory(): Promise<DefinitionInventoryEntry[]> {
      const out: DefinitionInventoryEntry[] = [];
      const KIND = {
        prompts: 'prompt',
        resources: 'resource',
        resourceTemplates: 'resourceTemplate'
      } as const;
      const exposedAs = (server: string, kind: DefinitionKind, key: string) =>
        kind === 'prompts' ? names.join(server, key) : names.resourceUri(server, key);
      await Promise.all(
        [...upstreams.values()].flatMap((up) =>
          (['prompts', 'resources', 'resourceTemplates'] as const).map(async (kind) => {
            try {
              up.assertUp();
              await up.connect();
              if (!up.capabilities()?.[CAPABILITY[kind]]) return;
              const vetting = await catalog.definitionsOf(up, kind, true);
              const pinned = pins?.get(up.name);
              const section = pinned?.[kind] ?? {};
              for (const v of vetting.items.values()) {
                const entry = Object.hasOwn(section, v.key) ? section[v.key] : undefined;
                out.push({
                  server: up.name,
                  kind: KIND[kind],
                  name: v.key,
                  exposed: exposedAs(up.name, kind, v.key),
                  ...vettedFields(
                    v,
                    typeof v.item.description === 'string' ? v.item.description : undefined,
                    pinned,
                    entry
                  )
                });
              }
              for (const key of vetting.removed) {
                out.push({
                  server: up.name,
                  kind: KIND[kind],
                  name: key,
                  exposed: exposedAs(up.name, kind, key),
                  status: 'removed',
                  findings: [],
                  pinnedDescription: section[key]?.description ?? ''
                });
              }
            } catch (err) {
              out.push({
                server: up.name,
                kind: KIND[kind],
                name: '*',
                exposed: kind === 'prompts' ? `${up.name}__*` : names.resourceUri(up.name, '*'),
                status: 'unavailable',
                findings: [],
                error: err instanceof GatewayError ? err.detail : (err as Error).message
              });
            }
          })
        )
      );
      return out.sort((a, b) => a.kind.localeCompare(b.kind) || a.exposed.localeCompare(b.exposed));
    },

    async approveTools(server: string, by: string): Promise<ApprovedCounts> {
      const up = upstreams.get(server);
      if (!up) throw new GatewayError('unknown_tool', `no server "${server}"`);
      const tools = await up.listTools();
      const sets: PinSets = { tools };
      // Everything else the server offers now, listed fresh: a kind it does not offer is pinned
      // empty, so one it starts offering later is a change to review, not a first use.
      await up.connect();
      const caps = up.capabilities() ?? {};
      for (const kind of ['prompts', 'resources', 'resourceTemplates'] as const) {
        sets[kind] = caps[CAPABILITY[kind]] ? await up.listDefinitions(kind) : [];
      }
      inspector.approve(server, sets, by);
      return {
        tools: tools.length,
        prompts: sets.prompts!.length,
        resources: sets.resources!.length,
        resourceTemplates: sets.resourceTemplates!.length
      };
    }
  };
}
