// Precision and recall of the content scanners on the labelled set in test/scan-eval/.
//
//   npm run build && node bench/scan/eval.mjs          (node bench/scan/build-eval.mjs rebuilds the set)
//
// A definition or result counts as flagged when the scanner reports at least one finding of
// severity medium or above (low findings are informational). A secret or PII item counts as found
// when a finding of that kind overlaps the planted span. Prints markdown; always exits 0.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  scanText,
  redactValue,
  createDefinitionScanner,
  normalizeFindings,
  atLeast
} from '../../dist/scan/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const load = (f) => JSON.parse(readFileSync(join(ROOT, 'test/scan-eval', f), 'utf8'));
const benignTools = load('benign-tools.json');
const poisoned = load('poisoned-tools.json');
const benignResults = load('benign-results.json');
const injected = load('injected-results.json');
const secrets = load('secrets.json');
const pii = load('pii.json');
const corpus = load('corpus.json');

const ATTACK_KINDS = new Set(['injection', 'hidden_text', 'shadowing', 'exfiltration', 'oversize']);
const serious = (findings) =>
  findings.filter((f) => ATTACK_KINDS.has(f.kind) && atLeast(f.severity, 'medium'));
const pct = (a, b) => (b === 0 ? 'n/a' : `${((100 * a) / b).toFixed(1)}%`);
const out = [];
const print = (s = '') => out.push(s);
const table = (head, rows) => {
  print(`| ${head.join(' | ')} |`);
  print(`|${head.map(() => '---').join('|')}|`);
  for (const r of rows) print(`| ${r.join(' | ')} |`);
  print();
};

// ---------------------------------------------------------------------------------------------
// A. Tool definitions
// ---------------------------------------------------------------------------------------------

const allServers = Object.keys(benignTools.toolsByServer);
const ctxFor = (server) => ({
  server,
  otherServers: allServers.filter((s) => s !== server),
  otherTools: Object.entries(benignTools.toolsByServer)
    .filter(([s]) => s !== server)
    .flatMap(([, tools]) => tools)
});

function scanDefinition(kind, def, server) {
  const scanner = createDefinitionScanner(ctxFor(server));
  if (kind === 'prompt') return normalizeFindings(scanner.prompt(def));
  if (kind === 'resource') return normalizeFindings(scanner.resource(def));
  if (kind === 'instructions') return normalizeFindings(scanner.instructions(def.text));
  return normalizeFindings(scanner.tool(def));
}

function describe(f) {
  return `${f.rule}${f.field ? `@${f.field}` : ''}`;
}

const benignDefRows = [];
const benignFps = [];
let lowOnBenign = 0;
for (const origin of ['real', 'project-written']) {
  const items = benignTools.items.filter((x) => x.origin === origin);
  let fp = 0;
  for (const it of items) {
    const all = scanDefinition(it.kind, it.definition, it.server);
    lowOnBenign += all.filter((f) => f.severity === 'low').length;
    const s = serious(all);
    if (s.length) {
      fp++;
      benignFps.push(`${it.id}: ${s.map(describe).join(', ')}`);
    }
  }
  benignDefRows.push({ origin, n: items.length, fp });
}

const poisonRows = new Map();
const poisonMisses = [];
let poisonTp = 0;
for (const it of poisoned.items) {
  const s = serious(scanDefinition('tool', it.definition, it.server));
  const row = poisonRows.get(it.category) ?? { n: 0, hit: 0, rules: new Map(), source: new Set() };
  row.n++;
  row.source.add(it.source.startsWith('project') ? 'project' : 'corpus');
  if (s.length) {
    row.hit++;
    poisonTp++;
    for (const r of new Set(s.map((f) => f.rule))) row.rules.set(r, (row.rules.get(r) ?? 0) + 1);
  } else poisonMisses.push(`${it.category}: ${JSON.stringify(it.injected.slice(0, 110))}`);
  poisonRows.set(it.category, row);
}

const realBenign = benignDefRows.find((r) => r.origin === 'real');
const projBenign = benignDefRows.find((r) => r.origin === 'project-written');
const allBenignFp = realBenign.fp + projBenign.fp;
const poisonN = poisoned.items.length;

print('# Portcullis content scanners: evaluation');
print();
print('Command: `npm run build && node bench/scan/build-eval.mjs && node bench/scan/eval.mjs`');
print(
  'Flagged = at least one finding of severity medium or above. Data: test/scan-eval/ (generated, deterministic).'
);
print();
print('## A. Tool definitions (tools/list, prompts, resources, server instructions)');
print();
table(
  ['benign set', 'definitions', 'false positives', 'FP per 100'],
  benignDefRows.map((r) => [r.origin, r.n, r.fp, ((100 * r.fp) / r.n).toFixed(2)])
);
table(
  ['poisoned category', 'injected text from', 'n', 'detected', 'recall', 'rules that fired (count)'],
  [...poisonRows.entries()].map(([cat, r]) => [
    cat,
    [...r.source].join('+'),
    r.n,
    r.hit,
    pct(r.hit, r.n),
    [...r.rules.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([k, v]) => `${k} (${v})`)
      .join(', ')
  ])
);
const corpusCats = [...poisonRows.entries()].filter(([, r]) => !r.source.has('project'));
const corpusN = corpusCats.reduce((a, [, r]) => a + r.n, 0);
const corpusHit = corpusCats.reduce((a, [, r]) => a + r.hit, 0);
print(
  `All poisoned: recall **${pct(poisonTp, poisonN)}** (${poisonTp}/${poisonN}); categories whose injected text is third-party corpus text only: ${pct(corpusHit, corpusN)} (${corpusHit}/${corpusN}).`
);
print(
  `Precision (poisoned vs all ${realBenign.n + projBenign.n} benign definitions, pooled): ${pct(poisonTp, poisonTp + allBenignFp)}. Low-severity (informational) findings on benign definitions: ${lowOnBenign}.`
);
print();

// ---------------------------------------------------------------------------------------------
// B. Tool results: injection
// ---------------------------------------------------------------------------------------------

const scanResult = (result) => redactValue(result, { injection: true }).findings;
let benignResultFp = 0;
const resultFps = [];
for (const it of benignResults.items) {
  const s = serious(scanResult(it.result));
  if (s.length) {
    benignResultFp++;
    resultFps.push(`${it.id}: ${s.map(describe).join(', ')}`);
  }
}
const injRows = new Map();
const byAttackCat = new Map();
for (const it of injected.items) {
  const hit = serious(scanResult(it.result)).length > 0;
  const row = injRows.get(it.category) ?? { n: 0, hit: 0 };
  row.n++;
  if (hit) row.hit++;
  injRows.set(it.category, row);
  if (it.category === 'bipia-text' || it.category === 'bipia-code' || it.category === 'giskard') {
    const key = `${it.category} / ${it.attackCategory}`;
    const c = byAttackCat.get(key) ?? { n: 0, hit: 0 };
    c.n++;
    if (hit) c.hit++;
    byAttackCat.set(key, c);
  }
}
print('## B. Tool results: instructions hidden in data');
print();
table(
  ['set', 'n', 'flagged', 'rate'],
  [
    [
      'benign results (false positives)',
      benignResults.items.length,
      benignResultFp,
      pct(benignResultFp, benignResults.items.length)
    ],
    ...[...injRows.entries()].map(([cat, r]) => [`injected: ${cat} (recall)`, r.n, r.hit, pct(r.hit, r.n)])
  ]
);
const injTp = [...injRows.values()].reduce((a, r) => a + r.hit, 0);
print(
  `FP per 100 benign results: ${((100 * benignResultFp) / benignResults.items.length).toFixed(1)}. Precision (pooled, injected vs benign results): ${pct(injTp, injTp + benignResultFp)}.`
);
print();
print('Recall by corpus attack category (bare embedding, no note to the AI):');
print();
table(
  ['corpus / category', 'n', 'detected', 'recall'],
  [...byAttackCat.entries()].map(([k, r]) => [k, r.n, r.hit, pct(r.hit, r.n)])
);

// Raw corpus strings as plain text.
const rawRows = [];
for (const [label, list, key] of [
  ['giskard', corpus.giskard, (x) => x.group],
  ['bipia text', corpus.bipiaText, (x) => x.category],
  ['bipia code', corpus.bipiaCode, (x) => x.category]
]) {
  const groups = new Map();
  for (const x of list) {
    const g = groups.get(key(x)) ?? { n: 0, content: 0, definition: 0 };
    g.n++;
    if (serious(scanText(x.text, { pii: false })).length) g.content++;
    if (serious(scanText(x.text, { pii: false, mode: 'definition' })).length) g.definition++;
    groups.set(key(x), g);
  }
  const tot = [...groups.values()].reduce(
    (a, g) => ({ n: a.n + g.n, c: a.c + g.content, d: a.d + g.definition }),
    { n: 0, c: 0, d: 0 }
  );
  rawRows.push([`**${label} (all)**`, tot.n, pct(tot.c, tot.n), pct(tot.d, tot.n)]);
  for (const [g, v] of groups)
    rawRows.push([`${label} / ${g}`, v.n, pct(v.content, v.n), pct(v.definition, v.n)]);
}
print('## Raw corpus prompts as plain text (`scanText`)');
print();
table(['corpus / group', 'n', 'recall (content mode)', 'recall (definition mode)'], rawRows);

// ---------------------------------------------------------------------------------------------
// C. Secrets and PII
// ---------------------------------------------------------------------------------------------

const overlaps = (f, s, e) => f.start !== undefined && f.start < e && s < f.end;
const spansOf = (it) => {
  const spans = [[it.start, it.end]];
  for (const extra of it.also ?? []) {
    const at = it.text.indexOf(extra);
    if (at >= 0) spans.push([at, at + extra.length]);
  }
  return spans;
};

function evalKind(kind, positives, negatives) {
  const perType = new Map();
  const perRule = new Map(); // rule -> { tp, fp }
  const bump = (rule, field) => {
    const v = perRule.get(rule) ?? { tp: 0, fp: 0 };
    v[field]++;
    perRule.set(rule, v);
  };
  const misses = [];
  for (const it of positives) {
    const found = scanText(it.text, { injection: false }).filter((f) => f.kind === kind);
    const spans = spansOf(it);
    const hit = found.some((f) => overlaps(f, it.start, it.end));
    const exact = found.some((f) => overlaps(f, it.start, it.end) && f.rule === it.type);
    const row = perType.get(it.type) ?? { n: 0, hit: 0, exact: 0 };
    row.n++;
    if (hit) row.hit++;
    else misses.push(`${it.type}: ${JSON.stringify(it.text.slice(0, 100))}`);
    if (exact) row.exact++;
    perType.set(it.type, row);
    for (const f of found) bump(f.rule, spans.some(([s, e]) => overlaps(f, s, e)) ? 'tp' : 'fp');
  }
  const negFlagged = [];
  for (const it of negatives) {
    const found = scanText(it.text, { injection: false }).filter((f) => f.kind === kind);
    for (const f of found) bump(f.rule, 'fp');
    if (found.length)
      negFlagged.push(
        `${it.category}: ${found.map((f) => f.rule).join(', ')} in ${JSON.stringify(it.text.slice(0, 80))}`
      );
  }
  return { perType, perRule, misses, negFlagged };
}

function benignFindings(kind) {
  const hits = [];
  const perRule = new Map();
  for (const it of benignResults.items) {
    const found = redactValue(it.result).findings.filter(
      (f) => f.kind === kind && !(it.pii ?? []).includes(f.rule)
    );
    for (const f of found) {
      perRule.set(f.rule, (perRule.get(f.rule) ?? 0) + 1);
      hits.push(`${it.id}: ${f.rule} ${f.field}`);
    }
  }
  for (const it of benignTools.items) {
    const found = scanDefinition(it.kind, it.definition, it.server).filter((f) => f.kind === kind);
    for (const f of found) {
      perRule.set(f.rule, (perRule.get(f.rule) ?? 0) + 1);
      hits.push(`${it.id}: ${f.rule} ${f.field}`);
    }
  }
  return { hits, perRule };
}

function reportKind(title, kind, data) {
  const { perType, perRule, misses, negFlagged } = evalKind(kind, data.positives, data.negatives);
  const benign = benignFindings(kind);
  for (const [rule, n] of benign.perRule) {
    const v = perRule.get(rule) ?? { tp: 0, fp: 0 };
    v.fp += n;
    perRule.set(rule, v);
  }
  print(`## ${title}`);
  print();
  const rows = [...perType.entries()].map(([type, r]) => {
    const pr = perRule.get(type) ?? { tp: 0, fp: 0 };
    return [type, r.n, r.hit, pct(r.hit, r.n), pct(r.exact, r.n), pct(pr.tp, pr.tp + pr.fp)];
  });
  for (const [rule, pr] of perRule) {
    if (!perType.has(rule))
      rows.push([`(${rule}, no planted items)`, '-', '-', '-', '-', pct(pr.tp, pr.tp + pr.fp)]);
  }
  table(['type', 'positives', 'found', 'recall', 'recall (same rule)', 'precision of the rule'], rows);
  const n = data.positives.length;
  const hit = [...perType.values()].reduce((a, r) => a + r.hit, 0);
  print(
    `Recall ${pct(hit, n)} (${hit}/${n}). Near-miss negatives flagged: ${negFlagged.length}/${data.negatives.length}. Findings on the benign sets (${benignResults.items.length} results + ${benignTools.items.length} definitions${kind === 'pii' ? ', personal data planted on purpose excluded' : ''}): ${benign.hits.length}.`
  );
  print();
  return { recall: hit / n, hit, n, negFlagged, benign, misses };
}

const sec = reportKind('C. Secrets (arguments and results)', 'secret', secrets);
const piiRes = reportKind('C. Personal data', 'pii', pii);

// ---------------------------------------------------------------------------------------------
// D. Third-party text from node_modules: real, not written for this project
// ---------------------------------------------------------------------------------------------

function packages() {
  const root = join(ROOT, 'node_modules');
  const dirs = [];
  for (const d of readdirSync(root).sort()) {
    if (d.startsWith('.')) continue;
    if (d.startsWith('@')) for (const s of readdirSync(join(root, d)).sort()) dirs.push(join(root, d, s));
    else dirs.push(join(root, d));
  }
  return dirs;
}

function mdFiles(dir, depth, out) {
  if (depth < 0 || !existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.isDirectory() && e.name !== 'node_modules') mdFiles(join(dir, e.name), depth - 1, out);
    else if (e.isFile() && /\.md$/i.test(e.name) && !/^(readme|license|licence)/i.test(e.name))
      out.push(join(dir, e.name));
  }
}

const thirdParty = { readmes: [], heldOutDocs: [], code: [], descriptions: [] };
for (const dir of packages()) {
  const readme = ['README.md', 'readme.md', 'Readme.md'].map((f) => join(dir, f)).find(existsSync);
  if (readme) thirdParty.readmes.push(readme);
  mdFiles(dir, 2, thirdParty.heldOutDocs);
  const pj = join(dir, 'package.json');
  if (!existsSync(pj)) continue;
  const meta = JSON.parse(readFileSync(pj, 'utf8'));
  if (typeof meta.description === 'string' && meta.description)
    thirdParty.descriptions.push({ dir, text: meta.description });
  const main = typeof meta.main === 'string' ? join(dir, meta.main) : join(dir, 'index.js');
  const file = [main, `${main}.js`, join(main, 'index.js')].find(
    (f) => existsSync(f) && statSync(f).isFile()
  );
  if (file && /\.(c|m)?js$/.test(file)) thirdParty.code.push(file);
}

function scanFiles(files, limit) {
  let flagged = 0;
  let secretHits = 0;
  const rules = new Map();
  const examples = [];
  for (const f of files) {
    const text = readFileSync(f, 'utf8').slice(0, limit);
    const found = scanText(text, { pii: false });
    const s = serious(found);
    if (s.length) flagged++;
    for (const x of [...s, ...found.filter((y) => y.kind === 'secret')]) {
      rules.set(x.rule, (rules.get(x.rule) ?? 0) + 1);
      if (x.kind === 'secret') secretHits++;
      examples.push(
        `${f.slice(ROOT.length + 14)}: ${x.rule} ${JSON.stringify(text.slice(x.start, x.end).slice(0, 60))}`
      );
    }
  }
  return { n: files.length, flagged, secretHits, rules, examples };
}

const tpReadme = scanFiles(thirdParty.readmes, 50_000);
const tpDocs = scanFiles(thirdParty.heldOutDocs, 50_000);
const tpCode = scanFiles(thirdParty.code, 50_000);
let descFlagged = 0;
const descExamples = [];
for (const d of thirdParty.descriptions) {
  const s = serious(scanText(d.text, { pii: false, mode: 'definition' }));
  if (s.length) {
    descFlagged++;
    descExamples.push(`${d.dir.slice(ROOT.length + 14)}: ${s.map((f) => f.rule).join(', ')}`);
  }
}
print('## D. Third-party text from node_modules (real, not written for this project)');
print();
print(
  'READMEs were looked at while the rules were written (a development set). The other Markdown files (changelogs, docs) and the packages\' main JavaScript files were held out until the rules were frozen. That first held-out run flagged 3 of 117 Markdown files (`exfil-url` on the SECURITY.md boilerplate "report them to ... https://") and found 2 false secrets in 293 JavaScript files (`token = firstToken.range[0]`); both causes were fixed afterwards, so the rows below are no longer a clean held-out measure. The remaining Markdown secret findings are example credentials in documentation (`amqp://guest:guest@`, `p%40ss`, a bot-token example).'
);
print();
const rulesOf = (r) => [...r.rules.entries()].map(([k, v]) => `${k} (${v})`).join(', ') || '-';
table(
  ['set', 'files', 'flagged (injection etc., ≥ medium)', 'secret findings', 'rules'],
  [
    ['READMEs (development set)', tpReadme.n, tpReadme.flagged, tpReadme.secretHits, rulesOf(tpReadme)],
    ['other Markdown (held out)', tpDocs.n, tpDocs.flagged, tpDocs.secretHits, rulesOf(tpDocs)],
    ['main JavaScript files (held out)', tpCode.n, tpCode.flagged, tpCode.secretHits, rulesOf(tpCode)],
    ['package.json descriptions, definition mode', thirdParty.descriptions.length, descFlagged, '-', '-']
  ]
);

// ---------------------------------------------------------------------------------------------
// Targets and details
// ---------------------------------------------------------------------------------------------

const poisonRecall = poisonTp / poisonN;
const fpPer100Real = (100 * realBenign.fp) / realBenign.n;
const status = (ok, miss) => (ok ? 'met' : `missed by ${miss}`);
print('## Targets');
print();
table(
  ['target', 'measured', 'status'],
  [
    [
      'recall ≥ 90% on poisoned tool descriptions',
      pct(poisonTp, poisonN),
      status(poisonRecall >= 0.9, `${(90 - 100 * poisonRecall).toFixed(1)} points`)
    ],
    [
      '≤ 1 FP per 100 benign real descriptions',
      fpPer100Real.toFixed(2),
      status(fpPer100Real <= 1, `${(fpPer100Real - 1).toFixed(2)} per 100`)
    ],
    [
      'secrets recall ≥ 95% on well-formed keys',
      pct(sec.hit, sec.n),
      status(sec.recall >= 0.95, `${(95 - 100 * sec.recall).toFixed(1)} points`)
    ],
    [
      '≤ 2% of secret near misses (vendor example keys among them) reported',
      pct(sec.negFlagged.length, secrets.negatives.length),
      status(
        sec.negFlagged.length <= 0.02 * secrets.negatives.length,
        `${sec.negFlagged.length - Math.floor(0.02 * secrets.negatives.length)} items`
      )
    ],
    [
      'no secret finding on the benign sets',
      String(sec.benign.hits.length),
      status(sec.benign.hits.length === 0, `${sec.benign.hits.length} findings`)
    ]
  ]
);

const list = (title, items, max = 40) => {
  print(`<details><summary>${title} (${items.length})</summary>`);
  print();
  for (const x of items.slice(0, max)) print(`- ${x.replace(/\|/g, '\\|')}`);
  if (items.length > max) print(`- ... ${items.length - max} more`);
  print();
  print('</details>');
  print();
};
print('## Details');
print();
list('False positives on benign definitions', benignFps);
list('False positives on benign results', resultFps);
list('Missed poisoned definitions', poisonMisses, 60);
list('Missed secrets', sec.misses);
list('Secret near-misses flagged', sec.negFlagged);
list('Secret findings on benign sets', sec.benign.hits);
list('Missed PII', piiRes.misses);
list('PII look-alikes flagged', piiRes.negFlagged);
list('PII findings on benign sets (not planted)', piiRes.benign.hits);
list('Findings on third-party READMEs (development set)', tpReadme.examples);
list('Findings on third-party Markdown (held out)', tpDocs.examples);
list('Findings on third-party JavaScript (held out)', tpCode.examples);
list('Flagged package descriptions', descExamples);

console.log(out.join('\n'));
