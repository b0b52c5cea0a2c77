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

/** A TCP port, 0-65535; anything else is a usage error (exit 2). */
export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new CommanderError(2, 'portcullis.port', `invalid port: ${value}`);
  return n;
}
