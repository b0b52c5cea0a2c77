/**
 * Logs go to stderr, always: on stdio, stdout is the protocol channel and must carry nothing else.
 * Level from PORTCULLIS_LOG_LEVEL (default info).
 */
import { pino, type Logger } from 'pino';

export function createLogger(level = process.env.PORTCULLIS_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}
