/**
 * `portcullis scan`: look at every configured server before an agent does. It connects, lists
 * tools, prompts and resources, and reports what the description scanners find, tools that accept
 * arbitrary arguments, destructive tools no approval rule covers, tools no rule covers at all, and
 * changes since the tools were pinned. Output as text, JSON or SARIF 2.1.0 for CI.
 */
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/types.js';
import { checkPins, pinsFor, readPinFile, writePinFile } from '../pins/index.js';
import { compileGlob, compileGlobList } from '../policy/glob.js';
import {
  atLeast,
  scanPromptDefinition,
  scanResourceDefinition,
  scanToolDefinition,
  type Severity
} from '../scan/index.js';
import { Upstream, type UpstreamTool } from '../upstream/index.js';
import { DESTRUCTIVE_NAME } from '../setup/policy.js';
import { CAPABILITY_TEXT, capabilitiesOf } from './capabilities.js';

import type { ScanReport } from './types.js';

export type { ScanReport } from './types.js';

export interface ScanOptions {
  only?: string;
  updatePins?: boolean;
  /**
   * Check the tools against the config's rules (no rule, destructive without approval). Off for a
   * client's config, which has servers but no policy.
   */
  policy?: boolean;
  /** The key a server's pins are kept under (default: its name). */
  pinKey?: (server: string) => string;
  /** The server's name in its file, when it differs. */
  keyOf?: (server: string) => string;
  /** Filled with each reachable server's tools, for `--suggest-rules`. */
  listed?: Map<string, UpstreamTool[]>;
}

/**
 * Why a tool's input schema lets anything through, or undefined when it does not. A schema that
 * lists its parameters, closes itself (`additionalProperties: false`), or declares an empty
 * `properties` (a tool that takes no parameters) is fine; a missing schema, or one that says
 * nothing about parameters or opens itself explicitly, is not.
 */
export function openSchema(schema: unknown): string | undefined {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema))
    return 'the tool declares no input schema';
  const s = schema as { properties?: unknown; additionalProperties?: unknown };
  const listed = s.properties && typeof s.properties === 'object' ? Object.keys(s.properties).length : 0;
  if (listed > 0 || s.additionalProperties === false) return undefined;
  if (s.additionalProperties !== undefined)
    return 'the input schema lists no parameters and accepts any others';
  if (s.properties === undefined) return 'the input schema lists no parameters and accepts any arguments';
  return undefined;
}

/** Rules whose tool and server globs match, ignoring conditions (what could ever apply). */
function rulesFor(config: GatewayConfig, server: string, tool: string) {
  return config.rules.filter(
    (r) =>
      r.tool !== undefined &&
      compileGlobList(r.tool, false).test(tool) &&
      (r.server === undefined || compileGlob(r.server).test(server))
  );
}

/** What a tool's schema, capabilities and (for a portcullis config) rules say about it. */
function toolFindings(
  config: GatewayConfig,
  server: string,
  tool: UpstreamTool,
  checkRules: boolean,
  add: (rule: string, severity: Severity, message: string) => void
): void {
  const open = openSchema(tool.inputSchema);
  if (open) add('no-input-schema', 'medium', open);
  for (const c of capabilitiesOf(tool)) {
    // Running commands is the one capability that is the whole machine; the others are low.
    add(
      c.capability,
      c.capability === 'runs-commands' ? 'medium' : 'low',
      `the tool ${CAPABILITY_TEXT[c.capability]} (from its ${c.evidence})`
    );
  }
  if (!checkRules) return;
  const rules = rulesFor(config, server, tool.name);
  const annotations = (tool.annotations ?? {}) as { destructiveHint?: unknown; readOnlyHint?: unknown };
  const destructive =
    annotations.destructiveHint === true ||
    (annotations.readOnlyHint !== true && DESTRUCTIVE_NAME.test(tool.name));
  if (rules.length === 0) {
    add('no-rule', 'low', 'no rule covers this tool: default deny, nobody can call it');
  } else if (destructive && !rules.some((r) => r.require_approval === true || r.deny === true)) {
    add('destructive-without-approval', 'high', 'a destructive tool that no approval rule covers');
  }
}

export async function scanServers(
  config: GatewayConfig,
  log: Logger,
  options: ScanOptions = {}
): Promise<ScanReport> {
  const checkRules = options.policy !== false;
  const pinKey = options.pinKey ?? ((name: string) => name);
  const origin = (name: string) => ({
    ...(config.source !== '<memory>' ? { source: config.source } : {}),
    ...(options.keyOf && options.keyOf(name) !== name ? { key: options.keyOf(name) } : {})
  });
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
        options.listed?.set(name, tools);
        report.servers.push({
          name,
          ...origin(name),
          tools: tools.length,
          prompts: prompts.length,
          resources: resources.length
        });
      } catch (err) {
        const message = (err as { detail?: string }).detail ?? (err as Error).message;
        report.servers.push({ name, ...origin(name), tools: 0, prompts: 0, resources: 0, error: message });
        report.findings.push({
          server: name,
          ...(origin(name).source ? { source: config.source } : {}),
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
      report.findings.push({
        server,
        ...(origin(server).source ? { source: config.source } : {}),
        subject,
        rule,
        severity,
        message
      });
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
      toolFindings(config, server, tool, checkRules, (rule, severity, message) =>
        add(subject, rule, severity, message)
      );
    }
    for (const p of prompts) {
      for (const f of scanPromptDefinition(p as never, { server }))
        add(`${server}__${String(p.name)}`, f.rule, f.severity, f.message);
    }
    for (const r of resources) {
      for (const f of scanResourceDefinition(r as never, { server }))
        add(`portcullis://${server}/${String(r.uri)}`, f.rule, f.severity, f.message);
    }
    const pinned = pins.servers[pinKey(server)];
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
      pins.servers[pinKey(server)] = {
        ...pins.servers[pinKey(server)],
        ...pinsFor({ tools }, 'portcullis scan')
      };
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
  const sources = [...new Set(report.servers.map((s) => s.source))];
  for (const source of sources) {
    if (sources.length > 1 && source !== undefined) lines.push(`${source}:`);
    const servers = report.servers.filter((s) => s.source === source);
    for (const s of servers.sort((a, b) => a.name.localeCompare(b.name))) {
      lines.push(
        s.error
          ? `${s.name}: unavailable: ${s.error}`
          : `${s.name}: ${s.tools} tool(s), ${s.prompts} prompt(s), ${s.resources} resource(s)`
      );
      for (const f of report.findings.filter((x) => x.server === s.name && x.source === source)) {
        lines.push(`  ${f.severity.padEnd(8)} ${f.subject}  [${f.rule}] ${f.message}`);
      }
    }
  }
  lines.push(`${report.findings.length} finding(s)`);
  return lines.join('\n');
}

export { formatSarif, repositoryRoot, serverRegion, type SarifOptions } from './sarif.js';
