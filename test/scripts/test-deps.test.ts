// Tests of `npm test`'s pre-test step (scripts/test-deps.mjs), run as a process with a PATH of
// stand-ins: a user who is not root is stopped at once with the packages and the command; root has
// them installed by apt-get. The apt-get here is a stand-in that records how it was called and, when
// told to, puts the programs in place; the real one is never run.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../scripts/test-deps.mjs', import.meta.url));
const ALL_PACKAGES = 'redis-server postgresql chromium openssl util-linux';
const PATH_TOOLS = ['redis-server', 'chromium', 'openssl', 'unshare', 'setpriv', 'prlimit'];

interface Machine {
  bin: string;
  pgRoot: string;
  aptLog: string;
}

function executable(path: string, text: string): void {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

/** An empty PATH folder and an empty PostgreSQL folder; apt-get only when asked. */
function machine(options: { aptGet?: 'installs' | 'installs-nothing' } = {}): Machine {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-test-deps-'));
  const m = { bin: join(dir, 'bin'), pgRoot: join(dir, 'postgresql'), aptLog: join(dir, 'apt.log') };
  mkdirSync(m.bin);
  mkdirSync(m.pgRoot);
  if (options.aptGet) {
    // A stand-in apt-get: appends its arguments and DEBIAN_FRONTEND to the log, and on `install`
    // (when it installs) puts every program in place.
    const installs = options.aptGet === 'installs';
    executable(
      join(m.bin, 'apt-get'),
      `#!${process.execPath}
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(m.aptLog)}, JSON.stringify({ args, frontend: process.env.DEBIAN_FRONTEND }) + '\\n');
if (${installs} && args[0] === 'install') {
  for (const t of ${JSON.stringify(PATH_TOOLS)}) {
    fs.writeFileSync(path.join(${JSON.stringify(m.bin)}, t), '#!/bin/sh\\n', { mode: 0o755 });
  }
  const pg = path.join(${JSON.stringify(m.pgRoot)}, '17', 'bin');
  fs.mkdirSync(pg, { recursive: true });
  for (const t of ['initdb', 'postgres']) fs.writeFileSync(path.join(pg, t), '#!/bin/sh\\n', { mode: 0o755 });
}
`
    );
  }
  return m;
}

function installTools(m: Machine, except: string[] = []): void {
  for (const t of PATH_TOOLS) if (!except.includes(t)) executable(join(m.bin, t), '#!/bin/sh\n');
  if (except.includes('postgres')) return;
  mkdirSync(join(m.pgRoot, '16', 'bin'), { recursive: true });
  for (const t of ['initdb', 'postgres']) executable(join(m.pgRoot, '16', 'bin', t), '#!/bin/sh\n');
}

function run(m: Machine, uid: number) {
  const r = spawnSync(process.execPath, [SCRIPT], {
    env: { PATH: m.bin, PORTCULLIS_PG_ROOT: m.pgRoot, PORTCULLIS_TEST_DEPS_UID: String(uid) },
    encoding: 'utf8',
    // A bound, not a measurement: a step that waited on anything would be killed here.
    timeout: 15_000
  });
  const aptCalls = existsSync(m.aptLog)
    ? readFileSync(m.aptLog, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { args: string[]; frontend?: string })
    : [];
  return { status: r.status, signal: r.signal, out: r.stdout, err: r.stderr, aptCalls };
}

describe('the pre-test step as a user who is not root', () => {
  it('stops at once, naming every missing package and the command that installs them', () => {
    const m = machine({ aptGet: 'installs' });
    const r = run(m, 1000);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    for (const tool of ['redis-server', 'postgres', 'chromium', 'openssl', 'unshare', 'setpriv', 'prlimit'])
      expect(r.err).toContain(`  ${tool} (Debian package `);
    expect(r.err).toContain(`sudo apt-get install -y --no-install-recommends ${ALL_PACKAGES}\n`);
    expect(r.err).toContain('PORTCULLIS_PG_BIN');
    // It installs nothing itself.
    expect(r.aptCalls).toEqual([]);
  });

  it('names only what is missing', () => {
    const m = machine({ aptGet: 'installs' });
    installTools(m, ['redis-server', 'postgres']);
    const r = run(m, 1000);
    expect(r.status).toBe(1);
    expect(r.err).toContain('sudo apt-get install -y --no-install-recommends redis-server postgresql\n');
    expect(r.err).not.toMatch(/chromium|openssl|util-linux/);
    expect(r.aptCalls).toEqual([]);
  });

  it('without apt-get, names the packages for another package manager', () => {
    const m = machine();
    installTools(m, ['chromium']);
    const r = run(m, 1000);
    expect(r.status).toBe(1);
    expect(r.err).toContain('no apt-get');
    expect(r.err).toContain('install chromium with its package manager');
    expect(r.err).not.toContain('sudo');
  });

  it('passes, and calls nothing, when every program is there', () => {
    const m = machine({ aptGet: 'installs' });
    installTools(m);
    const r = run(m, 1000);
    expect(r.status).toBe(0);
    expect(r.out).toContain('found');
    expect(r.aptCalls).toEqual([]);
  });
});

describe('the pre-test step as root', () => {
  it('installs the missing packages with apt-get, non-interactively, and passes once they are there', () => {
    const m = machine({ aptGet: 'installs' });
    installTools(m, ['chromium', 'postgres']);
    const r = run(m, 0);
    expect(r.err).toBe('');
    expect(r.status).toBe(0);
    expect(r.aptCalls).toEqual([
      { args: ['update', '-qq'], frontend: 'noninteractive' },
      {
        args: ['install', '-y', '-qq', '--no-install-recommends', 'postgresql', 'chromium'],
        frontend: 'noninteractive'
      }
    ]);
    expect(r.out).toContain('installed postgresql chromium');
  });

  it('fails, naming what is still missing, when apt-get did not bring it', () => {
    const m = machine({ aptGet: 'installs-nothing' });
    const r = run(m, 0);
    expect(r.status).toBe(1);
    expect(r.aptCalls.map((c) => c.args[0])).toEqual(['update', 'install']);
    expect(r.err).toContain(`Still missing after apt-get install ${ALL_PACKAGES}`);
    expect(r.err).toContain('  redis-server (Debian package redis-server)');
  });

  it('stops when apt-get fails', () => {
    const m = machine();
    executable(join(m.bin, 'apt-get'), `#!${process.execPath}\nprocess.exit(100);\n`);
    const r = run(m, 0);
    expect(r.status).toBe(1);
    expect(r.err).toContain('apt-get update -qq failed (exit 100)');
  });
});
