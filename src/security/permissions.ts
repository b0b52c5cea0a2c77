/**
 * Like ssh with its keys, the gateway will not run on a config or token file that someone else
 * could have changed: a file writable by group or others, or owned by another user, is refused,
 * with the command that fixes it.
 */
import { statSync } from 'node:fs';

/** Who is asking and where; the running process by default (tests pass others). */
export interface Runner {
  /** The effective user id, or undefined where there is none (Windows). */
  uid: number | undefined;
  platform: NodeJS.Platform;
}

const PROCESS: Runner = {
  uid: typeof process.getuid === 'function' ? process.getuid() : undefined,
  platform: process.platform
};

export function permissionProblems(files: readonly string[], runner: Runner = PROCESS): string[] {
  const problems: string[] = [];
  const { uid, platform } = runner;
  for (const file of files) {
    let st;
    try {
      st = statSync(file);
    } catch (err) {
      problems.push(`${file}: ${(err as Error).message}`);
      continue;
    }
    // Windows has no such mode bits or owners: its ACLs are not checked here.
    if (platform === 'win32') continue;
    if ((st.mode & 0o022) !== 0) {
      problems.push(
        `${file} is writable by ${st.mode & 0o020 ? 'its group' : 'others'}; fix it with: chmod go-w ${file}`
      );
    }
    // Root may own what another user runs (e.g. a config under /etc); any other owner may not.
    if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
      problems.push(`${file} is owned by another user (uid ${st.uid}); fix it with: chown ${uid} ${file}`);
    }
  }
  return problems;
}
