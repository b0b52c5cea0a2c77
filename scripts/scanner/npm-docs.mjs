// Real documents as benign content: the READMEs of installed packages, cut into chunks of whole
// paragraphs the size of a tool result's text block. Which packages, at which versions, is fixed in
// npm-docs.json, so adding or removing a dependency does not change the training data (and so the
// weights); a listed package missing or at another version stops training with what to do.
// `node scripts/scanner/npm-docs.mjs --write` lists every package installed now (then retrain).
// Packages are dealt into five sources by a hash of their name, so leave-one-source-out holds out
// a fifth of the packages at a time.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const LIST = join(dirname(fileURLToPath(import.meta.url)), 'npm-docs.json');
const CHUNK_CHARS = 1200;
const CHUNKS_PER_PACKAGE = 4;
export const NPM_DOC_SOURCES = 5;

function packages(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.')) continue;
    if (name.startsWith('@')) {
      for (const sub of readdirSync(join(dir, name)).sort()) out.push(`${name}/${sub}`);
    } else out.push(name);
  }
  return out;
}

/** A document cut into chunks of whole paragraphs (of 80 characters or more), up to CHUNK_CHARS each. */
export function chunks(text) {
  const paragraphs = text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p.length >= 80);
  const out = [];
  let cur = '';
  for (const p of paragraphs) {
    if (cur && cur.length + p.length > CHUNK_CHARS) {
      out.push(cur);
      cur = '';
    }
    cur = cur ? `${cur}\n\n${p}` : p;
  }
  if (cur) out.push(cur);
  return out;
}

const readmeOf = (nodeModules, pkg) =>
  ['README.md', 'readme.md', 'Readme.md'].map((f) => join(nodeModules, pkg, f)).find(existsSync);
const versionOf = (nodeModules, pkg) => {
  const file = join(nodeModules, pkg, 'package.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).version : undefined;
};

/** The packages whose READMEs are training documents, with their versions, from npm-docs.json. */
export function listedPackages() {
  return JSON.parse(readFileSync(LIST, 'utf8')).packages;
}

/** `{ package, source, text }` for every chunk, in a stable order. */
export function npmDocuments(nodeModules = join(ROOT, 'node_modules')) {
  const docs = [];
  const listed = listedPackages();
  const problems = [];
  for (const [pkg, version] of Object.entries(listed)) {
    const installed = versionOf(nodeModules, pkg);
    const file = readmeOf(nodeModules, pkg);
    if (installed !== version || !file)
      problems.push(`${pkg}: ${version} listed, ${installed ?? 'none'} installed`);
  }
  if (problems.length > 0) {
    throw new Error(
      `the packages whose READMEs train the scanner are not installed as listed in ${LIST}:\n  ` +
        `${problems.slice(0, 20).join('\n  ')}\nrun \`npm ci\`; after a deliberate change of them, ` +
        `\`node scripts/scanner/npm-docs.mjs --write\` and \`npm run train:scanner\``
    );
  }
  // In the order of the folders on disk (sorted by folder, then by name within a scope).
  for (const pkg of packages(nodeModules).filter((p) => Object.hasOwn(listed, p))) {
    const file = readmeOf(nodeModules, pkg);
    const bucket = createHash('sha256').update(pkg).digest()[0] % NPM_DOC_SOURCES;
    const list = chunks(readFileSync(file, 'utf8'));
    // Spread over the document: the first chunks and then every k-th.
    const step = Math.max(1, Math.floor(list.length / CHUNKS_PER_PACKAGE));
    for (let i = 0, n = 0; i < list.length && n < CHUNKS_PER_PACKAGE; i += step, n++) {
      docs.push({ package: pkg, source: `npm-readmes/${bucket + 1}`, text: list[i] });
    }
  }
  return docs;
}

/** Every installed package with a README, and its version. */
function installedPackages(nodeModules) {
  const out = {};
  for (const pkg of packages(nodeModules)) {
    if (readmeOf(nodeModules, pkg)) out[pkg] = versionOf(nodeModules, pkg);
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--write')) {
  const list = installedPackages(join(ROOT, 'node_modules'));
  writeFileSync(LIST, `${JSON.stringify({ packages: list }, null, 2)}\n`);
  console.log(`${Object.keys(list).length} packages listed in ${LIST}`);
}
