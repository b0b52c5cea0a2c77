/**
 * Scanning of what a server declares at tools/list (and prompts/list, resources/list, server
 * instructions): every text field a model reads is checked for hidden characters, phrases
 * addressed to the model, exfiltration requests, secrets, references to other servers' tools
 * (shadowing) and oversized text. Findings carry the field they came from, e.g.
 * `inputSchema.properties.path.description`, and offsets into that field's string.
 */
import { scanHidden } from './hidden.js';
import { scanInjection } from './injection.js';
import { scanSecrets } from './secrets.js';
import type { Finding, Severity, ToolLike } from './types.js';

export interface DefinitionContext {
  /** The server the definition comes from (excluded from `otherServers`). */
  server?: string;
  /** Names of the other servers behind the gateway. */
  otherServers?: string[];
  /** Tool names that belong to other servers (bare `send_email` or qualified `mail.send_email`). */
  otherTools?: string[];
  /** Largest description (any text field) in UTF-8 bytes before an `oversize` finding. Default 4096. */
  maxDescriptionBytes?: number;
}

export interface PromptLike {
  name: string;
  title?: string;
  description?: string;
  arguments?: Array<{ name: string; title?: string; description?: string }>;
}

export interface ResourceLike {
  name: string;
  title?: string;
  description?: string;
  uri?: string;
  uriTemplate?: string;
  mimeType?: string;
}

export interface DefinitionScanner {
  tool(tool: ToolLike): Finding[];
  prompt(prompt: PromptLike): Finding[];
  resource(resource: ResourceLike): Finding[];
  instructions(text: string): Finding[];
}

export const DEFAULT_MAX_DESCRIPTION_BYTES = 4096;

/** Schema keys whose string values are prose the model reads. */
const TEXT_KEYS = new Set(['description', 'title', '$comment', 'markdownDescription', 'errorMessage']);
/** Schema keys whose string values (or arrays of strings) are shown to the model as values. */
const VALUE_KEYS = new Set(['enum', 'examples', 'default', 'const']);
const MAX_DEPTH = 32;

const TOOL_WORDS = /^(?:tool|tools|function|command|method|endpoint)$/i;
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

function wordBefore(text: string, start: number): string {
  const m = /([A-Za-z]{1,20})\s{1,3}$/.exec(text.slice(Math.max(0, start - 24), start));
  return m ? m[1]! : '';
}

function wordAfter(text: string, end: number): string {
  const m = /^\s{1,3}([A-Za-z]{1,20})/.exec(text.slice(end, end + 24));
  return m ? m[1]! : '';
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
      const ctxOk =
        distinctive(token) ||
        quotedAt(text, start, i) ||
        TOOL_WORDS.test(wordAfter(text, i)) ||
        TOOL_WORDS.test(wordBefore(text, start));
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

/**
 * Create a scanner for definitions, with the other servers' names indexed once. Use one scanner
 * for every definition of a server.
 */
export function createDefinitionScanner(ctx: DefinitionContext = {}): DefinitionScanner {
  const index = buildIndex(ctx);
  const maxBytes = ctx.maxDescriptionBytes ?? DEFAULT_MAX_DESCRIPTION_BYTES;

  /** Prose the model reads: everything. */
  const scanProse = (text: string, field: string, self: string | undefined, out: Finding[]): void => {
    const found: Finding[] = [];
    scanHidden(text, 'definition', found);
    scanInjection(text, 'definition', found);
    scanSecrets(text, found);
    scanReferences(text, self, index, found);
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > maxBytes) {
      found.push({
        kind: 'oversize',
        rule: 'oversize-description',
        severity: 'medium',
        message: `${bytes} bytes of text (limit ${maxBytes})`,
        start: 0,
        end: text.length
      });
    }
    out.push(...withField(found, field));
  };

  /** Identifiers and other short strings: only hidden characters matter. */
  const scanIdentifier = (text: string, field: string, out: Finding[]): void => {
    out.push(...withField(scanHidden(text, 'definition'), field));
  };

  const walkSchema = (node: unknown, path: string, self: string, out: Finding[], depth: number): void => {
    if (depth > MAX_DEPTH || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      node.forEach((v, i) => walkSchema(v, `${path}[${i}]`, self, out, depth + 1));
      return;
    }
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
      const field = `${path}.${key}`;
      scanIdentifier(key, `${field}(key)`, out);
      if (typeof value === 'string') {
        if (TEXT_KEYS.has(key) || VALUE_KEYS.has(key)) scanProse(value, field, self, out);
        else scanIdentifier(value, field, out);
      } else if (VALUE_KEYS.has(key) && Array.isArray(value)) {
        value.forEach((v, i) => {
          if (typeof v === 'string') scanProse(v, `${field}[${i}]`, self, out);
          else walkSchema(v, `${field}[${i}]`, self, out, depth + 1);
        });
      } else {
        walkSchema(value, field, self, out, depth + 1);
      }
    }
  };

  const nameCollision = (name: string, out: Finding[]): void => {
    const other = index.tools.get(name);
    if (other === undefined) return;
    out.push({
      kind: 'shadowing',
      rule: 'tool-name-collision',
      severity: distinctive(name) ? 'medium' : 'low',
      message: `has the same name as "${other}" on another server`,
      field: 'name'
    });
  };

  return {
    tool(tool) {
      const out: Finding[] = [];
      scanIdentifier(tool.name, 'name', out);
      nameCollision(tool.name, out);
      if (typeof tool.title === 'string') scanProse(tool.title, 'title', tool.name, out);
      if (typeof tool.description === 'string') scanProse(tool.description, 'description', tool.name, out);
      walkSchema(tool.inputSchema, 'inputSchema', tool.name, out, 0);
      walkSchema(tool.annotations, 'annotations', tool.name, out, 0);
      return out;
    },
    prompt(prompt) {
      const out: Finding[] = [];
      scanIdentifier(prompt.name, 'name', out);
      if (typeof prompt.title === 'string') scanProse(prompt.title, 'title', prompt.name, out);
      if (typeof prompt.description === 'string')
        scanProse(prompt.description, 'description', prompt.name, out);
      (prompt.arguments ?? []).forEach((a, i) => {
        scanIdentifier(a.name, `arguments[${i}].name`, out);
        if (typeof a.title === 'string') scanProse(a.title, `arguments[${i}].title`, prompt.name, out);
        if (typeof a.description === 'string') {
          scanProse(a.description, `arguments[${i}].description`, prompt.name, out);
        }
      });
      return out;
    },
    resource(resource) {
      const out: Finding[] = [];
      scanIdentifier(resource.name, 'name', out);
      if (typeof resource.title === 'string') scanProse(resource.title, 'title', resource.name, out);
      if (typeof resource.description === 'string') {
        scanProse(resource.description, 'description', resource.name, out);
      }
      for (const key of ['uri', 'uriTemplate', 'mimeType'] as const) {
        const v = resource[key];
        if (typeof v === 'string') scanIdentifier(v, key, out);
      }
      return out;
    },
    instructions(text) {
      const out: Finding[] = [];
      scanProse(text, 'instructions', undefined, out);
      // Server instructions are addressed to the model by design.
      return out.filter((f) => f.rule !== 'addressed-to-model');
    }
  };
}
