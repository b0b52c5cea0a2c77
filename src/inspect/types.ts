/** What the inspector decides and offers: verdicts on definitions and the inspector's surface. */
import type { Answered, Resolved, Stage } from '../core/pipeline.js';
import type { Session } from '../core/session.js';
import type { Definition, PinKind, PinSets, PinStatus } from '../pins/index.js';
import type { Finding } from '../scan/index.js';
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
