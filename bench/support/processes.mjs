// What the session and soak benchmarks share: child processes that are always ended (each is a
// process group leader, killed on exit), free ports, readiness by output, memory of a process
// (RSS from /proc, heap through the preloaded memory probe) and small statistics.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const NODE = process.execPath;
export const CLI = join(ROOT, 'dist/cli.js');
export const PROBE = join(ROOT, 'bench/support/memory-probe.mjs');
export const ECHO_STDIO = join(ROOT, 'bench/overhead/echo-stdio.mjs');
export const ECHO_HTTP = join(ROOT, 'bench/overhead/echo-http.mjs');
export const MiB = 1024 * 1024;

const children = new Set();

/** Start a process as its own group; its last 64 KiB of output are kept in `child.output`. */
export function start(command, args, options = {}) {
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.output = '';
  const keep = (d) => {
    child.output = (child.output + d.toString()).slice(-64 * 1024);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return child;
}

/** Start a Node script with the memory probe preloaded; `child.probeFile` receives its samples. */
export function startMeasured(script, args, options = {}) {
  const probeFile = join(workDir(), `memory-${Math.random().toString(36).slice(2)}.jsonl`);
  const child = start(NODE, ['--expose-gc', '--import', PROBE, script, ...args], {
    ...options,
    env: { ...options.env, MEMORY_PROBE_FILE: probeFile }
  });
  child.probeFile = probeFile;
  return child;
}

export async function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 5000);
  await exited;
  clearTimeout(timer);
}

/** Stop every child still running (SIGTERM, so a profiled process can write its profile). */
export function stopAll() {
  return Promise.all([...children].map((c) => stop(c)));
}

function killAllNow() {
  for (const child of children) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killAllNow();
    process.exit(130);
  });
}

export function waitForOutput(child, pattern, what, ms = 30_000) {
  return new Promise((resolveWait, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what}: not ready after ${ms} ms\n${child.output.slice(-2000)}`));
    }, ms);
    const check = () => {
      const m = pattern.exec(child.output);
      if (m) {
        cleanup();
        resolveWait(m);
      }
    };
    const onExit = (code) => {
      cleanup();
      reject(new Error(`${what}: exited with ${code}\n${child.output.slice(-2000)}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout.off('data', check);
      child.stderr.off('data', check);
      child.off('exit', onExit);
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    child.once('exit', onExit);
    check();
  });
}

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

let dir;
/** One private scratch directory per run. */
export function workDir() {
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-'));
    chmodSync(dir, 0o700);
  }
  return dir;
}

/** Resident set size of a process now, in bytes (VmRSS), or undefined when it is gone. */
export function rssBytes(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Ask a measured process for its memory after garbage collection (SIGUSR2 to the probe): resolves
 * with { rss, heapUsed, heapTotal, external, arrayBuffers } in bytes.
 */
export async function probe(child, ms = 10_000) {
  const lines = () =>
    existsSync(child.probeFile) ? readFileSync(child.probeFile, 'utf8').split('\n').filter(Boolean) : [];
  const before = lines().length;
  process.kill(child.pid, 'SIGUSR2');
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const all = lines();
    if (all.length > before) return JSON.parse(all[all.length - 1]);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no memory sample from pid ${child.pid} within ${ms} ms`);
}

/** Least-squares slope (per unit of x) and intercept of y over x. */
export function regression(xs, ys) {
  const n = xs.length;
  if (n < 2) return { slope: 0, intercept: ys[0] ?? 0 };
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  const slope = den === 0 ? 0 : num / den;
  return { slope, intercept: my - slope * mx };
}

export const mib = (bytes) => (bytes / MiB).toFixed(1);

/** One line about the machine, for the record. */
export function machine() {
  const c = cpus();
  return `${c[0]?.model ?? 'unknown CPU'}, ${c.length} cores, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.versions.node}, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;
}

/** `--name value` and `--flag` from argv, with defaults. */
export function args(defaults) {
  const out = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in defaults))
      throw new Error(
        `unknown option --${key}; options: ${Object.keys(defaults)
          .map((k) => `--${k}`)
          .join(' ')}`
      );
    if (typeof defaults[key] === 'boolean') out[key] = true;
    else out[key] = typeof defaults[key] === 'number' ? Number(argv[++i]) : argv[++i];
  }
  return out;
}
