// What the approval queue's tests share: a logger whose lines are kept, the people who decide, and
// a call to hold.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createApprovalQueue, type ApprovalQueue, type HeldCall } from '../../src/approval/index.js';
import type { Identity } from '../../src/auth/index.js';
import type { ApprovalBus } from '../../src/state/bus.js';

/** A logger whose lines are kept, to see what was logged. */
export function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    }
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

export const person = (id: string, ...roles: string[]): Identity => ({
  id,
  roles,
  method: 'token',
  tokenId: `t-${id}`
});
export const carol = person('carol', 'admin');
export const dave = person('dave', 'admin');
export const erin = person('erin', 'ops');

/** A call to hold: `bob`'s delete of a record, needing one approval from an `admin`. */
export const call = (over: Partial<HeldCall> = {}) => ({
  identity: 'bob',
  roles: ['analyst'],
  session: 's-1',
  server: 'records',
  tool: 'delete_record',
  name: 'records__delete_record',
  arguments: { id: 'r-1', tags: [], filter: {} } as unknown,
  rules: ['rule 1'],
  reason: 'needs approval',
  risk: 3,
  policyVersion: 'v1',
  required: 1,
  approverRoles: ['admin'],
  ...over
});

type Settings = Parameters<typeof createApprovalQueue>[1];

/**
 * Queues in memory for one test file: `settings` fills in the defaults (one `admin` approval within
 * 30 s), `queue` opens one whose log lines are kept (following `bus` when given), and `close` (for
 * `afterEach`) closes them all.
 */
export function queueFactory(base: Partial<Settings> = {}) {
  const settings = (over: Partial<Settings> = {}): Settings => ({
    timeout_s: 30,
    approvers: 1,
    approver_roles: ['admin'],
    progress_interval_s: 1,
    ...base,
    ...over
  });
  const open: ApprovalQueue[] = [];
  const queue = (over: Partial<Settings> = {}, bus?: ApprovalBus) => {
    const { log, lines } = capture();
    const q = createApprovalQueue(log, settings(over), bus);
    open.push(q);
    return { q, lines };
  };
  const close = () => {
    for (const q of open.splice(0)) q.close();
  };
  return { settings, queue, close };
}
