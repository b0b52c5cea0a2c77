/**
 * The learned injection scorer: logistic regression over the features in ./features.ts, trained
 * reproducibly from the labelled corpus by `npm run train:scanner` into ./weights.json. It answers
 * one question about a text: does it address the model and ask it to act, the way poisoned tool
 * descriptions and injected tool results do? Rules elsewhere explain; this decides.
 *
 * Long texts are scored in overlapping windows of words (a paragraph long; a definition also a
 * sentence or two long) and the highest window counts, so an injection in one paragraph of a long
 * document, or one sentence of a long definition, is not diluted by the rest. Cost is linear in the
 * text: one analysis pass, then a constant per window from prefix sums.
 */
import { readFileSync } from 'node:fs';
import {
  BEHAVIOURS,
  BEHAVIOUR_COUNT,
  CONCEALMENT,
  CONTENT_DECISIVE,
  CONTENT_EVIDENCE,
  DEFINITION_DECISIVE,
  DEFINITION_EVIDENCE,
  HASH_SIZE,
  analyze,
  normalWords,
  RangeCounter,
  windowBehaviours,
  windowSpan,
  windowsOf,
  WINDOW_SCALES,
  type Domain,
  type FeatureContext,
  type Features
} from './features.js';

export {
  ADDRESSING,
  DEFINITION_ONLY,
  PADDING,
  BEHAVIOURS,
  CONCEALMENT,
  CONTENT_DECISIVE,
  CONTENT_EVIDENCE,
  DEFINITION_DECISIVE,
  DEFINITION_EVIDENCE,
  featurize,
  windowFeatures,
  HASH_SIZE,
  WINDOW_SCALES,
  WINDOW_WORDS,
  type Domain,
  type FeatureContext,
  type Features
} from './features.js';

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
  if (
    w.hashBits !== Math.log2(HASH_SIZE) ||
    w.behaviours.join(',') !== BEHAVIOURS.map((x) => x.name).join(',')
  ) {
    throw new Error('scanner weights do not match this build: run npm run train:scanner');
  }
  const bytes = Buffer.from(w.hashed, 'base64');
  const hashed = new Float32Array(HASH_SIZE);
  for (let i = 0; i < HASH_SIZE; i++) hashed[i] = bytes.readFloatLE(i * 4);
  return {
    hashed,
    shared: Float64Array.from(w.shared),
    domain: {
      definition: Float64Array.from(w.domain.definition),
      content: Float64Array.from(w.domain.content)
    },
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
  /** The character range of the window that scored highest. */
  span: [number, number];
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

/**
 * Score a canonical text: every window's logit from prefix sums over its words (the same value
 * `logit` gives for `windowFeatures`), and the highest window wins.
 */
export function scoreText(
  text: string,
  domain: Domain,
  ctx: FeatureContext = {},
  model: Model = defaultModel()
): Score {
  const a = analyze(text, ctx, model.hashed);
  const words = a.wordStart.length;
  const w = model.hashed;
  const dom = model.domain[domain];
  const evidenceOf = domain === 'definition' ? DEFINITION_EVIDENCE : CONTENT_EVIDENCE;
  const decisiveOf = domain === 'definition' ? DEFINITION_DECISIVE : CONTENT_DECISIVE;
  let best = -Infinity;
  let bestBehaviours: Float64Array | undefined;
  let bestWindow: [number, number] = [0, words];
  let evidence = false;
  let concealed = false;
  let decisive: number | undefined;
  const counter = new RangeCounter(a);
  for (const size of WINDOW_SCALES[domain]) {
    const windows = windowsOf(a, size);
    const count = windows.length;
    if (count === 0) continue;
    // The prefix sums over the words (unigrams, bigrams, n-grams) at the windows' ends, kept only
    // there: u and c at each window's first and last word, b at its last and after its first.
    const uFirst = new Float64Array(count);
    const uLast = new Float64Array(count);
    const bLast = new Float64Array(count);
    const bSecond = new Float64Array(count);
    const cFirst = new Float64Array(count);
    const cLast = new Float64Array(count);
    let su = 0;
    let sb = 0;
    let sc = 0;
    for (let i = 0, kf = 0, ks = 0, kl = 0; i <= words; i++) {
      for (; kf < count && windows[kf]![0] === i; kf++) {
        uFirst[kf] = su;
        cFirst[kf] = sc;
      }
      for (; ks < count && windows[ks]![0] + 1 === i; ks++) bSecond[ks] = sb;
      for (; kl < count && windows[kl]![1] === i; kl++) {
        uLast[kl] = su;
        bLast[kl] = sb;
        cLast[kl] = sc;
      }
      if (i === words) break;
      su = su + w[a.unigram[i]!]!;
      const bg = a.bigram[i]!;
      sb = sb + (bg >= 0 ? w[bg]! : 0);
      sc = sc + a.gramSum[i]!;
    }
    for (let k = 0; k < count; k++) {
      const [f, l] = windows[k]!;
      let z = model.bias[domain];
      const n = l - f;
      if (n > 0) {
        const as = normalWords(n, size);
        z += (uLast[k]! - uFirst[k]! + bLast[k]! - bSecond[k]!) / Math.sqrt(2 * as - 1);
        const grams = a.gramStart[l]! - a.gramStart[f]!;
        if (grams > 0) z += (cLast[k]! - cFirst[k]!) / Math.sqrt((grams * as) / n);
      }
      const b = windowBehaviours(a, f, l, size, counter);
      for (let i = 0; i < BEHAVIOUR_COUNT; i++) {
        if (b[i] === 0) continue;
        z += b[i]! * (model.shared[i]! + dom[i]!);
        if (evidenceOf[i]) evidence = true;
        if (CONCEALMENT[i]) concealed = true;
        if (decisiveOf[i] && decisive === undefined) decisive = i;
      }
      if (z > best) {
        best = z;
        bestBehaviours = b;
        bestWindow = [f, l];
      }
    }
  }
  const probability = 1 / (1 + Math.exp(-best));
  const contributions = BEHAVIOURS.map((_, i) => (bestBehaviours?.[i] ?? 0) * (model.shared[i]! + dom[i]!));
  const ranked = [...contributions.keys()]
    .filter((i) => contributions[i]! > 0.25)
    .sort((x, y) => contributions[y]! - contributions[x]!)
    .slice(0, 5)
    .map((i) => BEHAVIOURS[i]!.name);
  const decides = decisive !== undefined;
  // A text is withheld or flagged on its score when it shows evidence (of action in a definition,
  // of asking the model for something in content); when it only conceals, on its score without the
  // concealment, so that hidden guidance counts and hidden plain text does not. A definition with
  // neither is guidance: never withheld on its score.
  let withholding = probability;
  if (!evidence && concealed) {
    let hiding = 0;
    for (let i = 0; i < BEHAVIOUR_COUNT; i++) if (CONCEALMENT[i]) hiding += contributions[i]!;
    withholding = Math.min(probability, 1 / (1 + Math.exp(-(best - hiding))));
  } else if (!evidence && domain === 'definition') withholding = -Infinity;
  // What decided comes first in the finding.
  if (decides) {
    const name = BEHAVIOURS[decisive!]!.name;
    if (ranked.includes(name)) ranked.splice(ranked.indexOf(name), 1);
    ranked.unshift(name);
  }
  return {
    probability,
    // A definition that only addresses the model is guidance: withheld only with evidence of action.
    // Data that asks for what no document needs (`CONTENT_DECISIVE`), and a definition that asks for
    // what no real tool needs (`DEFINITION_DECISIVE`), are flagged whatever their score.
    flagged: withholding >= model.threshold[domain] || decides,
    behaviours: ranked.slice(0, 5),
    span: windowSpan(a, bestWindow[0], bestWindow[1])
  };
}
