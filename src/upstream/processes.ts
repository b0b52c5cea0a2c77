/**
 * The gateway's count of upstream processes, bounded by `limits.max_upstream_processes`. A process
 * holds its slot from just before it is spawned until it has exited. A shared server's one process
 * is counted but never refused (it serves every session); a session's own process of an
 * `isolation: session` server is refused past the bound.
 */
import { GatewayError } from '../errors.js';

export class ProcessBudget {
  private live = 0;

  constructor(readonly max: number) {}

  /** Processes running (or starting) now. */
  get count(): number {
    return this.live;
  }

  /**
   * Take a slot for one process; returns the function that gives it back (once, however often it
   * is called). Throws `upstream_processes_full` past the bound unless `always`.
   */
  take(server: string, always: boolean): () => void {
    if (!always && this.live >= this.max) {
      throw new GatewayError(
        'upstream_processes_full',
        `${server}: limits.max_upstream_processes (${this.max}) reached; no process started for this session`
      );
    }
    this.live++;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.live--;
    };
  }
}
