/**
 * A small unified diff of two texts (what `wrap --dry-run` shows): a longest-common-subsequence
 * line match, grouped into hunks with three lines of context, in the format `patch` reads.
 */

type Op = { kind: ' ' | '-' | '+'; line: string; a: number; b: number };

const CONTEXT = 3;
/** Above this many cells the texts are shown as one replaced block. */
const MAX_CELLS = 25_000_000;

/** Lines of a text; `\ No newline at end of file` is marked on the last one when it lacks one. */
function linesOf(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  else lines[lines.length - 1] += '\n\\ No newline at end of file';
  return lines;
}

/** Edit script between a and b (common prefix and suffix trimmed, LCS in between). */
function editScript(a: string[], b: string[]): Op[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const ops: Op[] = [];
  for (let i = 0; i < start; i++) ops.push({ kind: ' ', line: a[i]!, a: i, b: i });
  ops.push(...middle(a, b, start, endA, endB));
  for (let i = endA, j = endB; i < a.length; i++, j++) ops.push({ kind: ' ', line: a[i]!, a: i, b: j });
  return ops;
}

function middle(a: string[], b: string[], start: number, endA: number, endB: number): Op[] {
  const n = endA - start;
  const m = endB - start;
  const ops: Op[] = [];
  if (n * m > MAX_CELLS) {
    for (let i = start; i < endA; i++) ops.push({ kind: '-', line: a[i]!, a: i, b: start });
    for (let j = start; j < endB; j++) ops.push({ kind: '+', line: b[j]!, a: endA, b: j });
    return ops;
  }
  // lcs[i * (m + 1) + j]: length of the LCS of a[start+i..endA) and b[start+j..endB).
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] =
        a[start + i] === b[start + j]
          ? lcs[(i + 1) * (m + 1) + j + 1]! + 1
          : Math.max(lcs[(i + 1) * (m + 1) + j]!, lcs[i * (m + 1) + j + 1]!);
    }
  }
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    const ai = start + i;
    const bj = start + j;
    if (i < n && j < m && a[ai] === b[bj]) {
      ops.push({ kind: ' ', line: a[ai]!, a: ai, b: bj });
      i++;
      j++;
    } else if (i < n && (j === m || lcs[(i + 1) * (m + 1) + j]! >= lcs[i * (m + 1) + j + 1]!)) {
      // On a tie, removals come first, as diff(1) shows them.
      ops.push({ kind: '-', line: a[ai]!, a: ai, b: bj });
      i++;
    } else {
      ops.push({ kind: '+', line: b[bj]!, a: ai, b: bj });
      j++;
    }
  }
  return ops;
}

/** Ranges of ops that form hunks: changes with up to CONTEXT lines around, close ones merged. */
function hunkRanges(ops: Op[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  ops.forEach((op, k) => {
    if (op.kind === ' ') return;
    const from = Math.max(0, k - CONTEXT);
    const to = Math.min(ops.length, k + CONTEXT + 1);
    const last = ranges[ranges.length - 1];
    if (last && from <= last[1]) last[1] = to;
    else ranges.push([from, to]);
  });
  return ranges;
}

function header(start: number, count: number): string {
  return count === 0 ? `${start},0` : count === 1 ? `${start + 1}` : `${start + 1},${count}`;
}

function hunk(ops: Op[]): string {
  const first = ops[0]!;
  const countA = ops.filter((o) => o.kind !== '+').length;
  const countB = ops.filter((o) => o.kind !== '-').length;
  const body = ops.map((o) => `${o.kind}${o.line}`).join('\n');
  return `@@ -${header(first.a, countA)} +${header(first.b, countB)} @@\n${body}\n`;
}

/**
 * A unified diff from `before` to `after`; '' when they are equal. `from`/`to` label the two
 * sides (`/dev/null` for a file that does not exist yet).
 */
export function unifiedDiff(before: string, after: string, from: string, to: string): string {
  if (before === after) return '';
  const ops = editScript(linesOf(before), linesOf(after));
  const hunks = hunkRanges(ops).map(([s, e]) => hunk(ops.slice(s, e)));
  return `--- ${from}\n+++ ${to}\n${hunks.join('')}`;
}
