/**
 * Session risk: every admitted call adds the weights of the rules (and tools) it matched; scanner
 * findings add more. With `policy.risk.scope: identity` there is one score per identity, shared by
 * all its sessions. Risk decays by half every `half_life` and returns to zero after `reset_after`
 * without a call, as the policy configures. The arithmetic lives in ../state (decayedRisk), shared
 * by the memory and Redis stores.
 */
import type { PolicySettings } from '../config/types.js';
import { durationMs } from '../policy/conditions.js';
import type { RiskSettings } from '../state/index.js';

export function riskSettingsOf(settings: PolicySettings): RiskSettings {
  const halfLife = settings.risk?.half_life ? durationMs(settings.risk.half_life) : undefined;
  const resetAfter = settings.risk?.reset_after ? durationMs(settings.risk.reset_after) : undefined;
  const budget = settings.mode === 'enforce' ? settings.risk?.budget : undefined;
  return {
    ...(halfLife !== undefined ? { halfLifeMs: halfLife } : {}),
    ...(resetAfter !== undefined ? { resetAfterMs: resetAfter } : {}),
    ...(budget !== undefined ? { budget } : {}),
    ...(settings.risk?.scope === 'identity' ? { perIdentity: true } : {})
  };
}
