// Cross-validation by source inside the development sources only: the measure to choose a change of
// the scorer by, without scoring any held-out source. Five folds of dev sources; each dev item is
// scored by a scorer trained without its source, and each domain's threshold is chosen from those
// scores' benign items (the same 1% budget as training). Prints recall and flagged shares per group,
// injections per source, and the ids of flagged benign and missed poisoned definitions.
//
//   npm run build && node bench/scan/dev-cv.mjs        (about a minute on 2 idle cores)
import * as scan from '../../dist/scan/model/document.js';
import * as model from '../../dist/scan/model/index.js';
import { loadCorpus } from '../../scripts/scanner/corpus.mjs';
import { DEV_SOURCES, withGatewayContext } from '../../scripts/scanner/protocol.mjs';
import { createTrainer } from '../../scripts/scanner/train-lib.mjs';

const started = Date.now();
const items = withGatewayContext(loadCorpus(scan)).filter((i) => DEV_SOURCES.has(i.source));
const trainer = createTrainer(model);
const { thresholds, innerScored } = trainer.thresholds(trainer.prepare(items));
const sourceOf = new Map(items.map((i) => [i.id, i.source]));
const share = (list) => {
  const hit = list.filter((s) => s.p >= thresholds[s.domain]).length;
  return `${hit}/${list.length} (${((100 * hit) / Math.max(1, list.length)).toFixed(1)}%)`;
};

console.log(`dev sources only, ${items.length} items, ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log(`thresholds: definition ${thresholds.definition}, content ${thresholds.content}`);
const groups = [...new Set(innerScored.map((s) => `${s.domain} ${s.y} ${s.group}`))].sort();
for (const g of groups) {
  const [domain, y, group] = g.split(' ');
  const list = innerScored.filter((s) => s.domain === domain && String(s.y) === y && s.group === group);
  console.log(`${y === '1' ? 'caught ' : 'flagged'} ${group.padEnd(26)} ${share(list)}`);
}
const injections = innerScored.filter((s) => s.domain === 'content' && s.y === 1);
for (const source of [...new Set(injections.map((s) => sourceOf.get(s.id)))].sort()) {
  console.log(`injections of ${source}: ${share(injections.filter((s) => sourceOf.get(s.id) === source))}`);
}
const definitions = innerScored.filter((s) => s.domain === 'definition');
const ids = (list) => list.map((s) => `${s.id} ${s.p.toFixed(2)}`).join(', ') || 'none';
console.log(
  `flagged benign definitions: ${ids(definitions.filter((s) => s.y === 0 && s.p >= thresholds.definition))}`
);
console.log(
  `missed poisoned definitions: ${ids(definitions.filter((s) => s.y === 1 && s.p < thresholds.definition))}`
);
