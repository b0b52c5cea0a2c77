#!/usr/bin/env node
/**
 * The programs the tests start or call, found the way the tests find them (test/support/tools.ts
 * imports this file). `npm test` runs it first, as `pretest`: when something is missing, root
 * installs the Debian packages with apt-get; anyone else is stopped at once with the packages and
 * the command to run.
 *
 * Where each is looked for:
 * - redis-server, openssl, unshare, setpriv, prlimit: PATH.
 * - PostgreSQL's server binaries (initdb and postgres): $PORTCULLIS_PG_BIN, else the newest
 *   <version>/bin under /usr/lib/postgresql (Debian; $PORTCULLIS_PG_ROOT names another folder),
 *   else `pg_config --bindir`.
 * - Chromium: $PORTCULLIS_CHROMIUM, else `chromium` on PATH.
 * $PORTCULLIS_TEST_DEPS_UID stands in for the user id (its own tests use it to act as another user).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Each program the tests need, the Debian package that has it, and what needs it. */
export const TOOLS = [
  { tool: 'redis-server', pkg: 'redis-server', why: 'shared state of several replicas' },
  { tool: 'postgres', pkg: 'postgresql', why: 'the PostgreSQL audit sink (initdb and postgres)' },
  { tool: 'chromium', pkg: 'chromium', why: "the console's browser tests" },
  { tool: 'openssl', pkg: 'openssl', why: "the TLS test's certificate" },
  { tool: 'unshare', pkg: 'util-linux', why: 'sandboxed upstreams' },
  { tool: 'setpriv', pkg: 'util-linux', why: 'sandboxed upstreams; PostgreSQL under root' },
  { tool: 'prlimit', pkg: 'util-linux', why: 'sandboxed upstreams' }
];

function isExecutable(path) {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` on the PATH in `env`. */
export function which(name, env = process.env) {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, name);
    if (isExecutable(path)) return path;
  }
  return undefined;
}

const hasPostgres = (dir) => isExecutable(join(dir, 'initdb')) && isExecutable(join(dir, 'postgres'));

/** The folder holding initdb and postgres, or undefined. */
export function postgresBinDir(env = process.env) {
  if (env.PORTCULLIS_PG_BIN) return hasPostgres(env.PORTCULLIS_PG_BIN) ? env.PORTCULLIS_PG_BIN : undefined;
  const root = env.PORTCULLIS_PG_ROOT ?? '/usr/lib/postgresql';
  let versions = [];
  try {
    versions = readdirSync(root)
      .filter((v) => !Number.isNaN(Number.parseFloat(v)))
      .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  } catch {
    // no such folder: not Debian's layout
  }
  for (const v of versions) if (hasPostgres(join(root, v, 'bin'))) return join(root, v, 'bin');
  const pgConfig = which('pg_config', env);
  if (!pgConfig) return undefined;
  try {
    const dir = execFileSync(pgConfig, ['--bindir'], { encoding: 'utf8', env }).trim();
    return hasPostgres(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** The Chromium the browser tests launch, or undefined. */
export function chromiumPath(env = process.env) {
  if (env.PORTCULLIS_CHROMIUM)
    return isExecutable(env.PORTCULLIS_CHROMIUM) ? env.PORTCULLIS_CHROMIUM : undefined;
  return which('chromium', env);
}

/** Where each tool is, or undefined where it is missing. */
export function findTools(env = process.env) {
  const found = {};
  for (const { tool } of TOOLS) {
    if (tool === 'postgres') found[tool] = postgresBinDir(env);
    else if (tool === 'chromium') found[tool] = chromiumPath(env);
    else found[tool] = which(tool, env);
  }
  return found;
}

/** The entries of TOOLS that are missing. */
export function missingTools(env = process.env) {
  const found = findTools(env);
  return TOOLS.filter((t) => found[t.tool] === undefined);
}

/** The Debian packages for these entries, each once, in TOOLS order. */
export function packagesFor(missing) {
  return [...new Set(missing.map((t) => t.pkg))];
}

/** Why a tool is missing and what to do, for a test's describe line. */
export function missingNote(tool) {
  const entry = TOOLS.find((t) => t.tool === tool);
  if (!entry) throw new Error(`unknown tool ${tool}`);
  return `${tool} not found, apt-get install ${entry.pkg}`;
}

function describeMissing(missing) {
  return missing.map((t) => `  ${t.tool} (Debian package ${t.pkg}): ${t.why}`).join('\n');
}

function uid(env) {
  if (env.PORTCULLIS_TEST_DEPS_UID !== undefined) return Number(env.PORTCULLIS_TEST_DEPS_UID);
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

/** Check, install as root, or stop. Returns the exit code. */
export function main(env = process.env, log = console.log, warn = console.error) {
  const missing = missingTools(env);
  if (missing.length === 0) {
    log('test tools: redis-server, PostgreSQL, Chromium, openssl and util-linux found');
    return 0;
  }
  const pkgs = packagesFor(missing);
  const command = `apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
  const aptGet = which('apt-get', env);
  if (uid(env) !== 0 || !aptGet) {
    warn(`The tests need programs that are not installed:\n${describeMissing(missing)}\n`);
    if (aptGet) {
      warn(`Install them as root, then run npm test again:\n  sudo ${command}`);
    } else {
      warn(
        `This is not a Debian-like system (no apt-get): install ${pkgs.join(', ')} with its package manager.`
      );
    }
    if (missing.some((t) => t.tool === 'postgres'))
      warn('PostgreSQL elsewhere: set PORTCULLIS_PG_BIN to the folder holding initdb and postgres.');
    return 1;
  }
  log(`test tools: installing ${pkgs.join(' ')} with apt-get`);
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', ...pkgs]
  ]) {
    const r = spawnSync(aptGet, args, { env: aptEnv, stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) {
      warn(`apt-get ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
      return 1;
    }
  }
  const still = missingTools(env);
  if (still.length > 0) {
    warn(`Still missing after apt-get install ${pkgs.join(' ')}:\n${describeMissing(still)}`);
    return 1;
  }
  log(`test tools: installed ${pkgs.join(' ')}`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main();
}
