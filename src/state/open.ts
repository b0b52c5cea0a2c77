/** Opens the shared state a config names: memory, or Redis (loaded only when configured). */
import type { Logger } from 'pino';
import type { StateConfig } from '../config/types.js';
import { GatewayError } from '../errors.js';
import { createMemoryState, type SharedState } from './index.js';
import type { RedisState } from './redis.js';

export async function openSharedState(config: StateConfig, log: Logger): Promise<SharedState> {
  if (config.store === 'memory') return createMemoryState();
  const { createRedisState } = await import('./redis.js');
  const state: RedisState = createRedisState({
    url: config.url!,
    prefix: config.prefix,
    timeoutMs: config.timeout_ms,
    sessionTtlMs: config.session_ttl_ms,
    log: log.child({ component: 'state' })
  });
  // Start either way: until Redis answers, calls that need it are refused, not admitted.
  if (!(await state.ready(Math.max(2000, config.timeout_ms)))) {
    log.error('shared state unreachable at start; calls are refused until it answers');
  }
  return config.on_unavailable === 'local' ? withLocalFallback(state, log) : state;
}

/**
 * `on_unavailable: local`, asked for explicitly: while Redis is away, budgets are kept by this
 * replica alone (so N replicas may admit up to N times a limit), and each switch is logged.
 */
export function withLocalFallback(shared: RedisState, log: Logger): RedisState {
  const local = createMemoryState();
  let degraded = false;
  const attempt = async <T>(remote: () => T | Promise<T>, fallback: () => T | Promise<T>): Promise<T> => {
    try {
      const out = await remote();
      if (degraded) log.warn('shared state back: limits hold across replicas again');
      degraded = false;
      return out;
    } catch (err) {
      if (!(err instanceof GatewayError) || err.code !== 'state_unavailable') throw err;
      if (!degraded)
        log.error({ err: err.detail }, 'shared state unreachable: limits now hold per replica only');
      degraded = true;
      return fallback();
    }
  };
  return {
    ...shared,
    sync: (session, history, identity) =>
      attempt(
        () => shared.sync(session, history, identity),
        () => undefined
      ),
    consume: (session, counters, risk, now, settings) =>
      attempt(
        () => shared.consume(session, counters, risk, now, settings),
        () => local.consume(session, counters, risk, now, settings)
      ),
    addRisk: (session, amount, now, settings) =>
      attempt(
        () => shared.addRisk(session, amount, now, settings),
        () => local.addRisk(session, amount, now, settings)
      ),
    record: (session, call, identity) =>
      attempt(
        () => shared.record(session, call, identity),
        () => local.record(session, call, identity)
      ),
    admitRequest: (key, limit, windowMs, now) =>
      attempt(
        () => shared.admitRequest(key, limit, windowMs, now),
        () => local.admitRequest(key, limit, windowMs, now)
      ),
    // Revocations known before the outage still hold; the mirror counts as readable.
    healthy: () => true
  };
}
