/**
 * What a tool can do, read from its name, its input schema's parameter names and its annotations
 * (never from the free text of its description, which the server controls and the injection
 * scanners read instead): run commands, read the environment, write files, reach the network.
 * Each is a capability to know about before an agent has it, not a defect: `scan` reports them as
 * low, and the rules decide who may use them.
 */

type Capability = 'runs-commands' | 'reads-environment' | 'writes-files' | 'reaches-network';

interface CapabilityFinding {
  capability: Capability;
  /** What gave it away, for people: `name "run_command"`, `parameter "url"`, `openWorldHint`. */
  evidence: string;
}

interface ToolShape {
  name: string;
  inputSchema?: unknown;
  annotations?: Record<string, unknown> | undefined;
}

/** `runShellCommand`, `run-shell_command` → [run, shell, command]. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

const EXEC_WORDS = new Set([
  'exec',
  'execute',
  'run',
  'shell',
  'bash',
  'sh',
  'zsh',
  'powershell',
  'pwsh',
  'cmd',
  'command',
  'commands',
  'terminal',
  'spawn',
  'subprocess',
  'eval',
  'script'
]);
const WEAK_EXEC = new Set(['run', 'script']);
const EXEC_PARAMS = new Set(['command', 'cmd', 'shell', 'script', 'commandline', 'argv']);
const ENV_WORDS = new Set(['env', 'environment', 'getenv', 'printenv', 'environ', 'envvars']);
const WRITE_VERBS = new Set([
  'write',
  'edit',
  'create',
  'save',
  'append',
  'move',
  'rename',
  'copy',
  'delete',
  'remove',
  'upload',
  'mkdir',
  'patch',
  'overwrite'
]);
const FILE_WORDS = new Set(['file', 'files', 'directory', 'directories', 'dir', 'folder', 'path', 'fs']);
const FILE_PARAMS = new Set(['path', 'paths', 'file', 'filename', 'filepath', 'destination', 'target_path']);
const NET_WORDS = new Set([
  'fetch',
  'http',
  'https',
  'url',
  'download',
  'browse',
  'browser',
  'curl',
  'wget',
  'webhook',
  'web',
  'navigate',
  'scrape',
  'crawl'
]);
const NET_PARAMS = new Set(['url', 'uri', 'endpoint', 'host', 'hostname', 'href', 'webhook', 'webhook_url']);

function parameterNames(schema: unknown): string[] {
  const props = (schema as { properties?: unknown } | undefined)?.properties;
  return props && typeof props === 'object' ? Object.keys(props) : [];
}

const normal = (p: string) => p.toLowerCase().replace(/[^a-z0-9_]/g, '');

/** The capabilities a tool shows, each with what showed it. */
export function capabilitiesOf(tool: ToolShape): CapabilityFinding[] {
  const w = words(tool.name);
  const params = parameterNames(tool.inputSchema).map(normal);
  const a = tool.annotations ?? {};
  const readOnly = a.readOnlyHint === true;
  const out: CapabilityFinding[] = [];
  const nameHas = (set: Set<string>) => w.find((x) => set.has(x));
  const paramHas = (set: Set<string>) => params.find((p) => set.has(p));

  // `run` and `script` alone are weak (`run_report`, `get_script`); with a command parameter they are not.
  const execWord = w.find((x) => EXEC_WORDS.has(x) && !WEAK_EXEC.has(x));
  const execParam = paramHas(EXEC_PARAMS);
  if (execWord) out.push({ capability: 'runs-commands', evidence: `name "${tool.name}"` });
  else if (execParam) out.push({ capability: 'runs-commands', evidence: `parameter "${execParam}"` });

  const envWord = nameHas(ENV_WORDS);
  if (envWord) out.push({ capability: 'reads-environment', evidence: `name "${tool.name}"` });

  const writeVerb = nameHas(WRITE_VERBS);
  const fileWord = nameHas(FILE_WORDS);
  const fileParam = paramHas(FILE_PARAMS);
  if (!readOnly && writeVerb && (fileWord || fileParam)) {
    out.push({
      capability: 'writes-files',
      evidence: fileWord ? `name "${tool.name}"` : `name "${tool.name}" with parameter "${fileParam}"`
    });
  }

  const netWord = nameHas(NET_WORDS);
  const netParam = paramHas(NET_PARAMS);
  if (netWord || netParam) {
    out.push({
      capability: 'reaches-network',
      evidence: netWord ? `name "${tool.name}"` : `parameter "${netParam}"`
    });
  } else if (a.openWorldHint === true) {
    out.push({ capability: 'reaches-network', evidence: 'openWorldHint' });
  }
  return out;
}

export const CAPABILITY_TEXT: Record<Capability, string> = {
  'runs-commands': 'can run commands',
  'reads-environment': 'can read environment variables (where secrets often are)',
  'writes-files': 'can write, move or delete files',
  'reaches-network': 'can reach the network'
};
