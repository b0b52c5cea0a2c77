import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuthenticator, type TokenTable } from './index.js';
import { hashToken } from './token-file.js';
import { readLastUsed, watchTokenFile, type TokenWatch } from './token-watch.js';

const TOKEN_A = 'token-a-0123456789abcdef';
const TOKEN_B = 'token-b-0123456789abcdef';
const TOKEN_C = 'token-c-0123456789abcdef';

const entry = (id: string, token: string): string =>
  `  - id: ${id}\n    roles: [r]\n    sha256: ${hashToken(token)}\n`;

let dir: string;
let file: string;
let watch: TokenWatch | undefined;
let logs: Array<Record<string, unknown>>;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pcl-watch-'));
  file = join(dir, 'tokens.yaml');
  logs = [];
});
afterEach(() => {
  watch?.close();
  watch = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function logger() {
  return pino(
    { level: 'debug', base: undefined, timestamp: false },
    { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) }
  );
}

function table(): TokenTable {
  return createAuthenticator({
    tokens: [{ id: 'start', identity: 'start', roles: ['r'], sha256: hashToken(TOKEN_A) }],
    scopes: { read: 'tools:read', call: 'tools:call' },
    lockout: { failures: 3, window_s: 60, duration_s: 300 }
  }).tokens;
}

/**
 * Lets a new watch take its first look at the file (fs.watchFile compares each look with the one
 * before, so a change made before the first look is not one).
 */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 100));
}

/** Resolves at the next reload that takes effect. */
function reloaded(reloads: Array<() => void>): Promise<void> {
  return new Promise((resolve) => reloads.push(resolve));
}

describe('watchTokenFile: reload', () => {
  it('replaces the table with a valid file, says so, and tells the caller', () => {
    writeFileSync(
      file,
      `tokens:\n${entry('b', TOKEN_B)}revocations:\n  - { id: jti-1, revoked: 2026-01-01T00:00:00Z }\n`
    );
    const tokens = table();
    let calls = 0;
    watch = watchTokenFile(file, tokens, logger(), { onReload: () => calls++ });
    expect(watch.reload()).toBe(true);
    expect(tokens.find(TOKEN_A)).toBeUndefined();
    expect(tokens.find(TOKEN_B)?.id).toBe('b');
    expect([...tokens.revoked.keys()]).toEqual(['jti-1']);
    expect(calls).toBe(1);
    expect(logs).toEqual([{ level: 30, file, tokens: 1, msg: 'tokens reloaded' }]);
  });

  it('keeps the last good table when the file is invalid, and says why', () => {
    writeFileSync(file, `tokens:\n  - id: bad\n    roles: [r]\n    token: short\n`);
    const tokens = table();
    let calls = 0;
    watch = watchTokenFile(file, tokens, logger(), { onReload: () => calls++ });
    expect(watch.reload()).toBe(false);
    expect(tokens.find(TOKEN_A)?.id).toBe('start');
    expect(calls).toBe(0);
    expect(logs).toEqual([
      {
        level: 50,
        file,
        issues: [`${file}:4:12 tokens[0].token: tokens must be at least 16 characters`],
        msg: 'token file invalid; keeping the last good tokens'
      }
    ]);
  });

  it('reloads without a caller to tell', () => {
    writeFileSync(file, `tokens:\n${entry('b', TOKEN_B)}`);
    const tokens = table();
    watch = watchTokenFile(file, tokens, logger());
    expect(watch.reload()).toBe(true);
    expect(tokens.find(TOKEN_B)?.id).toBe('b');
  });

  it('applies the substitution it is given', () => {
    writeFileSync(file, 'tokens:\n  - id: env\n    roles: [r]\n    token: ${A_TOKEN_FROM_THE_ENV}\n');
    const tokens = table();
    watch = watchTokenFile(file, tokens, logger(), {
      substitute: (value) => JSON.parse(JSON.stringify(value).replace('${A_TOKEN_FROM_THE_ENV}', TOKEN_C))
    });
    expect(watch.reload()).toBe(true);
    expect(tokens.find(TOKEN_C)?.id).toBe('env');
  });
});

describe('watchTokenFile: changes on disk', () => {
  it(
    'takes up a change in place, a replaced file, and a file that only changed size, and nothing else',
    { timeout: 10_000 },
    async () => {
      // Whole seconds: a time set by utimes and a time read back by stat then compare equal.
      const t0 = new Date('2026-01-01T00:00:00Z');
      const t1 = new Date('2026-01-01T00:00:01Z');
      writeFileSync(file, `tokens:\n${entry('a', TOKEN_A)}`);
      utimesSync(file, t0, t0);
      const tokens = table();
      const reloads: Array<() => void> = [];
      let count = 0;
      watch = watchTokenFile(file, tokens, logger(), {
        intervalMs: 10,
        onReload: () => {
          count++;
          reloads.shift()?.();
        }
      });
      await settle();

      // In place, the same size, only the time changes: one token for another.
      let next = reloaded(reloads);
      writeFileSync(file, `tokens:\n${entry('b', TOKEN_B)}`);
      utimesSync(file, t1, t1);
      await next;
      await settle();
      expect(tokens.find(TOKEN_B)?.id).toBe('b');
      expect(tokens.find(TOKEN_A)).toBeUndefined();

      // Replaced by another file of the same size and time (an atomic rename, as the CLI does).
      const other = join(dir, 'next.yaml');
      writeFileSync(other, `tokens:\n${entry('c', TOKEN_C)}`);
      utimesSync(other, t1, t1);
      next = reloaded(reloads);
      renameSync(other, file);
      await next;
      await settle();
      expect(tokens.find(TOKEN_C)?.id).toBe('c');

      // Same file, same time, another size.
      next = reloaded(reloads);
      writeFileSync(file, `tokens:\n${entry('a', TOKEN_A)}${entry('b', TOKEN_B)}`);
      utimesSync(file, t1, t1);
      await next;
      await settle();
      expect(tokens.find(TOKEN_A)?.id).toBe('a');
      expect(tokens.find(TOKEN_B)?.id).toBe('b');

      // Only the mode changes: the tokens are what they were, and are not read again.
      const reloadsSoFar = count;
      chmodSync(file, 0o600);
      await settle();
      expect(count).toBe(reloadsSoFar);
    }
  );

  it('does not keep the process alive: its look at the file holds no reference', async () => {
    writeFileSync(file, `tokens:\n${entry('a', TOKEN_A)}`);
    const watchers = () => process.getActiveResourcesInfo().filter((r) => r === 'StatWatcher').length;
    const before = watchers();
    watch = watchTokenFile(file, table(), logger(), { intervalMs: 10 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(watchers()).toBe(before);
  });

  it('stops watching when closed', { timeout: 10_000 }, async () => {
    writeFileSync(file, `tokens:\n${entry('a', TOKEN_A)}`);
    const tokens = table();
    const w = watchTokenFile(file, tokens, logger(), { intervalMs: 10 });
    w.close();
    writeFileSync(file, `tokens:\n${entry('b', TOKEN_B)}${entry('c', TOKEN_C)}`);
    // A second watch on the same file sees the change; the closed one has let go of it.
    const reloads: Array<() => void> = [];
    const seen = reloaded(reloads);
    const other = table();
    watch = watchTokenFile(file, other, logger(), { intervalMs: 10, onReload: () => reloads.shift()?.() });
    await settle();
    writeFileSync(file, `tokens:\n${entry('c', TOKEN_C)}`);
    await seen;
    expect(other.find(TOKEN_C)?.id).toBe('c');
    expect(tokens.find(TOKEN_A)?.id).toBe('start');
  });
});

describe('watchTokenFile: last use', () => {
  const lastUsedFile = (): string => `${file}.last-used.json`;

  it('writes the last use of each token beside the file when closed, readable by its owner only', () => {
    writeFileSync(file, 'tokens: []\n');
    const tokens = table();
    watch = watchTokenFile(file, tokens, logger());
    tokens.lastUsed.set('a', Date.parse('2026-01-01T00:00:00Z'));
    tokens.lastUsed.set('b', Date.parse('2026-01-02T00:00:00Z'));
    watch.close();
    watch = undefined;
    expect(readFileSync(lastUsedFile(), 'utf8')).toBe(
      '{\n  "a": "2026-01-01T00:00:00.000Z",\n  "b": "2026-01-02T00:00:00.000Z"\n}\n'
    );
    expect(statSync(lastUsedFile()).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(['tokens.yaml', 'tokens.yaml.last-used.json']);
    expect(readLastUsed(file)).toEqual({ a: '2026-01-01T00:00:00.000Z', b: '2026-01-02T00:00:00.000Z' });
  });

  it('writes nothing when no token was used', () => {
    writeFileSync(file, 'tokens: []\n');
    watchTokenFile(file, table(), logger()).close();
    expect(readdirSync(dir)).toEqual(['tokens.yaml']);
  });

  it('keeps the times other replicas wrote, and writes again only after a newer use', () => {
    writeFileSync(file, 'tokens: []\n');
    writeFileSync(
      lastUsedFile(),
      JSON.stringify({ other: '2025-01-01T00:00:00.000Z', a: '2025-01-01T00:00:00.000Z' })
    );
    const tokens = table();
    const w = watchTokenFile(file, tokens, logger());
    tokens.lastUsed.set('a', Date.parse('2026-01-01T00:00:00Z'));
    tokens.lastUsed.set('b', Date.parse('2026-01-02T00:00:00Z'));
    w.close();
    expect(readLastUsed(file)).toEqual({
      other: '2025-01-01T00:00:00.000Z',
      a: '2026-01-01T00:00:00.000Z',
      b: '2026-01-02T00:00:00.000Z'
    });

    // Nothing newer: not written again.
    rmSync(lastUsedFile());
    w.close();
    expect(readdirSync(dir)).toEqual(['tokens.yaml']);

    // A newer use of the most recent token is.
    tokens.lastUsed.set('b', Date.parse('2026-01-03T00:00:00Z'));
    w.close();
    expect(readLastUsed(file)).toEqual({ a: '2026-01-01T00:00:00.000Z', b: '2026-01-03T00:00:00.000Z' });
  });

  it('says when it cannot write, and tries again at the next close', () => {
    writeFileSync(file, 'tokens: []\n');
    mkdirSync(lastUsedFile());
    const tokens = table();
    const w = watchTokenFile(file, tokens, logger());
    tokens.lastUsed.set('a', Date.parse('2026-01-01T00:00:00Z'));
    w.close();
    expect(logs).toEqual([
      {
        level: 40,
        err: expect.stringMatching(/^E[A-Z]+: /) as unknown as string,
        msg: 'cannot record token last use'
      }
    ]);
    rmSync(lastUsedFile(), { recursive: true });
    for (const name of readdirSync(dir)) if (name.endsWith('.tmp')) rmSync(join(dir, name));
    w.close();
    expect(readLastUsed(file)).toEqual({ a: '2026-01-01T00:00:00.000Z' });
  });
});

describe('readLastUsed', () => {
  it('reads the times written beside the file, and nothing when there are none or they are unreadable', () => {
    writeFileSync(file, 'tokens: []\n');
    expect(readLastUsed(file)).toEqual({});
    writeFileSync(`${file}.last-used.json`, '{ not json');
    expect(readLastUsed(file)).toEqual({});
    writeFileSync(`${file}.last-used.json`, '{"a":"2026-01-01T00:00:00.000Z"}');
    expect(readLastUsed(file)).toEqual({ a: '2026-01-01T00:00:00.000Z' });
  });
});
