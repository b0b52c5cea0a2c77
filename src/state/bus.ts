/**
 * What the approval queue and the pin store need from shared state; kept apart so memory-only use
 * never loads a Redis client.
 */
import type { HeldCall } from '../approval/types.js';
import type { ServerPins } from '../pins/types.js';
import { LocalError } from '../errors.js';

/** Shared tool pins: an approval on one replica is the pin on every replica. */
export interface PinBus {
  /** Every server's pins in the store. */
  load(): Promise<Record<string, ServerPins>>;
  /** First use: store these pins unless another replica pinned the server first; the pins that hold. */
  claim(server: string, pins: ServerPins): Promise<ServerPins>;
  /** An approval: replace the server's pins everywhere. */
  set(server: string, pins: ServerPins): Promise<void>;
  onChange(fn: (server: string, pins: ServerPins) => void): void;
  onResync(fn: () => void): void;
}

/** Shared approvals: the queue keeps working locally and mirrors every replica's held calls. */
export interface ApprovalBus {
  /** Store a held call (new, or settled by this replica) and tell every replica. */
  publish(held: HeldCall): Promise<void>;
  decide(
    id: string,
    approver: { id: string; roles: readonly string[] },
    decision: 'approve' | 'deny',
    note?: string
  ): Promise<HeldCall>;
  /** Settle a pending call (expired, cancelled) unless someone decided it first; the stored call. */
  settle(id: string, status: 'expired' | 'cancelled'): Promise<HeldCall | undefined>;
  /** Every held call in the store. */
  load(): Promise<HeldCall[]>;
  /** Forget decided calls. */
  forget(ids: string[]): Promise<void>;
  /** Calls changed anywhere (this replica included), and a full resync after reconnecting. */
  onChange(fn: (held: HeldCall) => void): void;
  onResync(fn: () => void): void;
}

/**
 * An approver's decision refused (unknown call 404, already decided 409, not allowed 403): one class
 * whether the queue is in memory or in the shared store, so the admin API maps it to a status once.
 */
export class ApprovalRefused extends LocalError {
  constructor(
    readonly status: 403 | 404 | 409,
    message: string
  ) {
    super('approval_refused', message);
  }
}
