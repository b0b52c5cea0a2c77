/**
 * Finding a call's rules: each kind (tools, prompts, resources) has its own index, where literal
 * names map straight to their rules; wildcard rules are checked per name once and the answer
 * cached, so finding a call's rules is two map lookups.
 */
import type { CompiledRule, ToolRisk } from './compile.js';
import type { Kind } from './types.js';

/** Entries a policy's caches hold before they turn over. */
export const MAX_CACHE = 10_000;

/** The rules that apply to one (server, tool), in rule order, and the tool's `tool_risk` weight. */
interface Found {
  rules: CompiledRule[];
  toolRisk: number;
}

/** The rules of one (server, name) of a kind; `kind` defaults to `tool`. */
export type Applicable = (server: string, tool: string, kind?: Kind) => Found;

type KindIndex = (server: string, name: string) => Found;

/** One index per kind: a prompt rule never applies to a tool, and `tool_risk` weighs tools only. */
export function createRuleIndex(
  compiled: readonly CompiledRule[],
  toolRisk: readonly ToolRisk[]
): Applicable {
  const tools = createKindIndex(
    compiled.filter((r) => r.kind === 'tool'),
    toolRisk
  );
  const prompts = createKindIndex(
    compiled.filter((r) => r.kind === 'prompt'),
    []
  );
  const resources = createKindIndex(
    compiled.filter((r) => r.kind === 'resource'),
    []
  );
  return (server, name, kind = 'tool') =>
    kind === 'tool'
      ? tools(server, name)
      : kind === 'prompt'
        ? prompts(server, name)
        : resources(server, name);
}

function createKindIndex(compiled: readonly CompiledRule[], toolRisk: readonly ToolRisk[]): KindIndex {
  const byTool = new Map<string, CompiledRule[]>();
  const wildcard: CompiledRule[] = [];
  // A rule of literal names sits under each of them (once: the names are distinct); a rule with a
  // wildcard anywhere in its list is tested as a whole, with the wildcard rules.
  for (const rule of compiled) {
    const names = rule.target.literals;
    if (names) {
      for (const name of names) {
        const list = byTool.get(name) ?? [];
        list.push(rule);
        byTool.set(name, list);
      }
    } else {
      wildcard.push(rule);
    }
  }
  // Two generations: when the young one fills up it becomes the old one, so a flood of unknown
  // names cannot evict every hot entry at once.
  let young = new Map<string, Map<string, Found>>();
  let old = new Map<string, Map<string, Found>>();
  let youngSize = 0;
  return (server, tool) => {
    let byServer = young.get(server);
    const hit = byServer?.get(tool) ?? old.get(server)?.get(tool);
    if (hit) return hit;
    const out: Found = {
      rules: [...(byTool.get(tool) ?? []), ...wildcard.filter((r) => r.target.test(tool))]
        .filter((r) => r.server === undefined || r.server.test(server))
        .sort((a, b) => a.index - b.index),
      toolRisk: toolRisk.reduce((sum, t) => (t.test(server, tool) ? sum + t.weight : sum), 0)
    };
    if (youngSize >= MAX_CACHE) {
      old = young;
      young = new Map();
      youngSize = 0;
      byServer = undefined;
    }
    if (!byServer) {
      byServer = new Map();
      young.set(server, byServer);
    }
    byServer.set(tool, out);
    youngSize++;
    return out;
  };
}
