/**
 * Definition vetting: the verdicts on one kind of a server's items. Each item is scanned, compared
 * with its pins and blocked for serious findings or for differing from a pinned set; pins are
 * written on first use and rewritten from an earlier hash version; what is found is audited once.
 */
import type { Logger } from 'pino';
import type { AuditInput } from '../audit/index.js';
import type { ScanningConfig } from '../config/types.js';
import {
  upgradedEntries,
  type Definition,
  type PinCheck,
  type PinKind,
  type PinStore,
  type ServerPins
} from '../pins/index.js';
import { atLeast, type Finding } from '../scan/index.js';
import { findingSummary } from './findings.js';
import type { Verdict } from './types.js';

/** What vetting reads and writes, shared by the vetting of every kind. */
export interface VettingContext {
  config: ScanningConfig;
  pins: PinStore | undefined;
  log: Logger;
  audit: (record: AuditInput) => void;
  /** Pins enabled and a change blocks. */
  enforcing: boolean;
  /** A server's pins, when pins are enabled. */
  pinsOf: (server: string) => ServerPins | undefined;
  /** Audit (and log) something once for as long as it stays the same. */
  once: (key: string, fn: () => void) => void;
}

export function createVettingContext(
  config: ScanningConfig,
  pins: PinStore | undefined,
  log: Logger,
  audit: (record: AuditInput) => void
): VettingContext {
  const enforcing = config.pins.enabled && config.pins.on_change === 'block';
  const pinsOf = (server: string) => (config.pins.enabled ? pins?.get(server) : undefined);
  const reported = new Set<string>();
  const once = (key: string, fn: () => void) => {
    if (reported.has(key)) return;
    reported.add(key);
    fn();
  };
  return { config, pins, log, audit, enforcing, pinsOf, once };
}

const LABEL: Record<PinKind, string> = {
  tools: 'tool',
  prompts: 'prompt',
  resources: 'resource',
  resourceTemplates: 'resource template'
};

/**
 * Pins kept current before judging: pins of an earlier hash version that still match are
 * rewritten, and a first use is pinned (trust on first use), its items then counting as pinned.
 */
function updatePins<T extends Definition>(
  v: VettingContext,
  kind: PinKind,
  server: string,
  items: readonly T[],
  check: PinCheck,
  serverPins: ServerPins | undefined
): void {
  const { config, pins, log, audit } = v;
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
}

/** Audit (once) a verdict worth recording: withheld, with findings, or changed. */
function reportVerdict(
  v: VettingContext,
  kind: PinKind,
  server: string,
  key: string,
  verdict: Verdict
): void {
  const { reason, findings } = verdict;
  if (verdict.blocked || findings.length > 0 || verdict.pin === 'changed') {
    v.once(`${kind}|${server}|${key}|${verdict.hash}|${verdict.status}`, () => {
      v.log.warn(
        { server, kind, name: key, status: verdict.status, reason, findings: findingSummary(findings) },
        'definition vetting'
      );
      v.audit({
        event: 'tools/vetted',
        server,
        ...(kind === 'tools' ? { tool: key } : { name: key }),
        decision: verdict.blocked ? 'deny' : 'allow',
        outcome: verdict.blocked ? 'denied' : 'ok',
        ...(reason ? { reason: kind === 'tools' ? reason : `${LABEL[kind]} withheld: ${reason}` } : {}),
        code: verdict.blocked ? 'tool_blocked' : undefined,
        findings: findingSummary(findings)
      });
    });
  }
}

/**
 * The verdicts on one kind of a server's items, given their pin check: a first use is pinned
 * (trust on first use), pins of an earlier hash version that still match are rewritten, and each
 * item is blocked for findings at or above `block_at`, or for differing from a pinned set.
 */
export function judge<T extends Definition>(
  v: VettingContext,
  kind: PinKind,
  server: string,
  items: readonly T[],
  check: PinCheck,
  serverPins: ServerPins | undefined,
  scan: (item: T) => Finding[],
  keyOf: (item: T) => string
): Map<string, Verdict & { item: T }> {
  const { config, enforcing } = v;
  const label = LABEL[kind];
  updatePins(v, kind, server, items, check, serverPins);
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
    reportVerdict(v, kind, server, key, verdict);
  }
  if (setChanged && check.removed.length > 0) {
    v.once(`${kind}|${server}|removed|${check.removed.join(',')}`, () =>
      v.audit({
        event: 'tools/vetted',
        server,
        decision: 'allow',
        outcome: 'ok',
        reason: `${kind} removed since pinned: ${check.removed.join(', ')}`
      })
    );
  }
  return verdicts;
}

/** What a cached verdict depends on besides the identity of the lists: hashes, pin status, pins. */
export function cacheKey(check: PinCheck, serverPins: ServerPins | undefined): string {
  return [
    [...check.hashes.values()].join(','),
    [...check.status.values()].join(','),
    check.removed.join(','),
    check.upgraded.join(','),
    check.firstUse,
    serverPins?.pinnedAt ?? ''
  ].join('|');
}
