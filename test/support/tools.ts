/**
 * The programs a test file needs, found as `npm test`'s pre-test step finds them
 * (scripts/test-deps.mjs). Describe what needs one with its `describe`: when the program is
 * missing, that describe is skipped and its name says which program and how to install it. Under
 * CI nothing is skipped, so a missing program fails the run.
 */
import { describe, type TestOptions } from 'vitest';
import { findTools, missingNote } from '../../scripts/test-deps.mjs';

export interface DescribeWithTool {
  (name: string, fn: () => void): void;
  (name: string, options: TestOptions, fn: () => void): void;
}

export interface NeededTool {
  /** Where it is; undefined when missing. */
  readonly path: string | undefined;
  /** Missing, and not under CI. */
  readonly skip: boolean;
  /** `describe`, skipped when `skip`, with what is missing and how to install it after the name. */
  readonly describe: DescribeWithTool;
}

/** `tool` as named in scripts/test-deps.mjs: redis-server, postgres, chromium, openssl, … */
export function needTool(tool: string): NeededTool {
  const path = findTools()[tool];
  const skip = path === undefined && !process.env.CI;
  const note = path === undefined ? ` (skipped: ${missingNote(tool)})` : '';
  const suite = describe.skipIf(skip);
  const describeWith = ((name: string, a: TestOptions | (() => void), b?: () => void) => {
    if (typeof a === 'function') suite(name + note, a);
    else suite(name + note, a, b);
  }) as DescribeWithTool;
  return { path, skip, describe: describeWith };
}
