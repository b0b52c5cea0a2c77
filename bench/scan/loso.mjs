// Leave-one-source-out evaluation of the injection scorer on the labelled corpus.
//
//   npm run eval:scanner                 (builds, then runs this; about 5 minutes on 2 cores)
//   node bench/scan/loso.mjs [--dev] [--fast] [--json FILE] [--results FILE]
//
// For every source (an upstream repository or npm package) the scorer is trained on all the other
// sources, with its thresholds chosen inside that training data, and only then scores the held-out
// source. Nothing of a source is seen before it is scored. Reported per source and per group:
// recall on poisoned definitions and injections, withheld or flagged share of benign items.
// `--dev` prints only the development sources (the ones looked at while the features were written);
// `--fast` skips the inner threshold search (threshold 0.5), for development only. `--results FILE`
// prints the report again from the scores a run saved with `--json FILE`, without training.
import { fork } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { judgeInjection } from '../../dist/scan/index.js';
import * as scan from '../../dist/scan/model/document.js';
import * as model from '../../dist/scan/model/index.js';
import { GROUPS, loadCorpus } from '../../scripts/scanner/corpus.mjs';
import { createTrainer } from '../../scripts/scanner/train-lib.mjs';
import { DEV_SOURCES, sourceFolds, withGatewayContext } from '../../scripts/scanner/protocol.mjs';

const args = process.argv.slice(2);
const devOnly = args.includes('--dev');
const fast = args.includes('--fast');
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;
const saved = args.includes('--results') ? args[args.indexOf('--results') + 1] : undefined;
// Folds run in WORKERS processes (default 2); a worker gets `--worker i/n --out FILE`.
const WORKERS = Number(process.env.SCANNER_EVAL_WORKERS ?? 2);
const worker = args.includes('--worker')
  ? args[args.indexOf('--worker') + 1].split('/').map(Number)
  : undefined;
const workerOut = args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined;

const started = Date.now();
const items = withGatewayContext(loadCorpus(scan));
const trainer = createTrainer(model);
const prepared = saved ? [] : trainer.prepare(items);
let results = saved ? JSON.parse(readFileSync(saved, 'utf8')) : [];

const folds = sourceFolds(items);
if (!saved && !worker && WORKERS > 1) {
  const files = [];
  await Promise.all(
    Array.from({ length: WORKERS }, (_, i) => {
      const file = join(tmpdir(), `portcullis-loso-${process.pid}-${i}.json`);
      files.push(file);
      const child = fork(process.argv[1], [...args, '--worker', `${i}/${WORKERS}`, '--out', file]);
      return new Promise((resolve, reject) =>
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker ${i} exited ${code}`))))
      );
    })
  );
  for (const f of files) results.push(...JSON.parse(readFileSync(f, 'utf8')));
}
for (const [n, fold] of folds.entries()) {
  if (saved || (!worker && WORKERS > 1)) break;
  if (worker && n % worker[1] !== worker[0]) continue;
  const held = new Set(devOnly ? fold.filter((s) => DEV_SOURCES.has(s)) : fold);
  if (held.size === 0) continue;
  const train = prepared.filter((p) => !fold.includes(p.item.source));
  const test = prepared.filter((p) => held.has(p.item.source));
  const t = fast ? { definition: 0.5, content: 0.5 } : trainer.thresholds(train).thresholds;
  const w = trainer.fit(train);
  for (const p of test) {
    const prob = trainer.scoreItem(w, p);
    results.push({
      id: p.item.id,
      source: p.item.source,
      group: p.item.group,
      domain: p.item.domain,
      label: p.item.label,
      lang: p.item.lang,
      category: p.item.category,
      p: prob,
      flagged: trainer.flagged(w, p, t),
      decided: trainer.decides(p),
      threshold: t[p.item.domain],
      dev: DEV_SOURCES.has(p.item.source)
    });
  }
  // A definition also scored as its server's alone, with no other server behind the gateway.
  const alone = trainer.prepare(
    test
      .filter((p) => p.item.domain === 'definition')
      .map((p) => ({ ...p.item, ctx: { ...p.item.ctx, otherTools: new Set() } }))
  );
  for (const p of alone) {
    const r = results.find((x) => x.id === p.item.id);
    r.aloneFlagged = trainer.flagged(w, p, t);
  }
  process.stderr.write(
    `${fold.join(', ')}: ${test.length} items, ${((Date.now() - started) / 1000).toFixed(0)} s\n`
  );
}

if (worker) {
  writeFileSync(workerOut, JSON.stringify(results));
  process.exit(0);
}
results = results.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
const pct = (a, b) => (b === 0 ? 'n/a' : `${((100 * a) / b).toFixed(1)}%`);
const lines = [];
const print = (s = '') => lines.push(s);
print(
  `Leave-one-source-out, ${new Date().toISOString().slice(0, 10)}, ${results.length} items${fast ? ' (fast: threshold 0.5)' : ''}`
);
print();
for (const [group, title] of Object.entries(GROUPS)) {
  const rows = results.filter((r) => r.group === group);
  if (rows.length === 0) continue;
  const positive = rows[0].label === 1;
  print(
    `### ${title}: ${positive ? 'recall' : 'flagged'} ${pct(rows.filter((r) => r.flagged).length, rows.length)} (${rows.filter((r) => r.flagged).length}/${rows.length})`
  );
  print();
  if (rows[0].domain === 'definition') {
    const n = rows.filter((r) => r.aloneFlagged).length;
    print(
      `Each server alone (no other server behind the gateway): ${pct(n, rows.length)} (${n}/${rows.length})`
    );
    print();
  }
  print(`| source | dev? | items | ${positive ? 'caught' : 'flagged'} |`);
  print('|---|---|---|---|');
  for (const s of [...new Set(rows.map((r) => r.source))]) {
    const rs = rows.filter((r) => r.source === s);
    const n = rs.filter((r) => r.flagged).length;
    print(`| ${s} | ${rs[0].dev ? 'dev' : 'held out'} | ${rs.length} | ${n} (${pct(n, rs.length)}) |`);
  }
  print();
}
const spikee = results.filter((r) => r.source === 'ReversecLabs/spikee' && r.label === 1);
if (spikee.length > 0) {
  print(
    'spikee by language: ' +
      [...new Set(spikee.map((r) => r.lang))]
        .map((l) => {
          const rs = spikee.filter((r) => r.lang === l);
          return `${l} ${pct(rs.filter((r) => r.flagged).length, rs.length)}`;
        })
        .join(', ')
  );
}
// The rules that decide on their own in content, beside the scorer (no training: they are fixed).
const textOf = new Map(items.filter((i) => i.domain === 'content').map((i) => [i.id, i.text]));
const byRule = (r) =>
  judgeInjection(textOf.get(r.id), 'content').some((f) => f.rule === 'markdown-image-exfil');
const injections = results.filter((r) => r.group === 'result-injections');
const benignContent = results.filter((r) => r.domain === 'content' && r.label === 0);
const ruled = injections.filter(byRule);
const extra = ruled.filter((r) => !r.flagged).length;
const caught = injections.filter((r) => r.flagged).length + extra;
print(
  `\nmarkdown-image-exfil (decides beside the scorer in content): fires on ${ruled.length} of ${injections.length} injections, ` +
    `${extra} of them missed by the scorer (scorer or rule: ${caught}/${injections.length}, ${pct(caught, injections.length)}); ` +
    `on ${benignContent.filter(byRule).length} of ${benignContent.length} benign content items`
);
print(`\n${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log(lines.join('\n'));
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 1));
