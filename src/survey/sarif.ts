/**
 * `scan --format sarif`: SARIF 2.1.0 that code scanning can place and rank. Each result points at
 * the server's entry in the file that configures it (line and column of the server's key), by a
 * URI relative to the repository holding the file (or `--sarif-root`); each rule has help text and
 * a `security-severity`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { findNodeAtLocation, parseTree } from 'jsonc-parser';
import { isMap, isPair, isScalar, LineCounter, parseDocument } from 'yaml';
import { severityRank, type Severity } from '../scan/index.js';
import type { ScanReport, ServerFinding } from './types.js';

const LEVEL: Record<Severity, 'note' | 'warning' | 'error'> = {
  low: 'note',
  medium: 'warning',
  high: 'error',
  critical: 'error'
};

/** GitHub's scale: over 9.0 critical, 7.0 to 8.9 high, 4.0 to 6.9 medium, under 4.0 low. */
const SECURITY_SEVERITY: Record<Severity, string> = {
  low: '2.0',
  medium: '5.0',
  high: '8.0',
  critical: '9.5'
};

const HELP: Record<string, string> = {
  'server-unavailable':
    'The server could not be started or reached, so nothing it offers was checked. Fix its command, URL or credentials and scan again.',
  'no-input-schema':
    "The tool's input schema does not say which arguments it takes, so any argument gets through to the server. Ask for a schema that lists its parameters (or `additionalProperties: false`), or constrain the arguments in a rule.",
  'no-rule':
    'No rule covers this tool, so under the default-deny policy nobody can call it. Add a rule if the agent needs it (`portcullis scan --suggest-rules` prints a starting point).',
  'destructive-without-approval':
    'The tool is destructive (its destructiveHint, or its name) and no rule holds it for approval or denies it. Add `require_approval: true` to the rules that allow it.',
  'not-pinned':
    "The server's tools have not been pinned, so a later change to them would go unnoticed. Run `portcullis scan --update-pins` once you have reviewed them.",
  'pin-changed':
    'The tool changed since it was pinned: its description, schema or annotations differ. Review the change before an agent uses it; `--update-pins` records it.',
  'pin-new':
    'The tool appeared since the server was pinned. Review it before an agent uses it; `--update-pins` records it.',
  'pin-removed': 'The tool disappeared since the server was pinned.',
  'runs-commands':
    'The tool can run commands on the machine (from its name or a command parameter). Allow it only to whom must have it, behind approval.',
  'reads-environment':
    'The tool can read environment variables, where API keys and tokens often are. Give the server only the variables it needs.',
  'writes-files':
    'The tool can write, move or delete files. Constrain its path parameters in a rule and hold it for approval.',
  'reaches-network':
    'The tool can reach the network (from its name, a URL parameter, or openWorldHint), so what the agent reads can leave the machine and what it fetches can carry instructions.'
};

const DEFAULT_HELP =
  'A tool, prompt or resource definition holds text a model would read as instructions, hides text from people (invisible or encoded characters), or names other tools or servers. The gateway withholds such a definition; review the server before trusting it.';

function ruleName(id: string): string {
  return id.replace(/(^|[-_])([a-z0-9])/g, (_m, _s, c: string) => c.toUpperCase());
}

/** The folder holding `.git` above `file`, or undefined. */
export function repositoryRoot(file: string): string | undefined {
  for (let dir = dirname(resolve(file)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, '.git'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** 1-based line and column of `offset` in `text`. */
function position(text: string, offset: number): { startLine: number; startColumn: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { startLine: line, startColumn: offset - (before.lastIndexOf('\n') + 1) + 1 };
}

/** Where the server's key is in its file: a client's JSON(C) or a portcullis.yaml. */
export function serverRegion(
  file: string,
  key: string
): { startLine: number; startColumn: number } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  if (/\.jsonc?$/i.test(file)) {
    const root = parseTree(text, [], { allowTrailingComma: true, disallowComments: false });
    if (!root) return undefined;
    // Claude Code's ~/.claude.json also keeps servers per project: projects.<folder>.mcpServers.
    const projects = findNodeAtLocation(root, ['projects'])?.children ?? [];
    const paths = [
      ['mcpServers', key],
      ['servers', key],
      ...projects.map((p) => ['projects', p.children?.[0]?.value as string, 'mcpServers', key])
    ];
    for (const path of paths) {
      const name = findNodeAtLocation(root, path)?.parent?.children?.[0];
      if (name) return position(text, name.offset);
    }
    return undefined;
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const servers = doc.get('servers', true);
  if (!isMap(servers)) return undefined;
  const pair = servers.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
  const range = pair && isScalar(pair.key) ? pair.key.range : undefined;
  if (!range) return undefined;
  const { line, col } = lines.linePos(range[0]);
  return { startLine: line, startColumn: col };
}

export interface SarifOptions {
  version: string;
  /** URIs are relative to this folder; default: the repository holding each scanned file. */
  root?: string;
  /** The project's own page, if it declares one (never made up). */
  informationUri?: string;
}

function artifactFor(source: string, base: string | undefined): { uri: string; uriBaseId?: string } {
  if (base) {
    const rel = relative(base, source);
    if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) {
      return { uri: rel.split(sep).map(encodeURIComponent).join('/'), uriBaseId: 'ROOT' };
    }
  }
  return { uri: pathToFileURL(source).href };
}

/** SARIF 2.1.0: one run, a rule per finding rule, each result at its server's entry. */
export function formatSarif(
  report: ScanReport,
  fallbackSource: string,
  options: SarifOptions
): Record<string, unknown> {
  const ruleIds = [...new Set(report.findings.map((f) => f.rule))].sort();
  const worst = new Map<string, Severity>();
  for (const f of report.findings) {
    const was = worst.get(f.rule);
    if (!was || severityRank(f.severity) > severityRank(was)) worst.set(f.rule, f.severity);
  }
  // One base per run: the given root, else the repository of the first scanned file in one.
  const sources = [...new Set(report.findings.map((f) => f.source ?? fallbackSource))];
  const base = options.root
    ? resolve(options.root)
    : sources.map(repositoryRoot).find((r): r is string => r !== undefined);
  const regions = new Map<string, ReturnType<typeof serverRegion>>();
  let relativeUsed = false;
  const locate = (f: ServerFinding) => {
    const source = f.source ?? fallbackSource;
    const server = report.servers.find((s) => s.name === f.server && (s.source ?? fallbackSource) === source);
    const key = server?.key ?? f.server;
    const id = `${source}\0${key}`;
    if (!regions.has(id)) regions.set(id, serverRegion(source, key));
    const artifact = artifactFor(source, base);
    if (artifact.uriBaseId) relativeUsed = true;
    const region = regions.get(id);
    return {
      physicalLocation: { artifactLocation: artifact, ...(region ? { region } : {}) },
      logicalLocations: [{ fullyQualifiedName: f.subject, kind: 'function' }]
    };
  };
  const results = report.findings.map((f) => ({
    ruleId: f.rule,
    ruleIndex: ruleIds.indexOf(f.rule),
    level: LEVEL[f.severity],
    message: { text: `${f.subject}: ${f.message}` },
    locations: [locate(f)],
    properties: { severity: f.severity, server: f.server }
  }));
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'portcullis',
            version: options.version,
            ...(options.informationUri ? { informationUri: options.informationUri } : {}),
            rules: ruleIds.map((id) => {
              const help = HELP[id] ?? DEFAULT_HELP;
              const severity = worst.get(id)!;
              return {
                id,
                name: ruleName(id),
                shortDescription: { text: id.replace(/-/g, ' ') },
                fullDescription: { text: help },
                help: { text: help, markdown: help },
                defaultConfiguration: { level: LEVEL[severity] },
                properties: { 'security-severity': SECURITY_SEVERITY[severity], tags: ['security', 'mcp'] }
              };
            })
          }
        },
        ...(base && relativeUsed
          ? { originalUriBaseIds: { ROOT: { uri: pathToFileURL(base + sep).href } } }
          : {}),
        results
      }
    ]
  };
}
