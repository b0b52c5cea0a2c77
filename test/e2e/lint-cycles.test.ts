/**
 * `npm run lint` fails on an import cycle: its `lint:cycles` step, run as package.json spells it,
 * passes on the tree as it is and fails on a copy of src with one import more that closes a cycle,
 * including a cycle through the modules of a known one, and on a known cycle that is gone.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';

const ROOT = join(import.meta.dirname, '../..');
const scripts = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
).scripts;
const KNOWN = 'scripts/import-cycles.known.json';

/** The `lint:cycles` step in `cwd` (its src and known list), with this checkout's script. */
function lintCycles(cwd: string) {
  const [node, script, ...args] = scripts['lint:cycles']!.split(' ');
  expect(node).toBe('node');
  const r = spawnSync(process.execPath, [join(ROOT, script!), ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A copy of src and the known list to change. */
function copyOfTree(): string {
  const root = tempDir('portcullis-cycles-');
  cpSync(join(ROOT, 'src'), join(root, 'src'), { recursive: true });
  mkdirSync(join(root, 'scripts'));
  cpSync(join(ROOT, KNOWN), join(root, KNOWN));
  return root;
}

describe('npm run lint: import cycles', () => {
  it('is part of lint, and passes on the tree as it is', () => {
    expect(scripts.lint).toContain('npm run lint:cycles');
    const r = lintCycles(ROOT);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  }, 60_000);

  it('fails on a new cycle in a copy of src', () => {
    const root = copyOfTree();
    // errors.ts <-> cli/load-config.ts: two modules that were in no cycle.
    appendFileSync(join(root, 'src/errors.ts'), "\nexport type { load } from './cli/load-config.js';\n");
    const r = lintCycles(root);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      'import cycle: src/cli/load-config.ts -> src/errors.ts -> src/cli/load-config.ts'
    );
  }, 60_000);

  /** A tree where a.ts <-> b.ts is a known cycle, plus `files`. */
  function treeWithKnownCycle(files: Record<string, string>): string {
    const root = tempDir('portcullis-cycles-');
    mkdirSync(join(root, 'src'));
    mkdirSync(join(root, 'scripts'));
    writeFileSync(
      join(root, KNOWN),
      JSON.stringify([{ cycle: ['src/a.ts', 'src/b.ts'], why: 'a test of the known list' }])
    );
    for (const [name, text] of Object.entries(files)) writeFileSync(join(root, 'src', name), text);
    return root;
  }

  it('fails on a new cycle through the modules of a known one, and not on the known one', () => {
    const known = {
      'a.ts': "import type { B } from './b.js';\nexport type A = B;\n",
      'b.ts': "import type { A } from './a.js';\nexport type B = string;\nexport type AB = A;\n"
    };
    expect(lintCycles(treeWithKnownCycle(known))).toMatchObject({ code: 0, err: '' });
    // b -> c -> a -> b: one new import (c.ts) beside the known a <-> b.
    const root = treeWithKnownCycle({
      ...known,
      'b.ts': known['b.ts'] + "import type { C } from './c.js';\nexport type BC = C;\n",
      'c.ts': "import type { A } from './a.js';\nexport type C = A;\n"
    });
    const r = lintCycles(root);
    expect(r.code).toBe(1);
    const reported = r.err.split('\n').filter((line) => line.startsWith('import cycle: '));
    expect(reported).toEqual(['import cycle: src/a.ts -> src/b.ts -> src/c.ts -> src/a.ts']);
  }, 60_000);

  it('fails when a known cycle is gone, until it is taken off the list', () => {
    const root = treeWithKnownCycle({
      'a.ts': "import type { B } from './b.js';\nexport type A = B;\n",
      'b.ts': 'export type B = string;\n'
    });
    const r = lintCycles(root);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`no longer a cycle, take it off ${KNOWN}: src/a.ts -> src/b.ts -> src/a.ts`);
    writeFileSync(join(root, KNOWN), '[]');
    expect(lintCycles(root)).toMatchObject({ code: 0, err: '' });
  }, 60_000);

  it('counts every kind of import: type-only, re-export, import(), import type, and a module importing itself', () => {
    const root = tempDir('portcullis-cycles-');
    mkdirSync(join(root, 'src'));
    mkdirSync(join(root, 'scripts'));
    writeFileSync(join(root, KNOWN), '[]');
    const files: Record<string, string> = {
      'a.ts': "import type { B } from './b.js';\nexport type A = B;\n",
      'b.ts': "export { type A } from './a.js';\nexport type B = string;\n",
      'c.ts': "export const c = () => import('./d.js');\n",
      'd.ts': "export type D = import('./c.js').C;\nexport type C = number;\n",
      'e.ts': "import { e as self } from './e.js';\nexport const e = 1;\nexport const again = self;\n",
      'f.ts': "import type { A } from './a.js';\nexport type F = A;\n"
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(root, 'src', name), text);
    const r = lintCycles(root);
    expect(r.code).toBe(1);
    const reported = r.err.split('\n').filter((line) => line.startsWith('import cycle: '));
    expect(reported).toEqual([
      'import cycle: src/a.ts -> src/b.ts -> src/a.ts',
      'import cycle: src/c.ts -> src/d.ts -> src/c.ts',
      'import cycle: src/e.ts -> src/e.ts'
    ]);
  }, 60_000);
});
