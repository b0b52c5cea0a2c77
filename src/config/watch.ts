/**
 * Hot reload: when the config file changes, or on SIGHUP, the new file is loaded and validated;
 * a valid policy is swapped in atomically (calls in flight finish under the policy they started
 * with), a broken file keeps the last good policy running and says why. Changes outside the
 * policy (servers, auth, listen) need a restart, and the log says so.
 */
import { statSync, unwatchFile, watchFile } from 'node:fs';
import type { Logger } from 'pino';
import type { Gateway } from '../core/gateway.js';
import { ConfigError, formatIssue } from '../errors.js';
import { loadConfig } from './index.js';

export interface ConfigWatch {
  reload(): boolean;
  close(): void;
}

export function watchConfig(file: string, gateway: Gateway, log: Logger, intervalMs = 500): ConfigWatch {
  const reload = (): boolean => {
    let next;
    try {
      next = loadConfig(file);
    } catch (err) {
      const reason =
        err instanceof ConfigError ? err.issues.map(formatIssue).join('; ') : (err as Error).message;
      log.error({ file, reason }, 'config reload failed; keeping the last good policy');
      gateway.audit({
        event: 'config/reload',
        decision: 'deny',
        outcome: 'error',
        reason,
        policy_version: gateway.policy().version
      });
      return false;
    }
    const current = gateway.config;
    for (const part of ['servers', 'auth', 'listen', 'audit'] as const) {
      if (JSON.stringify(next[part]) !== JSON.stringify(current[part])) {
        log.warn(
          { file, part },
          `config "${part}" changed: restart the gateway to apply it (the policy reloads live)`
        );
      }
    }
    gateway.reloadPolicy(next);
    return true;
  };
  // A file being written shows up changed before it is complete: reload only once its size and
  // time have held still for a moment, so a half-written policy is never taken as the last good one.
  let settle: NodeJS.Timeout | undefined;
  watchFile(file, { interval: intervalMs, persistent: false }, (curr, prev) => {
    if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size && curr.ino === prev.ino) return;
    clearTimeout(settle);
    const seen = { mtimeMs: curr.mtimeMs, size: curr.size, ino: curr.ino };
    settle = setTimeout(
      () => {
        let now;
        try {
          now = statSync(file);
        } catch {
          return;
        }
        if (now.mtimeMs === seen.mtimeMs && now.size === seen.size && now.ino === seen.ino) reload();
      },
      Math.max(100, intervalMs * 2)
    );
    settle.unref();
  });
  const onHup = () => void reload();
  process.on('SIGHUP', onHup);
  return {
    reload,
    close() {
      clearTimeout(settle);
      unwatchFile(file);
      process.off('SIGHUP', onHup);
    }
  };
}
