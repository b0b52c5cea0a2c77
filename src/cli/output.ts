/**
 * Where the CLI writes, and the error it shows as `error: …` with exit 1. Writes are synchronous
 * so nothing is lost when a command exits right after; under `stdio`, stdout is the protocol.
 */
import { writeSync } from 'node:fs';
import { LocalError } from '../errors.js';

/** A line to stdout. */
export const out = (text: string) => writeSync(1, text.endsWith('\n') ? text : `${text}\n`);
/** A line to stderr. */
export const err = (text: string) => writeSync(2, text.endsWith('\n') ? text : `${text}\n`);

/** A problem the user can fix (bad config, failed check): `error: <message>` and exit 1. */
export class UserError extends LocalError {
  constructor(message?: string) {
    super('user_error', message);
  }
}
