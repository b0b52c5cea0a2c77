/**
 * What the scorer reads: one canonical text per scanned string, and for a tool definition one
 * document made of every field a model reads (title, description, both schemas with every nested
 * description, title, enum, default and example, property names, annotations and `_meta`), so an
 * attack split across fields is judged as a whole.
 */
import { canonicalize, type Canonical } from '../canonical.js';
import { ansiDangerous } from '../hidden.js';

export interface ScoredText {
  /** The canonical text. */
  text: string;
  /** Runs of invisible characters removed. */
  hiddenRuns: number;
  /** Spans of hidden encodings (comments, entities, base64...) decoded into the text. */
  decodedSpans: number;
}

/**
 * What canonicalisation undid that nobody writes by accident: runs of invisible characters that hide
 * or reorder text, and decoded spans that hid letters (a comment, base64 or hex, entities or
 * percent-escapes spelling words). Typography is not concealment: soft hyphens, line separators and
 * bidi marks (LRM, RLM, ALM) are how German, Hebrew or Arabic text is written, and colours in terminal
 * output are how logs look; `&amp;` in HTML or `%20`
 * in a URL is routine. Bidi overrides, embeddings and isolates count; so does anything found inside
 * decoded text.
 */
export function concealment(c: Canonical, original: string): { hiddenRuns: number; decodedSpans: number } {
  let hiddenRuns = 0;
  for (const run of c.hidden) {
    if (run.via !== undefined) hiddenRuns++;
    else if (run.cls === 'soft-hyphen' || run.cls === 'separator') continue;
    // Colours and plain styles of terminal output are how logs look; concealment and cursor moves count.
    else if (run.cls === 'ansi' && !ansiDangerous(original, run.start, run.end)) continue;
    else if (run.cls === 'bidi') {
      for (let i = run.start; i < run.end; i++) {
        const ch = original.charCodeAt(i);
        if ((ch >= 0x202a && ch <= 0x202e) || (ch >= 0x2066 && ch <= 0x2069)) {
          hiddenRuns++;
          break;
        }
      }
    } else hiddenRuns++;
  }
  let decodedSpans = 0;
  for (const d of c.decoded) {
    if (d.kind === 'html-comment' || d.kind === 'base64' || d.kind === 'hex') decodedSpans++;
    else if (/[A-Za-z0-9]{2}/.test(d.text)) decodedSpans++;
  }
  return { hiddenRuns, decodedSpans };
}

export function canonicalText(text: string): ScoredText {
  const c = canonicalize(text);
  return { text: c.text, ...concealment(c, text) };
}

/** Schema keys whose string values are prose the model reads. */
export const TEXT_KEYS = new Set(['description', 'title', '$comment', 'markdownDescription', 'errorMessage']);
/** Schema keys whose values are shown to the model as values. */
export const VALUE_KEYS = new Set(['enum', 'examples', 'default', 'const']);
const MAX_DEPTH = 32;
const MAX_PARTS = 4096;

export interface DefinitionDocument extends ScoredText {
  /** The tool's own name and its parameter names, lower case: mentioning them is not a reference. */
  ownNames: Set<string>;
}

/** Every string a model reads in a JSON Schema, as `name: text` lines; property names are own names. */
function schemaParts(node: unknown, key: string, parts: string[], own: Set<string>, depth: number): void {
  if (depth > MAX_DEPTH || parts.length > MAX_PARTS || node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const v of node) schemaParts(v, key, parts, own, depth + 1);
    return;
  }
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
    if (k === 'properties' && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [prop, sub] of Object.entries(v as Record<string, unknown>)) {
        own.add(prop.toLowerCase());
        parts.push(prop);
        schemaParts(sub, prop, parts, own, depth + 1);
      }
    } else if (typeof v === 'string' && (TEXT_KEYS.has(k) || VALUE_KEYS.has(k))) {
      parts.push(v);
    } else if (VALUE_KEYS.has(k) && Array.isArray(v)) {
      for (const x of v) if (typeof x === 'string') parts.push(x);
    } else if (v !== null && typeof v === 'object') {
      schemaParts(v, key, parts, own, depth + 1);
    }
  }
}

/** Strings of a free-form object (annotations, `_meta`): keys and string values. */
function freeParts(node: unknown, parts: string[], depth: number): void {
  if (depth > MAX_DEPTH || parts.length > MAX_PARTS || node === null || typeof node !== 'object') {
    if (typeof node === 'string') parts.push(node);
    return;
  }
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
    if (typeof v === 'string') parts.push(`${k}: ${v}`);
    else freeParts(v, parts, depth + 1);
  }
}

export interface DefinitionLike {
  name?: unknown;
  title?: unknown;
  description?: unknown;
  inputSchema?: unknown;
  outputSchema?: unknown;
  annotations?: unknown;
  _meta?: unknown;
}

/** The document the scorer reads for one tool definition. */
export function definitionDocument(tool: DefinitionLike): DefinitionDocument {
  const parts: string[] = [];
  const own = new Set<string>();
  if (typeof tool.name === 'string') own.add(tool.name.toLowerCase());
  if (typeof tool.title === 'string') parts.push(tool.title);
  if (typeof tool.description === 'string') parts.push(tool.description);
  schemaParts(tool.inputSchema, '', parts, own, 0);
  schemaParts(tool.outputSchema, '', parts, own, 0);
  freeParts(tool.annotations, parts, 0);
  freeParts(tool._meta, parts, 0);
  const c = canonicalText(parts.join('\n'));
  return { ...c, ownNames: own };
}
