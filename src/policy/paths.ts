/**
 * Paths as the upstream's platform reads them. A POSIX path is normalised lexically (see
 * constraints.ts); a Windows path is read the way Win32 reads it, and the forms that Windows
 * would turn into something else (device and verbatim prefixes, UNC shares, alternate data
 * streams, reserved device names, names ending in a dot or a space) are refused rather than
 * guessed at. `resolveSymlinks` follows symlinks on the gateway's own file system, for
 * `realpath: true`.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import nodePath, { win32 } from 'node:path';

export type PathStyle = 'posix' | 'windows';

/** The gateway host's own path style: the default for every server. */
export const HOST_PATH_STYLE: PathStyle = process.platform === 'win32' ? 'windows' : 'posix';

/** How a server reads paths: its style, and whether it shares the gateway's file system. */
export interface PathContext {
  readonly style: PathStyle;
  /** A stdio server runs on the gateway's host, so `realpath` may resolve its paths there. */
  readonly local: boolean;
}

export const HOST_PATHS: PathContext = { style: HOST_PATH_STYLE, local: true };

/** Why a string cannot be judged as a path; checks report it as it stands. */
export class PathProblem {
  constructor(readonly problem: string) {}
}

/** A Windows path as sent with its separators and drive letter made uniform, and fully normalised. */
interface WindowsForms {
  /** `/` read as `\`, the drive letter upper-case; `.` and `..` left as sent. */
  readonly sent: string;
  /** `.` and `..` resolved and repeated separators collapsed, as Win32 does. */
  readonly full: string;
}

const URL_LIKE_WINDOWS = /^[A-Za-z][A-Za-z0-9+.-]+:\/\//;
/** `\\?\`, `\\.\` and `\??\`: paths Win32 passes to the kernel without its own normalisation. */
const DEVICE_PREFIX = /^(\\\\[?.](\\|$)|\\\?\?\\)/;
/** Names Win32 maps to devices in any directory, whatever the extension: `C:\data\nul.txt` is NUL. */
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)$/i;

/**
 * Read a string as Win32 reads a path. `uncAllowed`: a UNC path (`\\server\share\...`) is judged
 * like any other instead of refused (the constraint's prefix is itself UNC). Strings that look
 * like URLs (`scheme://`, a scheme of two or more letters so that `C://` stays a path) are left
 * alone.
 */
export function windowsForms(value: string, uncAllowed: boolean): WindowsForms | PathProblem {
  if (value === lastWin && uncAllowed === lastUnc) return lastWinOut;
  const out = readWindows(value, uncAllowed);
  lastWin = value;
  lastUnc = uncAllowed;
  lastWinOut = out;
  return out;
}
// One call checks the same argument under several rules: remember the last reading.
let lastWin: string | undefined;
let lastUnc = false;
let lastWinOut: WindowsForms | PathProblem = new PathProblem('');

function readWindows(value: string, uncAllowed: boolean): WindowsForms | PathProblem {
  if (value.includes('\0')) return new PathProblem('is not a string path');
  if (value === '' || URL_LIKE_WINDOWS.test(value)) return { sent: value, full: value };
  let s = value.replace(/\//g, '\\');
  if (DEVICE_PREFIX.test(s))
    return new PathProblem('is a Windows device or verbatim path (\\\\?\\, \\\\.\\), which is not allowed');
  const unc = s.startsWith('\\\\');
  if (unc && !uncAllowed) return new PathProblem('is a UNC path (\\\\server\\share), which is not allowed');
  const drive = /^[A-Za-z]:/.test(s);
  if (drive) {
    if (s[2] !== '\\')
      return new PathProblem("is relative to a drive's current directory (C:name), which is not allowed");
    s = s[0]!.toUpperCase() + s.slice(1);
  }
  if (s.includes(':', drive ? 2 : 0))
    return new PathProblem('names an alternate data stream (":"), which is not allowed');
  for (const segment of s.split('\\')) {
    if (segment === '' || segment === '.' || segment === '..') continue;
    if (/[. ]$/.test(segment))
      return new PathProblem(
        'has a name ending in a dot or a space (Windows drops them), which is not allowed'
      );
    if (RESERVED.test(segment.split('.')[0]!.trimEnd()))
      return new PathProblem('names a reserved Windows device (CON, NUL, COM1...), which is not allowed');
  }
  let full = win32.normalize(s);
  if (drive) full = full[0]!.toUpperCase() + full.slice(1);
  return { sent: s, full };
}

/**
 * Windows compares names without regard to case, one character at a time (NTFS upper-cases each
 * UTF-16 unit on its own): a character whose upper case is longer, like `ß`, stays as it is.
 */
export function foldCase(s: string): string {
  let out = '';
  for (const ch of s) {
    const up = ch.toUpperCase();
    out += up.length === ch.length ? up : ch;
  }
  return out;
}

/** Symlinks followed in one resolution before it counts as a loop (Linux's own limit). */
export const MAX_SYMLINKS = 40;

/**
 * Resolve every symlink in an absolute path on the gateway's host, the way the kernel does: `..`
 * after a link goes up from where the link led. A path that does not exist (yet) resolves through
 * its nearest existing parent plus the remaining names, so a dangling link is followed too. Bounded
 * by MAX_SYMLINKS; any error (a loop, no permission, a file used as a directory) is a PathProblem.
 * Synchronous: a few lstat calls on the local file system, only for constraints that ask for it.
 */
export function resolveSymlinks(path: string): string | PathProblem {
  const p = nodePath;
  if (!p.isAbsolute(path))
    return new PathProblem('is not an absolute path, so its symlinks cannot be resolved');
  const root = p.parse(path).root;
  let done = root;
  // A stack of the names still to walk, the next one last.
  const todo = split(path.slice(root.length)).reverse();
  let links = 0;
  while (todo.length > 0) {
    const name = todo.pop()!;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      done = p.dirname(done);
      continue;
    }
    const next = p.join(done, name);
    let isLink: boolean;
    try {
      isLink = lstatSync(next).isSymbolicLink();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Nothing here yet: no link further down can exist either.
      if (code === 'ENOENT') return p.join(next, ...todo.reverse());
      return new PathProblem(`cannot be resolved on the gateway's host (${code ?? (err as Error).message})`);
    }
    if (!isLink) {
      done = next;
      continue;
    }
    if (++links > MAX_SYMLINKS)
      return new PathProblem(`cannot be resolved: more than ${MAX_SYMLINKS} symlinks (a symlink loop)`);
    let target: string;
    try {
      target = readlinkSync(next);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return new PathProblem(`cannot be resolved on the gateway's host (${code ?? (err as Error).message})`);
    }
    let rest = target;
    if (p.isAbsolute(target)) {
      done = p.parse(target).root;
      rest = target.slice(done.length);
    }
    todo.push(...split(rest).reverse());
  }
  return done;
}

function split(s: string): string[] {
  return nodePath.sep === '\\' ? s.split(/[\\/]/) : s.split('/');
}
