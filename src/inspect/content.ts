/**
 * Content scanning of the values a call carries (arguments on their way out, results and relayed
 * values on their way back): the actions configured for a server and tool, the scan, and the
 * enforcement of its findings (block, redact or flag, with the risk they add).
 */
import type { ScanAction, ScanActions, ScanningConfig } from '../config/types.js';
import { GatewayError } from '../errors.js';
import { compileGlob } from '../policy/glob.js';
import { atLeast, redactValue, type Finding } from '../scan/index.js';
import type { ValueScan } from './types.js';

type Direction = 'responses' | 'arguments';

export interface ContentScan {
  /**
   * Scan a value with the actions configured for it; undefined when all are off or nothing is found.
   * Arguments are searched for secrets even when their action is off (for the audit record).
   */
  scanFor(
    direction: Direction,
    server: string,
    name: string,
    value: unknown
  ): ReturnType<typeof redactValue> | undefined;
  /** Apply actions to the findings of one scan; returns the value to use, or throws. */
  enforce(
    direction: Direction,
    server: string,
    tool: string,
    scanned: { value: unknown; findings: Finding[] },
    original: unknown
  ): { value: unknown; flagged: Finding[]; risk: number };
}

export function createContentScan(config: ScanningConfig): ContentScan {
  const overrides = config.overrides.map((o) => ({
    server: o.server ? compileGlob(o.server) : undefined,
    tool: o.tool ? compileGlob(o.tool) : undefined,
    responses: o.responses ?? {},
    arguments: o.arguments ?? {}
  }));
  const actionsFor = (direction: Direction, server: string, tool: string): ScanActions => {
    let actions: ScanActions = { ...config[direction] };
    for (const o of overrides) {
      if ((o.server && !o.server.test(server)) || (o.tool && !o.tool.test(tool))) continue;
      actions = { ...actions, ...o[direction] };
    }
    return actions;
  };

  const enforce: ContentScan['enforce'] = (direction, server, tool, scanned, original) => {
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

  const scanFor: ContentScan['scanFor'] = (direction, server, name, value) => {
    const actions = actionsFor(direction, server, name);
    // Arguments are always searched for secrets, whatever their action: one turned off lets the
    // secret reach the server, never the audit log (the argument stage masks it there). Its
    // findings do nothing else: `enforce` acts only on kinds whose action is not off.
    const secrets = direction === 'arguments' || actions.secrets !== 'off';
    if (!secrets && actions.pii === 'off' && actions.injection === 'off') return undefined;
    // Only the findings are used (enforce redacts the original itself), so nothing is copied.
    const scanned = redactValue(value, {
      secrets,
      pii: actions.pii !== 'off',
      injection: actions.injection !== 'off',
      reportOnly: true
    });
    return scanned.findings.length > 0 ? scanned : undefined;
  };

  return { scanFor, enforce };
}

/**
 * Relay scanning: one value (a prompt or resource the agent asked for, or the agent's answer to a
 * server's relayed request) scanned with a direction's actions, its risk added to the session.
 */
export function valueScan(scan: ContentScan, direction: Direction): ValueScan {
  return (server, name, value, session, addRisk) => {
    const scanned = scan.scanFor(direction, server, name, value);
    if (!scanned) return value;
    const out = scan.enforce(direction, server, name, scanned, value);
    if (out.risk > 0) addRisk(session, out.risk);
    return out.value;
  };
}
