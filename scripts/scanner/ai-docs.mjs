// Real documents about AI as benign content: the documentation shipped in the npm packages of model
// vendors' SDKs and agent frameworks. Tool results that discuss models, prompts, agents and system
// messages (a docs server, a web search about AI) are what a scanner that reacts to "the model" and
// "instructions" must not withhold; the READMEs of our own dependencies hold almost no such text.
//
// Which packages, at which versions and with which tarball digests, is fixed in ai-docs.json; the
// tarballs come from the npm registry once (./registry.mjs).
// Files written for agents to follow (SKILL.md, AGENTS.md, CLAUDE.md, .guides/, .cursor/) are left
// out: they do address the model, and flagging them in a tool result is what the scanner is for.
// Packages are dealt into three sources by a hash of their name, for leave-one-source-out.
// `node scripts/scanner/ai-docs.mjs --write pkg@version ...` pins packages (their digests from npm).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chunks } from './npm-docs.mjs';
import { fetchPackage, pinPackages } from './registry.mjs';

const LIST = join(dirname(fileURLToPath(import.meta.url)), 'ai-docs.json');
const CHUNKS_PER_PACKAGE = 40;
export const AI_DOC_SOURCES = 3;

const SKIP =
  /(?:^|\/)(?:changelog|license|licence|history|skill|agents|claude)[^/]*\.mdx?$|(?:^|\/)\.(?:guides|cursor|claude)\//i;

/** The Markdown files of an unpacked package, README first, then the rest by path. */
function markdownFiles(folder) {
  const out = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, name.name);
      if (name.isDirectory()) walk(path);
      else if (/\.mdx?$/i.test(name.name)) out.push(path);
    }
  };
  walk(folder);
  const rel = (p) => relative(folder, p).split('\\').join('/');
  const files = out.filter((p) => !SKIP.test(rel(p)) && !rel(p).includes('node_modules/'));
  const readme = files.filter((p) => /^package\/readme\.md$/i.test(rel(p)));
  return [...readme, ...files.filter((p) => !readme.includes(p))];
}

const listedAiPackages = () => JSON.parse(readFileSync(LIST, 'utf8')).packages;

/** `{ package, source, text }` for every chunk, in a stable order; fetches what is not cached. */
export function aiDocuments() {
  const docs = [];
  for (const [pkg, pin] of Object.entries(listedAiPackages())) {
    const folder = fetchPackage(pkg, pin, (member) => /\.mdx?$/i.test(member));
    const list = markdownFiles(folder).flatMap((f) => chunks(readFileSync(f, 'utf8')));
    const bucket = createHash('sha256').update(pkg).digest()[0] % AI_DOC_SOURCES;
    // Spread over the documentation: the first chunk and then every k-th.
    const step = Math.max(1, Math.floor(list.length / CHUNKS_PER_PACKAGE));
    for (let i = 0, n = 0; i < list.length && n < CHUNKS_PER_PACKAGE; i += step, n++) {
      docs.push({ package: pkg, source: `ai-docs/${bucket + 1}`, text: list[i] });
    }
  }
  return docs;
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--write') {
  pinPackages(LIST, process.argv.slice(3));
}
