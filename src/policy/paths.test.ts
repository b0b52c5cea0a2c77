/**
 * Paths as the upstream's platform reads them, through the policy engine: every Windows form that
 * could leave an allowed tree is refused under `path_style: windows`, and `realpath: true` judges
 * the path its symlinks lead to, on a real directory tree with real links.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConstraintConfig, ServerConfig } from '../config/types.js';
import { compilePolicy, pathsOf, ruleIssues, type Decision, type ServerPaths } from './index.js';
import { foldCase, HOST_PATH_STYLE, MAX_SYMLINKS, resolveSymlinks, PathProblem } from './paths.js';

const SERVERS: ServerPaths = {
  win: { style: 'windows', local: false },
  nix: { style: 'posix', local: true },
  web: { style: HOST_PATH_STYLE, local: false }
};

/** The decision on one `read_file` call with `path` under one constraint, on one server. */
const decide = (c: ConstraintConfig, path: unknown, server = 'win'): Decision =>
  compilePolicy(
    [{ id: 'read', tool: 'read_file', allowed_roles: ['analyst'], parameter_constraints: { path: c } }],
    undefined,
    SERVERS
  ).decide({ roles: ['analyst'], server, tool: 'read_file', args: { path } });

describe('Windows paths (path_style: windows)', () => {
  const prefix = { prefix: 'C:\\data\\public\\' };

  it.each([
    'C:\\data\\public\\a.txt',
    'c:\\data\\public\\a.txt',
    'C:/data/public/a.txt',
    'c:/DATA/Public/a.txt',
    'C:\\data\\public\\sub\\..\\a.txt',
    'C:\\data\\public\\.\\a.txt',
    'C:\\data\\public\\a.b.txt'
  ])('allows %j', (path) => {
    expect(decide(prefix, path)).toMatchObject({ effect: 'allow' });
  });

  it.each([
    ['a traversal', 'C:\\data\\public\\..\\secret.txt', 'does not start with the required prefix'],
    ['a traversal with slashes', 'C:/data/public/../secret.txt', 'does not start with the required prefix'],
    ['a traversal in another case', 'c:\\DATA\\public\\..\\..\\x', 'does not start with the required prefix'],
    ['mixed separators', 'C:\\data/public\\..//secret.txt', 'does not start with the required prefix'],
    [
      'a traversal past the root',
      'C:\\data\\public\\..\\..\\..\\..\\x',
      'does not start with the required prefix'
    ],
    [
      'a doubled separator (as with POSIX paths)',
      'C:\\data\\\\public\\a.txt',
      'does not start with the required prefix'
    ],
    ['another drive', 'D:\\data\\public\\a.txt', 'does not start with the required prefix'],
    [
      'a sibling with the same start',
      'C:\\data\\publicity\\a.txt',
      'does not start with the required prefix'
    ],
    ['a rooted path without a drive', '\\data\\public\\a.txt', 'does not start with the required prefix'],
    ['a relative path', 'data\\public\\a.txt', 'does not start with the required prefix'],
    ['a drive-relative path', 'C:data\\public\\a.txt', "relative to a drive's current directory"],
    ['a bare drive', 'C:', "relative to a drive's current directory"],
    ['an alternate data stream', 'C:\\data\\public\\a.txt:stream', 'alternate data stream'],
    ['the default data stream', 'C:\\data\\public\\a.txt::$DATA', 'alternate data stream'],
    ['a stream on a directory', 'C:\\data\\public:x\\a.txt', 'alternate data stream'],
    ['a verbatim prefix', '\\\\?\\C:\\data\\public\\..\\x', 'device or verbatim path'],
    ['a verbatim prefix inside the tree', '\\\\?\\C:\\data\\public\\a.txt', 'device or verbatim path'],
    ['a verbatim prefix with slashes', '//?/C:/data/public/a.txt', 'device or verbatim path'],
    ['a device prefix', '\\\\.\\C:\\data\\public\\a.txt', 'device or verbatim path'],
    ['an NT object prefix', '\\??\\C:\\data\\public\\a.txt', 'device or verbatim path'],
    ['a UNC path', '\\\\server\\share\\data\\public\\a.txt', 'UNC path'],
    ['a UNC path with slashes', '//server/share/a.txt', 'UNC path'],
    ['a UNC path to the same host', '\\\\localhost\\C$\\data\\public\\a.txt', 'UNC path'],
    ['a trailing dot', 'C:\\data\\public\\x.', 'ending in a dot or a space'],
    ['a trailing space', 'C:\\data\\public\\x ', 'ending in a dot or a space'],
    ['a dot-dot with a space', 'C:\\data\\public\\.. \\secret.txt', 'ending in a dot or a space'],
    ['three dots', 'C:\\data\\public\\...\\secret.txt', 'ending in a dot or a space'],
    ['a directory with a trailing dot', 'C:\\data\\public.\\a.txt', 'ending in a dot or a space'],
    ['a device name', 'C:\\data\\public\\CON', 'reserved Windows device'],
    ['a device name in lower case', 'C:\\data\\public\\nul', 'reserved Windows device'],
    ['a device name with an extension', 'C:\\data\\public\\nul.txt', 'reserved Windows device'],
    ['a device name with a space', 'C:\\data\\public\\aux .txt', 'reserved Windows device'],
    ['a numbered device', 'C:\\data\\public\\COM1', 'reserved Windows device'],
    ['a printer port', 'C:\\data\\public\\lpt9.log', 'reserved Windows device'],
    ['a superscript port', 'C:\\data\\public\\COM¹', 'reserved Windows device'],
    ['the console input', 'C:\\data\\public\\CONIN$', 'reserved Windows device'],
    ['a device as a directory', 'C:\\data\\public\\prn\\a.txt', 'reserved Windows device'],
    ['a NUL byte', 'C:\\data\\public\\a.txt\u0000', 'is not a string path'],
    ['a number', 7, 'is not a string path']
  ])('refuses %s (%j)', (_what, path, why) => {
    const d = decide(prefix, path);
    expect(d).toMatchObject({ effect: 'deny', code: 'constraint_failed' });
    expect(d.reason).toContain(why);
  });

  it('keeps names that only look like devices or streams at a glance', () => {
    for (const path of [
      'C:\\data\\public\\console.txt',
      'C:\\data\\public\\com10',
      'C:\\data\\public\\nul-x'
    ])
      expect(decide(prefix, path).effect).toBe('allow');
  });

  it('a UNC prefix lets UNC paths under it through, and only those', () => {
    const unc = { prefix: '\\\\server\\share\\public\\' };
    expect(decide(unc, '\\\\server\\share\\public\\a.txt').effect).toBe('allow');
    expect(decide(unc, '//SERVER/share/public/a.txt').effect).toBe('allow');
    expect(decide(unc, '\\\\server\\share\\public\\..\\secret').effect).toBe('deny');
    expect(decide(unc, '\\\\server\\share\\public\\..\\..\\..\\x').effect).toBe('deny');
    expect(decide(unc, '\\\\other\\share\\public\\a.txt').effect).toBe('deny');
    expect(decide(unc, '\\\\?\\UNC\\server\\share\\public\\a.txt').reason).toContain('device or verbatim');
    expect(decide(unc, '\\\\server\\share\\public\\a.txt:x').reason).toContain('alternate data stream');
  });

  it('a UNC prefix may be written with slashes; a UNC path allowed by one constraint is still refused by another', () => {
    expect(decide({ prefix: '//server/share/' }, '\\\\server\\share\\a').effect).toBe('allow');
    const p = compilePolicy(
      [
        {
          id: 'both',
          tool: 't',
          allowed_roles: ['analyst'],
          parameter_constraints: { path: { prefix: '\\\\server\\share\\' }, copy: { pattern: '^[A-Z]:' } }
        }
      ],
      undefined,
      SERVERS
    );
    const path = '\\\\server\\share\\a';
    const d = p.decide({ roles: ['analyst'], server: 'win', tool: 't', args: { path, copy: path } });
    expect(d.reason).toBe(
      'rule both: parameter "copy" is a UNC path (\\\\server\\share), which is not allowed'
    );
  });

  it('URLs are left alone; a drive letter followed by // is still a path', () => {
    expect(decide({ pattern: '^https://host/' }, 'https://host/a:b').effect).toBe('allow');
    expect(decide({ pattern: '^https://host/a$' }, 'https://host/b/../a').effect).toBe('deny');
    expect(decide(prefix, 'C://data/public/a.txt').reason).toContain(
      'does not start with the required prefix'
    );
    expect(decide({ prefix: 'C:\\' }, 'C://data/x:y').reason).toContain('alternate data stream');
  });

  it('a pattern sees separators as `\\` and the drive in upper case; (?i) makes it case-blind', () => {
    const pattern = { pattern: '^C:\\\\data\\\\public\\\\[^\\\\]+$' };
    expect(decide(pattern, 'c:/data/public/a.txt').effect).toBe('allow');
    expect(decide(pattern, 'C:\\data\\public\\sub\\..\\..\\secret').effect).toBe('deny');
    expect(decide(pattern, 'C:\\DATA\\public\\a.txt').effect).toBe('deny');
    expect(decide({ pattern: '(?i)^C:\\\\data\\\\public\\\\' }, 'C:\\DATA\\public\\a.txt').effect).toBe(
      'allow'
    );
    expect(decide(pattern, 'C:\\data\\public\\a.txt:s').reason).toContain('alternate data stream');
    expect(decide({ pattern: '^\\\\\\\\server\\\\' }, '\\\\server\\x').reason).toContain('UNC path');
  });

  it('the same rule reads a POSIX server’s paths as POSIX', () => {
    expect(decide(prefix, 'C:\\data\\public\\..\\secret.txt', 'nix').effect).toBe('allow');
    expect(decide({ prefix: '/data/' }, '/data/a:b', 'nix').effect).toBe('allow');
    expect(decide({ prefix: '/data/' }, '/data/a:b').effect).toBe('deny');
  });

  it('with normalize_path: false, the value as sent must start with the prefix as written', () => {
    const raw = { prefix: 'C:\\data\\public\\', normalize_path: false };
    expect(decide(raw, 'C:\\data\\public\\a.txt').effect).toBe('allow');
    expect(decide(raw, 'c:\\data\\public\\a.txt').effect).toBe('deny');
    expect(decide(raw, 'C:/data/public/a.txt').effect).toBe('deny');
  });

  it('a prefix Windows cannot read as a path lets nothing through', () => {
    expect(decide({ prefix: 'C:\\data\\nul\\' }, 'C:\\data\\nul\\a').effect).toBe('deny');
  });

  it('folds case one character at a time, as NTFS does', () => {
    expect(foldCase('c:\\Straße\\ǆ')).toBe('C:\\STRAßE\\Ǆ');
    expect(decide({ prefix: 'C:\\Straße\\' }, 'C:\\STRASSE\\a').effect).toBe('deny');
    expect(decide({ prefix: 'C:\\straße\\' }, 'c:\\STRAßE\\a').effect).toBe('allow');
  });

  it('path styles come from the servers: windows when set, the host style otherwise', () => {
    const base = { timeout_ms: 1, connect_timeout_ms: 10_000, trust_annotations: false, namespace: true };
    const stdio = { isolation: 'shared', idle_timeout_ms: 900_000 } as const;
    const servers: Record<string, ServerConfig> = {
      w: {
        kind: 'stdio',
        command: 'x',
        args: [],
        env: {},
        env_passthrough: [],
        path_style: 'windows',
        ...stdio,
        ...base
      },
      s: { kind: 'stdio', command: 'x', args: [], env: {}, env_passthrough: [], ...stdio, ...base },
      h: { kind: 'http', url: 'http://x', transport: 'sse', headers: {}, ...base }
    };
    expect(pathsOf(servers)).toEqual({
      w: { style: 'windows', local: true },
      s: { style: HOST_PATH_STYLE, local: true },
      h: { style: HOST_PATH_STYLE, local: false }
    });
  });
});

describe.skipIf(process.platform === 'win32')('realpath: true (symlinks resolved on the host)', () => {
  let root: string;
  let allowed: string;
  beforeAll(() => {
    // The prefix must itself be a real path: a temp dir may sit behind a link (macOS /tmp).
    root = realpathSync(mkdtempSync(join(tmpdir(), 'portcullis-paths-')));
    allowed = join(root, 'allowed');
    mkdirSync(allowed);
    mkdirSync(join(root, 'secret'));
    mkdirSync(join(allowed, 'sub'));
    writeFileSync(join(allowed, 'a.txt'), 'a');
    writeFileSync(join(root, 'secret', 'key'), 'k');
    symlinkSync('../secret', join(allowed, 'link'));
    symlinkSync(join(root, 'secret', 'key'), join(allowed, 'abs-link'));
    symlinkSync('sub', join(allowed, 'inner'));
    symlinkSync('../secret/new.txt', join(allowed, 'dangling'));
    symlinkSync('loop-b', join(allowed, 'loop-a'));
    symlinkSync('loop-a', join(allowed, 'loop-b'));
    symlinkSync('self', join(allowed, 'self'));
    symlinkSync('../../secret', join(allowed, 'sub', 'up'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const real = (c: ConstraintConfig = {}) => ({ prefix: `${allowed}/`, realpath: true, ...c });

  it.each([
    ['a plain file', 'a.txt'],
    ['a new file', 'new.txt'],
    ['a new file in a new directory', 'new/dir/x.txt'],
    ['a link that stays inside', 'inner/x'],
    ['a link inside, then up and back in', 'inner/../a.txt']
  ])('allows %s', (_what, rel) => {
    expect(decide(real(), `${allowed}/${rel}`, 'nix')).toMatchObject({ effect: 'allow' });
  });

  it.each([
    ['a link out of the tree', 'link', 'does not start with the required prefix'],
    ['a file through a link out', 'link/key', 'does not start with the required prefix'],
    ['a new file through a link out', 'link/new.txt', 'does not start with the required prefix'],
    ['an absolute link out', 'abs-link', 'does not start with the required prefix'],
    ['a dangling link out', 'dangling', 'does not start with the required prefix'],
    ['a nested link out', 'sub/up/key', 'does not start with the required prefix'],
    [
      '`..` after a link, as the kernel reads it',
      'link/../secret/key',
      'does not start with the required prefix'
    ],
    ['a loop of two links', 'loop-a', 'symlink loop'],
    ['a link to itself', 'self/x', 'symlink loop'],
    ['a file used as a directory', 'a.txt/x', 'ENOTDIR']
  ])('refuses %s', (_what, rel, why) => {
    const d = decide(real(), `${allowed}/${rel}`, 'nix');
    expect(d).toMatchObject({ effect: 'deny', code: 'constraint_failed' });
    expect(d.reason).toContain(why);
  });

  it('without realpath a link out of the tree passes, as before (the server follows it)', () => {
    expect(decide({ prefix: `${allowed}/` }, `${allowed}/link/key`, 'nix').effect).toBe('allow');
    expect(decide({ prefix: `${allowed}/` }, `${allowed}/loop-a`, 'nix').effect).toBe('allow');
  });

  it('the reason names where the path leads', () => {
    expect(decide(real(), `${allowed}/link/key`, 'nix').reason).toBe(
      `rule read: parameter "path" resolves to "${root}/secret/key" (symlinks followed), which does not start with the required prefix`
    );
  });

  it('checks the resolved path against a pattern too', () => {
    const re = `^${allowed.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/`;
    expect(decide({ pattern: re, realpath: true }, `${allowed}/a.txt`, 'nix').effect).toBe('allow');
    expect(decide({ pattern: re, realpath: true }, `${allowed}/link/key`, 'nix').reason).toContain(
      'which does not match the pattern'
    );
  });

  it('refuses what it cannot resolve: a relative path, a server on another host, another style', () => {
    expect(decide(real({ prefix: 'allowed/' }), 'allowed/a.txt', 'nix').reason).toContain(
      'not an absolute path'
    );
    expect(decide(real(), `${allowed}/a.txt`, 'web').reason).toContain(
      "does not share the gateway's file system"
    );
    expect(decide(real({ prefix: 'C:\\data\\' }), 'C:\\data\\a.txt', 'win').reason).toContain(
      "does not share the gateway's file system"
    );
    const local = compilePolicy(
      [{ tool: 't', allowed_roles: ['a'], parameter_constraints: { p: real({ prefix: 'C:\\data\\' }) } }],
      undefined,
      { w: { style: 'windows', local: true } }
    );
    expect(
      local.decide({ roles: ['a'], server: 'w', tool: 't', args: { p: 'C:\\data\\a' } }).reason
    ).toContain('windows paths on a posix host');
  });

  it('resolveSymlinks: bounded, and every error is a problem, never a throw', () => {
    expect(resolveSymlinks(`${allowed}/inner/x`)).toBe(`${allowed}/sub/x`);
    expect(resolveSymlinks(`${allowed}/link/../secret/key`)).toBe(`${root}/secret/key`);
    expect(resolveSymlinks('/')).toBe('/');
    expect(resolveSymlinks(`${allowed}//./inner/./x`)).toBe(`${allowed}/sub/x`);
    expect(resolveSymlinks(`${allowed}/../allowed/inner`)).toBe(`${allowed}/sub`);

    const loop = resolveSymlinks(`${allowed}/loop-a`);
    expect(loop).toBeInstanceOf(PathProblem);
    expect((loop as PathProblem).problem).toContain(`more than ${MAX_SYMLINKS} symlinks`);
  });

  it('a constraint with realpath needs a pattern or prefix to check', () => {
    const issues = ruleIssues(
      [{ tool: 't', parameter_constraints: { p: { realpath: true, maxLength: 5 } } }],
      [],
      false
    );
    expect(issues.map((i) => i.message)).toEqual([
      'realpath checks the resolved path against a pattern or prefix; this constraint has neither'
    ]);
  });
});
