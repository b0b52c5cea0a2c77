/**
 * The file operations of `wrap` and `unwrap`: backups that never overwrite one another
 * (`<file>.portcullis-backup`, then `.portcullis-backup.2`, ...), finding the newest, and writes
 * that replace a file in one step and keep its permissions.
 */
import {
  chmodSync,
  constants,
  copyFileSync,
  existsSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SetupError } from './errors.js';

export const BACKUP_SUFFIX = '.portcullis-backup';

function backupName(file: string, n: number): string {
  return n === 1 ? `${file}${BACKUP_SUFFIX}` : `${file}${BACKUP_SUFFIX}.${n}`;
}

/** Copy `file` to the first free backup name; an existing backup is never replaced. */
export function createBackup(file: string): string {
  for (let n = 1; ; n++) {
    const target = backupName(file, n);
    try {
      copyFileSync(file, target, constants.COPYFILE_EXCL);
      return target;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/** Every backup of `file`, oldest first (by number). */
export function listBackups(file: string): string[] {
  const dir = dirname(file);
  const prefix = `${basename(file)}${BACKUP_SUFFIX}`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((name) => {
      if (name === prefix) return { name, n: 1 };
      const m = /^\.(\d+)$/.exec(name.slice(prefix.length));
      return name.startsWith(prefix) && m ? { name, n: Number(m[1]) } : undefined;
    })
    .filter((b): b is { name: string; n: number } => b !== undefined)
    .sort((x, y) => x.n - y.n)
    .map((b) => join(dir, b.name));
}

/** The newest backup of `file`, if there is one. */
export function newestBackup(file: string): string | undefined {
  return listBackups(file).at(-1);
}

/** Replace `path` with `text` in one step (a temporary file renamed over it), keeping its mode. */
export function writeFileAtomic(path: string, text: string | Uint8Array, newMode = 0o644): void {
  // Write through a symlink (a dotfiles checkout) rather than replace it.
  const file = existsSync(path) ? realpathSync(path) : path;
  const mode = existsSync(file) ? statSync(file).mode & 0o7777 : newMode;
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(temp, text, { mode, flag: 'wx' });
    chmodSync(temp, mode);
    renameSync(temp, file);
  } catch (e) {
    rmSync(temp, { force: true });
    throw new SetupError(`cannot write ${file}: ${(e as Error).message}`, file);
  }
}
