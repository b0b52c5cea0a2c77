import { describe, expect, it } from 'vitest';
import type { Score } from './model/index.js';
import type { Finding } from './types.js';
import { verdictFinding } from './verdict.js';

const score = (probability: number, behaviours: string[]): Score => ({
  probability,
  flagged: true,
  behaviours,
  span: [0, 10]
});
const rule = (name: string): Finding => ({ kind: 'injection', rule: name, severity: 'medium', message: 'm' });

describe('the scorer verdict as a finding', () => {
  it('a definition is a high poisoned-definition finding, naming score, behaviours and each rule once', () => {
    const f = verdictFinding(score(0.876, ['override', 'exfiltrate']), 'definition', [
      rule('ignore-instructions'),
      rule('send-to-url'),
      rule('ignore-instructions')
    ]);
    expect(f).toEqual({
      kind: 'injection',
      rule: 'poisoned-definition',
      severity: 'high',
      message:
        'reads as instructions that steer the model (score 0.88; override, exfiltrate; rules: ignore-instructions, send-to-url)'
    });
  });

  it('content is a high injection-score finding; without behaviours or rules it names only the score', () => {
    expect(verdictFinding(score(0.5, []), 'content', [])).toEqual({
      kind: 'injection',
      rule: 'injection-score',
      severity: 'high',
      message: 'text addressed to the model, asking it to act (score 0.50)'
    });
  });

  it('names the behaviours without rules, and the rules without behaviours', () => {
    expect(verdictFinding(score(0.9, ['conceal']), 'content', []).message).toBe(
      'text addressed to the model, asking it to act (score 0.90; conceal)'
    );
    expect(verdictFinding(score(0.9, []), 'content', [rule('act-silently')]).message).toBe(
      'text addressed to the model, asking it to act (score 0.90; rules: act-silently)'
    );
  });
});
