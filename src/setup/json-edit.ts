/**
 * Edits a JSON file in place: replace one value, written in the file's own indentation and line
 * endings, and leave every other byte (other keys, comments, order) as it was.
 */
import type { JsonMember } from './jsonc.js';

export interface JsonStyle {
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

/** JSON text of a value in this style, its later lines indented by `base`. */
export function renderJson(value: unknown, style: JsonStyle, base = ''): string {
  if (style.indent === '') return JSON.stringify(value);
  return JSON.stringify(value, null, style.indent).split('\n').join(`${style.eol}${base}`);
}

/** Leading whitespace of the line holding `offset`. */
export function indentAt(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart, offset))?.[0] ?? '';
}

/** The text with one member's value replaced by `value`, in the file's style. */
export function replaceMemberValue(text: string, member: JsonMember, value: unknown): string {
  const style = detectStyle(text);
  const rendered = renderJson(value, style, indentAt(text, member.keyStart));
  return text.slice(0, member.value.start) + rendered + text.slice(member.value.end);
}
