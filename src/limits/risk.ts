/**
 * Session risk: every admitted call adds the weights of the rules (and tools) it matched; scanner
 * findings add more. Risk decays by half every `half_life` and returns to zero after `reset_after`
 * without a call, as the policy configures.
 */
import type { PolicySettings } from '../config/types.js';
import type { Session } from '../core/session.js';
import { durationMs } from '../policy/conditions.js';

export interface RiskModel {
  current(session: Session, now: number): number;
  add(session: Session, amount: number, now: number): number;
}

export function createRiskModel(settings: PolicySettings): RiskModel {
  const halfLife = settings.risk?.half_life ? durationMs(settings.risk.half_life) : undefined;
  const resetAfter = settings.risk?.reset_after ? durationMs(settings.risk.reset_after) : undefined;
  const current = (session: Session, now: number): number => {
    if (session.risk === 0) return 0;
    const elapsed = Math.max(0, now - session.riskAt);
    if (resetAfter !== undefined && elapsed >= resetAfter) return 0;
    if (halfLife !== undefined && halfLife > 0) return session.risk * 0.5 ** (elapsed / halfLife);
    return session.risk;
  };
  return {
    current,
    add(session, amount, now) {
      session.risk = current(session, now) + amount;
      session.riskAt = now;
      return session.risk;
    }
  };
}
