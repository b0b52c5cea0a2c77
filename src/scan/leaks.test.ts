// Redaction must not leak: no character of a secret survives in the redacted value, wherever it
// sits (nested, in arrays, under odd keys, under a secret-named key, overlapping another finding),
// and the value keeps its shape. Secrets in real formats are found; the keys vendors print in their
// documentation are not, alone or inside other text.
import { describe, expect, it } from 'vitest';
import { redact, redactValue, scanText, scanValue, type Finding } from './index.js';
import { isVendorExample, looksLikeSecretValue } from './secrets.js';

const GITHUB = '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';
const AWS = 'AKIALQMRZYJICEWHW53I';
const PASSWORD = 'Xk9#mQ2$vL7pZ';

const secret = (
  rule: string,
  start: number,
  end: number,
  severity: Finding['severity'] = 'high'
): Finding => ({
  kind: 'secret',
  rule,
  severity,
  message: '',
  start,
  end
});

describe('redaction', () => {
  it('leaves no character of a secret, however deep or oddly keyed', () => {
    const value = {
      a: [[{ 'odd key': `token ${GITHUB}` }]],
      'x-y': { z: [AWS, { deeper: [`${AWS}/${GITHUB}`] }] }
    };
    const { value: out, findings } = redactValue(value);
    const text = JSON.stringify(out);
    expect(text).not.toContain(GITHUB.slice(4));
    expect(text).not.toContain(AWS.slice(4));
    expect(out).toEqual({
      a: [[{ 'odd key': 'token [REDACTED:github-token]' }]],
      'x-y': {
        z: [
          '[REDACTED:aws-access-key-id]',
          { deeper: ['[REDACTED:aws-access-key-id]/[REDACTED:github-token]'] }
        ]
      }
    });
    expect(findings.map((f) => f.field)).toEqual([
      'a[0][0]["odd key"]',
      '["x-y"].z[0]',
      '["x-y"].z[1].deeper[0]',
      '["x-y"].z[1].deeper[0]'
    ]);
  });

  it('prefixes paths, and names array items and odd keys under the prefix', () => {
    const found = scanValue({ list: [GITHUB], 'a b': GITHUB, $ok_1: GITHUB }, { path: 'args' });
    expect(found.map((f) => f.field)).toEqual(['args.list[0]', 'args["a b"]', 'args.$ok_1']);
    expect(scanValue([GITHUB]).map((f) => f.field)).toEqual(['[0]']);
    expect(scanValue({ k: GITHUB }).map((f) => f.field)).toEqual(['k']);
  });

  it('merges overlapping findings so that neither leaks, and keeps text between separate ones', () => {
    const text = 'aaSECRETbbOTHERcc';
    expect(redact(text, [secret('x', 2, 8), secret('y', 5, 15, 'critical')])).toBe('aa[REDACTED:y]cc');
    expect(redact(text, [secret('y', 5, 15), secret('x', 2, 8)])).toBe('aa[REDACTED:x]cc');
    // Equal severity: the span that starts first (or, starting together, is longer) names it.
    expect(redact(text, [secret('short', 2, 5), secret('long', 2, 15)])).toBe('aa[REDACTED:long]cc');
    expect(redact(text, [secret('x', 2, 8), secret('y', 10, 15)])).toBe('aa[REDACTED:x]bb[REDACTED:y]cc');
    // A span reaching the very end, and one starting at 0.
    expect(redact(text, [secret('e', 15, 17), secret('s', 0, 2)])).toBe(
      '[REDACTED:s]SECRETbbOTHER[REDACTED:e]'
    );
    // PII is redacted like secrets; a span of one character too.
    expect(redact('abc', [{ ...secret('p', 1, 2), kind: 'pii' }])).toBe('a[REDACTED:p]c');
  });

  it('treats a random-looking value under a secret-named key as a secret, once', () => {
    for (const [key, field] of [
      ['password', 'password'],
      ['db_password', 'db_password'],
      ['DB.PASS', '["DB.PASS"]'],
      ['api-key', '["api-key"]'],
      ['apiKey', 'apiKey'],
      ['client_secret', 'client_secret'],
      ['refresh_token', 'refresh_token'],
      ['Authorization', 'Authorization'],
      ['cookie', 'cookie'],
      ['credentials', 'credentials']
    ] as const) {
      const { value, findings } = redactValue({ [key]: PASSWORD });
      expect(value).toEqual({ [key]: '[REDACTED:secret-field]' });
      expect(findings).toEqual([
        {
          kind: 'secret',
          rule: 'secret-field',
          severity: 'medium',
          message: `a secret-looking value under "${key}"`,
          start: 0,
          end: PASSWORD.length,
          field
        }
      ]);
    }
    // Not a secret name, a name too long to be one, a value that is not random, or key context off.
    for (const [key, v] of [
      ['passwords_policy', PASSWORD],
      ['password_hint_for_the_user', PASSWORD],
      [`${'x'.repeat(60)}_password`, PASSWORD],
      ['password', 'hunter'],
      ['password', '${DB_PASSWORD}']
    ] as const) {
      expect(redactValue({ [key]: v }).findings, key).toEqual([]);
    }
    expect(redactValue({ password: PASSWORD }, { keyContext: false }).findings).toEqual([]);
    // A value a format rule already covers whole is reported by that rule only.
    expect(redactValue({ token: GITHUB }).findings.map((f) => f.rule)).toEqual(['github-token']);
    // Array items sit under their array's key.
    expect(redactValue({ password: [PASSWORD] }).value).toEqual({ password: ['[REDACTED:secret-field]'] });
  });

  it('leaves binary payloads alone unless asked, and can report without copying', () => {
    const value = {
      blob: GITHUB,
      image: { type: 'image', data: GITHUB },
      audio: { type: 'audio', data: GITHUB },
      other: { type: 'text', data: GITHUB }
    };
    expect(redactValue(value).value).toEqual({
      blob: GITHUB,
      image: { type: 'image', data: GITHUB },
      audio: { type: 'audio', data: GITHUB },
      other: { type: 'text', data: '[REDACTED:github-token]' }
    });
    expect(redactValue(value, { skipBinary: false }).findings).toHaveLength(4);
    const report = redactValue(value, { reportOnly: true, skipBinary: false });
    expect(report.value).toBe(value);
    expect(report.findings.map((f) => f.field)).toEqual(['blob', 'image.data', 'audio.data', 'other.data']);
    const list = [GITHUB];
    expect(redactValue(list, { reportOnly: true }).value).toBe(list);
    expect(redactValue(list).value).toEqual(['[REDACTED:github-token]']);
  });

  it('can leave secrets or PII alone, each on its own', () => {
    const value = { note: `${GITHUB} ada@example.com` };
    expect(redactValue(value, { secrets: false }).value).toEqual({ note: `${GITHUB} [REDACTED:email]` });
    expect(redactValue(value, { pii: false }).value).toEqual({
      note: '[REDACTED:github-token] ada@example.com'
    });
  });

  it('reads the same object twice when it is shared, not cyclic, and stops at a cycle or great depth', () => {
    const shared = { k: GITHUB };
    expect(redactValue({ a: shared, b: shared }).value).toEqual({
      a: { k: '[REDACTED:github-token]' },
      b: { k: '[REDACTED:github-token]' }
    });
    const sharedList = [GITHUB];
    expect(redactValue({ a: sharedList, b: sharedList }).findings.map((f) => f.field)).toEqual([
      'a[0]',
      'b[0]'
    ]);
    const cyclic: Record<string, unknown> = { k: GITHUB };
    cyclic.self = cyclic;
    const out = redactValue(cyclic).value as Record<string, unknown>;
    expect(out.k).toBe('[REDACTED:github-token]');
    expect(out.self).toBe(cyclic);
    let deep: unknown = GITHUB;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(JSON.stringify(redactValue(deep).value)).toContain('[REDACTED:github-token]');
    // Deeper than the walk goes: withheld whole and reported, never passed on unread.
    let tooDeep: unknown = { token: GITHUB, note: 'plain' };
    for (let i = 0; i < 150; i++) tooDeep = i % 2 ? [tooDeep] : { v: tooDeep };
    const cut = redactValue({ args: tooDeep });
    expect(JSON.stringify(cut.value)).not.toContain(GITHUB);
    expect(JSON.stringify(cut.value)).not.toContain('plain');
    expect(JSON.stringify(cut.value)).toContain('[REDACTED:too-deep]');
    expect(cut.findings).toEqual([
      expect.objectContaining({ kind: 'secret', rule: 'too-deep', severity: 'high' })
    ]);
    expect(cut.findings[0]!.field).toMatch(/^args(?:\.v|\[0\])+$/);
    const reported = redactValue({ args: tooDeep }, { reportOnly: true });
    expect(reported.value).toEqual({ args: tooDeep });
    expect(reported.findings.map((f) => f.rule)).toEqual(['too-deep']);
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { k: GITHUB });
    expect(redactValue(bare).value).toEqual({ k: '[REDACTED:github-token]' });
    class Holder {
      k = GITHUB;
    }
    const held = new Holder();
    expect(redactValue({ held }).value).toEqual({ held });
  });
});

describe("vendors' documented example keys", () => {
  it('are recognised alone, inside other text, and by the AWS EXAMPLE mark only in an AWS shape', () => {
    expect(isVendorExample('AKIAIOSFODNN7EXAMPLE')).toBe(true);
    expect(isVendorExample('key=AKIAIOSFODNN7EXAMPLE;')).toBe(true);
    expect(isVendorExample('AKIAI44QH8DHBEXAMPLE')).toBe(true);
    expect(isVendorExample('je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY')).toBe(true);
    // EXAMPLE in something that is not an AWS key id or secret.
    expect(isVendorExample('AKIAI44QH8DHBEXAMPLE1')).toBe(false);
    expect(isVendorExample('xAKIAI44QH8DHBEXAMPLE')).toBe(false);
    expect(isVendorExample('MY_EXAMPLE_PASSWORD_Xk9#mQ2$vL7pZ')).toBe(false);
    expect(isVendorExample(AWS)).toBe(false);
    expect(isVendorExample(GITHUB)).toBe(false);
  });

  it('are not findings, while a real key beside one is', () => {
    expect(scanText('pk_test_TYooMQauvdEDq54NiTphI7jx and sk_test_4eC39HqLyjWDarjtT1zdp7dc')).toEqual([]);
    const text = `AKIAIOSFODNN7EXAMPLE ${AWS}`;
    expect(scanText(text).map((f) => [f.rule, f.start, f.end])).toEqual([['aws-access-key-id', 21, 41]]);
    expect(looksLikeSecretValue('AKIAIOSFODNN7EXAMPLE')).toBe(false);
  });
});

describe('secret-looking values', () => {
  it('are random enough for their length, and never references, paths, code or known formats', () => {
    for (const v of [
      PASSWORD,
      'Xk9#mQ2$vL7pZ.',
      'Xk9#mQ2$vL7pZ\\\\',
      'aB3$eF6&',
      'aB3dE6gH9jK2m',
      'q8Zr2LpX7vN4tY6wB1cD'
    ]) {
      expect(looksLikeSecretValue(v), v).toBe(true);
    }
    for (const v of [
      'aB3$eF6',
      'a'.repeat(300) + '1B$',
      'aB3dE6gH9jK', // 11 characters, three classes: a short id
      'abcdefgh1234', // low entropy and two classes at 12
      'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
      '${DB_PASSWORD}',
      'config.db.password',
      '/etc/secrets/db',
      './secret.txt',
      'C:\\secrets\\db',
      'vault:secret/db',
      '$env:DB_PASS',
      '$DB_PASSWORD',
      '%DB_PASS%',
      'op://vault/item',
      'https://example.com/a1B2',
      'getSecret(1B$x)',
      'secrets[1B$x]',
      '12345678901234!!',
      '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',
      'sk-abc123DEF456ghi789'
    ]) {
      expect(looksLikeSecretValue(v), v).toBe(false);
    }
  });
});
