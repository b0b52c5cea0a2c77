// Fails (exit 1) when a module under DIR imports itself through others: `npm run lint` runs it on src.
//   node scripts/check-import-cycles.js [--known FILE] DIR
// Every import counts: static, `import type`, `export … from`, `import()` and `import('…').T`, since a
// cycle through types still ties two modules together. An import lies on a cycle when both ends are
// in one strongly connected component of the import graph; each such import must be part of a cycle
// that FILE lists as a known exception ([{ "cycle": [a, b, …], "why": "…" }], a -> b -> … -> a, paths
// relative to the working directory). So a new cycle fails even when it shares modules with a known
// one, and a known cycle that is gone fails too, until it is taken off the list.
// The TypeScript compiler (already here to build) parses and resolves the imports.
import { readFileSync, readdirSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import ts from 'typescript';

const USAGE = 'usage: node scripts/check-import-cycles.js [--known FILE] DIR';

/** Every .ts file under `dir` (not declarations, not node_modules), as absolute paths. */
function tsFiles(dir) {
  const files = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = resolve(dir, e.name);
    if (e.isDirectory() && e.name !== 'node_modules') files.push(...tsFiles(path));
    else if (e.isFile() && /\.[cm]?tsx?$/.test(e.name) && !/\.d\.[cm]?ts$/.test(e.name)) files.push(path);
  }
  return files.sort();
}

/** Each file's imports that resolve to files under `dir`. */
function importGraph(dir) {
  const files = tsFiles(dir);
  const inside = new Set(files);
  const options = { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler };
  const graph = new Map();
  for (const file of files) {
    const targets = new Set();
    const add = (literal) => {
      if (!literal || !ts.isStringLiteralLike(literal)) return;
      const found = ts.resolveModuleName(literal.text, file, options, ts.sys).resolvedModule;
      const target = found && resolve(found.resolvedFileName);
      if (target && inside.has(target)) targets.add(target);
    };
    const visit = (node) => {
      if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
      else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword)
        add(node.arguments[0]);
      else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal);
      else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference))
        add(node.moduleReference.expression);
      ts.forEachChild(node, visit);
    };
    visit(ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false));
    graph.set(file, targets);
  }
  return graph;
}

/** Tarjan's strongly connected components: each file's component number. */
function components(graph) {
  const index = new Map();
  const low = new Map();
  const component = new Map();
  const stack = [];
  let next = 0;
  const connect = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    for (const w of graph.get(v)) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (!component.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      let w;
      do {
        w = stack.pop();
        component.set(w, v);
      } while (w !== v);
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) connect(v);
  return component;
}

/** A cycle through the import from -> to: `to`'s shortest way back to `from`, as from, to, …. */
function cycleThrough(graph, from, to) {
  const previous = new Map([[to, undefined]]);
  const queue = [to];
  while (queue.length > 0) {
    const v = queue.shift();
    if (v === from) break;
    for (const w of graph.get(v)) {
      if (previous.has(w)) continue;
      previous.set(w, v);
      queue.push(w);
    }
  }
  const back = [];
  for (let v = from; v !== undefined; v = previous.get(v)) back.unshift(v);
  // back is to -> … -> from; the cycle is from -> to -> … (-> from).
  return from === to ? [from] : [from, ...back.slice(0, -1)];
}

/** A cycle written from its smallest module on, so each cycle has one spelling. */
function spell(cycle) {
  const start = cycle.indexOf([...cycle].sort()[0]);
  const turned = [...cycle.slice(start), ...cycle.slice(0, start)];
  return [...turned, turned[0]].join(' -> ');
}

/** The cycles to report (new ones) and the known ones that are gone. */
function checkCycles(graph, known, show) {
  const component = components(graph);
  const onCycle = new Set();
  for (const [v, targets] of graph)
    for (const w of targets) if (component.get(v) === component.get(w)) onCycle.add(`${v}\n${w}`);
  const allowed = new Set();
  const gone = [];
  for (const { cycle } of known) {
    const files = cycle.map((f) => resolve(f));
    const edges = files.map((f, i) => `${f}\n${files[(i + 1) % files.length]}`);
    for (const e of edges) allowed.add(e);
    if (!edges.every((e) => onCycle.has(e))) gone.push(spell(cycle));
  }
  const cycles = new Set();
  for (const edge of onCycle) {
    if (allowed.has(edge)) continue;
    const [from, to] = edge.split('\n');
    cycles.add(spell(cycleThrough(graph, from, to).map(show)));
  }
  return { cycles: [...cycles].sort(), gone, known: known.length };
}

function main(argv) {
  let knownFile;
  const dirs = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--known') knownFile = argv[++i];
    else dirs.push(argv[i]);
  }
  if (dirs.length !== 1 || (knownFile !== undefined && !knownFile)) {
    console.error(USAGE);
    return 2;
  }
  const known = knownFile ? JSON.parse(readFileSync(knownFile, 'utf8')) : [];
  const show = (file) => relative(process.cwd(), file).split('\\').join('/');
  const { cycles, gone } = checkCycles(importGraph(dirs[0]), known, show);
  for (const c of cycles) console.error(`import cycle: ${c}`);
  for (const c of gone) console.error(`no longer a cycle, take it off ${knownFile}: ${c}`);
  if (cycles.length > 0)
    console.error(
      'A cycle ties its modules together: none can be loaded, tested or moved alone. Move what both sides\n' +
        'need into a module of its own (a types file, say), so that imports run one way.'
    );
  if (cycles.length > 0 || gone.length > 0) return 1;
  console.log(`import cycles in ${dirs[0]}: none${known.length ? ` besides ${known.length} known` : ''}`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
