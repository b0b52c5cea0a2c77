/**
 * The policy in force: the compiled rules, their version and the risk settings, swapped together
 * on reload. A call reads it once when it starts and is decided under that policy to the end.
 */
import { createHash } from 'node:crypto';
import type { GatewayConfig } from '../config/types.js';
import { riskSettingsOf } from '../limits/risk.js';
import { compilePolicy, pathsOf, type Policy } from '../policy/index.js';
import { decayedRisk, riskHolder, type RiskSettings } from '../state/index.js';
import type { Session } from './session.js';

export function policyVersion(
  config: Pick<GatewayConfig, 'rules' | 'policy'> & Partial<Pick<GatewayConfig, 'servers'>>
): string {
  // A server's path style changes how its paths are judged: part of the policy when it is set.
  const styles = Object.entries(config.servers ?? {}).filter(([, s]) => s.path_style !== undefined);
  const paths =
    styles.length > 0 ? { paths: Object.fromEntries(styles.map(([n, s]) => [n, s.path_style])) } : {};
  return createHash('sha256')
    .update(JSON.stringify({ rules: config.rules, policy: config.policy, ...paths }))
    .digest('hex')
    .slice(0, 12);
}

export interface PolicyHolder {
  current(): { policy: Policy; version: string };
  riskSettings(): RiskSettings;
  /** The session's risk (or its identity's, per `policy.risk.scope`) at `now`, decayed as the policy says. */
  risk(session: Session, now: number): number;
  /** Swap in a new config's policy; returns the old and new version, or undefined if unchanged. */
  reload(next: GatewayConfig): { from: string; to: string } | undefined;
}

export function createPolicyHolder(config: GatewayConfig): PolicyHolder {
  let current = {
    policy: compilePolicy(config.rules, config.policy, pathsOf(config.servers)),
    version: policyVersion(config)
  };
  let riskSettings = riskSettingsOf(config.policy);
  return {
    current: () => current,
    riskSettings: () => riskSettings,
    risk: (session, now) => {
      const holder = riskHolder(session, riskSettings);
      return decayedRisk(holder.risk, holder.riskAt, now, riskSettings);
    },
    reload(next) {
      const version = policyVersion(next);
      if (version === current.version) return undefined;
      const from = current.version;
      current = { policy: compilePolicy(next.rules, next.policy, pathsOf(next.servers)), version };
      riskSettings = riskSettingsOf(next.policy);
      return { from, to: version };
    }
  };
}
