// Fails (exit 1) when a module under src exports a name that no other module imports: `npm run lint`
// runs it. An export nobody imports is either dead code or a name that should be private to its file.
//   node scripts/check-dead-exports.js
// Importers are every TypeScript and JavaScript file under src, test, bench and scripts; an import of
// dist/x.js counts as an import of src/x.ts. `import * as`, `export * from` and `import()` count as
// using every export of their module. src/index.ts is the package's public API and src/cli.ts its
// command, so their own exports are not checked. The TypeScript compiler (already here to build)
// parses the files.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');
const SRC = resolve(ROOT, 'src');
const DIST = resolve(ROOT, 'dist');
const IMPORTERS = ['src', 'test', 'bench', 'scripts'].map((d) => resolve(ROOT, d));
const ENTRIES = new Set([resolve(SRC, 'index.ts'), resolve(SRC, 'cli.ts')]);
const ALL = '*';

function files(dir, test) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = resolve(dir, e.name);
    if (e.isDirectory() && e.name !== 'node_modules') out.push(...files(path, test));
    else if (e.isFile() && test(e.name)) out.push(path);
  }
  return out.sort();
}

const isSource = (name) => /\.ts$/.test(name) && !/\.d\.ts$/.test(name);
const isImporter = (name) => /\.(?:[cm]?ts|[cm]?js)$/.test(name) && !/\.d\.[cm]?ts$/.test(name);

/** The src module a specifier from `file` names, or undefined (a package, or a file outside src). */
function target(file, spec) {
  if (!spec.startsWith('.')) return undefined;
  let path = resolve(dirname(file), spec);
  if (path.startsWith(DIST + '/')) path = resolve(SRC, relative(DIST, path));
  if (!path.startsWith(SRC + '/')) return undefined;
  const ts_ = path.replace(/\.[cm]?js$/, '.ts');
  if (existsSync(ts_)) return ts_;
  if (existsSync(path) && path.endsWith('.ts')) return path;
  const index = resolve(path, 'index.ts');
  return existsSync(index) ? index : undefined;
}

const parse = (file) =>
  ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);

const hasExport = (node) =>
  ts.canHaveModifiers(node) &&
  (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
const hasDefault = (node) =>
  ts.canHaveModifiers(node) &&
  (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.DefaultKeyword);

/** The names a src module exports, with their line. */
function exportsOf(file) {
  const sf = parse(file);
  const names = new Map();
  const add = (name, node) => names.set(name, sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1);
  for (const node of sf.statements) {
    if (
      ts.isExportDeclaration(node) &&
      !node.moduleSpecifier &&
      node.exportClause &&
      ts.isNamedExports(node.exportClause)
    )
      for (const e of node.exportClause.elements) add(e.name.text, e);
    else if (ts.isExportAssignment(node)) add('default', node);
    else if (hasExport(node)) {
      if (hasDefault(node)) add('default', node);
      else if (ts.isVariableStatement(node))
        for (const d of node.declarationList.declarations) {
          if (ts.isIdentifier(d.name)) add(d.name.text, d);
        }
      else if (node.name && ts.isIdentifier(node.name)) add(node.name.text, node);
    }
  }
  return names;
}

/** Which exports of which src modules `file` uses: module -> names (or ALL). */
function usesOf(file, used) {
  const sf = parse(file);
  const use = (mod, name) => {
    if (!used.has(mod)) used.set(mod, new Set());
    used.get(mod).add(name);
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const mod = target(file, node.moduleSpecifier.text);
      const clause = node.importClause;
      if (mod && clause) {
        if (clause.name) use(mod, 'default');
        const b = clause.namedBindings;
        if (b && ts.isNamespaceImport(b)) use(mod, ALL);
        else if (b) for (const e of b.elements) use(mod, (e.propertyName ?? e.name).text);
      }
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      const mod = target(file, node.moduleSpecifier.text);
      if (mod) {
        if (!node.exportClause || ts.isNamespaceExport(node.exportClause)) use(mod, ALL);
        else for (const e of node.exportClause.elements) use(mod, (e.propertyName ?? e.name).text);
      }
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      const mod = target(file, node.arguments[0].text);
      if (mod) use(mod, ALL);
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      const mod = target(file, node.argument.literal.text);
      if (mod) use(mod, node.qualifier && ts.isIdentifier(node.qualifier) ? node.qualifier.text : ALL);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}

const used = new Map();
for (const dir of IMPORTERS) for (const f of files(dir, isImporter)) usesOf(f, used);

const dead = [];
for (const file of files(SRC, isSource)) {
  if (ENTRIES.has(file) || /\.test\.ts$/.test(file)) continue;
  const names = used.get(file) ?? new Set();
  if (names.has(ALL)) continue;
  for (const [name, line] of exportsOf(file))
    if (!names.has(name)) dead.push(`${relative(ROOT, file)}:${line} ${name}`);
}
if (dead.length > 0) {
  console.error(`exported but imported nowhere (make it private, or delete it):\n  ${dead.join('\n  ')}`);
  process.exit(1);
}
console.log('no dead exports under src');
