/**
 * Logs go to stderr, always: on stdio, stdout is the protocol channel and must carry nothing else.
 * Level from `--log-level`, else PORTCULLIS_LOG_LEVEL, else info. One JSON object a line (pino) when
 * stderr is a file, a pipe or a container log; short readable lines when it is a terminal.
 * PORTCULLIS_LOG_FORMAT=json or pretty decides instead of the terminal test.
 */
import { writeSync } from 'node:fs';
import { pino, type Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogFormat = 'json' | 'pretty';

let chosenLevel: string | undefined;

/** The level every logger created after this takes unless it is given one (the `--log-level` option). */
export function setLogLevel(level: string | undefined): void {
  chosenLevel = level;
}

export function createLogger(
  level = chosenLevel ?? process.env.PORTCULLIS_LOG_LEVEL ?? 'info',
  options: { format?: LogFormat } = {}
): Logger {
  const format = options.format ?? logFormat();
  if (format === 'pretty') {
    const colors = process.stderr.isTTY === true;
    return pino(
      { level, base: undefined },
      { write: (line: string) => void writeSync(2, prettyLine(line, colors)) }
    );
  }
  return pino({ level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}

function logFormat(): LogFormat {
  const env = process.env.PORTCULLIS_LOG_FORMAT;
  if (env === 'json' || env === 'pretty') return env;
  return process.stderr.isTTY ? 'pretty' : 'json';
}

const LEVEL_NAMES: Record<number, { name: string; color: number }> = {
  10: { name: 'TRACE', color: 90 },
  20: { name: 'DEBUG', color: 36 },
  30: { name: 'INFO', color: 32 },
  40: { name: 'WARN', color: 33 },
  50: { name: 'ERROR', color: 31 },
  60: { name: 'FATAL', color: 35 }
};

/**
 * One pino JSON line as `HH:MM:SS.mmm LEVEL message key=value ...`. A value that is a plain word
 * stands as it is; anything else is JSON, so a line can still be read back without guessing.
 */
export function prettyLine(line: string, colors = false): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const { level, time, msg, pid: _pid, hostname: _host, ...rest } = entry;
  const known = LEVEL_NAMES[Number(level)] ?? { name: String(level).toUpperCase(), color: 0 };
  const paint = (code: number, text: string) => (colors && code ? `\u001b[${code}m${text}\u001b[39m` : text);
  const clock = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '';
  const fields = Object.entries(rest).map(([k, v]) => `${paint(90, `${k}=`)}${fieldValue(v)}`);
  return `${[clock, paint(known.color, known.name.padEnd(5)), String(msg ?? ''), ...fields].filter(Boolean).join(' ')}\n`;
}

function fieldValue(v: unknown): string {
  if (typeof v === 'string') return /^[\w./:@+-]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v) ?? String(v);
}
