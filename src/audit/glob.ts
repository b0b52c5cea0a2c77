/**
 * Globs for audit queries (`--tool 'files__*'`): `*` matches any run of characters (including
 * none), `?` exactly one, everything else itself; whole-name and case-sensitive, as the policy's
 * globs (src/policy/glob.ts). Matched here without a regular expression, so the audit module keeps
 * to node:* alone, and in time proportional to pattern × name at worst, whatever the pattern.
 */
export interface QueryGlob {
  source: string;
  /** No wildcard: it names exactly one thing (and a database column can narrow by it). */
  literal: boolean;
  test(name: string): boolean;
}

export function queryGlob(source: string): QueryGlob {
  const literal = !/[*?]/.test(source);
  const pattern = [...source];
  return {
    source,
    literal,
    test: literal ? (name) => name === source : (name) => globMatch(pattern, [...name])
  };
}

/** The classic wildcard walk: on a mismatch, go back to the last `*` and let it take one more. */
function globMatch(p: readonly string[], s: readonly string[]): boolean {
  let pi = 0;
  let si = 0;
  let star = -1;
  let from = 0;
  while (si < s.length) {
    if (pi < p.length && (p[pi] === '?' || (p[pi] !== '*' && p[pi] === s[si]))) {
      pi++;
      si++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      from = si;
    } else if (star >= 0) {
      pi = star + 1;
      si = ++from;
    } else return false;
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}
