/**
 * Client configs as text: JSON, and VS Code's JSONC (comments, trailing commas). Read with
 * `jsonc-parser` (VS Code's own), which keeps where every value sits, and edited with its
 * `modify`, so `wrap` and `unwrap` change one value and leave every other byte of the file (other
 * keys, comments, order) as it was. New values are written in the file's own indentation and line
 * endings.
 */
import {
  applyEdits,
  findNodeAtLocation,
  getNodeValue,
  modify,
  parseTree,
  printParseErrorCode,
  type Edit,
  type FormattingOptions,
  type JSONPath,
  type Node,
  type ParseError
} from 'jsonc-parser';
import { SetupError } from './errors.js';

type JsonNode = Node;

const PARSE_OPTIONS = { allowTrailingComma: true, disallowComments: false } as const;

/** What each parse error (by its code's name) means, and whether the message goes on to name what was found there. */
const PROBLEMS: Record<string, [string, boolean]> = {
  InvalidSymbol: ['unexpected', true],
  InvalidNumberFormat: ['malformed number', false],
  PropertyNameExpected: ['expected a property name, found', true],
  ValueExpected: ['expected a value, found', true],
  ColonExpected: ['expected ":", found', true],
  CommaExpected: ['expected ",", found', true],
  CloseBraceExpected: ['expected "}", found', true],
  CloseBracketExpected: ['expected "]", found', true],
  EndOfFileExpected: ['unexpected content after the top-level value:', true],
  InvalidCommentToken: ['malformed comment', false],
  UnexpectedEndOfComment: ['unterminated comment', false],
  UnexpectedEndOfString: ['unterminated string', false],
  UnexpectedEndOfNumber: ['malformed number', false],
  InvalidUnicode: ['malformed string (a bad \\u escape)', false],
  InvalidEscapeCharacter: ['malformed string (a bad escape)', false],
  InvalidCharacter: ['malformed string (a control character)', false]
};

/** Line and column (1-based) of an offset. */
function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}

/** A byte-order mark read as a space: offsets stay those of the file, edits apply to it as it is. */
function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? ` ${text.slice(1)}` : text;
}

/** Parse JSON (comments and trailing commas allowed); the first mistake is named `file:line:col`. */
export function parseJsonc(text: string, file: string): JsonNode {
  const errors: ParseError[] = [];
  const root = parseTree(withoutBom(text), errors, PARSE_OPTIONS);
  const first = errors[0];
  if (first) {
    const { line, col } = lineCol(text, first.offset);
    const [problem, names] = PROBLEMS[printParseErrorCode(first.error)] ?? ['unexpected', true];
    const ch = text[first.offset];
    const found = names ? ` ${ch === undefined ? 'end of file' : JSON.stringify(ch)}` : '';
    throw new SetupError(`${file}:${line}:${col}: invalid JSON: ${problem}${found}`, file);
  }
  if (!root) throw new SetupError(`${file}:1:1: invalid JSON: expected a value, found end of file`, file);
  return root;
}

/** The plain value of a node (a repeated key keeps its last value, as JSON.parse does). */
export function toValue(node: JsonNode): unknown {
  return getNodeValue(node);
}

/** The value node of an object's member with this key. */
export function memberOf(node: JsonNode, key: string): JsonNode | undefined {
  if (node.type !== 'object') return undefined;
  return findNodeAtLocation(node, [key]);
}

interface JsonStyle {
  /** One level of indentation: a tab or some spaces; '' for a file on one line. */
  indent: string;
  eol: '\n' | '\r\n';
}

/** The indentation and line endings a file uses (two spaces and \n when it cannot tell). */
export function detectStyle(text: string): JsonStyle {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const body = text.trim();
  if (!body.includes('\n')) return { indent: body.length > 2 ? '' : '  ', eol };
  const leads = body
    .split('\n')
    .map((line) => /^[ \t]+(?=\S)/.exec(line)?.[0])
    .filter((lead): lead is string => lead !== undefined);
  const first = leads[0];
  if (first === undefined) return { indent: '  ', eol };
  if (first.startsWith('\t')) return { indent: '\t', eol };
  const width = Math.min(...leads.filter((l) => !l.includes('\t')).map((l) => l.length));
  return { indent: ' '.repeat(Math.min(Math.max(width, 1), 8)), eol };
}

function formattingOf(style: JsonStyle): FormattingOptions {
  return style.indent === '\t'
    ? { insertSpaces: false, tabSize: 4, eol: style.eol }
    : { insertSpaces: true, tabSize: style.indent.length, eol: style.eol };
}

/**
 * The text with the value at `path` set to `value` (added when missing, removed when undefined),
 * in the file's style, every other byte left as it was. A file on one line stays on one line.
 */
export function setValue(text: string, path: JSONPath, value: unknown): string {
  const style = detectStyle(text);
  const source = withoutBom(text);
  let edits: Edit[];
  const node =
    style.indent === '' ? findNodeAtLocation(parseTree(source, [], PARSE_OPTIONS)!, path) : undefined;
  if (node && value !== undefined) {
    edits = [{ offset: node.offset, length: node.length, content: JSON.stringify(value) }];
  } else {
    edits = modify(source, path, value, { formattingOptions: formattingOf(style) });
  }
  return applyEdits(text, edits);
}
