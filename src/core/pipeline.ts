/**
 * The call pipeline: one ordered list of named stages. Data flows one way; each stage reads the
 * context, adds what it is responsible for, and either returns or throws a GatewayError to stop
 * the call. Stages never reach into each other.
 */
import type { HeldCall } from '../approval/index.js';
import type { Decision } from '../policy/index.js';
import type { Session } from './session.js';
import type { Relay, Upstream, UpstreamTool } from '../upstream/index.js';

export interface CallContext {
  readonly session: Session;
  /** The name the agent called: `<server>__<tool>`. */
  readonly name: string;
  /** The arguments; argument scanning may replace them with a redacted copy. */
  args: Record<string, unknown>;
  /** What the audit record shows as arguments, when it must differ (secrets masked). */
  auditArgs?: unknown;
  /** Scanner findings on the way out and back, as audited (never the matched text). */
  findings?: Array<Record<string, unknown>>;
  /** Risk from flagged findings, added to the session after the call. */
  scanRisk?: number;
  readonly signal?: AbortSignal;
  readonly onprogress?: (p: { progress: number; total?: number; message?: string }) => void;
  /** Extra `_meta` from the agent's request to pass upstream (progress token stripped). */
  readonly meta?: Record<string, unknown>;
  /** Where the server's log messages and requests about this call go (the agent, scanned). */
  relay?: Relay;
  server?: string;
  tool?: string;
  upstream?: Upstream;
  toolDef?: UpstreamTool;
  decision?: Decision;
  policyVersion?: string;
  result?: unknown;
  upstreamMs?: number;
  /** Set while and after the call waits for approval. */
  approval?: HeldCall;
}

export interface Stage {
  readonly name: string;
  run(ctx: CallContext): void | Promise<void>;
}

export async function runPipeline(stages: readonly Stage[], ctx: CallContext): Promise<void> {
  for (const stage of stages) {
    // A stage that finished synchronously is not awaited: the next one runs in the same turn.
    const pending = stage.run(ctx);
    if (pending !== undefined) await pending;
  }
}
