/**
 * Human approval of risky calls. A call whose decision is `approval` is parked with its full
 * context while the agent's request stays open (progress notifications keep clients from timing
 * out); people decide in the console, the CLI or the admin API, or (`ask_client_roles`) the person
 * at the caller's own client answers an elicitation; enough approvals release it, one
 * denial or the timeout refuses it. Nobody approves their own call in the console, the CLI or the
 * API, and only approver roles count.
 * On approval the call is decided again against the current policy before it runs.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Identity } from '../auth/index.js';
import type { Resolved, Stage } from '../core/pipeline.js';
import { GatewayError } from '../errors.js';
import type { Decision } from '../policy/index.js';
import type { Relay } from '../upstream/index.js';
import { ApprovalRefused, type ApprovalBus } from '../state/bus.js';
import type { HeldCall, HeldStatus } from './types.js';

export type { ApprovalDecision, HeldCall, HeldStatus } from './types.js';

interface ApprovalSettings {
  timeout_s: number;
  approvers: number;
  approver_roles: string[];
  progress_interval_s: number;
  /** Ask the person at the agent's client too (MCP elicitation). */
  ask_client_roles?: string[];
  webhook?: { url: string; headers: Record<string, string> };
}

export { ApprovalRefused } from '../state/bus.js';

export interface ApprovalQueue {
  list(status?: 'pending' | 'decided' | 'all'): HeldCall[];
  get(id: string): HeldCall | undefined;
  /** Synchronous in memory; with shared state, checked and applied atomically in the store. */
  decide(
    id: string,
    approver: Identity,
    decision: 'approve' | 'deny',
    note?: string
  ): HeldCall | Promise<HeldCall>;
  /** `held` when a call is parked, `changed` when its status or decisions change. */
  readonly events: EventEmitter;
  /**
   * Park a call; resolves with its final status. With `ask`, the person at the caller's client is
   * asked too when the caller holds one of `ask_client_roles`.
   */
  hold(
    call: Omit<HeldCall, 'id' | 'status' | 'createdAt' | 'expiresAt' | 'decisions'>,
    timeoutMs: number,
    signal?: AbortSignal,
    ask?: { client: Relay; caller: Identity }
  ): {
    held: HeldCall;
    done: Promise<HeldStatus>;
  };
  close(): void;
}

const KEEP_DECIDED = 1000;

/** Follow the held calls in the shared store: changes from any replica, and a full reload on resync. */
function followBus(
  bus: ApprovalBus,
  calls: Map<string, HeldCall>,
  waiters: Map<string, unknown>,
  apply: (stored: HeldCall) => HeldCall,
  log: Logger
): void {
  bus.onChange((stored) => void apply(stored));
  bus.onResync(() => {
    // Only a call known before the reload can have been lost from the store: one that arrives
    // while it runs was stored after the reload read the store.
    const known = new Set(calls.keys());
    bus.load().then(
      (all) => {
        const ids = new Set(all.map((c) => c.id));
        for (const [id, c] of calls)
          if (known.has(id) && !waiters.has(id) && !ids.has(id) && c.status === 'pending') calls.delete(id);
        for (const c of all) apply(c);
      },
      (err: Error) => log.warn({ err: err.message }, 'held calls: resync failed')
    );
  });
}

/** Tell the configured webhook a call is waiting for approval (best effort, logged). */
function notifyWebhook(log: Logger, settings: ApprovalSettings, held: HeldCall): void {
  const hook = settings.webhook;
  if (!hook) return;
  const body = JSON.stringify({ type: 'approval.requested', approval: held });
  fetch(hook.url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...hook.headers },
    body,
    signal: AbortSignal.timeout(5000)
  })
    .then((res) => {
      if (!res.ok)
        log.warn({ status: res.status, approval: held.id }, 'approval webhook answered with an error');
    })
    .catch((err: Error) => log.warn({ err: err.message, approval: held.id }, 'approval webhook failed'));
}

/**
 * One decision on a held call kept in memory: still pending, not the caller's own, an approver
 * role, one decision per person.
 */
function decideLocally(
  calls: Map<string, HeldCall>,
  finish: (held: HeldCall, status: HeldStatus) => void,
  events: EventEmitter,
  log: Logger,
  {
    id,
    approver,
    decision,
    note
  }: { id: string; approver: Identity; decision: 'approve' | 'deny'; note?: string }
): HeldCall {
  const held = calls.get(id);
  if (!held) throw new ApprovalRefused(404, `no held call ${id}`);
  if (held.status !== 'pending') throw new ApprovalRefused(409, `call ${id} is already ${held.status}`);
  if (approver.id === held.identity) throw new ApprovalRefused(403, 'nobody can approve their own call');
  if (!approver.roles.some((r) => held.approverRoles.includes(r))) {
    throw new ApprovalRefused(403, `approving needs one of the roles ${held.approverRoles.join(', ')}`);
  }
  if (held.decisions.some((d) => d.by === approver.id)) {
    throw new ApprovalRefused(409, `${approver.id} has already decided on ${id}`);
  }
  held.decisions.push({
    by: approver.id,
    decision,
    at: new Date().toISOString(),
    ...(note ? { note: note.slice(0, 500) } : {})
  });
  log.info({ approval: id, by: approver.id, decision }, 'approval decision');
  if (decision === 'deny') finish(held, 'denied');
  else if (held.decisions.filter((d) => d.decision === 'approve').length >= held.required)
    finish(held, 'approved');
  else events.emit('changed', held);
  return held;
}

/**
 * The queue of held calls. With a bus (shared state), every replica sees every held call: a call
 * waits on the replica that holds the agent's request, and a decision taken on any replica is
 * applied atomically in the store and released there.
 */
export function createApprovalQueue(
  log: Logger,
  settings: ApprovalSettings,
  bus?: ApprovalBus
): ApprovalQueue {
  const calls = new Map<string, HeldCall>();
  const waiters = new Map<string, { resolve: (s: HeldStatus) => void; timer: NodeJS.Timeout }>();
  const events = new EventEmitter();
  events.setMaxListeners(0);

  const finish = (held: HeldCall, status: HeldStatus, at = new Date().toISOString()) => {
    if (held.status !== 'pending') return;
    held.status = status;
    held.decidedAt = at;
    const w = waiters.get(held.id);
    if (w) {
      clearTimeout(w.timer);
      waiters.delete(held.id);
      w.resolve(status);
    }
    events.emit('changed', held);
    // Keep a bounded history of decided calls for the console.
    const decided = [...calls.values()].filter((c) => c.status !== 'pending');
    const drop = decided.slice(0, Math.max(0, decided.length - KEEP_DECIDED));
    for (const c of drop) calls.delete(c.id);
    if (bus && drop.length > 0) {
      bus
        .forget(drop.map((c) => c.id))
        .catch((err: Error) => log.debug({ err: err.message }, 'forget failed'));
    }
  };

  /** A held call as the store has it now: update the local copy, release a call waiting here. */
  const apply = (stored: HeldCall): HeldCall => {
    const mine = calls.get(stored.id);
    if (!mine) {
      calls.set(stored.id, stored);
      events.emit(stored.status === 'pending' ? 'held' : 'changed', stored);
      return stored;
    }
    if (mine.status !== 'pending') return mine;
    const before = mine.decisions.length;
    mine.decisions.splice(0, mine.decisions.length, ...stored.decisions);
    if (stored.status !== 'pending') finish(mine, stored.status, stored.decidedAt);
    else if (stored.decisions.length !== before) events.emit('changed', mine);
    return mine;
  };

  /** Settle a call waiting here (timeout, agent gone), unless another replica decided it first. */
  const settle = (held: HeldCall, status: 'expired' | 'cancelled') => {
    if (!bus) return finish(held, status);
    bus.settle(held.id, status).then(
      (stored) => (stored ? apply(stored) : finish(held, status)),
      (err: Error) => {
        log.warn({ err: err.message, approval: held.id }, 'shared state unreachable; settling locally');
        finish(held, status);
      }
    );
  };

  if (bus) followBus(bus, calls, waiters, apply, log);

  const queue: ApprovalQueue = {
    events,
    list(status = 'pending') {
      const all = [...calls.values()].reverse();
      if (status === 'all') return all;
      return all.filter((c) => (status === 'pending' ? c.status === 'pending' : c.status !== 'pending'));
    },
    get: (id) => calls.get(id),
    decide(id, approver, decision, note) {
      if (bus) {
        // A refusal from the store is already an ApprovalRefused.
        return bus.decide(id, approver, decision, note).then((stored) => {
          log.info({ approval: id, by: approver.id, decision }, 'approval decision');
          return apply(stored);
        });
      }
      return decideLocally(calls, finish, events, log, { id, approver, decision, note });
    },
    hold(call, timeoutMs, signal, ask) {
      const now = Date.now();
      const held: HeldCall = {
        ...call,
        id: `apr_${randomBytes(8).toString('hex')}`,
        status: 'pending',
        createdAt: new Date(now).toISOString(),
        expiresAt: new Date(now + timeoutMs).toISOString(),
        decisions: []
      };
      calls.set(held.id, held);
      const done = new Promise<HeldStatus>((resolve) => {
        const timer = setTimeout(() => settle(held, 'expired'), timeoutMs);
        waiters.set(held.id, { resolve, timer });
      });
      signal?.addEventListener('abort', () => settle(held, 'cancelled'), { once: true });
      events.emit('held', held);
      // Shared: every replica's console lists it, and a decision there releases it here.
      bus
        ?.publish(held)
        .catch((err: Error) =>
          log.warn(
            { err: err.message, approval: held.id },
            'held call not shared: only this replica can decide it'
          )
        );
      log.info({ approval: held.id, identity: held.identity, tool: held.name }, 'call held for approval');
      notifyWebhook(log, settings, held);
      if (ask && ask.caller.roles.some((r) => settings.ask_client_roles?.includes(r))) {
        const asked = askClient(ask.client, queue, held, ask.caller, timeoutMs, log);
        void done.finally(() => asked.abort());
      }
      return { held, done };
    },
    close() {
      for (const held of calls.values()) if (waiters.has(held.id)) settle(held, 'cancelled');
    }
  };
  return queue;
}

/** How much of a held call's arguments (as JSON) the question shows. */
const QUESTION_ARGS = 600;

/** What the person at the client is shown: the call, its arguments as JSON (cut short), the reason. */
function question(held: HeldCall): Record<string, unknown> {
  const args = JSON.stringify(held.arguments);
  const shown = args.length > QUESTION_ARGS ? `${args.slice(0, QUESTION_ARGS)}…` : args;
  return {
    message:
      `Portcullis holds a call for your approval.\n` +
      `Tool: ${held.name}\nArguments: ${shown}\nWhy it is held: ${held.reason}\n` +
      `Accept to let it run once; decline to refuse it.`,
    requestedSchema: {
      type: 'object',
      properties: { note: { type: 'string', title: 'A note for the audit record', maxLength: 500 } }
    }
  };
}

/**
 * Ask the person at the agent's client whether a held call may run (`elicitation/create`).
 * Accepting approves it as `<identity>@client`, declining denies it; a dismissed question, or a
 * client that cannot ask, leaves the call to the other approvers and the timeout. The question is
 * withdrawn (the request cancelled) when the call is decided. The configuration makes that person
 * an approver (`ask_client_roles`); an elicitation is for the client's person, not its model: the
 * protocol has the client show it to its user. It counts as one approval: `approvers` above one
 * still needs others.
 */
function askClient(
  client: Relay,
  queue: ApprovalQueue,
  held: HeldCall,
  identity: Identity,
  timeoutMs: number,
  log: Logger
): AbortController {
  const asked = new AbortController();
  const person: Identity = {
    id: `${identity.id}@client`,
    roles: held.approverRoles,
    method: identity.method
  };
  client
    // The question lasts as long as the call waits: it is withdrawn when the call is settled, and
    // the request's own timeout only backs that up.
    .request('elicitation/create', question(held), { signal: asked.signal, timeout: timeoutMs + 60_000 })
    .then(async (answer) => {
      const { action, content } = (answer ?? {}) as { action?: unknown; content?: { note?: unknown } };
      if (action !== 'accept' && action !== 'decline') {
        log.info({ approval: held.id }, 'the client dismissed the approval question');
        return;
      }
      const note = typeof content?.note === 'string' ? content.note : undefined;
      await queue.decide(held.id, person, action === 'accept' ? 'approve' : 'deny', note);
    })
    .catch((err: Error) => {
      if (!asked.signal.aborted)
        log.info(
          { approval: held.id, err: err.message },
          'the client was not asked, or its answer did not count'
        );
    });
  return asked;
}

interface ApprovalStageOptions {
  queue: ApprovalQueue;
  settings: ApprovalSettings;
  /** Bring the session up to date before deciding again (shared state). */
  refresh?(ctx: Resolved): void | Promise<void>;
  /** Decide the call again with the current policy, leaving out what this call already consumed. */
  redecide(ctx: Resolved): { decision: Decision; version: string };
}

export function approvalStage(options: ApprovalStageOptions): Stage<Resolved> {
  const { queue, settings } = options;
  return {
    name: 'approval',
    async run(ctx) {
      const decision = ctx.decision;
      if (decision.effect !== 'approval') return;
      const identity = ctx.session.identity;
      const { held, done } = queue.hold(
        {
          identity: identity.id,
          roles: identity.roles,
          ...(identity.agent ? { agent: identity.agent } : {}),
          session: ctx.session.id,
          server: ctx.server,
          tool: ctx.tool,
          name: ctx.name,
          arguments: ctx.args,
          rules: decision.rules,
          reason: decision.reason,
          risk: decision.risk,
          policyVersion: ctx.policyVersion,
          required: Math.max(1, settings.approvers),
          approverRoles: settings.approver_roles
        },
        settings.timeout_s * 1000,
        ctx.signal,
        ctx.client ? { client: ctx.client, caller: identity } : undefined
      );
      ctx.approval = held;
      // Keep the agent's request alive: clients reset their timeout on progress. The first notice
      // goes at once, so a client whose timeout is nearly spent by the time the call is held
      // still hears that it waits.
      const started = Date.now();
      let last = -1;
      const tick = () => {
        // Progress must increase with every notification.
        const progress = Math.max(last + 1, Math.round((Date.now() - started) / 1000));
        last = progress;
        ctx.onprogress?.({
          progress,
          total: settings.timeout_s,
          message: `waiting for approval (${held.id})`
        });
      };
      tick();
      const ticker = setInterval(tick, settings.progress_interval_s * 1000);
      let status: HeldStatus;
      const waiting = performance.now();
      try {
        status = await done;
      } finally {
        clearInterval(ticker);
        ctx.approvalMs = performance.now() - waiting;
      }
      if (status === 'denied') {
        const by = held.decisions.find((d) => d.decision === 'deny')?.by ?? 'unknown';
        throw new GatewayError('approval_denied', `${held.id} denied by ${by}`);
      }
      if (status === 'expired')
        throw new GatewayError('approval_timeout', `${held.id} not decided within ${settings.timeout_s} s`);
      if (status === 'cancelled')
        throw new GatewayError('approval_denied', `${held.id} cancelled: the agent went away`);
      // Approved: the policy may have changed while the call waited.
      await options.refresh?.(ctx);
      const again = options.redecide(ctx);
      ctx.policyVersion = again.version;
      if (again.decision.effect === 'deny') {
        held.refused = `the policy changed while it waited: ${again.decision.reason}`;
        queue.events.emit('changed', held);
        throw new GatewayError(
          again.decision.code ?? 'policy_denied',
          `${held.id} approved, but the policy changed while it waited: ${again.decision.reason}`,
          again.decision.hint !== undefined ? { hint: again.decision.hint } : undefined
        );
      }
    }
  };
}
