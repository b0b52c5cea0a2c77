/**
 * Content inspection in the call path, built on the scanners in ../scan:
 * - definition vetting when a server's tools, prompts, resources or resource templates are listed:
 *   definitions scanned for instructions to the model, hidden text, shadowing and exfiltration;
 *   each kind pinned and compared with its pins. A poisoned or changed definition is withheld from
 *   its listing, and calls, prompts/get and resources/read of it are refused.
 * - argument scanning before a call leaves: secrets or PII going out are blocked, redacted or flagged.
 * - response scanning after it returns: injections addressed to the model, secrets and PII are
 *   blocked, redacted (the result stays valid MCP content) or flagged (adding to session risk).
 * Actions are configurable per server and tool (`scanning.overrides`).
 */
import type { Logger } from 'pino';
import type { AuditInput } from '../audit/index.js';
import type { ScanAction, ScanActions, ScanningConfig } from '../config/types.js';
import type { Answered, Resolved, Stage } from '../core/pipeline.js';
import type { Session } from '../core/session.js';
import { GatewayError } from '../errors.js';
import {
  checkPins,
  pinKey,
  upgradedEntries,
  type Definition,
  type PinCheck,
  type PinKind,
  type PinSets,
  type PinStatus,
  type PinStore,
  type ServerPins
} from '../pins/index.js';
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

/** What vetting decided about one definition. */
export interface Verdict {
  /** `blocked` when withheld, its pin status otherwise. */
  status: PinStatus | 'blocked';
  /** Its pin status, withheld or not. */
  pin: PinStatus;
  blocked: boolean;
  reason?: string;
  findings: Finding[];
  /** Its current pin hash. */
  hash: string;
}

export interface VettedTool extends Verdict {
  tool: UpstreamTool;
}

/** Prompts, resources and resource templates: what is vetted beside tools. */
export type DefinitionKind = Exclude<PinKind, 'tools'>;

export interface VettedDefinition extends Verdict {
  item: Definition;
  /** Its name (prompts), URI (resources) or URI template. */
  key: string;
}

export interface DefinitionVetting {
  /** By key, in the order listed. */
  items: Map<string, VettedDefinition>;
  /** Pinned items the server no longer lists. */
  removed: string[];
  /** Are removed items refused (pins enforced, the kind pinned)? */
  refusesRemoved: boolean;
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
  /** Vet a server's prompts, resources or resource templates as listed, as tools are. */
  vetDefinitions(kind: DefinitionKind, server: string, items: readonly Definition[]): DefinitionVetting;
  /** Scan the arguments on their way out: block, redact or flag; flagged risk goes to the call's. */
  argumentStage(): Stage<Resolved>;
  /** Scan the result on its way back, likewise. */
  responseStage(): Stage<Answered>;
  /** Approve (re-pin) what a server offers now: its tools, and each other kind it offers. */
  approve(server: string, sets: PinSets, by: string): void;
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

  const LABEL: Record<PinKind, string> = {
    tools: 'tool',
    prompts: 'prompt',
    resources: 'resource',
    resourceTemplates: 'resource template'
  };
  const enforcing = config.pins.enabled && config.pins.on_change === 'block';
  const pinsOf = (server: string) => (config.pins.enabled ? pins?.get(server) : undefined);
  const reported = new Set<string>();
  /** Audit (and log) something once for as long as it stays the same. */
  const once = (key: string, fn: () => void) => {
    if (reported.has(key)) return;
    reported.add(key);
    fn();
  };

  /**
   * The verdicts on one kind of a server's items, given their pin check: a first use is pinned
   * (trust on first use), pins of an earlier hash version that still match are rewritten, and each
   * item is blocked for findings at or above `block_at`, or for differing from a pinned set.
   */
  const judge = <T extends Definition>(
    kind: PinKind,
    server: string,
    items: readonly T[],
    check: PinCheck,
    serverPins: ServerPins | undefined,
    scan: (item: T) => Finding[],
    keyOf: (item: T) => string
  ): Map<string, Verdict & { item: T }> => {
    const label = LABEL[kind];
    if (config.pins.enabled && pins && serverPins && check.upgraded.length > 0) {
      pins.upgrade(server, kind, upgradedEntries(kind, serverPins, items, check));
      log.info({ server, kind, items: check.upgraded }, 'pins of an earlier hash version rewritten');
      audit({
        event: 'tools/pinned',
        server,
        outcome: 'ok',
        decision: 'allow',
        count: check.upgraded.length,
        reason: `${kind} pinned with an earlier hash version still match; pins rewritten with the current hash: ${check.upgraded.join(', ')}`
      });
    }
    if (config.pins.enabled && pins && check.firstUse && config.pins.trust_on_first_use) {
      pins.pin(server, { [kind]: items }, 'trust-on-first-use');
      for (const key of check.status.keys()) check.status.set(key, 'pinned');
      audit({
        event: 'tools/pinned',
        server,
        outcome: 'ok',
        decision: 'allow',
        count: items.length,
        reason: kind === 'tools' ? 'trust on first use' : `trust on first use (${kind})`
      });
    }
    const setChanged =
      !check.firstUse && (check.removed.length > 0 || [...check.status.values()].some((s) => s !== 'pinned'));
    const verdicts = new Map<string, Verdict & { item: T }>();
    for (const item of items) {
      const key = keyOf(item);
      const findings = config.descriptions.enabled ? scan(item) : [];
      const pin = check.status.get(key) ?? 'new';
      // Two servers offering a tool of the same name cannot shadow each other behind the gateway
      // (names are namespaced), so a bare name collision is recorded but never blocks.
      const serious = findings.filter(
        (f) => atLeast(f.severity, config.descriptions.block_at) && f.rule !== 'tool-name-collision'
      );
      let reason: string | undefined;
      if (serious.length > 0) {
        reason = `description findings: ${serious.map((f) => f.rule).join(', ')}`;
      } else if (enforcing && setChanged && pin !== 'pinned') {
        reason =
          kind === 'tools'
            ? `tool ${pin === 'new' ? 'appeared' : 'changed'} since the server was pinned; approve the new tool set`
            : `${label} ${pin === 'new' ? 'appeared' : 'changed'} since the server was pinned; approve the server's new definitions`;
      } else if (enforcing && check.firstUse && !config.pins.trust_on_first_use) {
        reason = 'server not yet approved (trust on first use is off)';
      }
      const verdict: Verdict & { item: T } = {
        item,
        status: reason ? 'blocked' : pin,
        pin,
        blocked: reason !== undefined,
        ...(reason ? { reason } : {}),
        findings,
        hash: check.hashes.get(key) ?? ''
      };
      verdicts.set(key, verdict);
      if (verdict.blocked || findings.length > 0 || pin === 'changed') {
        once(`${kind}|${server}|${key}|${verdict.hash}|${verdict.status}`, () => {
          log.warn(
            { server, kind, name: key, status: verdict.status, reason, findings: findingSummary(findings) },
            'definition vetting'
          );
          audit({
            event: 'tools/vetted',
            server,
            ...(kind === 'tools' ? { tool: key } : { name: key }),
            decision: verdict.blocked ? 'deny' : 'allow',
            outcome: verdict.blocked ? 'denied' : 'ok',
            ...(reason ? { reason: kind === 'tools' ? reason : `${label} withheld: ${reason}` } : {}),
            code: verdict.blocked ? 'tool_blocked' : undefined,
            findings: findingSummary(findings)
          });
        });
      }
    }
    if (setChanged && check.removed.length > 0) {
      once(`${kind}|${server}|removed|${check.removed.join(',')}`, () =>
        audit({
          event: 'tools/vetted',
          server,
          decision: 'allow',
          outcome: 'ok',
          reason: `${kind} removed since pinned: ${check.removed.join(', ')}`
        })
      );
    }
    return verdicts;
  };

  /** What a cached verdict depends on besides the identity of the lists: hashes, pin status, pins. */
  const cacheKey = (check: PinCheck, serverPins: ServerPins | undefined) =>
    [
      [...check.hashes.values()].join(','),
      [...check.status.values()].join(','),
      check.removed.join(','),
      check.upgraded.join(','),
      check.firstUse,
      serverPins?.pinnedAt ?? ''
    ].join('|');

  // Vetting is cached per server (and kind) until what it reads changes: the server's list, its
  // pins, or (tools) another server's tool list, the names a description could shadow. Lists and
  // pins are replaced, never changed in place, so comparing them by identity is enough; a new list
  // with the same content (every field a hash covers) keeps its verdicts.
  const toolCache = new Map<
    string,
    {
      key: string;
      tools: readonly UpstreamTool[];
      pins: ServerPins | undefined;
      others: ReadonlyArray<readonly UpstreamTool[] | undefined>;
      vetted: Map<string, VettedTool>;
    }
  >();
  const sameLists = (
    a: ReadonlyArray<readonly UpstreamTool[] | undefined>,
    b: ReadonlyArray<readonly UpstreamTool[] | undefined>
  ) => a.length === b.length && a.every((list, i) => list === b[i]);

  const vet: Inspector['vet'] = (server, tools, others) => {
    const serverPins = pinsOf(server);
    // The hot path: the same cached tool lists and the same pins as last time need no hashing.
    const hit = toolCache.get(server);
    const sameOthers = hit !== undefined && sameLists(hit.others, others);
    if (hit && sameOthers && hit.tools === tools && hit.pins === serverPins) return hit.vetted;
    const check = checkPins(serverPins, tools, 'tools');
    const key = cacheKey(check, serverPins);
    if (hit && sameOthers && hit.key === key) {
      // The same verdicts: the hash covers every field a model reads. Fields it does not cover
      // (icons, execution hints) are served as the server lists them now.
      const current = new Map(tools.map((t) => [t.name, t]));
      const vetted = new Map(
        [...hit.vetted].map(([name, v]) => [name, { ...v, tool: current.get(name) ?? v.tool }] as const)
      );
      toolCache.set(server, { ...hit, tools, pins: serverPins, vetted });
      return vetted;
    }
    const otherNames = others.flatMap((list) => (list ?? []).map((t) => t.name));
    const siblingNames = tools.map((t) => t.name);
    const verdicts = judge(
      'tools',
      server,
      tools,
      check,
      serverPins,
      (tool) =>
        scanToolDefinition(tool, {
          server,
          otherTools: otherNames,
          siblingTools: siblingNames,
          maxDescriptionBytes: config.descriptions.max_bytes
        }),
      (tool) => tool.name
    );
    const vetted = new Map<string, VettedTool>();
    for (const [name, { item, ...verdict }] of verdicts) vetted.set(name, { tool: item, ...verdict });
    toolCache.set(server, { key, tools, pins: pinsOf(server), others: [...others], vetted });
    return vetted;
  };

  const definitionCache = new Map<
    string,
    { key: string; items: readonly Definition[]; pins: ServerPins | undefined; vetting: DefinitionVetting }
  >();
  const vetDefinitions: Inspector['vetDefinitions'] = (kind, server, items) => {
    const serverPins = pinsOf(server);
    const cacheId = `${kind}\n${server}`;
    const hit = definitionCache.get(cacheId);
    if (hit && hit.items === items && hit.pins === serverPins) return hit.vetting;
    const check = checkPins(serverPins, items, kind);
    const key = cacheKey(check, serverPins);
    const keyOf = (item: Definition) => pinKey(kind, item);
    if (hit && hit.key === key) {
      const current = new Map(items.map((item) => [keyOf(item), item]));
      const vetting: DefinitionVetting = {
        ...hit.vetting,
        items: new Map(
          [...hit.vetting.items].map(([k, v]) => [k, { ...v, item: current.get(k) ?? v.item }] as const)
        )
      };
      definitionCache.set(cacheId, { ...hit, items, pins: serverPins, vetting });
      return vetting;
    }
    const ctx = { server, maxDescriptionBytes: config.descriptions.max_bytes };
    const verdicts = judge(
      kind,
      server,
      items,
      check,
      serverPins,
      (item) =>
        kind === 'prompts'
          ? scanPromptDefinition(item as never, ctx)
          : scanResourceDefinition(item as never, ctx),
      keyOf
    );
    const vetting: DefinitionVetting = {
      items: new Map([...verdicts].map(([k, v]) => [k, { ...v, key: k }] as const)),
      removed: check.removed,
      refusesRemoved: enforcing && !check.firstUse
    };
    definitionCache.set(cacheId, { key, items, pins: pinsOf(server), vetting });
    return vetting;
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
    vetDefinitions,
    scanReply: valueScan('responses'),
    scanAnswer: valueScan('arguments'),
    approve(server, sets, by) {
      pins?.pin(server, sets, by);
      toolCache.delete(server);
      for (const kind of ['prompts', 'resources', 'resourceTemplates'] as const)
        definitionCache.delete(`${kind}\n${server}`);
      const counts = (Object.keys(sets) as PinKind[]).map((kind) => `${sets[kind]!.length} ${kind}`);
      audit({
        event: 'tools/pinned',
        server,
        outcome: 'ok',
        decision: 'allow',
        count: sets.tools?.length ?? 0,
        reason: `approved by ${by}${counts.length ? ` (${counts.join(', ')})` : ''}`
      });
    },
    argumentStage() {
      return {
        name: 'scan-arguments',
        run(ctx) {
          const scanned = scanFor('arguments', ctx.server, ctx.tool, ctx.args);
          if (!scanned) return;
          // Secrets never reach the audit log, whatever the action.
          if (scanned.findings.some((f) => f.kind === 'secret')) {
            ctx.auditArgs = redactValue(ctx.args, { secrets: true, pii: false, injection: false }).value;
          }
          const out = enforce('arguments', ctx.server, ctx.tool, scanned, ctx.args);
          ctx.findings = [
            ...(ctx.findings ?? []),
            ...findingSummary(out.flagged).map((f) => ({ ...f, where: 'arguments' }))
          ];
          ctx.args = out.value as Record<string, unknown>;
          ctx.risk += out.risk;
        }
      };
    },
    responseStage() {
      return {
        name: 'scan-response',
        run(ctx) {
          if (ctx.result === undefined) return;
          const scanned = scanFor('responses', ctx.server, ctx.tool, ctx.result);
          if (!scanned) return;
          try {
            const out = enforce('responses', ctx.server, ctx.tool, scanned, ctx.result);
            ctx.result = out.value;
            ctx.findings = [
              ...(ctx.findings ?? []),
              ...findingSummary(out.flagged).map((f) => ({ ...f, where: 'response' }))
            ];
            ctx.risk += out.risk;
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
