#!/usr/bin/env node
/**
 * The package as npm would publish it, checked from the tarball and not from this checkout:
 * `npm pack` (its prepack builds dist/ afresh), the tarball's contents (no tests, benchmarks,
 * sources or maps; the JSON Schema, the console and the demo there), then an install into an
 * empty prefix and the installed `portcullis` command: `--version` prints the package's version,
 * `demo` serves (health, console, an analyst's tools/list) and stops on SIGTERM, `init` writes a
 * config whose schema path exists there and that passes `policy check`, and `stdio` answers an
 * MCP client on that config. The install prefers npm's cache (`--prefer-offline`), so it needs
 * the network only for a package the cache lacks. Exit 0 when all holds; each failure says what.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'portcullis-pack-'));
const prefix = join(work, 'prefix');
const failures = [];
const children = new Set();

function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
  return ok;
}

function npm(args, cwd) {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Wait until `test()` is true, at most `ms`; false when it never was. */
async function until(test, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await test()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

function start(args, cwd) {
  const bin = join(prefix, 'node_modules', '.bin', 'portcullis');
  const child = spawn(bin, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  const p = { child, out: '', err: '', exit: undefined };
  child.stdout.on('data', (d) => (p.out += d));
  child.stderr.on('data', (d) => (p.err += d));
  child.once('exit', (code, signal) => {
    p.exit = { code, signal };
    children.delete(child);
  });
  return p;
}

async function stop(p) {
  if (p.exit) return p.exit;
  p.child.kill('SIGTERM');
  if (!(await until(() => p.exit !== undefined, 15_000))) p.child.kill('SIGKILL');
  await until(() => p.exit !== undefined, 5_000);
  return p.exit;
}

function packAndList() {
  // The last line of `npm pack` is the tarball's name; the prepack build prints above it.
  const out = npm(['pack', '--pack-destination', work], ROOT).trim().split('\n');
  const tarball = join(work, out[out.length - 1].trim());
  check(existsSync(tarball), `npm pack wrote ${tarball}`);
  const entries = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((e) => e.replace(/^package\//, ''));
  console.log(`     ${entries.length} files`);
  for (const want of [
    'package.json',
    'README.md',
    'dist/cli.js',
    'dist/index.js',
    'dist/index.d.ts',
    'dist/scan/model/weights.json',
    'schema/portcullis.schema.json',
    'console/index.html',
    'demo/portcullis.demo.yaml'
  ])
    check(entries.includes(want), `the tarball has ${want}`);
  const unwanted = entries.filter(
    (e) =>
      /^(src|test|bench|scripts|mutation|reports|docs|\.ci)\//.test(e) ||
      /\.test\.[cm]?[jt]s$/.test(e) ||
      /\.map$/.test(e) ||
      /(^|\/)(tsconfig.*|vitest.*|stryker.*)\.(json|ts|mjs)$/.test(e)
  );
  check(
    unwanted.length === 0,
    `no tests, benchmarks, sources or maps in the tarball ${unwanted.slice(0, 5).join(' ')}`
  );
  return tarball;
}

async function checkDemo() {
  const dir = join(work, 'demo-cwd');
  mkdirSync(dir, { recursive: true });
  const p = start(['demo', '--port', '0'], dir);
  const served = await until(
    () => /serving at (http:\/\/\S+)\/mcp/.test(p.out) || p.exit !== undefined,
    30_000
  );
  const url = /serving at (http:\/\/\S+)\/mcp/.exec(p.out)?.[1];
  if (
    !check(served && url !== undefined, `portcullis demo serves${url ? ` at ${url}` : `\n${p.out}${p.err}`}`)
  ) {
    await stop(p);
    return;
  }
  const health = await fetch(`${url}/healthz`);
  check(health.status === 200, `demo: /healthz answers 200 (got ${health.status})`);
  const console_ = await fetch(`${url}/admin`);
  const html = await console_.text();
  check(
    console_.status === 200 && html.includes('<html'),
    `demo: the console is served at /admin (got ${console_.status})`
  );
  const analyst = /analyst token\s+\(bob\):\s+(\S+)/.exec(p.out)?.[1];
  const listed = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${analyst}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/list'
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/list',
      params: {
        _meta: {
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientInfo': { name: 'pack-check', version: '1' },
          'io.modelcontextprotocol/clientCapabilities': {}
        }
      }
    })
  });
  const text = await listed.text();
  const tools = text.match(/"name":"[a-z_]+__[a-z_]+"/g) ?? [];
  check(
    listed.status === 200 &&
      tools.some((t) => t.includes('files__read_text_file') || t.includes('files__read_file')),
    `demo: an analyst's tools/list through the gateway lists the files server's tools (${tools.length} tools)`
  );
  const exit = await stop(p);
  check(exit?.code === 0, `demo: stops on SIGTERM with exit 0 (got ${JSON.stringify(exit)})`);
}

async function checkInitAndStdio() {
  const bin = join(prefix, 'node_modules', '.bin', 'portcullis');
  const said = execFileSync(bin, ['init'], { cwd: prefix, encoding: 'utf8' });
  const file = join(prefix, 'portcullis.yaml');
  check(existsSync(file), `portcullis init wrote portcullis.yaml (${said.trim().split('\n')[0]})`);
  const first = readFileSync(file, 'utf8').split('\n')[0];
  const schema = /\$schema=(\S+)/.exec(first)?.[1];
  check(
    schema !== undefined && !/^https?:/.test(schema) && existsSync(resolve(prefix, schema)),
    `init: its $schema (${schema}) is a file that exists from the config's folder`
  );
  if (schema && existsSync(resolve(prefix, schema))) {
    const json = JSON.parse(readFileSync(resolve(prefix, schema), 'utf8'));
    check(json.title === 'Portcullis gateway configuration', 'init: that file is the config schema');
  }
  const policy = execFileSync(bin, ['policy', 'check', file], { cwd: prefix, encoding: 'utf8' });
  check(true, `portcullis policy check portcullis.yaml: ${policy.trim().split('\n')[0]}`);

  const p = start(['stdio', '--config', file], prefix);
  const responses = () =>
    p.out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  const send = (m) => p.child.stdin.write(`${JSON.stringify(m)}\n`);
  send({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'pack-check', version: '1' }
    }
  });
  const answered = await until(() => responses().some((r) => r.id === 1) || p.exit !== undefined, 30_000);
  const init = responses().find((r) => r.id === 1);
  check(
    answered &&
      init?.result?.serverInfo?.name === 'portcullis' &&
      init.result.serverInfo.version === pkg.version,
    `portcullis stdio answers initialize as portcullis ${init?.result?.serverInfo?.version}${init ? '' : `\n${p.err}`}`
  );
  send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  send({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} });
  await until(() => responses().some((r) => r.id === 2) || p.exit !== undefined, 30_000);
  const list = responses().find((r) => r.id === 2);
  check(
    Array.isArray(list?.result?.tools),
    `stdio: tools/list answers (${list?.result?.tools?.length} tools)`
  );
  p.child.stdin.end();
  const exit = await stop(p);
  check(exit?.code === 0 || exit?.signal === 'SIGTERM', `stdio: stops (${JSON.stringify(exit)})`);
}

try {
  const tarball = packAndList();
  console.log(`     npm install --prefix ${prefix} --prefer-offline ${tarball}`);
  npm(['install', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], work);
  const bin = join(prefix, 'node_modules', '.bin', 'portcullis');
  check(existsSync(bin), 'the install put portcullis in node_modules/.bin');
  // The YAML files the package ships name the schema by a path relative to themselves.
  const installed = join(prefix, 'node_modules', 'portcullis');
  for (const yaml of ['demo/portcullis.demo.yaml', 'examples/policy/portcullis.yaml']) {
    const ref = /\$schema=(\S+)/.exec(readFileSync(join(installed, yaml), 'utf8'))?.[1];
    check(
      ref !== undefined && existsSync(resolve(installed, dirname(yaml), ref)),
      `${yaml} names a schema that is there after install (${ref})`
    );
  }
  check(!existsSync(join(prefix, 'node_modules', 'vitest')), 'the install brought no devDependencies');
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
  check(version === pkg.version, `portcullis --version prints ${version} (package.json: ${pkg.version})`);
  await checkDemo();
  await checkInitAndStdio();
} catch (e) {
  check(false, `${e.message}${e.stderr ? `\n${e.stderr}` : ''}`);
} finally {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}

console.log(failures.length === 0 ? 'pack check: all passed' : `pack check: ${failures.length} failed`);
process.exitCode = failures.length === 0 ? 0 : 1;
