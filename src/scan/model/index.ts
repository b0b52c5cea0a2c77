/**
 * The learned injection scorer: logistic regression over the features in ./features.ts, trained
 * reproducibly from the labelled corpus by `npm run train:scanner` into ./weights.json. It answers
 * one question about a text: does it address the model and ask it to act, the way poisoned tool
 * descriptions and injected tool results do? Rules elsewhere explain; this decides.
 *
 * Long texts are scored in overlapping windows of words and the highest window counts, so an
 * injection in one paragraph of a long document is not diluted by the rest. Cost is linear in the
 * text: each window is featurised once and windows overlap by half.
 */
import { readFileSync } from 'node:fs';
import { BEHAVIOURS, BEHAVIOUR_COUNT, HASH_SIZE, featurize, type Domain, type FeatureContext, type Features } from './features.js';

export { BEHAVIOURS, featurize, HASH_SIZE, type Domain, type FeatureContext, type Features } from './features.js';

export interface ModelWeights {
  version: number;
  hashBits: number;
  behaviours: string[];
  /** Float32 little-endian weights of the hashed features, base64. */
  hashed: string;
  shared: number[];
  domain: Record<Domain, number[]>;
  bias: Record<Domain, number>;
  /** Decision thresholds on the probability, per domain. */
  threshold: Record<Domain, number>;
  /** How the weights were made (data, counts, settings), for the record. */
  trained: Record<string, unknown>;
}

export interface Model {
  hashed: Float32Array;
  shared: Float64Array;
  domain: Record<Domain, Float64Array>;
  bias: Record<Domain, number>;
  threshold: Record<Domain, number>;
}

export function modelFromWeights(w: ModelWeights): Model {
  if (w.hashBits !== Math.log2(HASH_SIZE) || w.behaviours.join(',') !== BEHAVIOURS.map((x) => x.name).join(',')) {
    throw new Error('scanner weights do not match this build: run npm run train:scanner');
  }
  const bytes = Buffer.from(w.hashed, 'base64');
  const hashed = new Float32Array(HASH_SIZE);
  for (let i = 0; i < HASH_SIZE; i++) hashed[i] = bytes.readFloatLE(i * 4);
  return {
    hashed,
    shared: Float64Array.from(w.shared),
    domain: { definition: Float64Array.from(w.domain.definition), content: Float64Array.from(w.domain.content) },
    bias: { ...w.bias },
    threshold: { ...w.threshold }
  };
}

let loaded: Model | undefined;

/** The shipped model (./weights.json beside this module), loaded once. */
export function defaultModel(): Model {
  if (loaded === undefined) {
    const raw = readFileSync(new URL('./weights.json', import.meta.url), 'utf8');
    loaded = modelFromWeights(JSON.parse(raw) as ModelWeights);
  }
  return loaded;
}

export interface Score {
  /** Probability that the text is an injection or a poisoned definition, in [0, 1]. */
  probability: number;
  /** Whether it reaches the domain's threshold. */
  flagged: boolean;
  /** Behaviours that raised the score most, strongest first. */
  behaviours: string[];
}

/** The linear score of one feature vector, and each behaviour's contribution. */
export function logit(model: Model, f: Features, domain: Domain, contributions?: Float64Array): number {
  let z = model.bias[domain];
  for (const [k, v] of f.hashed) z += model.hashed[k]! * v;
  const dom = model.domain[domain];
  for (let i = 0; i < BEHAVIOUR_COUNT; i++) {
    const v = f.behaviours[i]!;
    if (v === 0) continue;
    const c = v * (model.shared[i]! + dom[i]!);
    z += c;
    if (contributions) contributions[i] = c;
  }
  return z;
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** Words per window, and the step between windows. */
export const WINDOW_WORDS = 96;
const STEP_WORDS = WINDOW_WORDS / 2;

/** Start offsets of overlapping windows of `WINDOW_WORDS` words; one window for a short text. */
export function windows(text: string): Array<[number, number]> {
  const wordStarts: number[] = [];
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const space = c === 32 || c === 10 || c === 9 || c === 13;
    if (!space && !inWord) wordStarts.push(i);
    inWord = !space;
  }
  if (wordStarts.length <= WINDOW_WORDS + STEP_WORDS / 2) return [[0, text.length]];
  const out: Array<[number, number]> = [];
  for (let w = 0; w < wordStarts.length; w += STEP_WORDS) {
    const end = w + WINDOW_WORDS < wordStarts.length ? wordStarts[w + WINDOW_WORDS]! : text.length;
    out.push([wordStarts[w]!, end]);
    if (w + WINDOW_WORDS >= wordStarts.length) break;
  }
  return out;
}

/** Score a canonical text: the highest window wins. */
export function scoreText(
  text: string,
  domain: Domain,
  ctx: FeatureContext = {},
  model: Model = defaultModel()
): Score {
  let best = -Infinity;
  let bestContrib = new Float64Array(BEHAVIOUR_COUNT);
  for (const [s, e] of windows(text)) {
    const contrib = new Float64Array(BEHAVIOUR_COUNT);
    const z = logit(model, featurize(text.slice(s, e), ctx), domain, contrib);
    if (z > best) {
      best = z;
      bestContrib = contrib;
    }
  }
  const probability = sigmoid(best);
  const ranked = [...bestContrib.keys()]
    .filter((i) => bestContrib[i]! > 0.25)
    .sort((a, b) => bestContrib[b]! - bestContrib[a]!)
    .slice(0, 5)
    .map((i) => BEHAVIOURS[i]!.name);
  return { probability, flagged: probability >= model.threshold[domain], behaviours: ranked };
}
