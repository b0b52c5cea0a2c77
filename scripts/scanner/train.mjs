// npm run train:scanner: train the injection scorer on the whole labelled corpus and write its
// weights to src/scan/model/weights.json (copied into dist/ by the build). Deterministic: the same
// corpus, node_modules and code give byte-identical weights.
//
//   npm run build && node scripts/scanner/train.mjs [--out FILE]
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as scan from '../../dist/scan/model/document.js';
import * as model from '../../dist/scan/model/index.js';
import { corpusDir, loadCorpus } from './corpus.mjs';
import { withGatewayContext } from './protocol.mjs';
import { SETTINGS, createTrainer } from './train-lib.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const out = args.includes('--out')
  ? resolve(args[args.indexOf('--out') + 1])
  : join(ROOT, 'src/scan/model/weights.json');

/** A digest of every corpus file, so the weights say what they were trained on. */
function corpusDigest(dir) {
  const h = createHash('sha256');
  const walk = (d) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(json|csv)$/.test(f)) h.update(relative(dir, p)).update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

const started = Date.now();
const items = withGatewayContext(loadCorpus(scan));
const trainer = createTrainer(model);
const prepared = trainer.prepare(items);
const { thresholds } = trainer.thresholds(prepared);
const w = trainer.fit(prepared);
const count = (pred) => items.filter(pred).length;
const weights = trainer.toWeights(w, thresholds, {
  corpus: corpusDigest(corpusDir()),
  items: items.length,
  positives: {
    definition: count((i) => i.domain === 'definition' && i.label === 1),
    content: count((i) => i.domain === 'content' && i.label === 1)
  },
  negatives: {
    definition: count((i) => i.domain === 'definition' && i.label === 0),
    content: count((i) => i.domain === 'content' && i.label === 0)
  },
  sources: new Set(items.map((i) => i.source)).size,
  settings: SETTINGS
});
writeFileSync(out, JSON.stringify(weights) + '\n');
const size = statSync(out).size;
console.log(
  `wrote ${relative(ROOT, out)} (${(size / 1024).toFixed(0)} KiB) in ${((Date.now() - started) / 1000).toFixed(0)} s; ` +
    `thresholds: definition ${thresholds.definition}, content ${thresholds.content}; ` +
    `sha256 ${createHash('sha256').update(readFileSync(out)).digest('hex').slice(0, 16)}`
);
