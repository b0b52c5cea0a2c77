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
  const room = (key: string, now: number) =>
    makeRoom(windows, maxKeys, key, now, (v) => v.start + v.windowMs) === undefined;
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

/**
 * Room in a table bounded to `maxKeys` entries for `key`: there is when the table holds the key or
 * is not full; otherwise the entries that have ended by `now` (`endOf`, epoch ms) are removed, and
 * only those: a live entry is never dropped to make room. Undefined when there is room; else the
 * table is full of live entries and this is the earliest time one ends, so the caller refuses the
 * new key (fails closed) and knows when to look again. Shared by every bounded table of windows
 * (the rate table here, the authenticator's failures per source).
 */
export function makeRoom<V>(
  table: Map<string, V>,
  maxKeys: number,
  key: string,
  now: number,
  endOf: (entry: V) => number
): number | undefined {
  if (table.has(key) || table.size < maxKeys) return undefined;
  let next = Infinity;
  for (const [k, v] of table) {
    const end = endOf(v);
    if (end <= now) table.delete(k);
    else next = Math.min(next, end);
  }
  return table.size < maxKeys ? undefined : next;
}
