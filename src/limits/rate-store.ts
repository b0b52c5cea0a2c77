/**
 * The in-memory rate table: fixed windows per key. The memory state (../state) takes from it; the
 * limits stage decides what to take. Kept apart from the stage so that the state can use it
 * without importing the stage that uses the state.
 */
export interface RateStore {
  /** Take one from the window of `key`; false when it is full. */
  take(key: string, max: number, windowMs: number, now: number): boolean;
  /** Would `take` succeed? */
  peek(key: string, max: number, windowMs: number, now: number): boolean;
}

/**
 * Fixed windows in memory, bounded in size. When the table is full of live windows, a new key is
 * refused rather than anyone's window dropped: a flood of new keys must not reset other limits.
 */
export function createRateStore(maxKeys = 100_000): RateStore {
  const windows = new Map<string, { start: number; count: number; windowMs: number }>();
  const fresh = (key: string, windowMs: number, now: number) => {
    const w = windows.get(key);
    if (w && now - w.start < windowMs) return w;
    if (!w && windows.size >= maxKeys) {
      for (const [k, v] of windows) if (now - v.start >= v.windowMs) windows.delete(k);
      if (windows.size >= maxKeys) return undefined;
    }
    const next = { start: now, count: 0, windowMs };
    windows.set(key, next);
    return next;
  };
  return {
    peek: (key, max, windowMs, now) => (fresh(key, windowMs, now)?.count ?? max) < max,
    take(key, max, windowMs, now) {
      const w = fresh(key, windowMs, now);
      if (!w || w.count >= max) return false;
      w.count++;
      return true;
    }
  };
}
