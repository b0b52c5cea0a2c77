/**
 * Keeps the running gateway's token table in step with the token file: a change (a revocation,
 * a rotation, a new token) takes effect within a second, without a restart. A file that fails to
 * validate keeps the last good table and says why. Last-use times are kept beside the file in
 * `<file>.last-used.json`, so `portcullis token list` can show them.
 */
import { readFileSync, renameSync, unwatchFile, watchFile, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { formatIssue } from '../errors.js';
import type { TokenTable } from './index.js';
import { readTokenFile } from './token-file.js';

export interface TokenWatch {
  reload(): boolean;
  close(): void;
}

function lastUsedPath(tokensFile: string): string {
  return `${tokensFile}.last-used.json`;
}

export function readLastUsed(tokensFile: string): Record<string, string> {
  try {
    return JSON.parse(readFileSync(lastUsedPath(tokensFile), 'utf8')) as Record<string, string>;
  } catch {
    return {};
  }
}

export function watchTokenFile(
  file: string,
  table: TokenTable,
  log: Logger,
  options: {
    intervalMs?: number;
    substitute?: Parameters<typeof readTokenFile>[1];
    /** After each reload that took effect. */
    onReload?: () => void;
  } = {}
): TokenWatch {
  const reload = (): boolean => {
    const { tokens, revocations, issues } = readTokenFile(file, options.substitute);
    if (issues.length > 0) {
      log.error(
        { file, issues: issues.map(formatIssue) },
        'token file invalid; keeping the last good tokens'
      );
      return false;
    }
    table.replace(tokens, revocations);
    log.info({ file, tokens: tokens.length }, 'tokens reloaded');
    options.onReload?.();
    return true;
  };
  const interval = options.intervalMs ?? 500;
  watchFile(file, { interval, persistent: false }, (curr, prev) => {
    if (curr.mtimeMs !== prev.mtimeMs || curr.ino !== prev.ino || curr.size !== prev.size) reload();
  });
  let flushed = 0;
  const flush = () => {
    if (table.lastUsed.size === 0) return;
    const latest = Math.max(...table.lastUsed.values());
    if (latest <= flushed) return;
    const merged = readLastUsed(file);
    for (const [id, t] of table.lastUsed) merged[id] = new Date(t).toISOString();
    try {
      const tmp = `${lastUsedPath(file)}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(merged, null, 2) + '\n', { mode: 0o600 });
      renameSync(tmp, lastUsedPath(file));
      flushed = latest;
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'cannot record token last use');
    }
  };
  const timer = setInterval(flush, 5_000);
  timer.unref();
  return {
    reload,
    close() {
      unwatchFile(file);
      clearInterval(timer);
      flush();
    }
  };
}
