import { chmodSync, chownSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { permissionProblems, type Runner } from './permissions.js';

const dir = mkdtempSync(join(tmpdir(), 'pcl-perm-'));
let n = 0;
function file(mode: number): string {
  const path = join(dir, `f${n++}.yaml`);
  writeFileSync(path, 'x: 1\n');
  chmodSync(path, mode);
  return path;
}
const isRoot = process.getuid?.() === 0;

describe('permissionProblems', () => {
  it.each([0o600, 0o640, 0o644, 0o400, 0o755])('accepts a file only its owner can write (%o)', (mode) => {
    expect(permissionProblems([file(mode)])).toEqual([]);
  });

  it.each([
    [0o620, 'its group'],
    [0o660, 'its group'],
    [0o602, 'others'],
    [0o606, 'others'],
    [0o666, 'its group'],
    [0o622, 'its group']
  ])('refuses a file writable by group or others (%o: %s)', (mode, who) => {
    const path = file(mode);
    const problems = permissionProblems([path]);
    expect(problems).toEqual([`${path} is writable by ${who}; fix it with: chmod go-w ${path}`]);
  });

  it('names a file that does not exist instead of passing it', () => {
    const missing = join(dir, 'absent.yaml');
    const problems = permissionProblems([missing]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(missing);
  });

  it('checks every file it is given, not only the first', () => {
    const good = file(0o600);
    const bad = file(0o620);
    expect(permissionProblems([good, bad])).toHaveLength(1);
    expect(permissionProblems([bad, good])).toHaveLength(1);
    expect(permissionProblems([bad, file(0o602)])).toHaveLength(2);
  });

  // Changing a file's owner needs root; CI runs as root.
  it.runIf(isRoot)('refuses a file owned by another user, and accepts its own', () => {
    const other = file(0o600);
    chownSync(other, 65534, 65534);
    const problems = permissionProblems([other]);
    expect(problems).toEqual([
      `${other} is owned by another user (uid 65534); fix it with: chown 0 ${other}`
    ]);
    expect(permissionProblems([file(0o600)])).toEqual([]);
  });
});

describe('permissionProblems for another runner', () => {
  // Files owned by root and by nobody (65534), checked as if by user 1000, by root, on Windows.
  const owned = (uid: number, mode = 0o600) => {
    const path = file(mode);
    if (isRoot) chownSync(path, uid, uid);
    return path;
  };
  const as = (uid: number | undefined, platform: NodeJS.Platform = 'linux'): Runner => ({ uid, platform });

  it.runIf(isRoot)('lets root own a file another user runs, but no other user', () => {
    const byRoot = owned(0);
    const byNobody = owned(65534);
    const byUser = owned(1000);
    expect(permissionProblems([byRoot], as(1000))).toEqual([]);
    expect(permissionProblems([byUser], as(1000))).toEqual([]);
    expect(permissionProblems([byNobody], as(1000))).toEqual([
      `${byNobody} is owned by another user (uid 65534); fix it with: chown 1000 ${byNobody}`
    ]);
    expect(permissionProblems([byUser], as(0))).toEqual([
      `${byUser} is owned by another user (uid 1000); fix it with: chown 0 ${byUser}`
    ]);
  });

  it.runIf(isRoot)('checks no owner where there are no user ids, but still the mode bits', () => {
    const byNobody = owned(65534, 0o620);
    expect(permissionProblems([byNobody], as(undefined))).toEqual([
      `${byNobody} is writable by its group; fix it with: chmod go-w ${byNobody}`
    ]);
  });

  it('checks neither mode bits nor owners on Windows, but still that the file exists', () => {
    expect(permissionProblems([file(0o666)], as(1000, 'win32'))).toEqual([]);
    expect(permissionProblems([join(dir, 'absent.yaml')], as(1000, 'win32'))).toHaveLength(1);
    expect(permissionProblems([file(0o666)], as(1000, 'darwin'))).toHaveLength(1);
  });
});
