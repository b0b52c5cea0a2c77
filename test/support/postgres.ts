/**
 * A real, throwaway PostgreSQL for tests: `initdb` into a temp dir, `postgres` on a free loopback
 * port with its unix socket in that dir, trust auth for one superuser, stopped and removed after.
 * PostgreSQL refuses to run as root, so a root test run starts it as an unprivileged user (the
 * `postgres` user if there is one, else `nobody`) through `setpriv`. The binaries come from
 * $PORTCULLIS_PG_BIN, else the newest /usr/lib/postgresql/<version>/bin (Debian), else
 * `pg_config --bindir`, as scripts/test-deps.mjs finds them.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { postgresBinDir as findPostgresBinDir } from '../../scripts/test-deps.mjs';
import { freePort, tempDir, waitFor } from '../helpers.js';

export interface TestPostgres {
  /** Connection URL of the `postgres` database as the superuser `portcullis`. */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** The URL of another database on this server. */
  urlOf(database: string): string;
  /** Create a database and return its URL. */
  createDatabase(name: string): Promise<string>;
  /** Run SQL on a database (default `postgres`) and return the rows. */
  query<T extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
    database?: string
  ): Promise<T[]>;
  /** Stop the server (fast shutdown: sessions are disconnected) and keep its data. */
  stop(): Promise<void>;
  /** Start it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stop it and remove its directory. */
  close(): Promise<void>;
}

const SUPERUSER = 'portcullis';
const running = new Set<ChildProcess>();
let exitHook = false;

/** The directory holding initdb and postgres. */
export function postgresBinDir(): string {
  const dir = findPostgresBinDir();
  if (dir) return dir;
  throw new Error(
    'PostgreSQL binaries not found: install postgresql (Debian: apt-get install postgresql) or set PORTCULLIS_PG_BIN'
  );
}

/** Under root: the uid and gid to run PostgreSQL as. */
function unprivilegedUser(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n');
  for (const name of ['postgres', 'nobody']) {
    const entry = passwd.find((l) => l.startsWith(`${name}:`));
    if (!entry) continue;
    const [, , uid, gid] = entry.split(':');
    return { uid: Number(uid), gid: Number(gid) };
  }
  throw new Error('running as root and no unprivileged user (postgres, nobody) to run PostgreSQL as');
}

function command(bin: string, args: string[], user: { uid: number; gid: number } | undefined) {
  if (!user) return { file: bin, args };
  return {
    file: 'setpriv',
    args: [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', bin, ...args]
  };
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory()) chownTree(join(path, entry.name), uid, gid);
    else chownSync(join(path, entry.name), uid, gid);
  }
}

export interface StartPostgresOptions {
  /** fsync and synchronous commit off (default true: tests do not need crash safety of the server). */
  fast?: boolean;
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<TestPostgres> {
  const bin = postgresBinDir();
  const user = unprivilegedUser();
  const dir = tempDir('portcullis-pg-');
  const data = join(dir, 'data');
  if (user) chownTree(dir, user.uid, user.gid);
  const init = command(
    join(bin, 'initdb'),
    ['-D', data, '-U', SUPERUSER, '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync'],
    user
  );
  try {
    execFileSync(init.file, init.args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(err as { stderr?: Buffer }).stderr?.toString() ?? String(err)}`);
  }
  let port = await freePort();
  const settings = [
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'max_connections=100',
    '-c',
    'shared_buffers=32MB',
    '-c',
    'dynamic_shared_memory_type=mmap',
    ...(options.fast === false ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off'])
  ];
  let child: ChildProcess | undefined;
  let log = '';

  if (!exitHook) {
    exitHook = true;
    // A test run that dies must not leave servers behind.
    process.on('exit', () => {
      for (const c of running) c.kill('SIGQUIT');
    });
  }

  const start = async () => {
    const cmd = command(
      join(bin, 'postgres'),
      ['-D', data, '-p', String(port), '-k', dir, ...settings],
      user
    );
    log = '';
    const proc = spawn(cmd.file, cmd.args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
    child = proc;
    running.add(proc);
    proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    let exited = false;
    proc.once('exit', () => {
      exited = true;
      running.delete(proc);
    });
    try {
      await waitFor(
        async () => {
          if (exited) throw new Error(`postgres exited at start:\n${log}`);
          return ready();
        },
        30_000,
        'postgres to accept connections'
      );
    } catch (err) {
      proc.kill('SIGQUIT');
      throw err;
    }
  };

  const urlOf = (database: string) => `postgres://${SUPERUSER}@127.0.0.1:${port}/${database}`;
  const ready = async () => {
    const client = new pg.Client({ connectionString: urlOf('postgres'), connectionTimeoutMillis: 1000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  };

  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGINT');
    await exited;
  };

  const query = async <T extends Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
    database = 'postgres'
  ): Promise<T[]> => {
    const client = new pg.Client({ connectionString: urlOf(database) });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  };

  // Another process may take the free port before postgres binds it: then try another one.
  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      break;
    } catch (err) {
      if (attempt < 3 && /could not (bind|create listen socket)/.test(log)) {
        port = await freePort();
        continue;
      }
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }
  return {
    url: urlOf('postgres'),
    port,
    dir,
    urlOf,
    async createDatabase(name) {
      await query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      return urlOf(name);
    },
    query,
    stop,
    start,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    }
  };
}
