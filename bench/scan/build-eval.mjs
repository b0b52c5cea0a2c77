// Builds the labelled evaluation set for the content scanners in test/scan-eval/.
//
//   npm run build && node bench/scan/build-eval.mjs
//
// Deterministic: the same files on every run (seeded PRNG; the reference servers' tools/list is
// what the installed versions return). Sources:
//   - the REAL tools/list (and prompts, resources) of @modelcontextprotocol/server-filesystem,
//     server-everything, server-memory and the project's demo records server, collected over
//     stdio with the MCP SDK client;
//   - project-written benign tool definitions and tool results (bench/scan/data-*.mjs);
//   - third-party attack text: Giskard prompt injections and BIPIA text/code attacks (MIT), read
//     from CORPUS_DIR (default ../shared/corpus next to the repository).
import { parseCsvRows as parseCsv } from '../../scripts/scanner/corpus.mjs';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import prettier from 'prettier';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { PROJECT_SERVERS } from './data-tools.mjs';
import { benignResults, CARRIERS } from './data-results.mjs';
import { secretPositives, secretNegatives, piiPositives, piiNegatives } from './data-secrets.mjs';
import { poisonedTools, injectedResults } from './data-poison.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = join(ROOT, 'test/scan-eval');
const CORPUS = resolve(process.env.CORPUS_DIR ?? join(ROOT, '../shared/corpus'));

// ---------------------------------------------------------------------------------------------
// Corpus
// ---------------------------------------------------------------------------------------------

function loadCorpus() {
  const csv = parseCsv(readFileSync(join(CORPUS, 'giskard-prompt-injections.csv'), 'utf8'));
  const header = csv[0];
  const col = (name) => header.indexOf(name);
  const giskard = csv.slice(1).map((r) => ({
    source: 'giskard-prompt-injections.csv',
    category: r[col('group')],
    name: r[col('name')],
    group: r[col('group')],
    text: r[col('prompt')]
  }));
  const fromBipia = (file) =>
    Object.entries(JSON.parse(readFileSync(join(CORPUS, file), 'utf8'))).flatMap(([category, list]) =>
      list.map((text) => ({ source: file, category, text }))
    );
  return {
    giskard,
    bipiaText: fromBipia('bipia-text-attack-train.json'),
    bipiaCode: fromBipia('bipia-code-attack-train.json')
  };
}

// ---------------------------------------------------------------------------------------------
// Reference servers
// ---------------------------------------------------------------------------------------------

function version(pkg) {
  return JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
}

async function collect(name, pkg, args) {
  const client = new Client({ name: 'portcullis-scan-eval', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({ command: process.execPath, args, cwd: ROOT, stderr: 'ignore' })
  );
  try {
    const caps = client.getServerCapabilities() ?? {};
    const tools = (await client.listTools()).tools;
    const prompts = caps.prompts ? (await client.listPrompts()).prompts : [];
    const resources = caps.resources ? (await client.listResources()).resources : [];
    const templates = caps.resources ? (await client.listResourceTemplates()).resourceTemplates : [];
    const instructions = client.getInstructions();
    return {
      name,
      package: pkg,
      version: pkg ? version(pkg) : 'project',
      tools,
      prompts,
      resources,
      templates,
      instructions
    };
  } finally {
    await client.close();
  }
}

async function referenceServers() {
  const dir = mkdtempSync(join(tmpdir(), 'scan-eval-fs-'));
  try {
    return [
      await collect('filesystem', '@modelcontextprotocol/server-filesystem', [
        'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js',
        dir
      ]),
      await collect('everything', '@modelcontextprotocol/server-everything', [
        'node_modules/@modelcontextprotocol/server-everything/dist/index.js',
        'stdio'
      ]),
      await collect('memory', '@modelcontextprotocol/server-memory', [
        'node_modules/@modelcontextprotocol/server-memory/dist/index.js'
      ]),
      await collect('records', undefined, ['dist/demo/records-server.js'])
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Keep only what the model reads (drop _meta, execution hints, icons) and sort for stable output. */
function clean(def) {
  const keep = [
    'name',
    'title',
    'description',
    'inputSchema',
    'annotations',
    'arguments',
    'uri',
    'uriTemplate',
    'mimeType'
  ];
  return Object.fromEntries(keep.filter((k) => def[k] !== undefined).map((k) => [k, def[k]]));
}

// ---------------------------------------------------------------------------------------------

/** Write JSON formatted exactly as `prettier --write` would, so the lint check stays clean. */
async function write(file, data) {
  const path = join(OUT, file);
  const options = (await prettier.resolveConfig(path)) ?? {};
  writeFileSync(path, await prettier.format(JSON.stringify(data), { ...options, filepath: path }));
  const count = Array.isArray(data.items)
    ? data.items.length
    : Object.values(data)
        .filter(Array.isArray)
        .map((a) => a.length)
        .join('+');
  console.log(`wrote test/scan-eval/${file} (${count})`);
}

const LICENCE = {
  giskard: 'giskard-prompt-injections.csv: Giskard-AI/prompt-injections, MIT, Copyright (c) 2023 Giskard',
  bipia: 'bipia-*-attack-train.json: microsoft/BIPIA, MIT, Copyright (c) Microsoft Corporation'
};

async function main() {
  mkdirSync(OUT, { recursive: true });
  const corpus = loadCorpus();

  // Benign definitions: real reference servers, then project-written ones.
  const servers = await referenceServers();
  const benignTools = [];
  for (const s of servers) {
    const source = s.package
      ? `${s.package}@${s.version}`
      : 'portcullis demo records server (dist/demo/records-server.js)';
    for (const t of s.tools)
      benignTools.push({
        id: `${s.name}/${t.name}`,
        origin: 'real',
        source,
        server: s.name,
        kind: 'tool',
        definition: clean(t)
      });
    for (const p of s.prompts)
      benignTools.push({
        id: `${s.name}/prompt:${p.name}`,
        origin: 'real',
        source,
        server: s.name,
        kind: 'prompt',
        definition: clean(p)
      });
    for (const x of s.resources)
      benignTools.push({
        id: `${s.name}/resource:${x.name}`,
        origin: 'real',
        source,
        server: s.name,
        kind: 'resource',
        definition: clean(x)
      });
    for (const x of s.templates)
      benignTools.push({
        id: `${s.name}/template:${x.name}`,
        origin: 'real',
        source,
        server: s.name,
        kind: 'resource',
        definition: clean(x)
      });
    if (s.instructions)
      benignTools.push({
        id: `${s.name}/instructions`,
        origin: 'real',
        source,
        server: s.name,
        kind: 'instructions',
        definition: { text: s.instructions }
      });
  }
  for (const [server, tools] of Object.entries(PROJECT_SERVERS)) {
    for (const t of tools) {
      benignTools.push({
        id: `${server}/${t.name}`,
        origin: 'project-written',
        source: 'bench/scan/data-tools.mjs',
        server,
        kind: 'tool',
        definition: t
      });
    }
  }
  const toolsByServer = {};
  for (const b of benignTools)
    if (b.kind === 'tool') (toolsByServer[b.server] ??= []).push(b.definition.name);

  await write('benign-tools.json', {
    about:
      'Benign definitions. origin "real": the tools/list, prompts/list and resources/list output of the MCP reference servers and the demo records server, collected by bench/scan/build-eval.mjs. origin "project-written": realistic descriptions written for this project (bench/scan/data-tools.mjs), not taken from any server.',
    servers: servers.map((s) => ({ name: s.name, package: s.package ?? null, version: s.version })),
    toolsByServer,
    items: benignTools
  });

  const poisoned = poisonedTools(
    benignTools.filter((b) => b.kind === 'tool'),
    corpus,
    toolsByServer
  );
  await write('poisoned-tools.json', {
    about:
      'Poisoned tool definitions built from the benign ones (bench/scan/data-poison.mjs). "source" says where the injected text comes from: a corpus file (third-party attack text) or "project-written" (templates for attacks specific to tool definitions, which the corpus does not cover).',
    licences: LICENCE,
    items: poisoned
  });

  const results = benignResults();
  await write('benign-results.json', {
    about:
      'Project-written benign tool results (bench/scan/data-results.mjs). "pii" lists personal data present on purpose.',
    items: results
  });
  await write('injected-results.json', {
    about:
      'Benign results with third-party attack text embedded (BIPIA text/code attacks, Giskard prompts). *-addressed items prefix the instruction with a note to the AI.',
    licences: LICENCE,
    items: injectedResults(results, CARRIERS, corpus)
  });
  await write('secrets.json', {
    about:
      'Well-formed generated secrets in realistic lines (positives, with the planted span) and near misses (negatives). All keys are random: none is a real credential.',
    positives: secretPositives(),
    negatives: secretNegatives()
  });
  await write('pii.json', {
    about:
      'Generated personal data in realistic lines (positives, with the planted span) and look-alikes (negatives). All values are random.',
    positives: piiPositives(),
    negatives: piiNegatives()
  });
  await write('corpus.json', {
    about: 'The third-party attack text as plain strings, for measuring recall on the raw corpus prompts.',
    licences: LICENCE,
    giskard: corpus.giskard,
    bipiaText: corpus.bipiaText,
    bipiaCode: corpus.bipiaCode
  });
}

await main();
