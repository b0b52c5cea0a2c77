/**
 * Like ssh with its keys, the gateway will not run on a config or token file that someone else
 * could have changed: a file writable by group or others, or owned by another user, is refused,
 * with the command that fixes it.
 */
import { statSync } from 'node:fs';

export function permissionProblems(files: readonly string[]): string[] {
  const problems: string[] = [];
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  for (const file of files) {
    let st;
    try {
      st = statSync(file);
    } catch (err) {
      problems.push(`${file}: ${(err as Error).message}`);
      continue;
    }
    if (process.platform === 'win32') continue;
    if ((st.mode & 0o022) !== 0) {
      problems.push(
        `${file} is writable by ${st.mode & 0o020 ? 'its group' : 'others'}; fix it with: chmod go-w ${file}`
      );
    }
    if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
      problems.push(`${file} is owned by another user (uid ${st.uid}); fix it with: chown ${uid} ${file}`);
    }
  }
  return problems;
}
