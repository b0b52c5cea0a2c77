// Real documents as benign content: the READMEs of the packages installed in node_modules (pinned by
// package-lock.json, so the same on every machine after `npm ci`), cut into chunks of whole
// paragraphs the size of a tool result's text block. Packages are dealt into five sources by a hash
// of their name, so leave-one-source-out holds out a fifth of the packages at a time.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
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

function chunks(text) {
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

/** `{ package, source, text }` for every chunk, in a stable order. */
export function npmDocuments(nodeModules = join(ROOT, 'node_modules')) {
  const docs = [];
  for (const pkg of packages(nodeModules)) {
    const file = ['README.md', 'readme.md', 'Readme.md']
      .map((f) => join(nodeModules, pkg, f))
      .find(existsSync);
    if (!file) continue;
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
