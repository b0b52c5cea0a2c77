import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TokenConfig } from '../config/types.js';
import type { ConfigIssue } from '../errors.js';
import { readYaml } from '../config/source.js';
import {
  createTokenEntry,
  hashToken,
  parseTokenEntries,
  readTokenFile,
  recordRevocation,
  revokedIds,
  revokeTokenEntry,
  rotateTokenEntry,
  tokenProblem
} from './token-file.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pcl-tokens-'));
  file = join(dir, 'tokens.yaml');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);
const EPOCH = new Date('2026-01-01T00:00:00.000Z');

function parse(text: string): { tokens: TokenConfig[]; issues: ConfigIssue[] } {
  const src = readYaml('inline.yaml', text);
  const issues: ConfigIssue[] = [];
  const entries = (src.value as { tokens: Array<Record<string, unknown>> }).tokens;
  return { tokens: parseTokenEntries(entries, src, ['tokens'], issues), issues };
}

function issue(line: number, col: number, path: string, message: string): ConfigIssue {
  return { file: 'inline.yaml', line, col, path, message };
}

describe('hashToken', () => {
  it('is the hex SHA-256 of the UTF-8 bytes of the token', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    // 'é' is two bytes in UTF-8 (c3 a9), one in Latin-1: only the UTF-8 digest is this one.
    expect(hashToken('é')).toBe('4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c');
  });
});

describe('parseTokenEntries', () => {
  it('turns an entry into its token, with the identity defaulting to the id and optional fields only when given', () => {
    const { tokens, issues } = parse(
      [
        'tokens:',
        '  - id: full',
        '    identity: alice',
        '    roles: [admin, ops]',
        '    scopes: [tools:read]',
        '    description: the CI runner',
        '    created: 2026-01-01T00:00:00Z',
        '    expires: 2026-02-01T00:00:00Z',
        '    revoked: 2026-01-15T00:00:00Z',
        '    rotated_to: next',
        `    sha256: ${HASH_A}`,
        '  - id: bare',
        '    roles: []',
        '    token: 0123456789abcdef',
        ''
      ].join('\n')
    );
    expect(issues).toEqual([]);
    expect(tokens).toEqual([
      {
        id: 'full',
        identity: 'alice',
        roles: ['admin', 'ops'],
        sha256: HASH_A,
        scopes: ['tools:read'],
        description: 'the CI runner',
        created: '2026-01-01T00:00:00Z',
        expires: '2026-02-01T00:00:00Z',
        revoked: '2026-01-15T00:00:00Z',
        rotated_to: 'next'
      },
      { id: 'bare', identity: 'bare', roles: [], sha256: hashToken('0123456789abcdef') }
    ]);
    // Absent, not present as undefined.
    expect(Object.keys(tokens[1] as object)).toEqual(['id', 'identity', 'roles', 'sha256']);
  });

  it('refuses an entry with neither or both of sha256 and token, and keeps the others', () => {
    const { tokens, issues } = parse(
      [
        'tokens:',
        '  - id: neither',
        '    roles: [a]',
        '  - id: both',
        '    roles: [a]',
        `    sha256: ${HASH_A}`,
        '    token: 0123456789abcdef',
        '  - id: good',
        '    roles: [a]',
        `    sha256: ${HASH_B}`,
        ''
      ].join('\n')
    );
    expect(issues).toEqual([
      issue(2, 5, 'tokens[0]', 'expected exactly one of "sha256" or "token"'),
      issue(4, 5, 'tokens[1]', 'expected exactly one of "sha256" or "token"')
    ]);
    expect(tokens.map((t) => t.id)).toEqual(['good']);
  });

  it('refuses a token shorter than 16 characters; 16 is enough', () => {
    const { tokens, issues } = parse(
      [
        'tokens:',
        '  - id: short',
        '    roles: [a]',
        '    token: 0123456789abcde',
        '  - id: enough',
        '    roles: [a]',
        '    token: 0123456789abcdef',
        ''
      ].join('\n')
    );
    expect(issues).toEqual([issue(4, 12, 'tokens[0].token', 'tokens must be at least 16 characters')]);
    expect(tokens.map((t) => t.id)).toEqual(['enough']);
  });

  it('refuses a duplicate id, and the same token listed twice (as a hash and as itself)', () => {
    const token = '0123456789abcdef';
    const { issues } = parse(
      [
        'tokens:',
        '  - id: one',
        '    roles: [a]',
        `    sha256: ${hashToken(token)}`,
        '  - id: one',
        '    roles: [a]',
        `    sha256: ${HASH_B}`,
        '  - id: three',
        '    roles: [a]',
        `    token: ${token}`,
        ''
      ].join('\n')
    );
    expect(issues).toEqual([
      issue(5, 9, 'tokens[1].id', 'duplicate token id "one"'),
      issue(8, 5, 'tokens[2]', 'the same token is listed twice')
    ]);
  });

  it('refuses times that are not dates, each where it stands', () => {
    const { issues } = parse(
      [
        'tokens:',
        '  - id: t',
        '    roles: [a]',
        `    sha256: ${HASH_A}`,
        '    created: yesterday',
        '    expires: soon',
        '    revoked: never',
        ''
      ].join('\n')
    );
    expect(issues).toEqual([
      issue(5, 14, 'tokens[0].created', 'expected an ISO 8601 date-time'),
      issue(6, 14, 'tokens[0].expires', 'expected an ISO 8601 date-time'),
      issue(7, 14, 'tokens[0].revoked', 'expected an ISO 8601 date-time')
    ]);
  });

  it('refuses a time that is not a string, even one Date.parse would read (inline config)', () => {
    const { tokens, issues } = parse(
      ['tokens:', '  - id: t', '    roles: [a]', `    sha256: ${HASH_A}`, '    expires: 5', ''].join('\n')
    );
    expect(issues).toEqual([issue(5, 14, 'tokens[0].expires', 'expected an ISO 8601 date-time')]);
    // A non-string time is not carried into the token.
    expect(tokens[0]).not.toHaveProperty('expires');
  });
});

describe('readTokenFile', () => {
  it('reads the tokens and revocations of a valid file', () => {
    writeFileSync(
      file,
      [
        'tokens:',
        '  - id: t1',
        '    roles: [admin]',
        `    sha256: ${HASH_A}`,
        'revocations:',
        '  - { id: jti-1, revoked: 2026-01-01T00:00:00Z }',
        ''
      ].join('\n')
    );
    expect(readTokenFile(file)).toEqual({
      tokens: [{ id: 't1', identity: 't1', roles: ['admin'], sha256: HASH_A }],
      revocations: [{ id: 'jti-1', revoked: '2026-01-01T00:00:00Z' }],
      issues: []
    });
  });

  it('reads an empty file as no tokens', () => {
    writeFileSync(file, '');
    expect(readTokenFile(file)).toEqual({ tokens: [], revocations: [], issues: [] });
    writeFileSync(file, 'revocations: []\n');
    expect(readTokenFile(file)).toEqual({ tokens: [], revocations: [], issues: [] });
  });

  it('says why a file cannot be read, at its first line', () => {
    const missing = join(dir, 'missing.yaml');
    const r = readTokenFile(missing);
    expect(r.tokens).toEqual([]);
    expect(r.revocations).toEqual([]);
    expect(r.issues).toEqual([
      {
        file: missing,
        line: 1,
        col: 1,
        path: '',
        message: expect.stringMatching(/^cannot read tokens file: ENOENT/) as unknown as string
      }
    ]);
  });

  it('gives no tokens from a file that is not YAML', () => {
    writeFileSync(file, `tokens:\n  - id: t1\n    roles: [admin]\n    sha256: ${HASH_A}\n  - [}\n`);
    const r = readTokenFile(file);
    expect(r.tokens).toEqual([]);
    expect(r.revocations).toEqual([]);
    expect(r.issues.length).toBeGreaterThan(0);
    expect(r.issues[0]?.line).toBe(5);
  });

  it('gives no tokens from a file that breaks the schema, and names every problem', () => {
    writeFileSync(
      file,
      [
        'tokens:',
        '  - id: good',
        '    roles: [admin]',
        `    sha256: ${HASH_A}`,
        '  - id: 5',
        '    roles: admin',
        '    bogus: 1',
        ''
      ].join('\n')
    );
    expect(readTokenFile(file)).toEqual({
      tokens: [],
      revocations: [],
      issues: [
        { file, line: 7, col: 5, path: 'tokens[1].bogus', message: 'unknown key' },
        { file, line: 5, col: 9, path: 'tokens[1].id', message: 'expected a string' },
        { file, line: 6, col: 12, path: 'tokens[1].roles', message: 'expected a list of strings' }
      ]
    });
  });

  it('refuses a hash that is not 64 hex digits', () => {
    writeFileSync(file, `tokens:\n  - id: t\n    roles: [a]\n    sha256: ${'A'.repeat(64)}\n`);
    const r = readTokenFile(file);
    expect(r.tokens).toEqual([]);
    expect(r.issues.map((i) => i.path)).toEqual(['tokens[0].sha256']);
  });

  it('applies the substitution before checking the entries', () => {
    writeFileSync(file, 'tokens:\n  - id: env\n    roles: [a]\n    token: ${A_TOKEN_FROM_THE_ENV}\n');
    const token = 'from-the-environment-0001';
    const r = readTokenFile(file, (value) =>
      JSON.parse(JSON.stringify(value).replace('${A_TOKEN_FROM_THE_ENV}', token))
    );
    expect(r).toEqual({
      tokens: [{ id: 'env', identity: 'env', roles: ['a'], sha256: hashToken(token) }],
      revocations: [],
      issues: []
    });
    // Without a substitution the text is taken as it is.
    expect(readTokenFile(file).tokens[0]?.sha256).toBe(hashToken('${A_TOKEN_FROM_THE_ENV}'));
  });

  it('gives no tokens when the substitution finds a problem', () => {
    writeFileSync(file, `tokens:\n  - id: t\n    roles: [a]\n    sha256: ${HASH_A}\n`);
    const problem: ConfigIssue = { file, line: 4, col: 12, path: 'tokens[0]', message: 'MISSING is not set' };
    expect(
      readTokenFile(file, (value, _src, issues) => {
        issues.push(problem);
        return value;
      })
    ).toEqual({ tokens: [], revocations: [], issues: [problem] });
  });

  it('keeps the good tokens beside the problems of the others', () => {
    writeFileSync(
      file,
      [
        'tokens:',
        '  - id: good',
        '    roles: [a]',
        `    sha256: ${HASH_A}`,
        '  - id: bad',
        '    roles: [a]',
        '    token: short',
        ''
      ].join('\n')
    );
    const r = readTokenFile(file);
    expect(r.tokens.map((t) => t.id)).toEqual(['good']);
    expect(r.issues.map((i) => i.message)).toEqual(['tokens must be at least 16 characters']);
  });

  it('refuses a revocation whose time is not a date', () => {
    writeFileSync(
      file,
      'revocations:\n  - { id: ok, revoked: 2026-01-01T00:00:00Z }\n  - { id: j, revoked: never }\n'
    );
    expect(readTokenFile(file)).toEqual({
      tokens: [],
      revocations: [
        { id: 'ok', revoked: '2026-01-01T00:00:00Z' },
        { id: 'j', revoked: 'never' }
      ],
      issues: [
        { file, line: 3, col: 23, path: 'revocations[1].revoked', message: 'expected an ISO 8601 date-time' }
      ]
    });
  });
});

describe('revokedIds and tokenProblem', () => {
  const now = Date.parse('2026-06-01T00:00:00Z');
  const token = (extra: Partial<TokenConfig>): TokenConfig => ({
    id: 't',
    identity: 't',
    roles: [],
    sha256: HASH_A,
    ...extra
  });

  it('lists the tokens revoked by now (the instant itself included) and every revocation', () => {
    const ids = revokedIds(
      [
        token({ id: 'past', revoked: '2026-05-01T00:00:00Z' }),
        token({ id: 'at', revoked: '2026-06-01T00:00:00Z' }),
        token({ id: 'future', revoked: '2026-06-01T00:00:01Z' }),
        token({ id: 'live' })
      ],
      [{ id: 'jti-1', revoked: '2027-01-01T00:00:00Z' }],
      now
    );
    expect([...ids]).toEqual([
      ['past', '2026-05-01T00:00:00Z'],
      ['at', '2026-06-01T00:00:00Z'],
      ['jti-1', '2027-01-01T00:00:00Z']
    ]);
  });

  it('judges against the current time by default', () => {
    expect([...revokedIds([token({ revoked: '2000-01-01T00:00:00Z' })], [])]).toEqual([
      ['t', '2000-01-01T00:00:00Z']
    ]);
    expect(revokedIds([token({ revoked: '2999-01-01T00:00:00Z' })], []).size).toBe(0);
    expect(tokenProblem(token({ expires: '2000-01-01T00:00:00Z' }))).toBe('token expired');
    expect(tokenProblem(token({ expires: '2999-01-01T00:00:00Z' }))).toBeUndefined();
  });

  it('says why a token is refused: revoked (from that instant), expired (from that instant), rotated out', () => {
    expect(tokenProblem(token({}), now)).toBeUndefined();
    expect(tokenProblem(token({ revoked: '2026-06-01T00:00:00Z' }), now)).toBe('token revoked');
    expect(tokenProblem(token({ revoked: '2026-06-01T00:00:00.001Z' }), now)).toBeUndefined();
    expect(tokenProblem(token({ expires: '2026-06-01T00:00:00Z' }), now)).toBe('token expired');
    expect(tokenProblem(token({ expires: '2026-06-01T00:00:00.001Z' }), now)).toBeUndefined();
    expect(tokenProblem(token({ expires: '2026-06-01T00:00:00Z', rotated_to: 'n' }), now)).toBe(
      'token rotated out (grace period over)'
    );
    expect(tokenProblem(token({ expires: '2026-07-01T00:00:00Z', rotated_to: 'n' }), now)).toBeUndefined();
    // Revocation wins over expiry.
    expect(
      tokenProblem(token({ revoked: '2026-05-01T00:00:00Z', expires: '2026-05-01T00:00:00Z' }), now)
    ).toBe('token revoked');
  });
});

describe('editing the token file', () => {
  const read = (): string => readFileSync(file, 'utf8');
  const mode = (path: string): number => statSync(path).mode & 0o777;

  it('creates the file with a new token, shown once and stored as its hash, readable by its owner only', () => {
    const { id, token } = createTokenEntry(
      file,
      {
        identity: 'alice',
        roles: ['admin', 'ops'],
        scopes: ['tools:read'],
        expires: '2027-01-01T00:00:00Z',
        description: 'laptop'
      },
      EPOCH
    );
    expect(id).toMatch(/^tok_[0-9a-f]{10}$/);
    expect(token).toMatch(/^pcl_[A-Za-z0-9_-]{43}$/);
    expect(read()).toBe(
      [
        'tokens:',
        `  - id: ${id}`,
        '    identity: alice',
        '    roles: [ admin, ops ]',
        '    scopes: [ tools:read ]',
        `    sha256: ${hashToken(token)}`,
        '    created: 2026-01-01T00:00:00.000Z',
        '    expires: 2027-01-01T00:00:00Z',
        '    description: laptop',
        ''
      ].join('\n')
    );
    expect(read()).not.toContain(token);
    expect(mode(file)).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['tokens.yaml']);
    expect(readTokenFile(file).issues).toEqual([]);
  });

  it('gives each token its own id and secret, and leaves out what was not given', () => {
    const a = createTokenEntry(file, { identity: 'a', roles: ['r'] }, EPOCH);
    const b = createTokenEntry(file, { identity: 'b', roles: ['r'] }, EPOCH);
    expect(a.id).not.toBe(b.id);
    expect(a.token).not.toBe(b.token);
    expect(readTokenFile(file).tokens).toEqual([
      { id: a.id, identity: 'a', roles: ['r'], sha256: hashToken(a.token), created: EPOCH.toISOString() },
      { id: b.id, identity: 'b', roles: ['r'], sha256: hashToken(b.token), created: EPOCH.toISOString() }
    ]);
  });

  it('stamps a new token with the current time by default', () => {
    const before = Date.now();
    createTokenEntry(file, { identity: 'a', roles: [] });
    const created = Date.parse(readTokenFile(file).tokens[0]?.created ?? '');
    expect(created).toBeGreaterThanOrEqual(before);
    expect(created).toBeLessThanOrEqual(Date.now());
  });

  it('keeps the comments and other keys of an existing file, and writes the list as a block', () => {
    writeFileSync(file, '# who may call\ntokens: []\nrevocations: [] # none yet\n');
    const { id } = createTokenEntry(file, { identity: 'a', roles: ['r'] }, EPOCH);
    expect(read()).toMatch(new RegExp(`^# who may call\\ntokens:\\n  - id: ${id}\\n`));
    expect(read()).toContain('revocations: [] # none yet');
  });

  it('starts a list when the file has none, or is not a mapping', () => {
    writeFileSync(file, 'revocations: []\n');
    createTokenEntry(file, { identity: 'a', roles: ['r'] }, EPOCH);
    expect(readTokenFile(file).tokens.map((t) => t.identity)).toEqual(['a']);
    expect(read()).toContain('revocations: []');

    writeFileSync(file, 'tokens: 5\n');
    createTokenEntry(file, { identity: 'b', roles: ['r'] }, EPOCH);
    expect(readTokenFile(file).tokens.map((t) => t.identity)).toEqual(['b']);

    writeFileSync(file, '- just\n- a list\n');
    createTokenEntry(file, { identity: 'c', roles: ['r'] }, EPOCH);
    expect(read()).toMatch(/^tokens:\n {2}- id: tok_/);
    expect(readTokenFile(file).tokens.map((t) => t.identity)).toEqual(['c']);
  });

  it('refuses to edit a file that is not YAML, naming it, and leaves it as it was', () => {
    writeFileSync(file, 'tokens: [}\n');
    expect(() => createTokenEntry(file, { identity: 'a', roles: [] })).toThrow(
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\S`)
    );
    expect(() => revokeTokenEntry(file, 'x')).toThrow(file);
    expect(read()).toBe('tokens: [}\n');
  });

  it('replaces a stale temporary file and a readable file with one readable by the owner only', () => {
    writeFileSync(file, 'tokens: []\n', { mode: 0o644 });
    chmodSync(file, 0o644);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, 'stale', { mode: 0o644 });
    chmodSync(tmp, 0o644);
    createTokenEntry(file, { identity: 'a', roles: [] }, EPOCH);
    expect(mode(file)).toBe(0o600);
    expect(existsSync(tmp)).toBe(false);
    expect(readTokenFile(file).tokens).toHaveLength(1);
  });

  it('revokes a token once: a second revocation keeps the first time', () => {
    const { id, token } = createTokenEntry(file, { identity: 'a', roles: [] }, EPOCH);
    const other = createTokenEntry(file, { identity: 'b', roles: [] }, EPOCH);
    revokeTokenEntry(file, id, new Date('2026-02-01T00:00:00Z'));
    revokeTokenEntry(file, id, new Date('2026-03-01T00:00:00Z'));
    const tokens = readTokenFile(file).tokens;
    expect(tokens.find((t) => t.id === id)?.revoked).toBe('2026-02-01T00:00:00.000Z');
    expect(tokens.find((t) => t.id === other.id)).not.toHaveProperty('revoked');
    expect(tokens.find((t) => t.sha256 === hashToken(token))?.id).toBe(id);
    expect(mode(file)).toBe(0o600);
  });

  it('revokes at the current time by default', () => {
    const { id } = createTokenEntry(file, { identity: 'a', roles: [] }, EPOCH);
    const before = Date.now();
    revokeTokenEntry(file, id);
    const revoked = Date.parse(readTokenFile(file).tokens[0]?.revoked ?? '');
    expect(revoked).toBeGreaterThanOrEqual(before);
    expect(revoked).toBeLessThanOrEqual(Date.now());
  });

  it('refuses to revoke or rotate a token the file does not have', () => {
    createTokenEntry(file, { identity: 'a', roles: [] }, EPOCH);
    const before = read();
    expect(() => revokeTokenEntry(file, 'tok_nope')).toThrow('no token with id "tok_nope"');
    expect(() => rotateTokenEntry(file, 'tok_nope', 60)).toThrow('no token with id "tok_nope"');
    expect(read()).toBe(before);
  });

  it('finds a token among entries that are not mappings', () => {
    writeFileSync(file, `tokens:\n  - stray\n  - id: t1\n    roles: [a]\n    sha256: ${HASH_A}\n`);
    revokeTokenEntry(file, 't1', EPOCH);
    expect(read()).toContain('revoked: 2026-01-01T00:00:00.000Z');
    expect(() => recordRevocation(file, 't1', EPOCH)).toThrow('"t1" is a token of this file');
    expect(recordRevocation(file, 'jti-9', EPOCH)).toBe(true);
  });

  describe('rotation', () => {
    it('issues a successor with the same identity, roles, scopes and description; the old one expires after the grace period', () => {
      const old = createTokenEntry(
        file,
        { identity: 'alice', roles: ['admin'], scopes: ['tools:call'], description: 'ci' },
        EPOCH
      );
      const now = new Date('2026-03-01T00:00:00.000Z');
      const next = rotateTokenEntry(file, old.id, 90, now);
      expect(next.graceUntil).toBe('2026-03-01T00:01:30.000Z');
      expect(next.id).toMatch(/^tok_[0-9a-f]{10}$/);
      expect(next.id).not.toBe(old.id);
      expect(next.token).toMatch(/^pcl_[A-Za-z0-9_-]{43}$/);
      expect(next.token).not.toBe(old.token);
      const { tokens, issues } = readTokenFile(file);
      expect(issues).toEqual([]);
      expect(tokens).toEqual([
        {
          id: old.id,
          identity: 'alice',
          roles: ['admin'],
          scopes: ['tools:call'],
          sha256: hashToken(old.token),
          created: EPOCH.toISOString(),
          description: 'ci',
          expires: '2026-03-01T00:01:30.000Z',
          rotated_to: next.id
        },
        {
          id: next.id,
          identity: 'alice',
          roles: ['admin'],
          scopes: ['tools:call'],
          sha256: hashToken(next.token),
          created: '2026-03-01T00:00:00.000Z',
          description: 'ci'
        }
      ]);
      expect(read()).toContain(
        `    roles: [ admin ]\n    scopes: [ tools:call ]\n    sha256: ${hashToken(next.token)}`
      );
      expect(mode(file)).toBe(0o600);
    });

    it('gives a successor without scopes or description none, and the id as identity when the entry has none', () => {
      writeFileSync(file, `tokens:\n  - id: t1\n    roles: [a, b]\n    sha256: ${HASH_A}\n`);
      const next = rotateTokenEntry(file, 't1', 0, EPOCH);
      expect(next.graceUntil).toBe(EPOCH.toISOString());
      expect(readTokenFile(file).tokens[1]).toEqual({
        id: next.id,
        identity: 't1',
        roles: ['a', 'b'],
        sha256: hashToken(next.token),
        created: EPOCH.toISOString()
      });
    });

    it('never lengthens the life of the old token: an earlier expiry stays', () => {
      // The same instant as the end of the grace period, written another way, stays as written.
      const expiries = ['2026-01-01T00:00:30.000Z', '2026-01-01T00:01:00Z', '2026-01-01T00:01:00.001Z'];
      const kept = expiries.map((expires) => {
        rmSync(file, { force: true });
        const old = createTokenEntry(file, { identity: 'a', roles: [], expires }, EPOCH);
        rotateTokenEntry(file, old.id, 60, EPOCH);
        return readTokenFile(file).tokens[0]?.expires;
      });
      expect(kept).toEqual(['2026-01-01T00:00:30.000Z', '2026-01-01T00:01:00Z', '2026-01-01T00:01:00.000Z']);
    });

    it('rotates at the current time by default', () => {
      const old = createTokenEntry(file, { identity: 'a', roles: [] }, EPOCH);
      const before = Date.now();
      const { graceUntil } = rotateTokenEntry(file, old.id, 10);
      expect(Date.parse(graceUntil)).toBeGreaterThanOrEqual(before + 10_000);
      expect(Date.parse(graceUntil)).toBeLessThanOrEqual(Date.now() + 10_000);
    });

    it('refuses to rotate a revoked token', () => {
      const old = createTokenEntry(file, { identity: 'a', roles: [] }, EPOCH);
      revokeTokenEntry(file, old.id, EPOCH);
      const before = read();
      expect(() => rotateTokenEntry(file, old.id, 60, EPOCH)).toThrow(`token "${old.id}" is revoked`);
      expect(read()).toBe(before);
    });
  });

  describe('revocations of other credentials', () => {
    it('records a jti once, in a list of one line per credential, keeping its first time', () => {
      createTokenEntry(file, { identity: 'a', roles: [] }, EPOCH);
      expect(recordRevocation(file, 'jti-1', new Date('2026-02-01T00:00:00Z'))).toBe(true);
      expect(recordRevocation(file, 'jti-2', new Date('2026-02-02T00:00:00Z'))).toBe(true);
      const before = read();
      expect(recordRevocation(file, 'jti-1', new Date('2026-03-01T00:00:00Z'))).toBe(false);
      expect(read()).toBe(before);
      expect(read()).toMatch(
        /\nrevocations:\n {2}- \{ id: jti-1, revoked: 2026-02-01T00:00:00.000Z \}\n {2}- \{ id: jti-2, revoked: 2026-02-02T00:00:00.000Z \}\n$/
      );
      expect(readTokenFile(file).revocations).toEqual([
        { id: 'jti-1', revoked: '2026-02-01T00:00:00.000Z' },
        { id: 'jti-2', revoked: '2026-02-02T00:00:00.000Z' }
      ]);
      expect(mode(file)).toBe(0o600);
    });

    it('writes into an existing list as a block, and replaces a value that is not a list', () => {
      writeFileSync(file, 'tokens: []\nrevocations: []\n');
      recordRevocation(file, 'jti-1', EPOCH);
      expect(read()).toContain('revocations:\n  - { id: jti-1, revoked: 2026-01-01T00:00:00.000Z }\n');

      writeFileSync(file, 'tokens: []\nrevocations: none\n');
      recordRevocation(file, 'jti-1', EPOCH);
      expect(readTokenFile(file).revocations).toEqual([{ id: 'jti-1', revoked: EPOCH.toISOString() }]);
    });

    it('skips entries that are not mappings when looking for a listed jti', () => {
      writeFileSync(
        file,
        'tokens: []\nrevocations:\n  - stray\n  - { id: jti-1, revoked: 2026-01-01T00:00:00Z }\n'
      );
      expect(recordRevocation(file, 'jti-1', EPOCH)).toBe(false);
    });

    it('records at the current time by default', () => {
      const before = Date.now();
      recordRevocation(file, 'jti-1');
      const revoked = Date.parse(readTokenFile(file).revocations[0]?.revoked ?? '');
      expect(revoked).toBeGreaterThanOrEqual(before);
      expect(revoked).toBeLessThanOrEqual(Date.now());
    });

    it("refuses a token of the file's own: that is revoked as a token, not as a jti", () => {
      const { id } = createTokenEntry(file, { identity: 'a', roles: [] }, EPOCH);
      const before = read();
      expect(() => recordRevocation(file, id, EPOCH)).toThrow(
        `"${id}" is a token of this file: revoke it without --jti`
      );
      expect(read()).toBe(before);
    });
  });
});
