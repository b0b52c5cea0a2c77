/**
 * The call pipeline: one ordered list of named stages (built in ./stages.ts). Data flows one way;
 * each stage reads what earlier stages set, adds what it is responsible for, and either returns or
 * throws a GatewayError to stop the call. Stages never reach into each other.
 *
 * A call moves through typed phases. Each stage declares the phase it reads and the phase it
 * leaves behind (`Stage<In, Out>`); the list is assembled with `pipeline()`, which refuses at
 * compile time a stage that reads what no earlier stage sets. At run time the phases are one
 * object, filled in place: no copy per stage.
 */
import type { HeldCall } from '../approval/types.js';
import type { Decision } from '../policy/index.js';
import type { Session } from './session.js';
import type { Relay, Upstream, UpstreamTool } from '../upstream/index.js';

/** What every call starts with, set before the first stage. */
export interface CallStart {
  readonly session: Session;
  /** The name the agent called: `<server>__<tool>`. */
  readonly name: string;
  /** The arguments; argument scanning may replace them with a redacted copy. */
  args: Record<string, unknown>;
  /** What the audit record shows as arguments, when it must differ (secrets masked). */
  auditArgs?: unknown;
  /** Scanner findings on the way out and back, as audited (never the matched text). */
  findings?: Array<Record<string, unknown>>;
  /**
   * Risk this call adds to the session beyond its policy weight (scanner findings in its
   * arguments and result). Stages only add to it; the core applies it once, when the call ends,
   * whatever its outcome.
   */
  risk: number;
  readonly signal?: AbortSignal;
  readonly onprogress?: (p: { progress: number; total?: number; message?: string }) => void;
  /** Extra `_meta` from the agent's request to pass upstream (progress token stripped). */
  readonly meta?: Record<string, unknown>;
  /** Where the server's log messages and requests about this call go (the agent, scanned). */
  readonly relay?: Relay;
  /** The agent's client itself, for the gateway's own questions to its person (approval). */
  readonly client?: Relay;
}

/** After `route`: which server and tool the name means. */
export interface Routed extends CallStart {
  readonly server: string;
  readonly tool: string;
  readonly upstream: Upstream;
}

/** After `policy`: the decision, and the version of the policy that made it. */
export interface Decided extends Routed {
  decision: Decision;
  /** Approval may decide again under a newer policy. */
  policyVersion: string;
}

/** After `lookup`: the tool's own definition, vetted. */
export interface Resolved extends Decided {
  readonly toolDef: UpstreamTool;
  /** Set while and after the call waits for approval. */
  approval?: HeldCall;
  /** How long the call waited for people to decide, once the wait is over. */
  approvalMs?: number;
}

/** After `upstream`: the server's answer. */
export interface Answered extends Resolved {
  result: unknown;
  /** How long the server took; set even when the request failed. */
  upstreamMs: number;
}

/**
 * Whatever a call reached, as the code after the pipeline sees it (the audit record): every field
 * a stage sets may be missing, because a stage before it may have refused.
 */
export type CallState = CallStart & Partial<Omit<Answered, keyof CallStart>>;

/**
 * What a stage that reads `In` and leaves `Out` behind is given: every field of `In`, and the
 * fields `Out` adds, optional and writable while it runs (it must set them before it returns).
 */
export type StageInput<In extends CallStart, Out extends In> = In & {
  -readonly [K in Exclude<keyof Out, keyof In>]?: Out[K];
};

/** A stage reads `In` and leaves `Out` behind. */
export interface Stage<In extends CallStart = CallStart, Out extends In = In> {
  readonly name: string;
  readonly run: (ctx: StageInput<In, Out>) => void | Promise<void>;
}

/** A stage as the runner holds it; `pipeline()` has checked what it reads. */
export interface PipelineStage {
  readonly name: string;
  run(ctx: CallState): void | Promise<void>;
}

/** Assembles stages in order, checking that each reads only what the ones before it set. */
interface PipelineBuilder<Phase extends CallStart> {
  /** A stage that reads this phase and adds nothing the next stages need; undefined when off. */
  use(stage: Stage<Phase> | undefined): PipelineBuilder<Phase>;
  /** A stage that moves the call to its next phase. */
  advance<Next extends Phase>(stage: Stage<Phase, Next>): PipelineBuilder<Next>;
  readonly stages: readonly PipelineStage[];
}

export function pipeline(): PipelineBuilder<CallStart> {
  const stages: PipelineStage[] = [];
  const builder: PipelineBuilder<CallStart> = {
    use(stage) {
      // The phase types are compile-time only: at run time every stage gets the one call object.
      if (stage) stages.push(stage as unknown as PipelineStage);
      return builder;
    },
    advance<Next extends CallStart>(stage: Stage<CallStart, Next>) {
      stages.push(stage as unknown as PipelineStage);
      return builder as unknown as PipelineBuilder<Next>;
    },
    stages
  };
  return builder;
}

export async function runPipeline(stages: readonly PipelineStage[], ctx: CallState): Promise<void> {
  for (const stage of stages) {
    // A stage that finished synchronously is not awaited: the next one runs in the same turn.
    const pending = stage.run(ctx);
    if (pending !== undefined) await pending;
  }
}
