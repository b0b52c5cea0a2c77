/**
 * `portcullis scan`: look at every configured server before an agent does. It connects, lists
 * tools, prompts and resources, and reports what the description scanners find, tools that accept
 * arbitrary arguments, destructive tools no approval rule covers, tools no rule covers at all, and
 * changes since the tools were pinned. Output as text, JSON or SARIF 2.1.0 for CI.
 */
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/types.js';
import { checkPins, pinsFor, readPinFile, writePinFile } from '../pins/index.js';
import { compileGlob } from '../policy/glob.js';
import {
  atLeast,
  scanPromptDefinition,
  scanResourceDefinition,
  scanToolDefinition,
  type Severity
} from '../scan/index.js';
import { Upstream, type UpstreamTool } from '../upstream/index.js';

export interface ServerFinding {
  server: string;
  /** The tool, prompt or resource, as the agent would see it (`server__name`), or the server. */
  subject: string;
  rule: string;
  severity: Severity;
  message: string;
}

export interface ScanReport {
  servers: Array<{ name: string; tools: number; prompts: number; resources: number; error?: string }>;
  findings: ServerFinding[];
}

const DESTRUCTIVE_NAME =
  /(^|[_-])(delete|drop|remove|destroy|wipe|purge|truncate|kill|erase|reset|overwrite)([_-]|$)/i;

function acceptsAnything(schema: unknown): boolean {
  const s = schema as
    { type?: unknown; properties?: Record<string, unknown>; additionalProperties?: unknown } | undefined;
  if (!s || typeof s !== 'object') return true;
  const hasProperties = s.properties !== undefined && Object.keys(s.properties).length > 0;
  return !hasProperties && s.additionalProperties !== false;
}

/** Rules whose tool and server globs match, ignoring conditions (what could ever apply). */
function rulesFor(config: GatewayConfig, server: string, tool: string) {
  return config.rules.filter(
    (r) =>
      r.tool !== undefined &&
      compileGlob(r.tool).test(tool) &&
      (r.server === undefined || compileGlob(r.server).test(server))
  );
}

export async function scanServers(
  config: GatewayConfig,
  log: Logger,
  options: { only?: string; updatePins?: boolean } = {}
): Promise<ScanReport> {
  const names = Object.keys(config.servers).filter((n) => options.only === undefined || n === options.only);
  const report: ScanReport = { servers: [], findings: [] };
  const listed = new Map<
    string,
    {
      tools: UpstreamTool[];
      prompts: Array<Record<string, unknown>>;
      resources: Array<Record<string, unknown>>;
    }
  >();
  await Promise.all(
    names.map(async (name) => {
      const up = new Upstream(name, config.servers[name]!, log.child({ server: name }));
      try {
        const tools = await up.listTools();
        const caps = up.capabilities() ?? {};
        const page = async (method: string, key: string) =>
          caps[key]
            ? ((((await up.request(method, {})) as Record<string, unknown>)[key] as Array<
                Record<string, unknown>
              >) ?? [])
            : [];
        const prompts = await page('prompts/list', 'prompts');
        const resources = await page('resources/list', 'resources');
        listed.set(name, { tools, prompts, resources });
        report.servers.push({
          name,
          tools: tools.length,
          prompts: prompts.length,
          resources: resources.length
        });
      } catch (err) {
        const message = (err as { detail?: string }).detail ?? (err as Error).message;
        report.servers.push({ name, tools: 0, prompts: 0, resources: 0, error: message });
        report.findings.push({
          server: name,
          subject: name,
          rule: 'server-unavailable',
          severity: 'high',
          message
        });
      } finally {
        await up.close();
      }
    })
  );

  const pinsPath = config.scanning.pins.path;
  const pins = (() => {
    try {
      return readPinFile(pinsPath);
    } catch {
      return { version: 1 as const, servers: {} };
    }
  })();
  for (const [server, { tools, prompts, resources }] of listed) {
    const otherTools = [...listed]
      .filter(([n]) => n !== server)
      .flatMap(([, v]) => v.tools.map((t) => t.name));
    const add = (subject: string, rule: string, severity: Severity, message: string) =>
      report.findings.push({ server, subject, rule, severity, message });
    for (const tool of tools) {
      const subject = `${server}__${tool.name}`;
      for (const f of scanToolDefinition(tool, {
        server,
        otherTools,
        siblingTools: tools.map((t) => t.name),
        maxDescriptionBytes: config.scanning.descriptions.max_bytes
      })) {
        // Names are namespaced behind the gateway: a bare name collision cannot shadow anything.
        if (f.rule === 'tool-name-collision') continue;
        add(subject, f.rule, f.severity, `${f.message}${f.field ? ` (${f.field})` : ''}`);
      }
      if (acceptsAnything(tool.inputSchema)) {
        add(
          subject,
          'no-input-schema',
          'medium',
          'the tool declares no parameters and accepts any arguments'
        );
      }
      const rules = rulesFor(config, server, tool.name);
      const annotations = (tool.annotations ?? {}) as { destructiveHint?: unknown; readOnlyHint?: unknown };
      const destructive =
        annotations.destructiveHint === true ||
        (annotations.readOnlyHint !== true && DESTRUCTIVE_NAME.test(tool.name));
      if (rules.length === 0) {
        add(subject, 'no-rule', 'low', 'no rule covers this tool: default deny, nobody can call it');
      } else if (destructive && !rules.some((r) => r.require_approval === true || r.deny === true)) {
        add(
          subject,
          'destructive-without-approval',
          'high',
          'a destructive tool that no approval rule covers'
        );
      }
    }
    for (const p of prompts) {
      for (const f of scanPromptDefinition(p as never, { server }))
        add(`${server}__${String(p.name)}`, f.rule, f.severity, f.message);
    }
    for (const r of resources) {
      for (const f of scanResourceDefinition(r as never, { server }))
        add(`portcullis://${server}/${String(r.uri)}`, f.rule, f.severity, f.message);
    }
    const pinned = pins.servers[server];
    if (!pinned?.tools) {
      add(
        server,
        'not-pinned',
        'low',
        'no pins yet for this server (scan --update-pins or the gateway pins on first use)'
      );
    } else {
      const check = checkPins(pinned, tools);
      for (const [name, status] of check.status) {
        if (status === 'changed')
          add(`${server}__${name}`, 'pin-changed', 'high', 'the tool changed since it was pinned');
        if (status === 'new')
          add(`${server}__${name}`, 'pin-new', 'high', 'the tool appeared since the server was pinned');
      }
      for (const name of check.removed)
        add(
          `${server}__${name}`,
          'pin-removed',
          'medium',
          'the tool disappeared since the server was pinned'
        );
    }
    // The tool set is pinned anew; what else the gateway pinned for the server is kept.
    if (options.updatePins)
      pins.servers[server] = { ...pins.servers[server], ...pinsFor({ tools }, 'portcullis scan') };
  }
  if (options.updatePins) writePinFile(pinsPath, pins);
  report.findings.sort(
    (a, b) =>
      a.server.localeCompare(b.server) || a.subject.localeCompare(b.subject) || a.rule.localeCompare(b.rule)
  );
  return report;
}

export function worstAtLeast(report: ScanReport, min: Severity): boolean {
  return report.findings.some((f) => atLeast(f.severity, min));
}

export function formatText(report: ScanReport): string {
  const lines: string[] = [];
  for (const s of report.servers.sort((a, b) => a.name.localeCompare(b.name))) {
    lines.push(
      s.error
        ? `${s.name}: unavailable: ${s.error}`
        : `${s.name}: ${s.tools} tool(s), ${s.prompts} prompt(s), ${s.resources} resource(s)`
    );
    for (const f of report.findings.filter((x) => x.server === s.name)) {
      lines.push(`  ${f.severity.padEnd(8)} ${f.subject}  [${f.rule}] ${f.message}`);
    }
  }
  lines.push(`${report.findings.length} finding(s)`);
  return lines.join('\n');
}

const LEVEL: Record<Severity, 'note' | 'warning' | 'error'> = {
  low: 'note',
  medium: 'warning',
  high: 'error',
  critical: 'error'
};

/** SARIF 2.1.0: one run, a rule per finding rule, results located in the config file. */
export function formatSarif(
  report: ScanReport,
  config: GatewayConfig,
  version: string
): Record<string, unknown> {
  const ruleIds = [...new Set(report.findings.map((f) => f.rule))].sort();
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'portcullis',
            version,
            informationUri: 'https://portcullis.dev',
            rules: ruleIds.map((id) => ({ id, shortDescription: { text: id.replace(/-/g, ' ') } }))
          }
        },
        results: report.findings.map((f) => ({
          ruleId: f.rule,
          ruleIndex: ruleIds.indexOf(f.rule),
          level: LEVEL[f.severity],
          message: { text: `${f.subject}: ${f.message}` },
          locations: [
            {
              physicalLocation: { artifactLocation: { uri: `file://${config.source}` } },
              logicalLocations: [{ fullyQualifiedName: f.subject, kind: 'function' }]
            }
          ],
          properties: { severity: f.severity, server: f.server }
        }))
      }
    ]
  };
}
