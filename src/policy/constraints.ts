/**
 * Parameter constraints, compiled once into closures. Patterns run on RE2 (re2js): linear time,
 * no backtracking, whatever the input. Path-like strings are normalised before any check sees
 * them, as the upstream's platform reads them (paths.ts), so `/data/public/../secret` is judged as
 * `/data/secret` and `C:\data\public\..\secret` as `C:\data\secret`. With `realpath: true` the
 * path with its symlinks resolved on the gateway's host must pass too.
 */
import { posix } from 'node:path';
import { RE2JS } from 're2js';
import type { ConstraintConfig } from '../config/types.js';
import {
  foldCase,
  HOST_PATH_STYLE,
  HOST_PATHS,
  PathProblem,
  resolveSymlinks,
  windowsForms,
  type PathContext
} from './paths.js';

/**
 * Returns undefined when the value passes, or why it fails. `paths`: how the call's server reads
 * paths (default: the gateway host's style, on its file system).
 */
export type ConstraintCheck = (args: Record<string, unknown>, paths?: PathContext) => string | undefined;

function compilePattern(pattern: string): RE2JS {
  return RE2JS.compile(pattern);
}

/** Why a pattern cannot be used, or undefined when it compiles on RE2. */
export function patternProblem(pattern: string): string | undefined {
  try {
    RE2JS.compile(pattern);
    return undefined;
  } catch (err) {
    return `not a valid RE2 pattern: ${(err as Error).message}`;
  }
}

/**
 * Normalise a path-like string: resolve `.` and `..` segments and repeated slashes. Strings that
 * look like URLs (`scheme://`) are left alone. A NUL byte makes the value unusable as a path.
 */
export function normalizePath(value: string): string | undefined {
  if (value === lastIn) return lastOut;
  let out: string | undefined;
  if (value.includes('\0')) out = undefined;
  else if (value === '' || URL_LIKE.test(value)) out = value;
  else out = posix.normalize(value);
  lastIn = value;
  lastOut = out;
  return out;
}
// One call checks the same argument under several rules: remember the last normalisation.
let lastIn: string | undefined;
let lastOut: string | undefined;
const URL_LIKE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * A pattern that is `^` followed by plain characters is a prefix test; run it as one, which is
 * the common case for paths and ten times cheaper than a regex match. Anything else runs on RE2.
 */
function literalPrefix(pattern: string): string | undefined {
  const m = /^\^((?:[^\\.^$|?*+()[\]{}]|\\[\\.^$|?*+()[\]{}/-])*)$/.exec(pattern);
  if (!m) return undefined;
  return m[1]!.replace(/\\(.)/g, '$1');
}

export function compileConstraint(name: string, c: ConstraintConfig): ConstraintCheck {
  const checks: Array<(v: unknown, paths: PathContext) => string | undefined> = [];
  const normalise = c.normalize_path !== false;
  /**
   * The forms of a string a pattern or prefix must accept: the string as sent and, for paths, its
   * normalised form. Both must pass, so `/data/public/../secret` fails a `/data/public/` prefix
   * (normalised) and `rm -rf ~ x/../ls` fails `^(ls|pwd)$` (as sent), though normalising it alone
   * would give `ls`. Windows paths: both forms with `/` read as `\` and the drive upper-case.
   * A problem when the value is not a string, holds a NUL byte or is a refused Windows form.
   */
  const forms = (v: unknown, windows: boolean): string[] | string => {
    if (typeof v !== 'string') return 'is not a string path';
    if (!normalise) return [v];
    if (windows) {
      const w = windowsForms(v, uncAllowed);
      if (w instanceof PathProblem) return w.problem;
      return w.full === w.sent ? [w.sent] : [w.sent, w.full];
    }
    const n = normalizePath(v);
    if (n === undefined) return 'is not a string path';
    return n === v ? [v] : [v, n];
  };
  /** The tests of a path, in order; each says how it fails. */
  const tests: Array<{ pass: (s: string, windows: boolean) => boolean; fails: string }> = [];
  if (c.pattern !== undefined) {
    const prefix = literalPrefix(c.pattern);
    const re = compilePattern(c.pattern);
    const matches =
      prefix !== undefined ? (s: string) => s.startsWith(prefix) : (s: string) => re.matcher(s).find();
    tests.push({ pass: matches, fails: 'does not match the pattern' });
  }
  // A Windows prefix is read like the paths it is compared with, and compared without regard to case.
  let uncAllowed = false;
  if (c.prefix !== undefined) {
    const prefix = c.prefix;
    let windowsPrefix: string | undefined;
    if (normalise) {
      uncAllowed = prefix.replace(/\//g, '\\').startsWith('\\\\');
      const w = windowsForms(prefix, uncAllowed);
      // A prefix Windows cannot read as a path lets nothing through.
      if (!(w instanceof PathProblem)) windowsPrefix = foldCase(w.full);
    } else windowsPrefix = prefix;
    tests.push({
      pass: (s, windows) =>
        !windows
          ? s.startsWith(prefix)
          : windowsPrefix !== undefined && (normalise ? foldCase(s) : s).startsWith(windowsPrefix),
      fails: 'does not start with the required prefix'
    });
  }
  const realpath = c.realpath === true;
  if (tests.length > 0) {
    checks.push((v, paths) => {
      const windows = paths.style === 'windows';
      const all = forms(v, windows);
      if (typeof all === 'string') return all;
      for (const t of tests) if (!all.every((s) => t.pass(s, windows))) return t.fails;
      if (!realpath) return undefined;
      const real = resolved(v as string, all, paths);
      if (real instanceof PathProblem) return real.problem;
      for (const t of tests)
        if (!t.pass(real, windows)) return `resolves to "${real}" (symlinks followed), which ${t.fails}`;
      return undefined;
    });
  }
  if (c.maxLength !== undefined) {
    const max = c.maxLength;
    checks.push((v) => {
      if (typeof v !== 'string') return 'is not a string';
      return [...v].length <= max ? undefined : `is longer than ${max} characters`;
    });
  }
  if (c.min !== undefined || c.max !== undefined) {
    const { min, max } = c;
    checks.push((v) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) return 'is not a number';
      if (min !== undefined && v < min) return `is below the minimum ${min}`;
      if (max !== undefined && v > max) return `is above the maximum ${max}`;
      return undefined;
    });
  }
  if (c.enum !== undefined) {
    const allowed = c.enum.map((e) => JSON.stringify(e));
    checks.push((v) =>
      allowed.includes(JSON.stringify(v)) ? undefined : 'is not one of the allowed values'
    );
  }
  const optional = c.optional === true;
  return (args, paths = HOST_PATHS) => {
    if (!Object.prototype.hasOwnProperty.call(args, name) || args[name] === undefined) {
      return optional ? undefined : `parameter "${name}" is missing`;
    }
    const value = args[name];
    // A list is checked element by element: every element must pass. An empty list has nothing to
    // check, so it counts as absent.
    if (Array.isArray(value) && value.length === 0 && !optional)
      return `parameter "${name}" is an empty list`;
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      for (const check of checks) {
        const problem = check(v, paths);
        if (problem) return `parameter "${name}" ${problem}`;
      }
    }
    return undefined;
  };
}

/**
 * The path with its symlinks resolved on the gateway's host, for `realpath: true`. The kernel reads
 * a POSIX path as sent (`..` after a link goes up from where it led); Win32 normalises first.
 */
function resolved(sent: string, forms: string[], paths: PathContext): string | PathProblem {
  if (!paths.local)
    return new PathProblem(
      "cannot be resolved: its server does not share the gateway's file system (realpath needs a stdio server)"
    );
  if (paths.style !== HOST_PATH_STYLE)
    return new PathProblem(`cannot be resolved: ${paths.style} paths on a ${HOST_PATH_STYLE} host`);
  return resolveSymlinks(paths.style === 'windows' ? forms[forms.length - 1]! : sent);
}

/** What each failure says the argument must be instead. */
const EXPECTED: ReadonlyArray<[RegExp, string]> = [
  [/^is missing$/, 'is required'],
  [/^is an empty list$/, 'must not be an empty list'],
  [/^is not a string( path)?$/, 'must be a string'],
  [/^does not match the pattern$/, 'must match the pattern the policy sets for it'],
  [/^does not start with the required prefix$/, 'must start with the prefix the policy allows'],
  [/^is longer than (\d+) characters$/, 'must be at most $1 characters long'],
  [/^is not a number$/, 'must be a number'],
  [/^is below the minimum (-?[\d.e+-]+)$/, 'must be at least $1'],
  [/^is above the maximum (-?[\d.e+-]+)$/, 'must be at most $1'],
  [/^is not one of the allowed values$/, 'must be one of the values the policy allows']
];

/**
 * The public side of a constraint failure, for the agent: which argument, and what it must be.
 * Built from the failure alone, which never holds the value; a pattern, prefix or list of allowed
 * values stays in the policy (the audit record names the rule).
 */
export function constraintHint(problem: string): string {
  const m = /^parameter ("(?:[^"\\]|\\.)*") (.*)$/.exec(problem);
  if (!m) return 'an argument breaks a parameter constraint';
  const [, name, failure] = m;
  for (const [pattern, expected] of EXPECTED) {
    if (pattern.test(failure!)) return `argument ${name} ${failure!.replace(pattern, expected)}`;
  }
  return `argument ${name} breaks a parameter constraint`;
}
