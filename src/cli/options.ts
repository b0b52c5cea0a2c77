/** Parsers for option values shared by several commands. */
import { CommanderError } from 'commander';
import { UserError } from './output.js';

/** `90s`, `15m`, `12h`, `30d` in seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!m) throw new UserError(`not a duration: "${text}" (use e.g. 90s, 15m, 12h, 30d)`);
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

/**
 * A point in time for `--since`/`--until`: a duration back from `now` (`90s`, `30m`, `1h`, `2d`,
 * `1w`) or an ISO 8601 date or date-time (`2026-05-01`, `2026-05-01T12:00:00Z`). Milliseconds since
 * the epoch.
 */
export function parseTime(text: string, now = Date.now()): number {
  const t = text.trim();
  const ago = /^(\d+)(s|m|h|d|w)$/.exec(t);
  if (ago) {
    const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[ago[2] as 's' | 'm' | 'h' | 'd' | 'w'];
    return now - Number(ago[1]) * unit * 1000;
  }
  const at = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)
    ? Date.parse(t)
    : Number.NaN;
  if (Number.isNaN(at))
    throw new UserError(
      `not a time: "${text}" (use a duration back from now such as 30m, 1h, 2d, or an ISO date)`
    );
  return at;
}

/** A TCP port, 0-65535; anything else is a usage error (exit 2). */
export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new CommanderError(2, 'portcullis.port', `invalid port: ${value}`);
  return n;
}
