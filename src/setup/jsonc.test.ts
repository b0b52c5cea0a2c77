// Tests of reading and editing client configs through jsonc-parser: values as JSON.parse gives
// them, comments and trailing commas, errors at file:line:col, and edits that touch nothing else.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detectStyle, memberOf, parseJsonc, setValue, toValue } from './jsonc.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/clients');

describe('parseJsonc', () => {
  it('reads any JSON value as JSON.parse does', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(0, 2, '\t'), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        expect(toValue(parseJsonc(text, 'f.json'))).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 }
    );
  });

  it('reads every client fixture', () => {
    const files = readdirSync(FIXTURES, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(files.length).toBe(4);
    for (const f of files) {
      const value = toValue(parseJsonc(readFileSync(join(f.parentPath, f.name), 'utf8'), f.name));
      expect(Object.keys(value as object).some((k) => k === 'mcpServers' || k === 'servers')).toBe(true);
    }
  });

  it('allows comments and trailing commas', () => {
    const text = '\uFEFF// head\n{ /* a */ "a": [1, 2,], // b\n "b": { "c": null, }, }';
    expect(toValue(parseJsonc(text, 'f'))).toEqual({ a: [1, 2], b: { c: null } });
  });

  it('names the file, line and column of a mistake', () => {
    const cases: Array<[string, string]> = [
      ['{\n  "a": 1,\n  b: 2\n}', 'f.json:3:3: invalid JSON: unexpected "b"'],
      ['{"a" 1}', 'f.json:1:6: invalid JSON: expected ":", found "1"'],
      ['{"a": tru}', 'f.json:1:7: invalid JSON: unexpected "t"'],
      ['{"a": "x', 'f.json:1:7: invalid JSON: unterminated string'],
      ['{"a": "\\q"}', 'f.json:1:7: invalid JSON: malformed string (a bad escape)'],
      ['{"a": "x\ty"}', 'f.json:1:7: invalid JSON: malformed string (a control character)'],
      ['{"a": 1', 'f.json:1:8: invalid JSON: expected "}", found end of file'],
      ['{"a": 1 "b": 2}', 'f.json:1:9: invalid JSON: expected ",", found "\\""'],
      ['{} {}', 'f.json:1:4: invalid JSON: unexpected content after the top-level value: "{"'],
      ['/* open', 'f.json:1:1: invalid JSON: unterminated comment'],
      ['', 'f.json:1:1: invalid JSON: expected a value, found end of file']
    ];
    for (const [text, message] of cases) expect(() => parseJsonc(text, 'f.json')).toThrow(message);
  });

  it('reads a repeated key as its last value, as JSON.parse does', () => {
    expect(toValue(parseJsonc('{"a": 1, "a": 2}', 'f'))).toEqual({ a: 2 });
  });
});

describe('setValue', () => {
  it('replaces one value in the file style and leaves every other byte', () => {
    const text = '{\n    // servers\n    "s": {"x": 1},\n    "keep": [1,2]\n}\n';
    expect(memberOf(parseJsonc(text, 'f'), 's')?.type).toBe('object');
    expect(setValue(text, ['s'], { y: [true] })).toBe(
      '{\n    // servers\n    "s": {\n        "y": [\n            true\n        ]\n    },\n    "keep": [1,2]\n}\n'
    );
  });

  it('adds and removes members, keeping comments, trailing commas and the byte-order mark', () => {
    const text = '\uFEFF{\n  // keep me\n  "s": {\n    "a": 1, /* a */\n    "b": 2, // b\n  },\n}\n';
    const added = setValue(text, ['s', 'c'], { x: 'y' });
    expect(added.startsWith('\uFEFF{\n  // keep me\n  "s": {\n    "a": 1, /* a */\n')).toBe(true);
    expect(toValue(parseJsonc(added, 'f'))).toEqual({ s: { a: 1, b: 2, c: { x: 'y' } } });
    const removed = setValue(text, ['s', 'a'], undefined);
    expect(removed).toContain('// keep me');
    expect(removed).toContain('// b');
    expect(removed).toContain('},\n}\n');
    expect(toValue(parseJsonc(removed, 'f'))).toEqual({ s: { b: 2 } });
  });

  it('writes new values in tabs and CRLF, and keeps a one-line file on one line', () => {
    const tabs = setValue('{\r\n\t"s": {\r\n\t\t"a": 1\r\n\t}\r\n}', ['s', 'b'], { y: 1 });
    expect(tabs).toBe('{\r\n\t"s": {\r\n\t\t"a": 1,\r\n\t\t"b": {\r\n\t\t\t"y": 1\r\n\t\t}\r\n\t}\r\n}');
    expect(setValue('{"a": 1, "s": {"x": 1}}', ['s'], { y: [true] })).toBe('{"a": 1, "s": {"y":[true]}}');
  });

  it('changes only the value it sets, whatever the rest holds', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.jsonValue(),
        fc.constantFrom(0, 2, '\t'),
        (rest, value, indent) => {
          const { s: _s, ...others } = rest;
          const text = JSON.stringify({ ...others, s: 1 }, null, indent);
          const after = setValue(text, ['s'], value);
          expect(toValue(parseJsonc(after, 'f'))).toEqual(
            JSON.parse(JSON.stringify({ ...others, s: value }))
          );
          // Everything before "s" is untouched.
          const at = text.lastIndexOf('"s"');
          expect(after.slice(0, at)).toBe(text.slice(0, at));
        }
      ),
      { numRuns: 200 }
    );
  });

  it('tells tabs, spaces, one-line files and CRLF apart', () => {
    expect(detectStyle('{\n\t"a": 1\n}')).toEqual({ indent: '\t', eol: '\n' });
    expect(detectStyle('{\r\n   "a": {\r\n      "b": 1\r\n   }\r\n}')).toEqual({
      indent: '   ',
      eol: '\r\n'
    });
    expect(detectStyle('{"a": 1}')).toEqual({ indent: '', eol: '\n' });
  });
});
