/**
 * Globs over tool, prompt and server names and resource URIs: `*` matches any run of characters
 * (including none), `?` exactly one, everything else itself. Over URIs (`segments`), `*` and `?`
 * stop at `/` and `**` crosses it. Matching is whole-name and case-sensitive. Compiled to an RE2
 * program, so a hostile name cannot make matching slow.
 */
import { RE2JS } from 're2js';

export interface Glob {
  source: string;
  /** True when the glob has no wildcard: it names exactly one thing. */
  literal: boolean;
  test(name: string): boolean;
}

export function compileGlob(source: string): Glob {
  return globOf(source, false);
}

/** A glob over resource URIs: `*` and `?` do not match `/`, and `**` matches anything. */
export function compileUriGlob(source: string): Glob {
  return globOf(source, true);
}

function globOf(source: string, segments: boolean): Glob {
  const literal = !/[*?]/.test(source);
  if (literal) return { source, literal, test: (name) => name === source };
  let re = '';
  const chars = [...source];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '*' && segments && chars[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (ch === '*') re += segments ? '[^/]*' : '.*';
    else if (ch === '?') re += segments ? '[^/]' : '.';
    else re += RE2JS.quote(ch);
  }
  const program = RE2JS.compile(`^(?s:${re})$`);
  return { source, literal, test: (name) => program.matches(name) };
}

/**
 * Does a URI have a `.` or `..` path segment, also percent-encoded or between backslashes? A
 * server may resolve one (`file:///srv/public/../secret`), so a glob over the URI as written
 * would not say what is read.
 */
export function hasDotSegment(uri: string): boolean {
  const decoded = uri.replace(/%2e/gi, '.').replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
  return /(^|[/\\])\.{1,2}([/\\?#]|$)/.test(decoded);
}
