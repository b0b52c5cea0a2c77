// What the inspector's tests share: a scanning config (description scanning blocking at medium, pins
// enforced with trust on first use, kept in memory), a tool, and an inspector whose audit records and
// log lines are kept.
import { pino } from 'pino';
import type { AuditInput } from '../../src/audit/index.js';
import type { ScanningConfig } from '../../src/config/types.js';
import { createInspector } from '../../src/inspect/index.js';
import { createPinStore, type PinStore } from '../../src/pins/index.js';
import type { UpstreamTool } from '../../src/upstream/index.js';

export interface ScanningOver {
  pins?: Partial<ScanningConfig['pins']>;
  descriptions?: Partial<ScanningConfig['descriptions']>;
}

export function scanning(over: ScanningOver = {}): ScanningConfig {
  const actions = { injection: 'flag', secrets: 'redact', pii: 'flag' } as const;
  return {
    descriptions: { enabled: true, block_at: 'medium', max_bytes: 4096, ...over.descriptions },
    pins: { enabled: true, path: '', trust_on_first_use: true, on_change: 'block', ...over.pins },
    responses: actions,
    arguments: actions,
    overrides: [],
    risk: { injection: 1, secret: 1, pii: 1 }
  };
}

export const tool = (name: string, description: string): UpstreamTool =>
  ({ name, description, inputSchema: { type: 'object' } }) as UpstreamTool;

/** An inspector over `store` (a fresh in-memory pin store by default), keeping what it audits and logs. */
export function setup(
  config = scanning(),
  store: PinStore | undefined = createPinStore(undefined, pino({ level: 'silent' }))
) {
  const audited: AuditInput[] = [];
  const logged: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
  const inspector = createInspector(config, store, log, (r) => void audited.push(r));
  return { inspector, store, audited, logged };
}
