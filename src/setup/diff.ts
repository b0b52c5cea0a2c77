/**
 * The unified diff `wrap --dry-run` shows (and `wrap`/`unwrap` return): jsdiff's, with three lines
 * of context and the two file headers only, in the format `patch` reads.
 */
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';

/**
 * A unified diff from `before` to `after`; '' when they are equal. `from`/`to` label the two
 * sides (`/dev/null` for a file that does not exist yet).
 */
export function unifiedDiff(before: string, after: string, from: string, to: string): string {
  if (before === after) return '';
  return createTwoFilesPatch(from, to, before, after, undefined, undefined, {
    context: 3,
    headerOptions: FILE_HEADERS_ONLY
  });
}
