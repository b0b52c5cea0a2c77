/**
 * The shipped scorer is what `npm run train:scanner` makes from the corpus: training runs again here,
 * from ../shared/corpus and the installed packages' READMEs, and must write the committed weights
 * byte for byte. A change to the features, the trainer or the corpus without retraining fails here.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';

const ROOT = join(import.meta.dirname, '../..');

describe('npm run train:scanner', () => {
  it('reproduces the committed weights exactly', () => {
    const out = join(tempDir(), 'weights.json');
    execFileSync(process.execPath, [join(ROOT, 'scripts/scanner/train.mjs'), '--out', out], {
      cwd: ROOT,
      stdio: 'pipe'
    });
    const trained = readFileSync(out, 'utf8');
    const committed = readFileSync(join(ROOT, 'src/scan/model/weights.json'), 'utf8');
    expect(trained.length).toBe(committed.length);
    expect(trained === committed, 'weights differ: run npm run train:scanner and commit the result').toBe(
      true
    );
  }, 900_000);
});
