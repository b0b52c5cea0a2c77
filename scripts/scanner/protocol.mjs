// How the corpus is used: which sources were looked at while the scorer's features were written
// (development sources), and the gateway context a definition is scored in.
//
// Development sources: their items and their scores were read while the behaviours were written and
// the settings chosen. Held-out sources: never scored during development (a first item of a few was
// seen when the corpus format was read); their figures were first computed in the full report, after
// the features and settings were frozen.
export const DEV_SOURCES = new Set([
  'cisco-ai-defense/mcp-scanner',
  'Wapiti08/mcp-attack-suite',
  'harishsg993010/damn-vulnerable-MCP-server',
  'npm:@cloudflare/mcp-server-cloudflare',
  'npm:@modelcontextprotocol/server-github',
  'npm:@modelcontextprotocol/server-filesystem',
  'npm:@modelcontextprotocol/server-everything',
  'npm:@modelcontextprotocol/server-memory',
  'npm:@modelcontextprotocol/server-puppeteer',
  'npm:@modelcontextprotocol/server-slack',
  'ReversecLabs/spikee',
  'microsoft/BIPIA',
  'fastify/fastify',
  'modelcontextprotocol/typescript-sdk',
  'npm-readmes/1',
  'npm-readmes/2',
  // Seen while the inner thresholds were studied:
  'npm:@kazuph/mcp-taskmanager',
  'npm:@modelcontextprotocol/server-sequential-thinking',
  'NVIDIA/garak',
  'agentgateway/agentgateway',
  'panva/jose',
  'npm-readmes/3',
  'npm-readmes/4',
  'npm-readmes/5',
  // Documents about AI: the flagged items of this one were read; ai-docs/2 and /3 only counted.
  'ai-docs/1',
  // Real prose: the flagged items of this folder were read; the other folders only counted.
  'emails/easy-ham-1'
]);

/**
 * Definitions are scored as behind one gateway with every other source's servers: a definition's
 * `otherTools` are the tool names of all definitions from other sources, its `siblingTools` the
 * other tools of its own file (its server).
 */
export function withGatewayContext(items) {
  const namesBySource = new Map();
  for (const it of items) {
    if (it.domain !== 'definition' || typeof it.name !== 'string') continue;
    if (!namesBySource.has(it.source)) namesBySource.set(it.source, new Set());
    namesBySource.get(it.source).add(it.name.toLowerCase());
  }
  // The same server: the other tools listed in the same corpus file.
  const namesByFile = new Map();
  const fileOf = (it) => it.id.split('#')[0];
  for (const it of items) {
    if (it.domain !== 'definition' || typeof it.name !== 'string') continue;
    if (!namesByFile.has(fileOf(it))) namesByFile.set(fileOf(it), new Set());
    namesByFile.get(fileOf(it)).add(it.name.toLowerCase());
  }
  for (const it of items) {
    if (it.domain !== 'definition') continue;
    const others = new Set();
    for (const [source, names] of namesBySource)
      if (source !== it.source) for (const n of names) others.add(n);
    const own = typeof it.name === 'string' ? it.name.toLowerCase() : undefined;
    const siblings = new Set([...(namesByFile.get(fileOf(it)) ?? [])].filter((n) => n !== own));
    for (const n of siblings) others.delete(n);
    it.ctx = { ...it.ctx, otherTools: others, siblingTools: siblings };
  }
  return items;
}

/**
 * Folds for leave-source-out evaluation: each poisoned-definition source is held out on its own (they
 * are the scarce positives), and every other source is dealt into those folds in name order, so each
 * item is scored by a model trained without its source (and without the few others in its fold).
 */
export function sourceFolds(items) {
  const kind = new Map();
  for (const it of items) {
    if (it.group === 'poisoned-definitions') kind.set(it.source, 'poison');
    else if (!kind.has(it.source)) kind.set(it.source, 'other');
  }
  const sorted = [...kind.keys()].sort();
  const poison = sorted.filter((s) => kind.get(s) === 'poison');
  const folds = poison.map((s) => [s]);
  sorted.filter((s) => kind.get(s) !== 'poison').forEach((s, i) => folds[i % folds.length].push(s));
  return folds;
}
