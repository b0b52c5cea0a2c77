/**
 * The in-memory rate table: fixed windows per key. The memory state (../state) takes from it; the
 * limits stage decides what to take. Kept apart from the stage so that the state can use it
 * without importing the stage that uses the state.
 */
export interface RateStore {
  /** Take one from the window of `key`; false when it is full. */
  take(key: string, max: number, windowMs: number, now: number): boolean;
  /** Would `take` succeed? Changes nothing: a window opens only with a call it admits. */
  peek(key: string, max: number, windowMs: number, now: number): boolean;
}

/**
 * Fixed windows in memory, bounded in size. A window opens with the first call it admits, as in
 * the Redis store: a refused call (by this window, another budget or the risk budget) neither
 * opens nor moves one. When the table is full of live windows, a new key is refused rather than
 * anyone's window dropped: a flood of new keys must not reset other limits.
 */
export function createRateStore(maxKeys = 100_000): RateStore {
  const windows = new Map<string, { start: number; count: number; windowMs: number }>();
  /** The key's window, if it is still open at `now`. */
  const open = (key: string, windowMs: number, now: number) => {
    const w = windows.get(key);
    return w && now - w.start < windowMs ? w : undefined;
  };
  /** Room for a window of a key the table does not hold: ended windows go first. */
  const room = (key: string, now: number) => {
    if (windows.has(key) || windows.size < maxKeys) return true;
    for (const [k, v] of windows) if (now - v.start >= v.windowMs) windows.delete(k);
    return windows.size < maxKeys;
  };
  const peek = (key: string, max: number, windowMs: number, now: number) => {
    const w = open(key, windowMs, now);
    if (w) return w.count < max;
    return max > 0 && room(key, now);
  };
  return {
    peek,
    take(key, max, windowMs, now) {
      if (!peek(key, max, windowMs, now)) return false;
      const w = open(key, windowMs, now);
      if (w) w.count++;
      else windows.set(key, { start: now, count: 1, windowMs });
      return true;
    }
  };
}
