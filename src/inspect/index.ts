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
import type { ScanningConfig } from '../config/types.js';
import type { PinKind, PinStore } from '../pins/index.js';
import { argumentStage, responseStage } from './stages.js';
import { createContentScan, valueScan } from './content.js';
import { createDefinitionVetting } from './definitions.js';
import { createToolVetting } from './tools.js';
import type { Inspector } from './types.js';
import { createVettingContext } from './vetting.js';

export { findingSummary } from './findings.js';
export type {
  DefinitionKind,
  DefinitionVetting,
  Inspector,
  ValueScan,
  Verdict,
  VettedDefinition,
  VettedTool
} from './types.js';

/**
 * The inspector, composed of its parts: tool and definition vetting (each cached, sharing the pins
 * and what has been reported), content scanning of arguments, results and relayed values, and
 * approval, which re-pins a server and drops its cached verdicts.
 */
export function createInspector(
  config: ScanningConfig,
  pins: PinStore | undefined,
  log: Logger,
  audit: (record: AuditInput) => void
): Inspector {
  const shared = createVettingContext(config, pins, log, audit);
  const tools = createToolVetting(shared);
  const definitions = createDefinitionVetting(shared);
  const scan = createContentScan(config);

  return {
    vet: tools.vet,
    vetDefinitions: definitions.vetDefinitions,
    scanReply: valueScan(scan, 'responses'),
    scanAnswer: valueScan(scan, 'arguments'),
    approve(server, sets, by) {
      pins?.pin(server, sets, by);
      tools.forget(server);
      definitions.forget(server);
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
    argumentStage: () => argumentStage(scan),
    responseStage: () => responseStage(scan)
  };
}
