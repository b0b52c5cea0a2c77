/**
 * The scorer's verdict as a finding: one rule per domain, high, naming the behaviours that raised the
 * score and the phrase rules that explain it, never the text it read.
 */
import type { Domain, Score } from './model/index.js';
import type { Finding } from './types.js';

const VERDICT: Record<Domain, { rule: string; says: string }> = {
  definition: { rule: 'poisoned-definition', says: 'reads as instructions that steer the model' },
  content: { rule: 'injection-score', says: 'text addressed to the model, asking it to act' }
};

export function verdictFinding(score: Score, domain: Domain, explanations: readonly Finding[]): Finding {
  const rules = [...new Set(explanations.map((f) => f.rule))];
  return {
    kind: 'injection',
    rule: VERDICT[domain].rule,
    severity: 'high',
    message:
      `${VERDICT[domain].says} (score ${score.probability.toFixed(2)}` +
      `${score.behaviours.length ? `; ${score.behaviours.join(', ')}` : ''}` +
      `${rules.length ? `; rules: ${rules.join(', ')}` : ''})`
  };
}
