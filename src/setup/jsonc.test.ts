// Tests of the JSONC reader and the in-place JSON edit: values as JSON.parse gives them, comments
// and trailing commas, errors at file:line:col, and edits that touch nothing else.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detectStyle, replaceMemberValue } from './json-edit.js';
import { memberOf, parseJsonc, toValue } from './jsonc.js';

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
      ['{\n  "a": 1,\n  b: 2\n}', 'f.json:3:3: invalid JSON: expected a property name, found "b"'],
      ['{"a" 1}', 'f.json:1:6: invalid JSON: expected ":" after "a", found "1"'],
      ['{"a": tru}', 'f.json:1:7: invalid JSON: unexpected "t"'],
      ['{"a": "x', 'f.json:1:7: invalid JSON: unterminated or malformed string'],
      ['{"a": "\\q"}', 'f.json:1:7: invalid JSON: malformed string (a bad escape or a control character)'],
      ['{"a": 1', 'f.json:1:8: invalid JSON: expected "," or "}" after a property, found end of file'],
      ['{} {}', 'f.json:1:4: invalid JSON: unexpected "{" after the top-level value'],
      ['/* open', 'f.json:1:1: invalid JSON: unterminated comment']
    ];
    for (const [text, message] of cases) expect(() => parseJsonc(text, 'f.json')).toThrow(message);
  });
});

describe('replaceMemberValue', () => {
  it('replaces one value in the file style and leaves every other byte', () => {
    const text = '{\n    // servers\n    "s": {"x": 1},\n    "keep": [1,2]\n}\n';
    const member = memberOf(parseJsonc(text, 'f'), 's')!;
    expect(replaceMemberValue(text, member, { y: [true] })).toBe(
      '{\n    // servers\n    "s": {\n        "y": [\n            true\n        ]\n    },\n    "keep": [1,2]\n}\n'
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
