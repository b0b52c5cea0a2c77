/**
 * The one error type of `init`, `wrap` and `unwrap`: a problem the user can fix (a file that
 * cannot be read or parsed, a name clash, a missing backup). The message always names the file.
 */
import { LocalError } from '../errors.js';

export class SetupError extends LocalError {
  constructor(
    message: string,
    /** The file the problem is in, when there is one. */
    readonly file?: string
  ) {
    super('setup_failed', message);
  }
}
