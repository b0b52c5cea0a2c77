/**
 * The in-memory table of identity caps (`max_calls: { count, per: identity, within }`): for each
 * rule and identity, the times of the calls it admitted within the window, so that no window of
 * `within` ever holds more than `count` calls (a sliding window, where rate limits use fixed ones).
 * The memory state (../state) takes from it; Redis keeps the same log in a sorted set.
 */
export interface CapStore {
  /** Would one more call fit in the window that ends at `now`? */
  peek(key: string, max: number, windowMs: number, now: number): boolean;
  /** Count one call at `now` (after `peek` said it fits). */
  take(key: string, windowMs: number, now: number): void;
}

/**
 * Bounded in size: when the table is full of live windows, a new key is refused rather than
 * anyone's log dropped, so a flood of new identities cannot reset another's cap.
 */
export function createCapStore(maxKeys = 100_000): CapStore {
  const logs = new Map<string, { times: number[]; windowMs: number }>();
  const live = (key: string, windowMs: number, now: number) => {
    const log = logs.get(key);
    if (!log) return undefined;
    const since = now - windowMs;
    let drop = 0;
    while (drop < log.times.length && log.times[drop]! <= since) drop++;
    if (drop > 0) log.times.splice(0, drop);
    return log;
  };
  return {
    peek(key, max, windowMs, now) {
      const log = live(key, windowMs, now);
      if (log) return log.times.length < max;
      if (max <= 0) return false;
      if (logs.size >= maxKeys) {
        for (const [k, v] of logs) if (v.times.every((t) => t <= now - v.windowMs)) logs.delete(k);
        if (logs.size >= maxKeys) return false;
      }
      return true;
    },
    take(key, windowMs, now) {
      const log = live(key, windowMs, now);
      if (log) log.times.push(now);
      else logs.set(key, { times: [now], windowMs });
    }
  };
}
