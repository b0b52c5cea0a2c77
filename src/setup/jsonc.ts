/**
 * A small JSON-with-comments parser that keeps where every value sits in the text. Client configs
 * are JSON, and VS Code's are JSONC (comments, trailing commas); knowing the offsets lets `wrap`
 * replace one value and leave every other byte of the file as it was.
 */
import { SetupError } from './errors.js';

export type JsonNode =
  | { kind: 'object'; start: number; end: number; members: JsonMember[] }
  | { kind: 'array'; start: number; end: number; items: JsonNode[] }
  | { kind: 'scalar'; start: number; end: number; value: string | number | boolean | null };

export interface JsonMember {
  key: string;
  keyStart: number;
  value: JsonNode;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\\n]|\\.)*"/y;
const LITERALS: ReadonlyArray<[string, boolean | null]> = [
  ['true', true],
  ['false', false],
  ['null', null]
];

/** Line and column (1-based) of an offset. */
export function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}

class Parser {
  pos = 0;
  constructor(
    readonly text: string,
    readonly file: string
  ) {}

  fail(message: string, at = this.pos): never {
    const { line, col } = lineCol(this.text, at);
    throw new SetupError(`${this.file}:${line}:${col}: invalid JSON: ${message}`, this.file);
  }

  skip(): void {
    const t = this.text;
    for (;;) {
      const ch = t[this.pos];
      if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\uFEFF') this.pos++;
      else if (t.startsWith('//', this.pos)) {
        const nl = t.indexOf('\n', this.pos);
        this.pos = nl < 0 ? t.length : nl;
      } else if (t.startsWith('/*', this.pos)) {
        const close = t.indexOf('*/', this.pos + 2);
        if (close < 0) this.fail('unterminated comment');
        this.pos = close + 2;
      } else return;
    }
  }

  describe(): string {
    const ch = this.text[this.pos];
    return ch === undefined ? 'end of file' : JSON.stringify(ch);
  }

  value(): JsonNode {
    this.skip();
    const ch = this.text[this.pos];
    if (ch === '{') return this.object();
    if (ch === '[') return this.array();
    if (ch === '"') {
      const start = this.pos;
      return { kind: 'scalar', start, value: this.string(), end: this.pos };
    }
    return this.literal();
  }

  string(): string {
    STRING.lastIndex = this.pos;
    const m = STRING.exec(this.text);
    if (!m) this.fail('unterminated or malformed string');
    try {
      // JSON.parse checks what the pattern lets through: escapes and control characters.
      const value = JSON.parse(m[0]) as string;
      this.pos += m[0].length;
      return value;
    } catch {
      return this.fail('malformed string (a bad escape or a control character)');
    }
  }

  literal(): JsonNode {
    const start = this.pos;
    for (const [word, value] of LITERALS) {
      if (this.text.startsWith(word, start)) {
        this.pos += word.length;
        return { kind: 'scalar', start, end: this.pos, value };
      }
    }
    NUMBER.lastIndex = start;
    const m = NUMBER.exec(this.text);
    if (!m) this.fail(`unexpected ${this.describe()}`);
    this.pos += m[0].length;
    return { kind: 'scalar', start, end: this.pos, value: Number(m[0]) };
  }

  /** After an item: true when the collection goes on, false at its closing bracket. */
  next(close: string, what: string): boolean {
    this.skip();
    const ch = this.text[this.pos];
    if (ch === ',') {
      this.pos++;
      this.skip();
      if (this.text[this.pos] !== close) return true;
    } else if (ch !== close) this.fail(`expected "," or "${close}" after ${what}, found ${this.describe()}`);
    this.pos++;
    return false;
  }

  object(): JsonNode {
    const start = this.pos++;
    const members: JsonMember[] = [];
    this.skip();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return { kind: 'object', start, end: this.pos, members };
    }
    do {
      this.skip();
      if (this.text[this.pos] !== '"') this.fail(`expected a property name, found ${this.describe()}`);
      const keyStart = this.pos;
      const key = this.string();
      this.skip();
      if (this.text[this.pos] !== ':') this.fail(`expected ":" after "${key}", found ${this.describe()}`);
      this.pos++;
      members.push({ key, keyStart, value: this.value() });
    } while (this.next('}', 'a property'));
    return { kind: 'object', start, end: this.pos, members };
  }

  array(): JsonNode {
    const start = this.pos++;
    const items: JsonNode[] = [];
    this.skip();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return { kind: 'array', start, end: this.pos, items };
    }
    do items.push(this.value());
    while (this.next(']', 'an item'));
    return { kind: 'array', start, end: this.pos, items };
  }
}

/** Parse JSON (comments and trailing commas allowed); errors name `file:line:col`. */
export function parseJsonc(text: string, file: string): JsonNode {
  const parser = new Parser(text, file);
  const root = parser.value();
  parser.skip();
  if (parser.pos < text.length) parser.fail(`unexpected ${parser.describe()} after the top-level value`);
  return root;
}

/** The plain value of a node (a repeated key keeps its last value, as JSON.parse does). */
export function toValue(node: JsonNode): unknown {
  if (node.kind === 'scalar') return node.value;
  if (node.kind === 'array') return node.items.map(toValue);
  return Object.fromEntries(node.members.map((m) => [m.key, toValue(m.value)]));
}

/** The last member of an object node with this key. */
export function memberOf(node: JsonNode, key: string): JsonMember | undefined {
  if (node.kind !== 'object') return undefined;
  return node.members.findLast((m) => m.key === key);
}
