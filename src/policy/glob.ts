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
 * A rule's globs over names (or URIs): one, or a list of which any one may match. A list is
 * matched glob by glob, each whole-name, so every glob keeps its own anchors.
 */
export interface GlobList {
  /** The globs as written, in order. */
  sources: readonly string[];
  /** When no glob has a wildcard: the names matched, each once. */
  literals: readonly string[] | undefined;
  test(name: string): boolean;
}

/** A rule's `tool`, `prompt` or `resource` (`uri`: globs over resource URIs). */
export function compileGlobList(sources: string | readonly string[], uri: boolean): GlobList {
  const list = typeof sources === 'string' ? [sources] : [...sources];
  const globs = list.map((s) => (uri ? compileUriGlob(s) : compileGlob(s)));
  return {
    sources: list,
    literals: globs.every((g) => g.literal) ? [...new Set(list)] : undefined,
    test: (name) => globs.some((g) => g.test(name))
  };
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
