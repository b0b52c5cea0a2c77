/**
 * Shared state in Redis, for several gateway replicas behind one load balancer.
 *
 * Keys (all under `state.prefix`, default `portcullis:`):
 * - `s:<session>`   hash: `c:<rule>` calls made under each capped rule, `risk`, `risk_at`
 * - `h:<session>`   list: the session's admitted calls (JSON), newest last, at most HISTORY_LIMIT
 * - `m:<session>`   string: what another replica needs to resume the session (JSON)
 * - `id:<who>`      hash: the identity's `risk`, `risk_at` (`policy.risk.scope: identity`)
 * - `ih:<who>`      list: the admitted calls of every session of the identity (JSON), newest last,
 *                   at most HISTORY_LIMIT, kept while some `after` reads them with `scope: identity`
 * - `r:<rule>|<who>` hash: one fixed rate window, `start` and `count`, expiring with the window
 * - `ic:<rule>|<who>` sorted set: the calls an identity cap (`max_calls`) admitted, by time; the
 *                   sliding window is trimmed as it is read, and the set expires with it
 * - `approvals`     hash: held calls by id (JSON); `revoked` hash: revoked credential ids
 * - `f:<source>`    sorted set: a source's recent authentication failures, by time
 * - `lockouts`      sorted set: locked-out sources by the time their lock ends; read into the
 *                   mirror at every subscription, so a replica that starts late knows them too
 * - `q:<identity>`  counter: requests in the identity's window (`auth.rate_limit`)
 * - channel `events`: held calls changed, credentials revoked and sources locked out, for every
 *   replica's mirror
 * Session and identity keys expire after `state.session_ttl` without a call (`<who>` is the
 * identity, `i:<method>:<id>`).
 *
 * Every budget is checked and taken by one Lua script, so replicas racing on the last allowed call
 * let exactly one through. Commands are never queued while Redis is away: they fail at once (or
 * after `state.timeout_ms`), the call is refused with `state_unavailable`, and the client
 * reconnects in the background. Not for Redis Cluster: the scripts touch keys in several slots.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { HeldCall } from '../approval/index.js';
import type { Session } from '../core/session.js';
import { HISTORY_LIMIT, recordCall, recordIdentityCall } from '../core/session.js';
import { GatewayError } from '../errors.js';
import type { CallRecordView } from '../policy/index.js';
import type { ServerPins } from '../pins/index.js';
import { ApprovalRefused, type ApprovalBus, type PinBus } from './bus.js';
import {
  budgetError,
  capKey,
  limitError,
  rateKey,
  riskHolder,
  type SessionMeta,
  type SharedState
} from './index.js';

/**
 * The risk decayed to `now` into `cur` (as decayedRisk in ./index.ts does), from the hash `rk`
 * (the session's, or the identity's); expects `rk`, `now`, `half` and `reset` to be set.
 */
const DECAYED_RISK = `local v = redis.call('HMGET', rk, 'risk', 'risk_at')
local risk = tonumber(v[1] or '0')
local at = tonumber(v[2] or ARGV[1])
local cur = risk
if risk ~= 0 then
  local el = now - at
  if el < 0 then el = 0 end
  if reset and el >= reset then
    cur = 0
  elseif half and half > 0 then
    cur = risk * math.pow(0.5, el / half)
  end
end
`;

/**
 * Every budget of a call, checked and taken at once. KEYS: the session hash, the hash that holds
 * the risk (the session's or the identity's), `nr` rate windows, `nc` identity caps. ARGV: now,
 * ttl, ns, nr, nc, the session cap fields and maxima, rate maxima and windows, cap maxima and
 * windows, the risk and its settings, and a member unique to this call for the cap logs.
 */
const CONSUME = `
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local ns = tonumber(ARGV[3])
local nr = tonumber(ARGV[4])
local nc = tonumber(ARGV[5])
local rk = KEYS[2]
local i = 6
local fields = {}
for j = 1, ns do
  local f = ARGV[i]
  local max = tonumber(ARGV[i + 1])
  i = i + 2
  local c = tonumber(redis.call('HGET', KEYS[1], f) or '0')
  if c >= max then return {'limit', tostring(j)} end
  fields[j] = f
end
local rates = {}
for j = 1, nr do
  local max = tonumber(ARGV[i])
  local win = tonumber(ARGV[i + 1])
  i = i + 2
  local k = KEYS[2 + j]
  local v = redis.call('HMGET', k, 'start', 'count')
  local start = tonumber(v[1])
  local count = tonumber(v[2] or '0')
  -- A replica whose clock reads a little earlier stays in the current window, never resets it.
  if (not start) or now - start >= win then
    start = now
    count = 0
  end
  if count >= max then return {'limit', tostring(ns + j)} end
  rates[j] = {k, start, count, win}
end
local caps = {}
for j = 1, nc do
  local max = tonumber(ARGV[i])
  local win = tonumber(ARGV[i + 1])
  i = i + 2
  local k = KEYS[2 + nr + j]
  -- A sliding window: what fell out of it is gone before the log is counted.
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now - win)
  if redis.call('ZCARD', k) >= max then return {'limit', tostring(ns + nr + j)} end
  caps[j] = {k, win}
end
local amount = tonumber(ARGV[i])
local budget = tonumber(ARGV[i + 1])
local half = tonumber(ARGV[i + 2])
local reset = tonumber(ARGV[i + 3])
local member = ARGV[i + 4]
${DECAYED_RISK}if amount > 0 and budget and cur + amount > budget then return {'budget', tostring(cur)} end
for j = 1, ns do redis.call('HINCRBY', KEYS[1], fields[j], 1) end
for j = 1, nr do
  local x = rates[j]
  redis.call('HSET', x[1], 'start', x[2], 'count', x[3] + 1)
  local left = x[2] + x[4] - now
  if left < 1 then left = 1 end
  redis.call('PEXPIRE', x[1], left)
end
for j = 1, nc do
  local x = caps[j]
  redis.call('ZADD', x[1], now, member .. ':' .. j)
  redis.call('PEXPIRE', x[1], x[2])
end
if amount > 0 then
  cur = cur + amount
  redis.call('HSET', rk, 'risk', tostring(cur), 'risk_at', ARGV[1])
  redis.call('PEXPIRE', rk, ttl)
end
redis.call('PEXPIRE', KEYS[1], ttl)
return {'ok', tostring(cur)}
`;

const ADD_RISK = `
local rk = KEYS[1]
local now = tonumber(ARGV[1])
local amount = tonumber(ARGV[2])
local half = tonumber(ARGV[3])
local reset = tonumber(ARGV[4])
${DECAYED_RISK}cur = cur + amount
redis.call('HSET', rk, 'risk', tostring(cur), 'risk_at', ARGV[1])
redis.call('PEXPIRE', rk, tonumber(ARGV[5]))
return tostring(cur)
`;

/**
 * One decision on a held call, checked and applied atomically: still pending, not the caller's
 * own, an approver role, one decision per person. Returns {status, message or the call's JSON}.
 */
const DECIDE = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return {'404', 'no held call ' .. ARGV[1]} end
local h = cjson.decode(raw)
if h.status ~= 'pending' then return {'409', 'call ' .. ARGV[1] .. ' is already ' .. h.status} end
if h.identity == ARGV[2] then return {'403', 'nobody can approve their own call'} end
local roles = cjson.decode(ARGV[3])
local ok = false
for _, r in ipairs(roles) do
  for _, a in ipairs(h.approverRoles or {}) do
    if r == a then ok = true end
  end
end
if not ok then
  local names = {}
  for _, a in ipairs(h.approverRoles or {}) do table.insert(names, a) end
  return {'403', 'approving needs one of the roles ' .. table.concat(names, ', ')}
end
local decisions = h.decisions
if type(decisions) ~= 'table' then decisions = {} end
local approvals = 0
for _, d in ipairs(decisions) do
  if d.by == ARGV[2] then return {'409', ARGV[2] .. ' has already decided on ' .. ARGV[1]} end
  if d.decision == 'approve' then approvals = approvals + 1 end
end
local d = {by = ARGV[2], decision = ARGV[4], at = ARGV[5]}
if ARGV[6] ~= '' then d.note = ARGV[6] end
table.insert(decisions, d)
h.decisions = decisions
if ARGV[4] == 'deny' then
  h.status = 'denied'
  h.decidedAt = ARGV[5]
elseif approvals + 1 >= tonumber(h.required) then
  h.status = 'approved'
  h.decidedAt = ARGV[5]
end
local out = cjson.encode(h)
redis.call('HSET', KEYS[1], ARGV[1], out)
return {'200', out}
`;

/** Settle a held call that is still pending (expired, cancelled); returns the stored call. */
const SETTLE = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return '' end
local h = cjson.decode(raw)
if h.status ~= 'pending' then return raw end
h.status = ARGV[2]
h.decidedAt = ARGV[3]
local out = cjson.encode(h)
redis.call('HSET', KEYS[1], ARGV[1], out)
return out
`;

/**
 * One authentication failure from a source: its failures are a sorted set of times, trimmed to the
 * window; at the threshold the source is locked (in the sorted set of lockouts, by the time each
 * ends) and every replica is told. Returns the time the source's lock ends, or '' when it is not
 * locked: below the threshold, a lock set earlier (which this replica's mirror may have missed) is
 * returned as it stands.
 */
const AUTH_FAILURE = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local duration = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], now, ARGV[5])
redis.call('PEXPIRE', KEYS[1], window)
-- Only the newest threshold-many failures matter: the set never grows past them.
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[3]) + 1))
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  local held = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[6]) or '0')
  if held > now then return tostring(held) end
  return ''
end
local untilAt = now + duration
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[2], untilAt, ARGV[6])
-- The set lives as long as its last lock.
if redis.call('PTTL', KEYS[2]) < duration then redis.call('PEXPIRE', KEYS[2], duration) end
redis.call('PUBLISH', KEYS[3], cjson.encode({type = 'locked', source = ARGV[6], ['until'] = untilAt}))
return tostring(untilAt)
`;

/** One request in a fixed window that opens with its first request; returns the count so far. */
const REQUEST = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1])) end
return n
`;

interface Scripted {
  pcRequest(...args: Array<string | number>): Promise<number>;
  pcAuthFailure(...args: Array<string | number>): Promise<string>;
  pcConsume(...args: Array<string | number>): Promise<[string, string]>;
  pcAddRisk(...args: Array<string | number>): Promise<string>;
  pcDecide(...args: Array<string | number>): Promise<[string, string]>;
  pcSettle(...args: Array<string | number>): Promise<string>;
}

export interface RedisStateOptions {
  url: string;
  prefix: string;
  timeoutMs: number;
  sessionTtlMs: number;
  log: Logger;
}

export interface RedisState extends SharedState {
  readonly approvals: ApprovalBus;
  readonly pins: PinBus;
  /** Wait until connected (or the timeout passes); true when connected. */
  ready(timeoutMs: number): Promise<boolean>;
}

/**
 * A held call as stored: its arguments as a JSON string, so the scripts that decide on it (which
 * decode and re-encode the record with cjson) pass them through untouched. cjson cannot tell an
 * empty array from an empty object, and would turn `[]` in the arguments into `{}`.
 */
function heldToJson(held: HeldCall): string {
  const { arguments: args, ...rest } = held;
  return JSON.stringify({ ...rest, argumentsJson: JSON.stringify(args ?? null) });
}

/** cjson writes an empty array as `{}`: put the lists back, and the arguments as they were sent. */
function heldFromJson(text: string): HeldCall {
  const stored = JSON.parse(text) as HeldCall & { argumentsJson?: string };
  const { argumentsJson, ...h } = stored;
  if (typeof argumentsJson === 'string') h.arguments = JSON.parse(argumentsJson) as unknown;
  for (const key of ['roles', 'rules', 'approverRoles', 'decisions'] as const) {
    if (!Array.isArray(h[key])) (h as unknown as Record<string, unknown>)[key] = [];
  }
  return h;
}

/**
 * Lockouts mirrored at most (a flood of sources clears the mirror rather than grow it; a source
 * dropped so is locked again here at its next failure, which the store answers with its lock).
 */
const MAX_LOCKED = 100_000;

type Keys = ReturnType<typeof keysFor>;

function keysFor(prefix: string) {
  return {
    session: (id: string) => `${prefix}s:${id}`,
    history: (id: string) => `${prefix}h:${id}`,
    meta: (id: string) => `${prefix}m:${id}`,
    identity: (who: string) => `${prefix}id:${who}`,
    identityHistory: (who: string) => `${prefix}ih:${who}`,
    rate: (key: string) => `${prefix}r:${key}`,
    cap: (key: string) => `${prefix}ic:${key}`,
    approvals: `${prefix}approvals`,
    revoked: `${prefix}revoked`,
    pins: `${prefix}pins`,
    events: `${prefix}events`,
    failures: (source: string) => `${prefix}f:${source}`,
    lockouts: `${prefix}lockouts`,
    requests: (key: string) => `${prefix}q:${key}`
  };
}

/** What every part of the Redis state shares: the connections, the key names and the guard. */
interface Context {
  readonly options: RedisStateOptions;
  readonly log: Logger;
  readonly redis: Redis & Scripted;
  readonly sub: Redis;
  readonly k: Keys;
  /** Whether the command connection is up (set by its events, cleared on close). */
  readonly link: { connected: boolean };
  unavailable(err: unknown): GatewayError;
  guard<T>(work: () => Promise<T>): Promise<T>;
}

function connect(options: RedisStateOptions): Context {
  const { log } = options;
  const common = {
    // Never queue a command while Redis is away: the call waiting on it is refused instead.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.timeoutMs,
    connectTimeout: Math.max(1000, options.timeoutMs),
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
    lazyConnect: false
  };
  const redis = new Redis(options.url, common) as Redis & Scripted;
  const sub = new Redis(options.url, { ...common, commandTimeout: undefined });
  redis.defineCommand('pcConsume', { lua: CONSUME });
  redis.defineCommand('pcAddRisk', { numberOfKeys: 1, lua: ADD_RISK });
  redis.defineCommand('pcDecide', { numberOfKeys: 1, lua: DECIDE });
  redis.defineCommand('pcSettle', { numberOfKeys: 1, lua: SETTLE });
  redis.defineCommand('pcAuthFailure', { numberOfKeys: 3, lua: AUTH_FAILURE });
  redis.defineCommand('pcRequest', { numberOfKeys: 1, lua: REQUEST });

  const link = { connected: false };
  let warned = false;
  redis.on('ready', () => {
    link.connected = true;
    warned = false;
    log.info({ url: redact(options.url) }, 'shared state connected');
  });
  redis.on('close', () => {
    if (link.connected)
      log.error('shared state connection lost; calls that need it are refused until it is back');
    link.connected = false;
  });
  const onError = (err: Error) => {
    if (!warned) log.warn({ err: err.message }, 'shared state unreachable');
    warned = true;
  };
  redis.on('error', onError);
  sub.on('error', () => {});

  const unavailable = (err: unknown): GatewayError =>
    err instanceof GatewayError
      ? err
      : new GatewayError('state_unavailable', `shared state: ${(err as Error).message}`, { cause: err });
  const guard = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      throw unavailable(err);
    }
  };
  return { options, log, redis, sub, k: keysFor(options.prefix), link, unavailable, guard };
}

/** The mirror of revocations, lockouts and held calls, kept by the subscriber connection. */
interface Mirror {
  readonly revoked: Map<string, string>;
  /** Sources locked out by failures counted on any replica, until when (ms). */
  readonly locked: Map<string, number>;
  readonly changeListeners: Array<(held: HeldCall) => void>;
  readonly pinListeners: Array<(server: string, pins: ServerPins) => void>;
  /** Run on every resync, and now if the mirror is already live (the listener came late). */
  addResync(fn: () => void): void;
  live(): boolean;
}

function createMirror(ctx: Context): Mirror {
  const { redis, sub, k, log } = ctx;
  const revoked = new Map<string, string>();
  const locked = new Map<string, number>();
  const changeListeners: Array<(held: HeldCall) => void> = [];
  const pinListeners: Array<(server: string, pins: ServerPins) => void> = [];
  const resyncListeners: Array<() => void> = [];
  let mirrorLive = false;
  const addResync = (fn: () => void) => {
    resyncListeners.push(fn);
    if (mirrorLive) queueMicrotask(fn);
  };
  // Lockouts announced while this replica was not listening (it started, or its subscription
  // dropped): read once per subscription, so that checking a source stays a lookup in the mirror.
  const loadLockouts = async () => {
    const now = Date.now();
    const current = await redis.zrangebyscore(
      k.lockouts,
      `(${now}`,
      '+inf',
      'WITHSCORES',
      'LIMIT',
      0,
      MAX_LOCKED
    );
    for (let i = 0; i < current.length; i += 2) {
      if (locked.size >= MAX_LOCKED) locked.clear();
      locked.set(current[i]!, Number(current[i + 1]));
    }
  };
  // Revocations only ever grow. A Redis that comes back empty (restarted without persistence,
  // flushed, failed over to a replica that lagged) must not un-revoke anything: what this replica
  // knows is merged with what Redis holds, and what Redis lacks is written back and announced.
  const resync = async () => {
    try {
      const all = await redis.hgetall(k.revoked);
      for (const [id, at] of Object.entries(all)) revoked.set(id, at);
      const missing = [...revoked].filter(([id]) => !Object.hasOwn(all, id));
      if (missing.length > 0) {
        const restore = redis.multi().hset(k.revoked, Object.fromEntries(missing));
        for (const [id, at] of missing)
          restore.publish(k.events, JSON.stringify({ type: 'revoked', id, at }));
        const out = await restore.exec();
        for (const [err] of out ?? []) if (err) throw err;
        log.warn({ restored: missing.length }, 'shared state: revocations missing from Redis written back');
      }
      await loadLockouts();
      mirrorLive = true;
      for (const fn of resyncListeners) fn();
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'shared state: resync failed; retrying');
      setTimeout(() => void (sub.status === 'ready' && resync()), 500).unref();
    }
  };
  sub.on('ready', () => {
    sub.subscribe(k.events).then(
      () => void resync(),
      (err: Error) => log.warn({ err: err.message }, 'shared state: subscribe failed')
    );
  });
  sub.on('close', () => {
    mirrorLive = false;
  });
  sub.on('message', (_channel: string, text: string) => {
    try {
      const event = JSON.parse(text) as {
        type: string;
        id?: string;
        at?: string;
        held?: string;
        source?: string;
        until?: number;
        server?: string;
        pins?: ServerPins;
      };
      if (event.type === 'pins' && event.server && event.pins) {
        for (const fn of pinListeners) fn(event.server, event.pins);
      }
      if (event.type === 'revoked' && event.id) revoked.set(event.id, event.at ?? new Date().toISOString());
      if (event.type === 'locked' && typeof event.source === 'string' && typeof event.until === 'number') {
        if (locked.size >= MAX_LOCKED) locked.clear();
        locked.set(event.source, event.until);
      }
      if (event.type === 'held' && event.held) {
        const held = heldFromJson(event.held);
        for (const fn of changeListeners) fn(held);
      }
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'shared state: unreadable event ignored');
    }
  });
  return { revoked, locked, changeListeners, pinListeners, addResync, live: () => mirrorLive };
}

function createApprovalBus({ redis, k, guard }: Context, mirror: Mirror): ApprovalBus {
  return {
    async publish(held) {
      const text = heldToJson(held);
      await guard(() =>
        redis
          .multi()
          .hset(k.approvals, held.id, text)
          .publish(k.events, JSON.stringify({ type: 'held', held: text }))
          .exec()
      );
    },
    async decide(id, approver, decision, note) {
      const [status, body] = await guard(() =>
        redis.pcDecide(
          k.approvals,
          id,
          approver.id,
          JSON.stringify(approver.roles),
          decision,
          new Date().toISOString(),
          note ? note.slice(0, 500) : ''
        )
      );
      if (status !== '200') throw new ApprovalRefused(Number(status) as 403 | 404 | 409, body);
      await guard(() => redis.publish(k.events, JSON.stringify({ type: 'held', held: body })));
      return heldFromJson(body);
    },
    async settle(id, status) {
      const body = await guard(() => redis.pcSettle(k.approvals, id, status, new Date().toISOString()));
      if (!body) return undefined;
      await guard(() => redis.publish(k.events, JSON.stringify({ type: 'held', held: body })));
      return heldFromJson(body);
    },
    async load() {
      const all = await guard(() => redis.hgetall(k.approvals));
      return Object.values(all).map(heldFromJson);
    },
    async forget(ids) {
      if (ids.length > 0) await guard(() => redis.hdel(k.approvals, ...ids));
    },
    onChange: (fn) => void mirror.changeListeners.push(fn),
    onResync: (fn) => mirror.addResync(fn)
  };
}

function createPinBus({ redis, k, guard }: Context, mirror: Mirror): PinBus {
  return {
    async load() {
      const all = await guard(() => redis.hgetall(k.pins));
      return Object.fromEntries(
        Object.entries(all).map(([server, text]) => [server, JSON.parse(text) as ServerPins])
      );
    },
    async claim(server, p) {
      const text = JSON.stringify(p);
      const won = await guard(() => redis.hsetnx(k.pins, server, text));
      if (won === 1) {
        await guard(() => redis.publish(k.events, JSON.stringify({ type: 'pins', server, pins: p })));
        return p;
      }
      const stored = await guard(() => redis.hget(k.pins, server));
      return stored ? (JSON.parse(stored) as ServerPins) : p;
    },
    async set(server, p) {
      await guard(() =>
        redis
          .multi()
          .hset(k.pins, server, JSON.stringify(p))
          .publish(k.events, JSON.stringify({ type: 'pins', server, pins: p }))
          .exec()
      );
    },
    onChange: (fn) => void mirror.pinListeners.push(fn),
    onResync: (fn) => mirror.addResync(fn)
  };
}

function applyCounts(session: Session, fields: Record<string, string>): void {
  session.counts.clear();
  for (const [f, v] of Object.entries(fields)) {
    if (f.startsWith('c:')) session.counts.set(f.slice(2), Number(v));
  }
  session.risk = Number(fields.risk ?? 0);
  session.riskAt = Number(fields.risk_at ?? Date.now());
}

function applyHistory(into: CallRecordView[], list: readonly string[]): void {
  into.length = 0;
  for (const item of list) into.push(JSON.parse(item) as CallRecordView);
}

/** A session's counters, rate windows and risk: read, and checked and taken in one script. */
function counterOps({
  redis,
  k,
  guard,
  options
}: Context): Pick<SharedState, 'sync' | 'consume' | 'addRisk'> {
  return {
    async sync(session, history, identity) {
      const who = session.shared.key;
      const [fields, list, risk, calls] = await guard(async () => {
        if (!history && !identity?.risk && !identity?.history)
          return [await redis.hgetall(k.session(session.id)), undefined, undefined, undefined] as const;
        // One transaction: what the session and its identity hold, as of one moment.
        const tx = redis.multi().hgetall(k.session(session.id));
        if (history) tx.lrange(k.history(session.id), 0, -1);
        if (identity?.risk) tx.hmget(k.identity(who), 'risk', 'risk_at');
        if (identity?.history) tx.lrange(k.identityHistory(who), 0, -1);
        const out = await tx.exec();
        if (!out) throw new Error('transaction aborted');
        for (const [err] of out) if (err) throw err;
        const results = out.map(([, v]) => v);
        const at = (on: boolean | undefined) => (on ? results.shift() : (undefined as unknown));
        const fields = results.shift() as Record<string, string>;
        return [
          fields,
          at(history) as string[] | undefined,
          at(identity?.risk) as Array<string | null> | undefined,
          at(identity?.history) as string[] | undefined
        ] as const;
      });
      applyCounts(session, fields);
      if (list) applyHistory(session.history, list);
      if (risk) {
        session.shared.risk = Number(risk[0] ?? 0);
        session.shared.riskAt = Number(risk[1] ?? Date.now());
      }
      if (calls) applyHistory(session.shared.history, calls);
    },
    async consume(session, counters, risk, now, settings) {
      const sessionCounters = counters.filter((c) => c.kind === 'session');
      const rateCounters = counters.filter((c) => c.kind === 'rate');
      const capCounters = counters.filter((c) => c.kind === 'identity');
      const any = sessionCounters.length + rateCounters.length + capCounters.length;
      if (any === 0 && risk <= 0) return;
      const keys = [
        k.session(session.id),
        settings.perIdentity ? k.identity(session.shared.key) : k.session(session.id),
        ...rateCounters.map((c) => k.rate(rateKey(c, session.identity, session.id))),
        ...capCounters.map((c) => k.cap(capKey(c, session)))
      ];
      const args: Array<string | number> = [
        now,
        options.sessionTtlMs,
        sessionCounters.length,
        rateCounters.length,
        capCounters.length
      ];
      for (const c of sessionCounters) args.push(`c:${c.key}`, c.max);
      for (const c of rateCounters) args.push(c.max, c.window_ms!);
      for (const c of capCounters) args.push(c.max, c.window_ms!);
      args.push(risk, settings.budget ?? '', settings.halfLifeMs ?? '', settings.resetAfterMs ?? '');
      // Unique per call: two calls at the same millisecond, from any replica, both count.
      args.push(randomUUID());
      const [verdict, value] = await guard(() => redis.pcConsume(keys.length, ...keys, ...args));
      if (verdict === 'limit') {
        const index = Number(value) - 1;
        throw limitError([...sessionCounters, ...rateCounters, ...capCounters][index]!);
      }
      if (verdict === 'budget')
        throw budgetError(Number(value), risk, settings.budget!, settings.perIdentity);
      for (const c of sessionCounters) session.counts.set(c.key, (session.counts.get(c.key) ?? 0) + 1);
      if (risk > 0) {
        const holder = riskHolder(session, settings);
        holder.risk = Number(value);
        holder.riskAt = now;
      }
    },
    async addRisk(session, amount, now, s) {
      const value = await guard(() =>
        redis.pcAddRisk(
          s.perIdentity ? k.identity(session.shared.key) : k.session(session.id),
          now,
          amount,
          s.halfLifeMs ?? '',
          s.resetAfterMs ?? '',
          options.sessionTtlMs
        )
      );
      const holder = riskHolder(session, s);
      holder.risk = Number(value);
      holder.riskAt = now;
      return holder.risk;
    }
  };
}

/** A session's history of calls and what another replica needs to resume it. */
function sessionOps({
  redis,
  k,
  guard,
  unavailable,
  options
}: Context): Pick<SharedState, 'record' | 'saveSession' | 'findSession'> {
  return {
    async record(session, call, identity) {
      const text = JSON.stringify(call);
      const keys = [k.history(session.id), ...(identity ? [k.identityHistory(session.shared.key)] : [])];
      const out = await guard(() => {
        const tx = redis.multi();
        for (const key of keys)
          tx.rpush(key, text).ltrim(key, -HISTORY_LIMIT, -1).pexpire(key, options.sessionTtlMs);
        return tx.exec();
      });
      for (const [err] of out ?? []) if (err) throw unavailable(err);
      recordCall(session, call);
      if (identity) recordIdentityCall(session.shared, call);
    },
    async saveSession(meta) {
      await guard(() => redis.set(k.meta(meta.id), JSON.stringify(meta), 'PX', options.sessionTtlMs));
    },
    async findSession(id) {
      const text = await guard(async () => {
        const t = await redis.get(k.meta(id));
        // Seen again: keep it alive as long as it is used.
        if (t) await redis.pexpire(k.meta(id), options.sessionTtlMs);
        return t;
      });
      return text ? (JSON.parse(text) as SessionMeta) : undefined;
    }
  };
}

/** Revoked credentials, authentication failures and lockouts, and request windows. */
function accessOps(
  { redis, k, guard }: Context,
  mirror: Mirror
): Pick<SharedState, 'revoke' | 'isRevoked' | 'recordAuthFailure' | 'admitRequest' | 'lockedUntil'> {
  const { revoked, locked } = mirror;
  return {
    async revoke(id, at = new Date()) {
      const when = at.toISOString();
      // Known here first: should Redis not take it now, the next resync writes it back.
      if (!revoked.has(id)) revoked.set(id, when);
      await guard(() =>
        redis
          .multi()
          .hset(k.revoked, id, when)
          .publish(k.events, JSON.stringify({ type: 'revoked', id, at: when }))
          .exec()
      );
    },
    isRevoked: (id) => revoked.has(id),
    async recordAuthFailure(source, lockout, now) {
      // A unique member per failure: two at the same millisecond, from any replica, both count.
      const member = `${now}:${randomUUID()}`;
      const until = await guard(() =>
        redis.pcAuthFailure(
          k.failures(source),
          k.lockouts,
          k.events,
          now,
          lockout.windowMs,
          lockout.failures,
          lockout.durationMs,
          member,
          source
        )
      );
      if (until) locked.set(source, Number(until));
    },
    async admitRequest(key, limit, windowMs) {
      const n = await guard(() => redis.pcRequest(k.requests(key), windowMs));
      return n <= limit;
    },
    lockedUntil(source, now) {
      const until = locked.get(source);
      if (until === undefined) return undefined;
      if (until > now) return until;
      locked.delete(source);
      return undefined;
    }
  };
}

export function createRedisState(options: RedisStateOptions): RedisState {
  const ctx = connect(options);
  const { redis, sub, link } = ctx;
  const mirror = createMirror(ctx);
  return {
    kind: 'redis',
    approvals: createApprovalBus(ctx, mirror),
    pins: createPinBus(ctx, mirror),
    async ready(timeoutMs) {
      // Ready means commands go through and the mirror of revocations is current.
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (link.connected && redis.status === 'ready' && mirror.live()) return true;
        await new Promise((r) => setTimeout(r, 20));
      }
      return false;
    },
    ...counterOps(ctx),
    ...sessionOps(ctx),
    ...accessOps(ctx, mirror),
    healthy: () => link.connected && redis.status === 'ready' && mirror.live(),
    async close() {
      link.connected = false;
      redis.disconnect();
      sub.disconnect();
    }
  };
}

/** A Redis URL without its password, for logs. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis://?';
  }
}
