/**
 * Server names: Portcullis exposes tools as `<server>__<tool>`, so a server name is letters,
 * digits, `-` and single `_` (never `__`). Client configs allow anything; these turn a client's
 * name into a valid one that is also free.
 */

const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9-]*(?:_[A-Za-z0-9-]+)*$/;

export function isValidServerName(name: string): boolean {
  return SERVER_NAME.test(name);
}

/** `my.server` → `my-server`, `a__b` → `a_b`; a name with nothing usable becomes `server`. */
export function sanitizeServerName(name: string): string {
  // A valid name is kept as it is (runs of `-` in it included).
  if (isValidServerName(name)) return name;
  const cleaned = name
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/_{2,}/g, '_')
    .replace(/^[^A-Za-z0-9]+/, '')
    .replace(/_+$/, '')
    .replace(/-{2,}/g, '-');
  return cleaned === '' ? 'server' : cleaned;
}

/** `name`, or `name-2`, `name-3`, ... : the first one `taken` does not hold. */
export function freeName(name: string, taken: (candidate: string) => boolean): string {
  if (!taken(name)) return name;
  for (let i = 2; ; i++) {
    const candidate = `${name}-${i}`;
    if (!taken(candidate)) return candidate;
  }
}
