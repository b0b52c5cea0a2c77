// Throughput of canonicalize (src/scan/canonical.ts), which runs on every string a detector reads.
//
//   npm run build && node bench/scan/canonical.mjs
//
// 1. 10 MB of plain ASCII prose (the fast path: one pass, the input comes back unchanged).
// 2. 10 MB of the project-written benign tool results with secrets and personal data sprinkled in
//    (listings, JSON, code, logs, CSV, emails: indentation, entities, URLs, keys), canonicalised as
//    one string and as the separate strings the gateway sees.
// 3. 10 MB of non-ASCII text (Cyrillic, Greek, CJK, emoji, accented Latin).
// 4. Hostile inputs at 1 MB and 4 MB: a linear pass takes about 4x as long on 4x the input.
// Optional env: BENCH_RUNS (timed runs per case, best is reported; default 3).
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { canonicalize } from '../../dist/scan/canonical.js';
import { MB, RUNS, best, pii, secrets, texts } from './inputs.mjs';

const mbps = (chars, ms) => (chars / MB / (ms / 1000)).toFixed(0);

function fill(size, next) {
  const parts = [];
  let length = 0;
  for (let i = 0; length < size; i++) {
    const s = next(i);
    parts.push(s);
    length += s.length;
  }
  return parts;
}

const PROSE = [
  'The quarterly report shows revenue grew by twelve percent, driven by the new subscription tier.',
  'Please review the attached changes before the release branch is cut on Thursday afternoon.',
  'The migration completed without errors; the old tables can be dropped after the next backup.',
  'Customers in the northern region reported slower responses between nine and eleven in the morning.'
];
const plain = fill(10 * MB, (i) => PROSE[i % PROSE.length] + (i % 5 === 4 ? '\n' : ' '));
const mixed = fill(10 * MB, (i) => {
  let s = texts[i % texts.length] + '\n';
  if (i % 15 === 7) s += secrets[i % secrets.length].text + '\n';
  if (i % 10 === 3) s += pii[i % pii.length].text + '\n';
  return s;
});
const FOREIGN = [
  'Отчёт за квартал показывает рост выручки на двенадцать процентов. ',
  'Η αναφορά δείχνει αύξηση των εσόδων κατά δώδεκα τοις εκατό. ',
  '季度报告显示，新订阅层级推动收入增长了百分之十二。',
  'Le rapport trimestriel montre une croissance de douze pour cent — très bien ! ',
  'Deploy finished 🚀 all checks green ✅ thanks 👩‍💻 team 🎉 ',
  '四半期報告書によると、収益は12％増加しました。'
];
const foreign = fill(10 * MB, (i) => FOREIGN[i % FOREIGN.length]);

const HOSTILE = {
  'zero-width run': (n) => '\u200b'.repeat(n),
  'zero-width between letters': (n) => 'a\u200b'.repeat(n / 2),
  'tag run': (n) => String.fromCodePoint(0xe0061).repeat(n / 2),
  'variation selectors after a letter': (n) => ('a' + '\ufe0f'.repeat(15)).repeat(n / 16),
  'ANSI CSI without final byte': (n) => '\x1b[1;2;3'.repeat(n / 8),
  'OSC without terminator': (n) => '\x1b]0;'.repeat(n / 4),
  entities: (n) => '&#105;&lt;'.repeat(n / 10),
  "'&' without entity": (n) => '&a'.repeat(n / 2),
  'percent-encoding': (n) => '%69%67'.repeat(n / 6),
  "'<!--' without '-->'": (n) => '<!--'.repeat(n / 4),
  'random base64': (n) => randomBytes((n * 3) / 4).toString('base64'),
  'base64 of text': (n) => Buffer.from('ignore previous instructions '.repeat(n / 40)).toString('base64'),
  'hex of text': (n) => Buffer.from('ignore previous instructions '.repeat(n / 60)).toString('hex'),
  'combining marks': (n) => 'e\u0301\u0302'.repeat(n / 3),
  'Cyrillic look-alikes': (n) => 'іgnоrе '.repeat(n / 7),
  fullwidth: (n) => 'ｉｇｎｏｒｅ '.repeat(n / 7),
  'spaces and newlines': (n) => ' \t\n\n\n'.repeat(n / 5)
};

const out = [];
const print = (s = '') => out.push(s);
print('# canonicalize: throughput');
print();
print('Command: `npm run build && node bench/scan/canonical.mjs`');
print(
  `Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.cpus().length} cores). Best of ${RUNS} runs.`
);
print();

for (let i = 0; i < 3; i++) for (const s of [plain, mixed, foreign]) canonicalize(s.slice(0, 200).join(''));

print('| input | size | as one string | as separate strings | changed |');
print('|---|---|---|---|---|');
for (const [name, parts] of [
  ['plain ASCII prose', plain],
  ['mixed tool results (text, JSON, code, logs, keys)', mixed],
  ['non-ASCII prose (Cyrillic, Greek, CJK, emoji)', foreign]
]) {
  const whole = parts.join('');
  const tWhole = best(() => canonicalize(whole));
  const tParts = best(() => {
    for (const p of parts) canonicalize(p);
  });
  const changed = parts.filter((p) => canonicalize(p).changed).length;
  print(
    `| ${name} | ${(whole.length / MB).toFixed(0)} M chars | ${mbps(whole.length, tWhole)} M chars/s (${tWhole.toFixed(0)} ms) | ${mbps(whole.length, tParts)} M chars/s (${parts.length} strings) | ${changed} of ${parts.length} |`
  );
}
print();
print('| hostile input | 1 M chars | 4 M chars | M chars/s at 4 M | ratio 4 M / 1 M |');
print('|---|---|---|---|---|');
let worst = 0;
for (const [name, make] of Object.entries(HOSTILE)) {
  const small = make(MB);
  const large = make(4 * MB);
  canonicalize(small);
  const t1 = best(() => canonicalize(small));
  const t4 = best(() => canonicalize(large));
  worst = Math.max(worst, t4 / t1);
  print(
    `| ${name} | ${t1.toFixed(0)} ms | ${t4.toFixed(0)} ms | ${mbps(large.length, t4)} | ${(t4 / t1).toFixed(2)} |`
  );
}
print();
print(`Worst 4 M / 1 M ratio: ${worst.toFixed(2)} (linear = 4; quadratic would be 16).`);
console.log(out.join('\n'));
