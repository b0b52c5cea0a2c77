// The labelled corpus in ../shared/corpus (or $PORTCULLIS_CORPUS), as one list of items the scorer
// is trained and measured on. Every item has:
//   id       stable, for reports
//   source   the upstream it came from: the unit of leave-one-source-out (never split within one)
//   domain   'definition' (a server's tool definition) or 'content' (text inside a tool result)
//   label    1 (poisoned or injected) or 0 (benign)
//   group    what a report counts it as (see GROUPS)
//   text     the canonical text the scorer sees (definitions: every model-readable field)
//   ctx      feature context (own names of a definition)
//   injection  for documents with a planted injection, the planted part (to pick its windows)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { aiDocuments } from './ai-docs.mjs';
import { npmDocuments } from './npm-docs.mjs';
import { proseDocuments } from './prose.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const GROUPS = {
  'poisoned-definitions': 'poisoned tool definitions',
  'attack-server-benign': 'benign tools of attack servers',
  'real-benign-definitions': 'real benign tool definitions (npm servers)',
  'result-injections': 'injections meant for tool results',
  'clean-results': 'clean documents',
  'hard-negatives': 'hard negatives (docs and code using "ignore", "must", "system")',
  'real-documents': 'real documents (READMEs of the installed npm packages)',
  'ai-documents': 'real documents about AI (docs shipped in model SDK and agent framework packages)',
  'real-prose': 'real prose by people to people (mailing-list e-mails, speeches)',
  'short-excerpts': 'one to three sentences cut from the benign documents and prose above'
};

export function corpusDir() {
  const dir = process.env.PORTCULLIS_CORPUS ?? resolve(ROOT, '../shared/corpus');
  if (!existsSync(join(dir, 'README.md'))) {
    throw new Error(`corpus not found at ${dir}: set PORTCULLIS_CORPUS to the labelled corpus folder`);
  }
  return dir;
}

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
/** `owner/repo@commit:path` or `npm:pkg@version` -> the repository or package. */
const repoOf = (source) =>
  String(source)
    .replace(/@[0-9a-f]{7,40}:.*$/, '')
    .replace(/@[^@/]*$/, '');

/** RFC 4180 CSV (quoted fields, doubled quotes, newlines inside quotes): rows of fields, header first. */
export function parseCsvRows(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.length > 1);
}

/** CSV rows as objects keyed by the header. */
function parseCsv(text) {
  const [head, ...body] = parseCsvRows(text);
  return body
    .filter((r) => r.length === head.length)
    .map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]])));
}

/**
 * Load every item. `scan` is the built scanner module (dist/scan/index.js): definitions become text
 * exactly as the gateway builds it, and every text is canonicalised as the gateway does.
 */
export function loadCorpus(scan) {
  const dir = corpusDir();
  const items = [];
  const add = (it) => items.push(it);

  // Tool definitions: poisoned and benign tools of attack servers, and real servers from npm.
  const defItem = (file, x, i, source, group) => {
    const doc = scan.definitionDocument(x.definition);
    add({
      id: `${file}#${i}`,
      source,
      domain: 'definition',
      label: x.label === 'poisoned' ? 1 : 0,
      group,
      text: doc.text,
      ctx: { ownNames: doc.ownNames, hiddenRuns: doc.hiddenRuns, decodedSpans: doc.decodedSpans },
      name: x.definition?.name ?? null,
      category: x.category
    });
  };
  for (const f of readdirSync(join(dir, 'tool-poisoning'))
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    readJson(join(dir, 'tool-poisoning', f)).forEach((x, i) =>
      defItem(
        `tool-poisoning/${f}`,
        x,
        i,
        repoOf(x.source),
        x.label === 'poisoned' ? 'poisoned-definitions' : 'attack-server-benign'
      )
    );
  }
  for (const f of readdirSync(join(dir, 'benign-tools'))
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    readJson(join(dir, 'benign-tools', f)).forEach((x, i) =>
      defItem(`benign-tools/${f}`, x, i, repoOf(x.source), 'real-benign-definitions')
    );
  }

  // Text inside tool results.
  const textItem = (id, source, label, group, text, extra = {}) => {
    const c = scan.canonicalText(text);
    add({
      id,
      source,
      domain: 'content',
      label,
      group,
      text: c.text,
      ctx: { hiddenRuns: c.hiddenRuns, decodedSpans: c.decodedSpans },
      ...extra
    });
  };
  const ri = (f) => readJson(join(dir, 'result-injections', f));
  ri('spikee-injections.json').forEach((x, i) =>
    textItem(`spikee#${i}`, 'ReversecLabs/spikee', 1, 'result-injections', x.text, {
      lang: x.lang,
      category: x.category
    })
  );
  ri('spikee-clean-documents.json').forEach((x, i) =>
    textItem(`spikee-clean#${i}`, 'ReversecLabs/spikee', 0, 'clean-results', x.text)
  );
  ri('garak-latent-injection-documents.json').forEach((x, i) =>
    textItem(`garak-doc#${i}`, 'NVIDIA/garak', 1, 'result-injections', x.text, {
      injection: x.injection ? scan.canonicalText(x.injection).text : undefined,
      category: x.category
    })
  );
  ri('garak-injection-snippets.json').forEach((x, i) =>
    textItem(`garak-snippet#${i}`, 'NVIDIA/garak', 1, 'result-injections', x.text, { category: x.category })
  );
  ri('garak-clean-documents.json').forEach((x, i) =>
    textItem(`garak-clean#${i}`, 'NVIDIA/garak', 0, 'clean-results', x.text)
  );
  ri('hard-negatives-docs-and-code.json').forEach((x, i) =>
    textItem(`hard-negative#${i}`, repoOf(x.source), 0, 'hard-negatives', x.text)
  );
  parseCsv(readFileSync(join(dir, 'giskard-prompt-injections.csv'), 'utf8')).forEach((x, i) =>
    textItem(`giskard#${x.index ?? i}`, 'Giskard-AI/prompt-injections', 1, 'result-injections', x.prompt, {
      category: x.group
    })
  );
  for (const f of ['bipia-text-attack-train.json', 'bipia-code-attack-train.json']) {
    for (const [category, list] of Object.entries(readJson(join(dir, f)))) {
      list.forEach((text, i) =>
        textItem(`${f}#${category}#${i}`, 'microsoft/BIPIA', 1, 'result-injections', text, { category })
      );
    }
  }
  npmDocuments().forEach((d, i) =>
    textItem(`npm-readme#${i}:${d.package}`, d.source, 0, 'real-documents', d.text)
  );
  aiDocuments().forEach((d, i) => textItem(`ai-doc#${i}:${d.package}`, d.source, 0, 'ai-documents', d.text));
  proseDocuments().forEach((d, i) => textItem(`prose#${i}`, d.source, 0, 'real-prose', d.text));
  // A tool's result is often a line or two, while most benign documents above are long and most
  // injections short: without short benign text, brevity itself would read as an injection.
  for (const it of items.filter((x) => x.domain === 'content' && x.label === 0)) {
    const excerpt = shortExcerpt(it.text, it.id);
    if (excerpt) textItem(`${it.id}~short`, it.source, 0, 'short-excerpts', excerpt);
  }
  return items;
}

const EXCERPT_MIN_WORDS = 8;
const EXCERPT_MAX_WORDS = 40;
const words = (s) => s.split(/\s+/).filter(Boolean).length;

/**
 * One to three consecutive sentences of a benign text, 8 to 40 words, starting at a sentence chosen
 * by a hash of the item's id (the same excerpt on every run), or undefined when the text has none.
 */
export function shortExcerpt(text, id) {
  const sentences = text
    .split(/(?<=[.!?])\s+|\n{2,}/)
    .map((s) => s.trim())
    .filter(Boolean);
  const starts = [];
  for (let i = 0; i < sentences.length; i++) if (words(sentences[i]) >= 5) starts.push(i);
  if (starts.length === 0) return undefined;
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  const first = starts[h % starts.length];
  let out = '';
  for (let i = first; i < sentences.length && i < first + 3; i++) {
    const next = out ? `${out} ${sentences[i]}` : sentences[i];
    if (words(next) > EXCERPT_MAX_WORDS) break;
    out = next;
  }
  return words(out) >= EXCERPT_MIN_WORDS ? out : undefined;
}

/** Sources in a stable order, each with its items. */
export function bySource(items) {
  const map = new Map();
  for (const it of items) {
    if (!map.has(it.source)) map.set(it.source, []);
    map.get(it.source).push(it);
  }
  return new Map([...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
