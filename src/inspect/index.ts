/**
 * Content inspection in the call path, built on the scanners in ../scan:
 * - tool vetting at tools/list: descriptions (and schemas, annotations) scanned for instructions to
 *   the model, hidden text, shadowing and exfiltration; the tool set pinned and compared with its
 *   pins. A poisoned or changed tool is withheld from tools/list and its calls refused.
 * - argument scanning before a call leaves: secrets or PII going out are blocked, redacted or flagged.
 * - response scanning after it returns: injections addressed to the model, secrets and PII are
 *   blocked, redacted (the result stays valid MCP content) or flagged (adding to session risk).
 * Actions are configurable per server and tool (`scanning.overrides`).
 */
import type { Logger } from 'pino';
import type { AuditInput } from '../audit/index.js';
import type { ScanAction, ScanActions, ScanningConfig } from '../config/types.js';
import type { Stage } from '../core/pipeline.js';
import type { Session } from '../core/session.js';
import { GatewayError } from '../errors.js';
import { checkPins, type PinStatus, type PinStore, type ServerPins } from '../pins/index.js';
import { compileGlob } from '../policy/glob.js';
import {
  atLeast,
  redactValue,
  scanPromptDefinition,
  scanResourceDefinition,
  scanToolDefinition,
  type Finding
} from '../scan/index.js';
import type { UpstreamTool } from '../upstream/index.js';

export interface VettedTool {
  tool: UpstreamTool;
  status: PinStatus | 'blocked';
  blocked: boolean;
  reason?: string;
  findings: Finding[];
  hash: string;
}

export interface Inspector {
  /**
   * Vet a server's tools: scan findings and pin status, by tool name. `others` are the tool lists
   * of the other servers (undefined where not listed yet), for shadowing checks.
   */
  vet(
    server: string,
    tools: readonly UpstreamTool[],
    others: ReadonlyArray<readonly UpstreamTool[] | undefined>
  ): Map<string, VettedTool>;
  argumentStage(): Stage;
  responseStage(addRisk: (session: Session, amount: number) => void): Stage;
  /** Approve a server's current tool set (re-pin it). */
  approve(server: string, tools: readonly UpstreamTool[], by: string): void;
  /** Should a prompt or resource from this server be withheld from listings? */
  withholds(kind: 'prompt' | 'resource', server: string, item: Record<string, unknown>): boolean;
  /** Scan a prompt or resource the agent asked for, as responses are; may redact or throw. */
  scanReply: ValueScan;
  /**
   * Scan what the agent sends back to a server (its answer to a relayed sampling or elicitation
   * request) as the arguments of the server's tool are scanned; may redact or throw.
   */
  scanAnswer: ValueScan;
}

/** Scan one value on its way to the agent or to a server; returns it (maybe redacted) or throws. */
export type ValueScan = (
  server: string,
  name: string,
  value: unknown,
  session: Session,
  addRisk: (s: Session, n: number) => void
) => unknown;

/** Findings as they go into audit records: never the matched text itself. */
export function findingSummary(findings: readonly Finding[]): Array<Record<string, unknown>> {
  return findings.map((f) => ({
    kind: f.kind,
    rule: f.rule,
    severity: f.severity,
    ...(f.field ? { field: f.field } : {})
  }));
}

export function createInspector(
  config: ScanningConfig,
  pins: PinStore | undefined,
  log: Logger,
  audit: (record: AuditInput) => void
): Inspector {
  const overrides = config.overrides.map((o) => ({
    server: o.server ? compileGlob(o.server) : undefined,
    tool: o.tool ? compileGlob(o.tool) : undefined,
    responses: o.responses ?? {},
    arguments: o.arguments ?? {}
  }));
  const actionsFor = (direction: 'responses' | 'arguments', server: string, tool: string): ScanActions => {
    let actions: ScanActions = { ...config[direction] };
    for (const o of overrides) {
      if ((o.server && !o.server.test(server)) || (o.tool && !o.tool.test(tool))) continue;
      actions = { ...actions, ...o[direction] };
    }
    return actions;
  };

  // Vetting is cached per server until what it reads changes: the server's tool list, its pins, or
  // another server's tool list (the names a description could shadow). Lists and pins are replaced,
  // never changed in place, so comparing them by identity is enough.
  const cache = new Map<
    string,
    {
      key: string;
      tools: readonly UpstreamTool[];
      pins: ServerPins | undefined;
      others: ReadonlyArray<readonly UpstreamTool[] | undefined>;
      vetted: Map<string, VettedTool>;
    }
  >();
  const reported = new Set<string>();
  const sameLists = (
    a: ReadonlyArray<readonly UpstreamTool[] | undefined>,
    b: ReadonlyArray<readonly UpstreamTool[] | undefined>
  ) => a.length === b.length && a.every((list, i) => list === b[i]);

  const vet: Inspector['vet'] = (server, tools, others) => {
    const serverPins = config.pins.enabled ? pins?.get(server) : undefined;
    // The hot path: the same cached tool lists and the same pins as last time need no hashing.
    const hit = cache.get(server);
    const sameOthers = hit !== undefined && sameLists(hit.others, others);
    if (hit && sameOthers && hit.tools === tools && hit.pins === serverPins) return hit.vetted;
    const check = checkPins(serverPins, tools);
    // A list or pins that are new objects with the same content: the same tools, the same status.
    const key = [
      [...check.hashes.values()].join(','),
      [...check.status.values()].join(','),
      check.removed.join(','),
      check.firstUse,
      serverPins?.pinnedAt ?? ''
    ].join('|');
    if (hit && sameOthers && hit.key === key) {
      // The verdicts stand, but the tools are the new ones: what the hash does not cover (an
      // output schema, _meta) is served as the server now lists it.
      const current = new Map(tools.map((t) => [t.name, t]));
      const vetted = new Map(
        [...hit.vetted].map(([name, v]) => [name, { ...v, tool: current.get(name) ?? v.tool }] as const)
      );
      cache.set(server, { ...hit, tools, pins: serverPins, vetted });
      return vetted;
    }

    if (config.pins.enabled && pins && check.firstUse && config.pins.trust_on_first_use) {
      pins.pin(server, tools, 'trust-on-first-use');
      for (const name of check.status.keys()) check.status.set(name, 'pinned');
      audit({
        event: 'tools/pinned',
        server,
        outcome: 'ok',
        decision: 'allow',
        count: tools.length,
        reason: 'trust on first use'
      });
    }
    const setChanged =
      !check.firstUse && (check.removed.length > 0 || [...check.status.values()].some((s) => s !== 'pinned'));
    const otherNames = others.flatMap((list) => (list ?? []).map((t) => t.name));
    const vetted = new Map<string, VettedTool>();
    for (const tool of tools) {
      const findings = config.descriptions.enabled
        ? scanToolDefinition(tool, {
            server,
            otherTools: otherNames,
            maxDescriptionBytes: config.descriptions.max_bytes
          })
        : [];
      const pin = check.status.get(tool.name) ?? 'new';
      // Two servers offering a tool of the same name cannot shadow each other behind the gateway
      // (names are namespaced), so a bare name collision is recorded but never blocks.
      const serious = findings.filter(
        (f) => atLeast(f.severity, config.descriptions.block_at) && f.rule !== 'tool-name-collision'
      );
      let reason: string | undefined;
      if (serious.length > 0) {
        reason = `description findings: ${serious.map((f) => f.rule).join(', ')}`;
      } else if (config.pins.enabled && config.pins.on_change === 'block' && setChanged && pin !== 'pinned') {
        reason = `tool ${pin === 'new' ? 'appeared' : 'changed'} since the server was pinned; approve the new tool set`;
      } else if (
        config.pins.enabled &&
        config.pins.on_change === 'block' &&
        check.firstUse &&
        !config.pins.trust_on_first_use
      ) {
        reason = 'server not yet approved (trust on first use is off)';
      }
      const entry: VettedTool = {
        tool,
        status: reason ? 'blocked' : pin,
        blocked: reason !== undefined,
        ...(reason ? { reason } : {}),
        findings,
        hash: check.hashes.get(tool.name) ?? ''
      };
      vetted.set(tool.name, entry);
      const reportKey = `${server}|${tool.name}|${entry.hash}|${entry.status}`;
      if ((entry.blocked || findings.length > 0 || pin === 'changed') && !reported.has(reportKey)) {
        reported.add(reportKey);
        log.warn(
          { server, tool: tool.name, status: entry.status, reason, findings: findingSummary(findings) },
          'tool vetting'
        );
        audit({
          event: 'tools/vetted',
          server,
          tool: tool.name,
          decision: entry.blocked ? 'deny' : 'allow',
          outcome: entry.blocked ? 'denied' : 'ok',
          ...(reason ? { reason } : {}),
          code: entry.blocked ? 'tool_blocked' : undefined,
          findings: findingSummary(findings)
        });
      }
    }
    if (setChanged && check.removed.length > 0) {
      const reportKey = `${server}|removed|${check.removed.join(',')}`;
      if (!reported.has(reportKey)) {
        reported.add(reportKey);
        audit({
          event: 'tools/vetted',
          server,
          decision: 'allow',
          outcome: 'ok',
          reason: `tools removed since pinned: ${check.removed.join(', ')}`
        });
      }
    }
    cache.set(server, {
      key,
      tools,
      pins: config.pins.enabled ? pins?.get(server) : undefined,
      others: [...others],
      vetted
    });
    return vetted;
  };

  /** Apply actions to the findings of one scan; returns the value to use, or throws. */
  const enforce = (
    direction: 'responses' | 'arguments',
    server: string,
    tool: string,
    scanned: { value: unknown; findings: Finding[] },
    original: unknown
  ): { value: unknown; flagged: Finding[]; risk: number } => {
    const actions = actionsFor(direction, server, tool);
    const byKind = (f: Finding): ScanAction =>
      f.kind === 'secret' ? actions.secrets : f.kind === 'pii' ? actions.pii : actions.injection;
    // Low-severity injection-like findings (terminal colours, a server named in passing) are
    // informational: only medium and above are acted on. Secrets and PII always count.
    const active = scanned.findings.filter(
      (f) => byKind(f) !== 'off' && (f.kind === 'secret' || f.kind === 'pii' || atLeast(f.severity, 'medium'))
    );
    const blocking = active.filter((f) => byKind(f) === 'block');
    if (blocking.length > 0) {
      throw new GatewayError(
        direction === 'responses' ? 'response_blocked' : 'argument_blocked',
        `${direction === 'responses' ? 'response' : 'arguments'} of ${server}__${tool}: ${blocking.map((f) => `${f.kind}/${f.rule}`).join(', ')}`
      );
    }
    // Redact only the kinds whose action is redact; flagged kinds stay as they are.
    const redactKinds = {
      secrets: actions.secrets === 'redact',
      pii: actions.pii === 'redact',
      injection: false
    };
    const value =
      redactKinds.secrets || redactKinds.pii
        ? active.some((f) => byKind(f) === 'redact')
          ? redactValue(original, redactKinds).value
          : original
        : original;
    let risk = 0;
    for (const f of active) {
      if (byKind(f) === 'flag' || byKind(f) === 'redact') {
        risk +=
          f.kind === 'secret'
            ? config.risk.secret
            : f.kind === 'pii'
              ? config.risk.pii
              : config.risk.injection;
      }
    }
    return { value, flagged: active, risk };
  };

  /** Scan a value with the actions configured for it; undefined when all are off or nothing is found. */
  const scanFor = (direction: 'responses' | 'arguments', server: string, name: string, value: unknown) => {
    const actions = actionsFor(direction, server, name);
    if (actions.secrets === 'off' && actions.pii === 'off' && actions.injection === 'off') return undefined;
    // Only the findings are used (enforce redacts the original itself), so nothing is copied.
    const scanned = redactValue(value, {
      secrets: actions.secrets !== 'off',
      pii: actions.pii !== 'off',
      injection: actions.injection !== 'off',
      reportOnly: true
    });
    return scanned.findings.length > 0 ? scanned : undefined;
  };

  /** One value scanned with a direction's actions, its risk added to the session. */
  const valueScan =
    (direction: 'responses' | 'arguments'): ValueScan =>
    (server, name, value, session, addRisk) => {
      const scanned = scanFor(direction, server, name, value);
      if (!scanned) return value;
      const out = enforce(direction, server, name, scanned, value);
      if (out.risk > 0) addRisk(session, out.risk);
      return out.value;
    };

  return {
    vet,
    withholds(kind, server, item) {
      if (!config.descriptions.enabled) return false;
      const ctx = { server, maxDescriptionBytes: config.descriptions.max_bytes };
      const findings =
        kind === 'prompt'
          ? scanPromptDefinition(item as never, ctx)
          : scanResourceDefinition(item as never, ctx);
      const serious = findings.filter(
        (f) => atLeast(f.severity, config.descriptions.block_at) && f.rule !== 'tool-name-collision'
      );
      if (serious.length === 0) return false;
      const name = String(item.name ?? item.uri ?? '');
      const reportKey = `${kind}|${server}|${name}|${serious.map((f) => f.rule).join(',')}`;
      if (!reported.has(reportKey)) {
        reported.add(reportKey);
        audit({
          event: 'tools/vetted',
          server,
          name,
          decision: 'deny',
          outcome: 'denied',
          code: 'tool_blocked',
          reason: `${kind} withheld: ${serious.map((f) => f.rule).join(', ')}`,
          findings: findingSummary(findings)
        });
      }
      return true;
    },
    scanReply: valueScan('responses'),
    scanAnswer: valueScan('arguments'),
    approve(server, tools, by) {
      pins?.pin(server, tools, by);
      cache.delete(server);
      audit({
        event: 'tools/pinned',
        server,
        outcome: 'ok',
        decision: 'allow',
        count: tools.length,
        reason: `approved by ${by}`
      });
    },
    argumentStage() {
      return {
        name: 'scan-arguments',
        run(ctx) {
          const scanned = scanFor('arguments', ctx.server!, ctx.tool!, ctx.args);
          if (!scanned) return;
          // Secrets never reach the audit log, whatever the action.
          if (scanned.findings.some((f) => f.kind === 'secret')) {
            ctx.auditArgs = redactValue(ctx.args, { secrets: true, pii: false, injection: false }).value;
          }
          const out = enforce('arguments', ctx.server!, ctx.tool!, scanned, ctx.args);
          ctx.findings = [
            ...(ctx.findings ?? []),
            ...findingSummary(out.flagged).map((f) => ({ ...f, where: 'arguments' }))
          ];
          ctx.args = out.value as Record<string, unknown>;
          ctx.scanRisk = (ctx.scanRisk ?? 0) + out.risk;
        }
      };
    },
    responseStage(addRisk) {
      return {
        name: 'scan-response',
        run(ctx) {
          if (ctx.result === undefined) return;
          const scanned = scanFor('responses', ctx.server!, ctx.tool!, ctx.result);
          if (!scanned) return;
          try {
            const out = enforce('responses', ctx.server!, ctx.tool!, scanned, ctx.result);
            ctx.result = out.value;
            ctx.findings = [
              ...(ctx.findings ?? []),
              ...findingSummary(out.flagged).map((f) => ({ ...f, where: 'response' }))
            ];
            const total = out.risk + (ctx.scanRisk ?? 0);
            if (total > 0) addRisk(ctx.session, total);
            ctx.scanRisk = 0;
          } catch (err) {
            ctx.result = undefined;
            ctx.findings = [
              ...(ctx.findings ?? []),
              ...findingSummary(scanned.findings).map((f) => ({ ...f, where: 'response' }))
            ];
            throw err;
          }
        }
      };
    }
  };
}
