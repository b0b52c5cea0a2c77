/**
 * YAML with source positions: parse a file, keep a way back from any value path to its
 * line:column, and turn JSON Schema errors into messages a person can act on.
 */
import { readFileSync } from 'node:fs';
import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node
} from 'yaml';
import type { ErrorObject } from 'ajv';
import type { ConfigIssue } from '../errors.js';

export type PathPart = string | number;

export interface YamlSource {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
  value: unknown;
  /** Syntax errors found while parsing. */
  issues: ConfigIssue[];
}

export function readYaml(file: string, text?: string): YamlSource {
  const body = text ?? readFileSync(file, 'utf8');
  const lines = new LineCounter();
  // The YAML parser recurses on nesting: a document nested absurdly deep is refused before it.
  const tooDeep = flowNestingBeyond(body, 256);
  if (tooDeep !== undefined) {
    lines.addNewLine(0);
    const line = body.slice(0, tooDeep).split('\n').length;
    return {
      file,
      doc: parseDocument(''),
      lines,
      value: undefined,
      issues: [{ file, line, col: 1, path: '', message: 'nested deeper than 256 levels' }]
    };
  }
  const doc = parseDocument(body, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const issues: ConfigIssue[] = [];
  for (const err of doc.errors) {
    const pos = lines.linePos(err.pos[0]);
    issues.push({ file, line: pos.line, col: pos.col, path: '', message: firstLine(err.message) });
  }
  // `__proto__` as a key would vanish into a prototype when the document becomes JS objects:
  // refuse it where it stands rather than lose a server, a rule or a constraint silently.
  if (issues.length === 0) {
    visit(doc, {
      Pair(_key, pair) {
        if (isScalar(pair.key) && String(pair.key.value) === '__proto__' && pair.key.range) {
          const pos = lines.linePos(pair.key.range[0]);
          issues.push({
            file,
            line: pos.line,
            col: pos.col,
            path: '',
            message: 'the key "__proto__" is not allowed'
          });
        }
      }
    });
  }
  let value: unknown;
  if (issues.length === 0) {
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      // Unresolved or excessive aliases: YAML the loader will not expand.
      issues.push({
        file,
        line: 1,
        col: 1,
        path: '',
        message: `cannot expand aliases: ${firstLine((err as Error).message)}`
      });
    }
  }
  if (issues.length === 0) {
    const problem = shapeProblem(value);
    if (problem) {
      const pos = positionOf({ file, doc, lines, value, issues }, problem.path);
      issues.push({
        file,
        line: pos.line,
        col: pos.col,
        path: formatPath(problem.path),
        message: problem.message
      });
      value = undefined;
    }
  }
  return { file, doc, lines, value, issues };
}

/** Values no config can hold: cycles (from aliases), absurd nesting, numbers that are not finite. */
function shapeProblem(root: unknown): { path: PathPart[]; message: string } | undefined {
  const MAX_DEPTH = 64;
  const ancestors = new Set<object>();
  const walk = (value: unknown, path: PathPart[]): { path: PathPart[]; message: string } | undefined => {
    if (typeof value === 'number' && !Number.isFinite(value))
      return { path, message: 'expected a finite number' };
    if (value === null || typeof value !== 'object') return undefined;
    if (path.length > MAX_DEPTH) return { path, message: `nested deeper than ${MAX_DEPTH} levels` };
    if (ancestors.has(value)) return { path, message: 'an alias refers to itself (a cycle)' };
    ancestors.add(value);
    try {
      const entries: Array<[PathPart, unknown]> = Array.isArray(value)
        ? value.map((v, i) => [i, v])
        : Object.entries(value);
      for (const [k, v] of entries) {
        const found = walk(v, [...path, k]);
        if (found) return found;
      }
      return undefined;
    } finally {
      ancestors.delete(value);
    }
  };
  return walk(root, []);
}

/** Offset where `[`/`{` nesting first passes `max` (quotes ignored, a conservative count), if it does. */
function flowNestingBeyond(text: string, max: number): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return i;
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) depth--;
  }
  return undefined;
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

/** `rules[1].allowed_roles` from ['rules', 1, 'allowed_roles']. */
function formatPath(path: readonly PathPart[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

/** Line and column of the node at `path`; with `key`, of that key inside the mapping at `path`. */
function positionOf(src: YamlSource, path: readonly PathPart[], key?: string): { line: number; col: number } {
  let node: unknown = src.doc.contents;
  let last: unknown = node;
  for (const part of path) {
    const next = childOf(node, part);
    if (next === undefined) break;
    node = next;
    last = next;
  }
  if (key !== undefined && isMap(last)) {
    const pair = last.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
    if (pair && isScalar(pair.key) && pair.key.range) return src.lines.linePos(pair.key.range[0]);
  }
  const range = (last as Node | null | undefined)?.range;
  if (range) return src.lines.linePos(range[0]);
  return { line: 1, col: 1 };
}

function childOf(node: unknown, part: PathPart): unknown {
  if (isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(part));
    return pair?.value ?? undefined;
  }
  if (isSeq(node) && typeof part === 'number') return node.items[part];
  return undefined;
}

export function issueAt(
  src: YamlSource,
  path: readonly PathPart[],
  message: string,
  key?: string
): ConfigIssue {
  const pos = positionOf(src, path, key);
  const shown = key !== undefined ? [...path, key] : path;
  return { file: src.file, line: pos.line, col: pos.col, path: formatPath(shown), message };
}

/** Turn ajv errors into issues with positions and plain-language messages. */
export function schemaIssues(src: YamlSource, errors: ErrorObject[], prefix: PathPart[] = []): ConfigIssue[] {
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const err of errors) {
    if (err.keyword !== 'anyOf' && anyOfPaths.has(err.instancePath) && err.schemaPath.includes('anyOf'))
      continue;
    const path = [...prefix, ...pointerToPath(err.instancePath)];
    let issue: ConfigIssue;
    switch (err.keyword) {
      case 'additionalProperties': {
        const extra = String((err.params as { additionalProperty: string }).additionalProperty);
        const known = Object.keys(
          (err.parentSchema as { properties?: object } | undefined)?.properties ?? {}
        );
        const hint = closest(extra, known);
        issue = issueAt(src, path, `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}`, extra);
        break;
      }
      case 'required': {
        const missing = String((err.params as { missingProperty: string }).missingProperty);
        issue = issueAt(src, path, `missing required key "${missing}"`);
        break;
      }
      case 'type':
        issue = issueAt(src, path, `expected ${describe(err.parentSchema)}`);
        break;
      case 'enum':
        issue = issueAt(
          src,
          path,
          `expected one of: ${((err.params as { allowedValues: unknown[] }).allowedValues ?? []).join(', ')}`
        );
        break;
      case 'anyOf':
        issue = issueAt(src, path, `expected ${describeAnyOf(err.parentSchema)}`);
        break;
      case 'pattern':
        issue = issueAt(
          src,
          path,
          `expected ${describe(err.parentSchema)} matching ${String(err.params.pattern)}`
        );
        break;
      case 'minItems':
        issue = issueAt(src, path, 'expected a non-empty list');
        break;
      case 'minimum':
      case 'maximum':
        issue = issueAt(
          src,
          path,
          `expected a number ${err.keyword === 'minimum' ? '>=' : '<='} ${String(err.params.limit)}`
        );
        break;
      default:
        issue = issueAt(src, path, err.message ?? 'invalid value');
    }
    const keyOf = `${issue.path}|${issue.message}`;
    if (!seen.has(keyOf)) {
      seen.add(keyOf);
      issues.push(issue);
    }
  }
  return issues;
}

function pointerToPath(pointer: string): PathPart[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

function describe(schema: unknown): string {
  const s = (schema ?? {}) as { type?: string | string[]; items?: { type?: string } };
  if (Array.isArray(s.type)) return s.type.map((type) => describe({ ...s, type })).join(' or ');
  switch (s.type) {
    case 'array':
      if (s.items?.type === 'string') return 'a list of strings';
      if (s.items?.type === 'object') return 'a list of mappings';
      return 'a list';
    case 'object':
      return 'a mapping';
    case 'string':
      return 'a string';
    case 'integer':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    default:
      return 'a valid value';
  }
}

function describeAnyOf(schema: unknown): string {
  const options = ((schema as { anyOf?: unknown[] } | undefined)?.anyOf ?? []).map(describe);
  return options.join(' or ');
}

/** The candidate nearest to `word` (edit distance, any case), when it is near enough to be a typo. */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestScore) {
      bestScore = d;
      best = c;
    }
  }
  return bestScore <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
