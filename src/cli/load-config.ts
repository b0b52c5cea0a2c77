/** Loading a config for a command: problems become user errors (exit 1) with every location. */
import { loadConfig } from '../config/index.js';
import type { GatewayConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { permissionProblems } from '../security/permissions.js';
import { UserError } from './output.js';

export function load(file: string): GatewayConfig {
  try {
    return loadConfig(file);
  } catch (e) {
    if (e instanceof ConfigError) throw new UserError(`invalid configuration:\n${e.message}`);
    throw e;
  }
}

/** Load a config to serve from: also refuse files others could have changed. */
export function loadToServe(file: string): GatewayConfig {
  const config = load(file);
  if (config.security.check_permissions) {
    const problems = permissionProblems([
      config.source,
      ...(config.auth.tokens_file ? [config.auth.tokens_file] : [])
    ]);
    if (problems.length > 0) {
      throw new UserError(
        `refusing to start:\n${problems.join('\n')}\n(set security.check_permissions: false to override)`
      );
    }
  }
  return config;
}
