// Tests of the unified diff (jsdiff's, as wrap shows it): its exact format on small cases, and
// (property-based) that applying it to the old text always gives the new one.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { unifiedDiff } from './diff.js';

/** Apply a unified diff made by unifiedDiff to `before` (a minimal `patch`). */
function applyDiff(before: string, diff: string): string {
  if (diff === '') return before;
  const source = before === '' ? [] : before.split('\n');
  const hasFinalNewline = before === '' || before.endsWith('\n');
  if (hasFinalNewline && source.length > 0) source.pop();
  const out: string[] = [];
  let at = 0;
  let finalNewline = true;
  const lines = diff.split('\n').slice(2);
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k]!;
    const header = /^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@$/.exec(line);
    if (header) {
      const start = Number(header[1]) - (header[2] === '0' ? 0 : 1);
      while (at < start) out.push(source[at++]!);
      continue;
    }
    if (line === '\\ No newline at end of file') {
      if (lines[k - 1]?.[0] !== '-') finalNewline = false;
      continue;
    }
    if (line[0] === ' ' || line[0] === '-') at++;
    if (line[0] === ' ' || line[0] === '+') out.push(line.slice(1));
  }
  while (at < source.length) out.push(source[at++]!);
  if (out.length === 0) return '';
  const tailKept = at === source.length && !lines.some((l) => l.startsWith('\\'));
  return out.join('\n') + ((tailKept ? hasFinalNewline : finalNewline) ? '\n' : '');
}

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n', 'x', 'x')).toBe('');
  });

  it('writes hunks with three lines of context', () => {
    const before = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', ''].join('\n');
    const after = before.replace('5\n', 'five\n');
    expect(unifiedDiff(before, after, 'a/f', 'b/f')).toBe(
      ['--- a/f', '+++ b/f', '@@ -2,7 +2,7 @@', ' 2', ' 3', ' 4', '-5', '+five', ' 6', ' 7', ' 8', ''].join(
        '\n'
      )
    );
  });

  it('shows a new file against /dev/null', () => {
    expect(unifiedDiff('', 'x\ny\n', '/dev/null', 'f')).toBe(
      '--- /dev/null\n+++ f\n@@ -0,0 +1,2 @@\n+x\n+y\n'
    );
  });

  it('marks a missing newline at the end', () => {
    expect(unifiedDiff('a\n', 'a', 'f', 'f')).toBe(
      '--- f\n+++ f\n@@ -1,1 +1,1 @@\n-a\n+a\n\\ No newline at end of file\n'
    );
  });

  it('gives a diff that turns the old text into the new one', () => {
    const text = fc
      .array(fc.constantFrom('a', 'b', 'c', '{', '}', ''), { maxLength: 30 })
      .chain((lines) => fc.constantFrom(lines.join('\n'), lines.join('\n') + '\n'));
    fc.assert(
      fc.property(text, text, (before, after) => {
        expect(applyDiff(before, unifiedDiff(before, after, 'a', 'b'))).toBe(after);
      }),
      { numRuns: 500 }
    );
  });
});
