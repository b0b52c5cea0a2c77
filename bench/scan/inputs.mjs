// What the scanner benchmarks share: best-of-N timing, and the realistic inputs they measure
// (the project-written benign results, with generated secrets and personal data to sprinkle in).
import { benignResults } from './data-results.mjs';
import { secretPositives, piiPositives } from './data-secrets.mjs';

export const RUNS = Number(process.env.BENCH_RUNS ?? 3);
export const MB = 1024 * 1024;

/** The fastest of `runs` runs of `fn`, in milliseconds. */
export function best(fn, runs = RUNS) {
  let t = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    fn();
    t = Math.min(t, Number(process.hrtime.bigint() - start) / 1e6);
  }
  return t;
}

export const results = benignResults(99, 5);
export const secrets = secretPositives(5, 3);
export const pii = piiPositives(6, 4);
/** The text of each benign result. */
export const texts = results.map((r) => r.result.content?.[0]?.text ?? r.result.contents?.[0]?.text ?? '');

/** Realistic mixed text of `bytes` characters: benign results with secrets and personal data sprinkled in. */
export function mixedText(bytes) {
  let out = '';
  for (let i = 0; out.length < bytes; i++) {
    out += texts[i % texts.length] + '\n';
    if (i % 15 === 7) out += secrets[i % secrets.length].text + '\n';
    if (i % 10 === 3) out += pii[i % pii.length].text + '\n';
  }
  return out.slice(0, bytes);
}
