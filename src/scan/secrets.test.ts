import { describe, expect, it } from 'vitest';
import { scanText, type Finding } from './index.js';
import { looksLikeSecretValue } from './secrets.js';
import { base62ChecksumValid, crc32, toBase62 } from './util.js';

const secrets = (text: string): Finding[] => scanText(text, { injection: false, pii: false });
const rules = (text: string): string[] => secrets(text).map((f) => f.rule);
const spans = (text: string): string[] => secrets(text).map((f) => text.slice(f.start, f.end));

// Verified independently (Python zlib.crc32 + base62 0-9A-Za-z): the last 6 chars are the checksum.
const GH_VALID = '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';
const GH_BAD = 'ghp_wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUy';

function checksummed(prefix: string, random: string): string {
  return `${prefix}${random}${toBase62(crc32(random), 6)}`;
}

describe('checksum helpers', () => {
  it('computes the standard CRC-32', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(crc32('')).toBe(0);
  });
  it('encodes base62 with zero padding', () => {
    expect(toBase62(0, 6)).toBe('000000');
    expect(toBase62(61, 2)).toBe('0z');
    expect(toBase62(62, 1)).toBe('10');
  });
  it('validates the GitHub token checksum', () => {
    expect(base62ChecksumValid(GH_VALID.slice(4))).toBe(true);
    expect(base62ChecksumValid(GH_BAD.slice(4))).toBe(false);
  });
});

describe('AWS', () => {
  it('finds access key ids (AKIA/ASIA + 16)', () => {
    expect(rules('aws_access_key_id = AKIAIOSFODNN7EXAMPLE')).toEqual(['aws-access-key-id']);
    expect(spans('creds ASIAQWERTYUIOPASDFGH in env')).toEqual(['ASIAQWERTYUIOPASDFGH']);
  });
  it('ignores near misses', () => {
    expect(rules('AKIAIOSFODNN7EXAMPL')).toEqual([]); // 15 chars
    expect(rules('AKIAIOSFODNN7EXAMPLEX')).toEqual([]); // 17 chars
    expect(rules('akiaiosfodnn7example')).toEqual([]);
    expect(rules('XAKIAIOSFODNN7EXAMPLE')).toEqual([]);
  });
  it('finds a secret access key next to AWS context', () => {
    const key = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    expect(spans(`aws_secret_access_key = ${key}`)).toContain(key);
    expect(rules(`{"SecretAccessKey": "${key}"}`)).toContain('aws-secret-access-key');
    expect(rules(`AKIAIOSFODNN7EXAMPLE,${key}`)).toEqual(['aws-access-key-id', 'aws-secret-access-key']);
  });
  it('does not take a 40-char hex sha or a context-free token for a secret key', () => {
    expect(rules(`aws_secret_access_key = ${'a1b2c3d4e5'.repeat(4)}`)).not.toContain('aws-secret-access-key');
    expect(rules('checksum wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')).toEqual([]);
  });
});

describe('GitHub and npm tokens', () => {
  it('finds classic tokens with a valid checksum, for every prefix', () => {
    for (const prefix of ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_']) {
      const token = checksummed(prefix, 'aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0');
      expect(spans(`token: ${token}`)).toEqual([token]);
    }
    expect(rules(`export GITHUB_TOKEN=${GH_VALID}`)).toEqual(['github-token']);
  });
  it('rejects a token with a wrong checksum, even under a token-named variable', () => {
    expect(rules(GH_BAD)).toEqual([]);
    expect(rules(`export GITHUB_TOKEN=${GH_BAD}`)).toEqual([]);
  });
  it('rejects tokens of the wrong length or glued to other text', () => {
    expect(rules(GH_VALID.slice(0, -1))).toEqual([]);
    expect(rules(`x${GH_VALID}`)).toEqual([]);
  });
  it('finds fine-grained tokens', () => {
    const pat = `github_pat_11ABCDEFG0123456789XYZ_${'aZ9bY8cX7dW6eV5fU4gT3hS2iR1jQ0kP9lO8mN7nM6oL5pK4qJ3rI2sH1tG0u'.slice(0, 59)}`;
    expect(rules(`GH_PAT=${pat}`)).toEqual(['github-fine-grained-pat']);
    expect(rules(`github_pat_${'a'.repeat(22)}_${'a'.repeat(59)}`)).toEqual([]); // no entropy
  });
  it('finds npm tokens with a valid checksum only', () => {
    const good = checksummed('npm_', 'Zx8Yw7Vu6Ts5Rq4Po3Nm2Lk1Ji0Hg9');
    expect(rules(`//registry.npmjs.org/:_authToken=${good}`)).toEqual(['npm-token']);
    expect(rules(`//registry.npmjs.org/:_authToken=${good.slice(0, -1)}0`)).toEqual([]);
  });
});

describe('SaaS keys', () => {
  it('Slack tokens and webhooks', () => {
    expect(rules('SLACK_BOT_TOKEN=xoxb-1234567890123-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx')).toEqual([
      'slack-token'
    ]);
    expect(rules('xoxp-12345678901-12345678901-1234567890123-0123456789abcdef0123456789abcdef')).toEqual([
      'slack-token'
    ]);
    expect(rules('xoxb-not-a-real-token')).toEqual([]);
    expect(rules('https://hooks.slack.com/services/T0ABCDEF12/B0ABCDEF34/AbCdEfGhIjKlMnOpQrStUvWx')).toEqual([
      'slack-webhook'
    ]);
  });
  it('Stripe live secret and restricted keys, not publishable or placeholder ones', () => {
    expect(rules('sk_live_4eC39HqLyjWDarjtT1zdp7dc')).toEqual(['stripe-live-key']);
    expect(rules('rk_live_51H8xYzAbCdEfGhIjKlMnOpQr')).toEqual(['stripe-live-key']);
    expect(rules('pk_live_4eC39HqLyjWDarjtT1zdp7dc')).toEqual([]);
    expect(rules('STRIPE_SECRET_KEY=sk_live_your_key_here')).toEqual([]);
  });
  it('Google API keys (AIza + 35)', () => {
    expect(rules('key=AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY')).toEqual(['google-api-key']);
    expect(rules('AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMB')).toEqual([]); // too short
  });
  it('OpenAI-style keys need length and entropy', () => {
    expect(rules('OPENAI_API_KEY=sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0fGh3iJk6lMn9')).toEqual([
      'openai-api-key'
    ]);
    expect(rules('sk-Ab3dEf6hIj9kLm2nOpT3BlbkFJqRs8tUv1wXy4zAb7c')).toEqual(['openai-api-key']);
    expect(rules('pip install sk-learn-contrib')).toEqual([]);
    expect(rules('sk-1234')).toEqual([]);
    expect(rules(`sk-${'a'.repeat(48)}`)).toEqual([]);
    expect(rules('sk-linear-regression-pipeline-default-settings-v2')).toEqual([]);
  });
});

describe('structured credentials', () => {
  const body =
    'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n';
  for (const kind of ['RSA ', 'EC ', 'OPENSSH ', '', 'ENCRYPTED ']) {
    it(`finds a ${kind || 'PKCS#8 '}private key block and covers all of it`, () => {
      const pem = `-----BEGIN ${kind}PRIVATE KEY-----\n${body}-----END ${kind}PRIVATE KEY-----`;
      const text = `key:\n${pem}\ndone`;
      expect(spans(text)).toEqual([pem]);
    });
  }
  it('covers a private key inside JSON text (escaped newlines)', () => {
    const json = JSON.stringify({
      private_key: `-----BEGIN PRIVATE KEY-----\n${body}-----END PRIVATE KEY-----\n`
    });
    const [f] = secrets(json);
    expect(f?.rule).toBe('private-key');
    expect(json.slice(f!.start, f!.end)).toMatch(/^-----BEGIN PRIVATE KEY-----.*-----END PRIVATE KEY-----$/);
  });
  it('takes the body when the END line is missing', () => {
    const text = `-----BEGIN RSA PRIVATE KEY-----\n${body}`;
    expect(spans(text)[0]?.length).toBeGreaterThan(100);
  });
  it('ignores public keys and certificates', () => {
    expect(rules(`-----BEGIN PUBLIC KEY-----\n${body}-----END PUBLIC KEY-----`)).toEqual([]);
    expect(rules(`-----BEGIN CERTIFICATE-----\n${body}-----END CERTIFICATE-----`)).toEqual([]);
  });

  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const jwt = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: '42', exp: 1735689600 })}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c`;
  it('finds JWTs whose header decodes to JSON with alg', () => {
    expect(spans(`Authorization: Bearer ${jwt}`)).toContain(jwt);
    expect(rules(`{"access_token":"${jwt}"}`)).toContain('jwt');
  });
  it('ignores eyJ look-alikes without a JSON header', () => {
    expect(rules('token=eyJub3QtanNvbg.abc.def')).not.toContain('jwt'); // {"not-json
    expect(rules(`${b64({ typ: 'JWT' })}.${b64({ sub: 1 })}.sig`)).toEqual([]); // no alg
  });

  it('finds connection strings with a password and reports only the password', () => {
    for (const url of [
      'postgres://app:s3cr3tP4ss@db.internal:5432/app',
      'postgresql://app:s3cr3tP4ss@db/app',
      'mysql://root:Xy7!kq2@10.0.0.5:3306/db',
      'mongodb+srv://admin:Tr0ub4dor3@cluster0.ab1cd.mongodb.net/test',
      'redis://:hunter2hunter2@cache:6379/0',
      'amqp://worker:Rabb1tPass@mq:5672/vhost'
    ]) {
      const found = secrets(`URL=${url}`).filter((f) => f.rule === 'connection-string');
      expect(found, url).toHaveLength(1);
      const text = `URL=${url}`;
      expect(text.slice(found[0]!.start, found[0]!.end)).toBe(url.split('@')[0]!.split(':').pop());
    }
  });
  it('ignores connection strings without a real password', () => {
    expect(rules('postgres://localhost:5432/app')).toEqual([]);
    expect(rules('postgres://user@localhost/app')).toEqual([]);
    expect(rules('postgres://app:${DB_PASS}@db/app')).toEqual([]);
    expect(rules('postgres://user:password@localhost/app')).toEqual([]);
    expect(rules('redis://user:pass@localhost:6379')).toEqual([]);
  });
  it('finds credentials in other URLs', () => {
    expect(rules('git remote add origin https://bot:Zm9vYmFyYmF6cXV4@git.acme.io/x.git')).toEqual([
      'url-credentials'
    ]);
    expect(rules('https://user@example.com/path')).toEqual([]);
  });
});

describe('generic assignments and headers', () => {
  it('finds random-looking values assigned to secret names', () => {
    expect(spans('password = "Summer2024!x"')).toEqual(['Summer2024!x']);
    expect(spans('DB_PASSWORD=Xk9#mQ2$vL7pZ')).toEqual(['Xk9#mQ2$vL7pZ']);
    expect(spans('{"client_secret": "3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"}')).toEqual([
      '3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c'
    ]);
    expect(spans("const dbPassword = 'Tr0ub4dor&3xyz';")).toEqual(['Tr0ub4dor&3xyz']);
  });
  it('ignores references, placeholders and non-secret names', () => {
    for (const t of [
      'password=${DB_PASSWORD}',
      'password: "<your password>"',
      'api_key = os.environ["API_KEY"]',
      'token = get_token()',
      'PASSWORD=changeme',
      'secret: "********"',
      'max_tokens=40960000',
      'token_count: 18233abc9',
      'password_hash: "$2b$12$KIXQ4b1U3Yk9Pj0fQ9C6Re"',
      'tokenizer = "cl100k_base"',
      'const password = config.database.password;',
      'const token = firstToken.range[0];',
      'secret = lookupSecret(name);',
      'mypassword=Xk9#mQ2$vL7pZ',
      'JWT_SECRET=\nLOG_LEVEL=info'
    ]) {
      expect(rules(t), t).toEqual([]);
    }
  });
  it('judges values by shape', () => {
    expect(looksLikeSecretValue('Xk9#mQ2$vL7pZ')).toBe(true);
    expect(looksLikeSecretValue('abcdefghijkl')).toBe(false);
    expect(looksLikeSecretValue('/run/secrets/db')).toBe(false);
    expect(looksLikeSecretValue('settings.db.password')).toBe(false);
  });
  it('finds bearer and basic credentials', () => {
    expect(rules('Authorization: Bearer 8f3kQ9zL2mXvB7nW4pRtY6uJ1cH5dG0s')).toEqual(['bearer-token']);
    expect(rules('Authorization: Bearer <token>')).toEqual([]);
    expect(rules('Use a Bearer token in the Authorization header.')).toEqual([]);
    const basic = Buffer.from('deploy:S3cretPassw0rd').toString('base64');
    expect(rules(`Authorization: Basic ${basic}`)).toEqual(['basic-auth']);
    expect(rules('Authorization: Basic bm90LWJhc2U2NC1jcmVkcw==')).toEqual([]); // no colon inside
  });
});

describe('things that are not secrets', () => {
  it('ignores UUIDs, git shas, sha256 digests, integrity hashes and ARNs', () => {
    for (const t of [
      'request_id=123e4567-e89b-12d3-a456-426614174000',
      'commit 9fceb02d0ae598e95dc970b74767f19372d61af8',
      'sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae',
      '"integrity": "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUR3k4jD4QKqW7w6Ng=="',
      'arn:aws:iam::123456789012:role/ci-deployer',
      'ghcr.io/acme/api@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae'
    ]) {
      expect(rules(t), t).toEqual([]);
    }
  });
});
