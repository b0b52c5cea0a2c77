// Types of the scorer's trainer, for the tests that run it.
import type * as model from '../../src/scan/model/index.js';

export interface TrainingItem {
  id: string;
  source: string;
  domain: model.Domain;
  group: string;
  label: number;
  text: string;
  ctx: model.FeatureContext;
  injection?: string;
}

export interface PreparedItem {
  item: TrainingItem;
  vecs: Array<{ idx: Int32Array; val: Float64Array }>;
  positive: boolean[];
}

export const SETTINGS: Record<string, unknown> & { attackPrior: number; contentPrior: number };

export interface Trainer {
  prepare(items: readonly TrainingItem[]): PreparedItem[];
  fit(prepared: readonly PreparedItem[]): Float64Array;
  scoreItem(w: Float64Array, p: PreparedItem, without?: readonly boolean[]): number;
  withholdScore(w: Float64Array, p: PreparedItem): number;
  decides(p: PreparedItem): boolean;
  flagged(w: Float64Array, p: PreparedItem, t: Record<model.Domain, number>): boolean;
  thresholds(prepared: readonly PreparedItem[]): {
    thresholds: Record<model.Domain, number>;
    innerScored: Array<{ p: number; y: number; domain: model.Domain; group: string; id: string }>;
  };
  toWeights(
    w: Float64Array,
    thresholds: Record<model.Domain, number>,
    trained: Record<string, unknown>
  ): model.ModelWeights;
}

export function createTrainer(m: typeof model): Trainer;
