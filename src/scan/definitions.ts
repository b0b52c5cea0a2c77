/**
 * Scanning of what a server declares at tools/list (and prompts/list, resources/list, resource
 * templates, server instructions). Every string a model reads is checked for hidden characters and
 * secrets (with the field and offsets, e.g. `inputSchema.properties.path.description`); the whole
 * definition, canonicalised and joined into one document, is judged by the learned scorer
 * (./model), which decides whether it is poisoned. The phrase rules, references to other servers'
 * tools and oversize are kept as explanations: informational (`low`) on their own, named in the
 * scorer's finding when it fires.
 */
import { canonicalize } from './canonical.js';
import { scanHidden } from './hidden.js';
import { scanInjection } from './injection.js';
import { definitionDocument, TEXT_KEYS, VALUE_KEYS, type DefinitionLike } from './model/document.js';
import { scoreText } from './model/index.js';
import { scanSecrets } from './secrets.js';
import { verdictFinding } from './verdict.js';
import type { Finding, Severity, ToolLike } from './types.js';

export interface DefinitionContext {
  /** The server the definition comes from (excluded from `otherServers`). */
  server?: string;
  /** Names of the other servers behind the gateway. */
  otherServers?: string[];
  /** Tool names that belong to other servers (bare `send_email` or qualified `mail.send_email`). */
  otherTools?: string[];
  /** Names of the same server's tools: naming them is a workflow, not shadowing. */
  siblingTools?: string[];
  /** Largest description (any text field) in UTF-8 bytes before an `oversize` finding. Default 4096. */
  maxDescriptionBytes?: number;
}

export interface PromptLike {
  name: string;
  title?: string;
  description?: string;
  arguments?: Array<{ name: string; title?: string; description?: string }>;
  _meta?: unknown;
}

export interface ResourceLike {
  name: string;
  title?: string;
  description?: string;
  uri?: string;
  uriTemplate?: string;
  mimeType?: string;
  annotations?: unknown;
  _meta?: unknown;
}

export interface DefinitionScanner {
  tool(tool: ToolLike): Finding[];
  prompt(prompt: PromptLike): Finding[];
  resource(resource: ResourceLike): Finding[];
  instructions(text: string): Finding[];
}

export const DEFAULT_MAX_DESCRIPTION_BYTES = 4096;

const MAX_DEPTH = 32;

const DIRECTIVE_WORDS =
  /\b(?:always|must|never|instead|before|after|when(?:ever)?|first|also|ignore|replace|override|redirect|send|cc|bcc|forward|do not|don't)\b/i;
const SERVER_FOLLOW = /^\s{1,3}(?:server|mcp|tools?|integration|plugin|connector)\b/i;

function isNameChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45;
}

/** Names that are unlikely to be ordinary words: `send_email`, `get-env`, `listIssues`, `v2`. */
function distinctive(name: string): boolean {
  return name.length >= 4 && (/[_\-.\d]/.test(name) || /[a-z][A-Z]/.test(name));
}

function quotedAt(text: string, start: number, end: number): boolean {
  const before = text[start - 1];
  const after = text[end];
  return (before === '`' || before === '"' || before === "'") && before === after;
}

/** The sentence around an offset (for deciding whether a mention comes with a directive). */
function sentenceAround(text: string, start: number, end: number): string {
  let s = start;
  while (s > 0 && start - s < 300 && !/[.!?\n]/.test(text[s - 1]!)) s--;
  let e = end;
  while (e < text.length && e - end < 300 && !/[.!?\n]/.test(text[e]!)) e++;
  return text.slice(s, e);
}

interface NameIndex {
  tools: Map<string, string>; // lookup key -> name as given
  servers: Map<string, string>;
}

function buildIndex(ctx: DefinitionContext): NameIndex {
  const tools = new Map<string, string>();
  for (const full of ctx.otherTools ?? []) {
    tools.set(full, full);
    const bare = full.split(/[./:]|__/).pop();
    if (bare && bare !== full) tools.set(bare, full);
  }
  const servers = new Map<string, string>();
  for (const s of ctx.otherServers ?? []) {
    if (s !== ctx.server) servers.set(s.toLowerCase(), s);
  }
  return { tools, servers };
}

/** Mentions of other servers' tools and of other servers, by a single pass over word tokens. */
function scanReferences(text: string, self: string | undefined, index: NameIndex, out: Finding[]): void {
  if (index.tools.size === 0 && index.servers.size === 0) return;
  let i = 0;
  while (i < text.length) {
    if (!isNameChar(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const start = i;
    while (i < text.length && isNameChar(text.charCodeAt(i))) i++;
    const token = text.slice(start, i);
    const tool = index.tools.get(token);
    if (tool !== undefined && token !== self) {
      // A common word ("search") is a reference only when quoted; a distinctive name always is.
      const ctxOk = distinctive(token) || quotedAt(text, start, i);
      if (ctxOk) {
        const severity: Severity = DIRECTIVE_WORDS.test(sentenceAround(text, start, i)) ? 'high' : 'medium';
        out.push({
          kind: 'shadowing',
          rule: 'other-tool-reference',
          severity,
          message: `mentions "${tool}", a tool of another server`,
          start,
          end: i
        });
      }
      continue;
    }
    const server = index.servers.get(token.toLowerCase());
    if (server !== undefined) {
      const next = text[i];
      const qualified = (next === '.' || next === '/' || next === ':') && isNameChar(text.charCodeAt(i + 1));
      if (qualified || quotedAt(text, start, i) || SERVER_FOLLOW.test(text.slice(i, i + 20))) {
        // Server names are often ordinary words ("the mail server"): only a directive makes it shadowing.
        const severity: Severity = DIRECTIVE_WORDS.test(sentenceAround(text, start, i)) ? 'high' : 'low';
        out.push({
          kind: 'shadowing',
          rule: 'other-server-reference',
          severity,
          message: `mentions the server "${server}"`,
          start,
          end: i
        });
      }
    }
  }
}

function withField(findings: Finding[], field: string): Finding[] {
  for (const f of findings) f.field = field;
  return findings;
}

/** The scorer's verdict on a whole definition, as a finding that names what raised it. */
function scoreFinding(
  text: string,
  ctx: Parameters<typeof scoreText>[2],
  explanations: readonly Finding[],
  field: string
): Finding | undefined {
  const score = scoreText(text, 'definition', ctx);
  return score.flagged ? { ...verdictFinding(score, 'definition', explanations), field } : undefined;
}

/** Phrase rules and references, run on canonical text: explanations, informational alone. */
function explain(found: Finding[]): Finding[] {
  for (const f of found) f.severity = 'low';
  return found;
}

/** What a scanner indexes once, for every definition of a server. */
interface ScannerIndex {
  index: NameIndex;
  maxBytes: number;
  /** Bare names of other servers' tools, lower case, for the scorer's `other-server-tool` behaviour. */
  otherTools: Set<string>;
  siblings: Set<string>;
}

/** Prose the model reads: hidden characters and secrets as they are; rules on canonical text. */
function scanProse(
  s: ScannerIndex,
  text: string,
  field: string,
  self: string | undefined,
  out: Finding[]
): void {
  const found: Finding[] = [];
  const canonical = canonicalize(text);
  // The runs canonicalisation removed, those inside decoded entities, percent-encoding or base64
  // included: an invisible character written as `&#8203;` is hidden on purpose.
  scanHidden(text, 'definition', found, canonical.hidden);
  scanSecrets(text, found);
  const rules: Finding[] = [];
  scanInjection(canonical.text, 'definition', rules);
  scanReferences(canonical.text, self, s.index, rules);
  if (canonical.changed) {
    // Offsets into the canonical text do not point into the original.
    for (const f of rules) {
      delete f.start;
      delete f.end;
    }
  }
  found.push(...explain(rules));
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > s.maxBytes) {
    // Long text alone is informational: real servers write long descriptions.
    found.push({
      kind: 'oversize',
      rule: 'oversize-description',
      severity: 'low',
      message: `${bytes} bytes of text (limit ${s.maxBytes})`,
      start: 0,
      end: text.length
    });
  }
  out.push(...withField(found, field));
}

/** Identifiers and other short strings: only hidden characters matter. */
function scanIdentifier(text: string, field: string, out: Finding[]): void {
  out.push(...withField(scanHidden(text, 'definition'), field));
}

/** Every string of a schema or a free-form object: keys are identifiers, text values prose. */
function walk(
  s: ScannerIndex,
  node: unknown,
  path: string,
  self: string,
  out: Finding[],
  depth: number,
  schema: boolean
): void {
  if (depth > MAX_DEPTH || node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    node.forEach((v, i) => {
      if (typeof v === 'string') scanProse(s, v, `${path}[${i}]`, self, out);
      else walk(s, v, `${path}[${i}]`, self, out, depth + 1, schema);
    });
    return;
  }
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    const field = `${path}.${key}`;
    scanIdentifier(key, `${field}(key)`, out);
    if (typeof value === 'string') {
      if (!schema || TEXT_KEYS.has(key) || VALUE_KEYS.has(key)) scanProse(s, value, field, self, out);
      else scanIdentifier(value, field, out);
    } else if (schema && VALUE_KEYS.has(key) && Array.isArray(value)) {
      value.forEach((v, i) => {
        if (typeof v === 'string') scanProse(s, v, `${field}[${i}]`, self, out);
        else walk(s, v, `${field}[${i}]`, self, out, depth + 1, schema);
      });
    } else {
      walk(s, value, field, self, out, depth + 1, schema);
    }
  }
}

function nameCollision(s: ScannerIndex, name: string, out: Finding[]): void {
  const other = s.index.tools.get(name);
  if (other === undefined) return;
  out.push({
    kind: 'shadowing',
    rule: 'tool-name-collision',
    severity: 'low',
    message: `has the same name as "${other}" on another server`,
    field: 'name'
  });
}

/** Judge the whole document and add the verdict. */
function judge(s: ScannerIndex, def: DefinitionLike, out: Finding[]): Finding[] {
  const doc = definitionDocument(def);
  const siblingTools = new Set([...s.siblings].filter((n) => !doc.ownNames.has(n)));
  const verdict = scoreFinding(
    doc.text,
    {
      ownNames: doc.ownNames,
      otherTools: s.otherTools,
      siblingTools,
      hiddenRuns: doc.hiddenRuns,
      decodedSpans: doc.decodedSpans
    },
    out.filter((f) => f.severity === 'low'),
    'definition'
  );
  if (verdict) out.push(verdict);
  return out;
}

function scanTool(s: ScannerIndex, tool: ToolLike): Finding[] {
  const out: Finding[] = [];
  scanIdentifier(tool.name, 'name', out);
  nameCollision(s, tool.name, out);
  if (typeof tool.title === 'string') scanProse(s, tool.title, 'title', tool.name, out);
  if (typeof tool.description === 'string') scanProse(s, tool.description, 'description', tool.name, out);
  walk(s, tool.inputSchema, 'inputSchema', tool.name, out, 0, true);
  walk(s, tool.outputSchema, 'outputSchema', tool.name, out, 0, true);
  walk(s, tool.annotations, 'annotations', tool.name, out, 0, false);
  walk(s, tool._meta, '_meta', tool.name, out, 0, false);
  return judge(s, tool, out);
}

function scanPrompt(s: ScannerIndex, prompt: PromptLike): Finding[] {
  const out: Finding[] = [];
  scanIdentifier(prompt.name, 'name', out);
  if (typeof prompt.title === 'string') scanProse(s, prompt.title, 'title', prompt.name, out);
  if (typeof prompt.description === 'string')
    scanProse(s, prompt.description, 'description', prompt.name, out);
  (prompt.arguments ?? []).forEach((a, i) => {
    scanIdentifier(a.name, `arguments[${i}].name`, out);
    if (typeof a.title === 'string') scanProse(s, a.title, `arguments[${i}].title`, prompt.name, out);
    if (typeof a.description === 'string') {
      scanProse(s, a.description, `arguments[${i}].description`, prompt.name, out);
    }
  });
  walk(s, prompt._meta, '_meta', prompt.name, out, 0, false);
  const properties = Object.fromEntries(
    (prompt.arguments ?? []).map((a) => [a.name, { title: a.title, description: a.description }])
  );
  return judge(
    s,
    {
      name: prompt.name,
      title: prompt.title,
      description: prompt.description,
      inputSchema: { properties },
      _meta: prompt._meta
    },
    out
  );
}

function scanResource(s: ScannerIndex, resource: ResourceLike): Finding[] {
  const out: Finding[] = [];
  scanIdentifier(resource.name, 'name', out);
  if (typeof resource.title === 'string') scanProse(s, resource.title, 'title', resource.name, out);
  if (typeof resource.description === 'string') {
    scanProse(s, resource.description, 'description', resource.name, out);
  }
  for (const key of ['uri', 'uriTemplate', 'mimeType'] as const) {
    const v = resource[key];
    if (typeof v === 'string') scanIdentifier(v, key, out);
  }
  walk(s, resource.annotations, 'annotations', resource.name, out, 0, false);
  walk(s, resource._meta, '_meta', resource.name, out, 0, false);
  return judge(
    s,
    {
      name: resource.name,
      title: resource.title,
      description: resource.description,
      annotations: resource.annotations,
      _meta: resource._meta
    },
    out
  );
}

function scanInstructions(s: ScannerIndex, text: string): Finding[] {
  const out: Finding[] = [];
  scanProse(s, text, 'instructions', undefined, out);
  return judge(s, { description: text }, out);
}

/**
 * Create a scanner for definitions, with the other servers' names indexed once. Use one scanner
 * for every definition of a server.
 */
export function createDefinitionScanner(ctx: DefinitionContext = {}): DefinitionScanner {
  const index = buildIndex(ctx);
  const s: ScannerIndex = {
    index,
    maxBytes: ctx.maxDescriptionBytes ?? DEFAULT_MAX_DESCRIPTION_BYTES,
    otherTools: new Set([...index.tools.keys()].map((n) => n.toLowerCase())),
    siblings: new Set((ctx.siblingTools ?? []).map((n) => n.toLowerCase()))
  };
  return {
    tool: (tool) => scanTool(s, tool),
    prompt: (prompt) => scanPrompt(s, prompt),
    resource: (resource) => scanResource(s, resource),
    instructions: (text) => scanInstructions(s, text)
  };
}
