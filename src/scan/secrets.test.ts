import { describe, expect, it } from 'vitest';
import { scanText, type Finding } from './index.js';
import { redact } from './redact.js';
import {
  isVendorExample,
  looksLikePassword,
  looksLikeSecretValue,
  scanSecrets,
  settleSecrets
} from './secrets.js';
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

// Made-up keys of the right shape (not AWS's documented examples, which are not findings).
const AWS_ID = 'AKIALQMRZYJICEWHW53I';
const AWS_SECRET = '8eRgNtvwOEc3uH55aGFIgG89/od2u34dYTC8ySr0';

describe('AWS', () => {
  it('finds access key ids (AKIA/ASIA + 16)', () => {
    expect(rules(`aws_access_key_id = ${AWS_ID}`)).toEqual(['aws-access-key-id']);
    expect(spans('creds ASIAQWERTYUIOPASDFGH in env')).toEqual(['ASIAQWERTYUIOPASDFGH']);
  });
  it('ignores near misses', () => {
    expect(rules(AWS_ID.slice(0, -1))).toEqual([]); // 15 chars
    expect(rules(`${AWS_ID}X`)).toEqual([]); // 17 chars
    expect(rules(AWS_ID.toLowerCase())).toEqual([]);
    expect(rules(`X${AWS_ID}`)).toEqual([]);
  });
  it('finds a secret access key next to AWS context', () => {
    expect(spans(`aws_secret_access_key = ${AWS_SECRET}`)).toEqual([AWS_SECRET]);
    expect(rules(`{"SecretAccessKey": "${AWS_SECRET}"}`)).toEqual(['aws-secret-access-key']);
    expect(rules(`${AWS_ID},${AWS_SECRET}`)).toEqual(['aws-access-key-id', 'aws-secret-access-key']);
  });
  it('does not take a 40-char hex sha or a context-free token for a secret key', () => {
    expect(rules(`aws_secret_access_key = ${'a1b2c3d4e5'.repeat(4)}`)).not.toContain('aws-secret-access-key');
    expect(rules(`checksum ${AWS_SECRET}`)).toEqual([]);
  });
});

describe("vendors' documented example keys", () => {
  it("are not findings: AWS's examples, and any AWS-shaped value marked EXAMPLE", () => {
    for (const t of [
      'AKIAIOSFODNN7EXAMPLE',
      'aws_access_key_id = AKIAIOSFODNN7EXAMPLE',
      'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      'AKIAIOSFODNN7EXAMPLE,wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      '{"AccessKeyId": "ASIAIOSFODNN7EXAMPLE", "SecretAccessKey": "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"}',
      'export AWS_ACCESS_KEY_ID=AKIAI44QH8DHBEXAMPLE'
    ]) {
      expect(rules(t), t).toEqual([]);
    }
  });
  it("are not findings: Stripe's test keys, the Azure Storage emulator's key, jwt.io's token", () => {
    for (const t of [
      'STRIPE_SECRET_KEY=sk_test_4eC39HqLyjWDarjtT1zdp7dc',
      'curl https://api.stripe.com/v1/charges -u sk_test_BQokikJOvBiI2HlWgH4olfQ2:',
      'stripe.api_key = "sk_test_BQokikJOvBiI2HlWgH4olfQ2"',
      "const stripe = Stripe('pk_test_TYooMQauvdEDq54NiTphI7jx');",
      'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;',
      'SharedAccessSignature=sv=2015-07-08&sig=iCvQmdZngZNW%2F4vw43j6%2BVz6fndHF5LI639QJba4r8o%3D&spr=https&st=2016-04-12T03%3A24%3A31Z&se=2016-04-13T03%3A29%3A31Z&srt=s&ss=bf&sp=rwl',
      'Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'
    ]) {
      expect(rules(t), t).toEqual([]);
    }
    expect(isVendorExample('sk_test_4eC39HqLyjWDarjtT1zdp7dc')).toBe(true);
    expect(looksLikeSecretValue('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')).toBe(false);
  });
  it('leave a real key next to an example reported, at its own offsets', () => {
    const text = `AKIAIOSFODNN7EXAMPLE,${AWS_SECRET}`;
    const found = secrets(text);
    expect(found.map((f) => f.rule)).toEqual(['aws-secret-access-key']);
    expect(found[0]!.start).toBe(21);
    expect(redact(text, found)).toBe('AKIAIOSFODNN7EXAMPLE,[REDACTED:aws-secret-access-key]');
    // A key that merely resembles an example is still a key.
    expect(rules('STRIPE_SECRET_KEY=sk_live_4eC39HqLyjWDarjtT1zdp7dc')).toEqual(['stripe-live-key']);
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

describe('Hugging Face tokens', () => {
  const token = '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';
  it('finds user access tokens (hf_ + 34 letters) and the older org tokens (api_org_ + 34)', () => {
    expect(spans(`HF_TOKEN=${token}`)).toEqual([token]);
    expect(spans(`huggingface-cli login --token ${token} --add-to-git-credential`)).toEqual([token]);
    expect(rules(`headers = {"Authorization": "Bearer ${token}"}`)).toContain('huggingface-token');
    const org = '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';
    expect(spans(`use_auth_token='${org}'`)).toEqual([org]);
  });
  it('ignores the wrong length, digits or underscores in the body, and identifiers', () => {
    for (const t of [
      token.slice(0, -1), // 33 letters
      `${token}Q`, // 35 letters
      `${token.slice(0, -1)}7`, // a digit
      `hf_${'abcdefghijklmnopq'.repeat(2)}`, // lower case only
      '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', // camelCase, never two capitals in a row
      'from huggingface_hub import hf_hub_download',
      'HF_TOKEN=hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
      `x${token}`
    ]) {
      expect(rules(t), t).toEqual([]);
    }
  });
});

describe('SendGrid keys', () => {
  const key = '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';
  it('finds the whole key: SG. + 22 + . + 43 (base64url)', () => {
    expect(spans(`SENDGRID_API_KEY=${key}`)).toEqual([key]);
    const text = `sg = SendGridAPIClient("${key}")`;
    const [f] = secrets(text);
    expect(f).toMatchObject({ rule: 'sendgrid-api-key', start: 24, end: 24 + key.length });
    expect(redact(text, [f!])).toBe('sg = SendGridAPIClient("[REDACTED:sendgrid-api-key]")');
  });
  it('ignores the wrong lengths, the wrong alphabet and placeholders', () => {
    for (const t of [
      key.slice(0, -1), // 42 after the second dot
      `${key}x`,
      key.replace('SG.EkFgXgATbWTN', 'SG.EkFgXgATbW'), // 20 before it
      key.replace('aZvbmg5FKuVg', 'aZvbmg5F+uVg'), // + is not base64url
      'SENDGRID_API_KEY=SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
      'SENDGRID_API_KEY=SG.your-api-key'
    ]) {
      expect(rules(t), t).toEqual([]);
    }
  });
});

describe('Azure', () => {
  const accountKey =
    'YPMc9224tVm8kagaFzAyqq+2/9xLfzoSpJSQDFPRSqlg8rBXZp4AOQQZ14ZvlV1Z/ODhl9dHQKw15f2w+EUzcw==';
  const sharedKey = 'bbpvbgVugkTiMAKiuEry+wWUJu1FG0cZb5Rp/Nj5CyM=';
  const sig = 'XVem%2F06QyYb9VGKBZPnCq5zNkBQ6Va2%2Bem%2BqFdUvz7E%3D';
  it('finds the account key of a storage connection string, and only the key', () => {
    const text = `AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=https;AccountName=acmelogs;AccountKey=${accountKey};EndpointSuffix=core.windows.net"`;
    const found = secrets(text);
    expect(found.map((f) => f.rule)).toEqual(['azure-storage-key']);
    expect(text.slice(found[0]!.start, found[0]!.end)).toBe(accountKey);
    expect(redact(text, found)).toContain('AccountKey=[REDACTED:azure-storage-key];EndpointSuffix');
    expect(spans(`export AZURE_STORAGE_KEY=${accountKey}`)).toEqual([accountKey]);
    expect(spans(`{"storageAccountKey": "${accountKey}"}`)).toEqual([accountKey]);
  });
  it('finds SharedAccessKey in Service Bus and Event Hubs connection strings, not the key name', () => {
    const text = `Endpoint=sb://acme-bus.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${sharedKey};EntityPath=orders`;
    expect(secrets(text).map((f) => [f.rule, text.slice(f.start, f.end)])).toEqual([
      ['azure-shared-access-key', sharedKey]
    ]);
  });
  it('finds the signature of a SAS token, percent-encoded or not, in any parameter order', () => {
    const url = `https://acmelogs.blob.core.windows.net/exports/q3.csv?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2025-06-30T23:59:59Z&spr=https&sig=${sig}`;
    expect(spans(url)).toEqual([sig]);
    const [f] = secrets(url);
    expect(redact(url, [f!])).toMatch(/&sig=\[REDACTED:azure-sas-signature\]$/);
    const plain =
      'sig=XVem/06QyYb9VGKBZPnCq5zNkBQ6Va2+em+qFdUvz7E=&sv=2021-08-06&sr=c&sp=racwdl&se=2025-01-01';
    expect(spans(`sas_url: https://a.blob.core.windows.net/c?${plain}`)).toEqual([
      'XVem/06QyYb9VGKBZPnCq5zNkBQ6Va2+em+qFdUvz7E='
    ]);
    expect(
      spans(
        `BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=2015-04-05&amp;sr=b&amp;sig=${sig}`
      )
    ).toEqual([sig]);
    // Service Bus and Event Hubs SAS: sr, sig, se, skn.
    expect(
      rules(
        `Authorization: SharedAccessSignature sr=acme-bus.servicebus.windows.net%2Forders&sig=${sig}&se=1735689600&skn=send`
      )
    ).toEqual(['azure-sas-signature']);
  });
  it('ignores account keys of the wrong length or alphabet, placeholders, and sig= outside a SAS', () => {
    for (const t of [
      `AccountKey=${accountKey.slice(2)}`, // 86 characters
      `AccountKey=${accountKey.replace(/==$/, 'A=')}`, // not 512 bits
      'DefaultEndpointsProtocol=https;AccountName=storagesample;AccountKey=<account-key>',
      `AccountKey=${'A'.repeat(86)}==`,
      'SharedAccessKeyName=RootManageSharedAccessKey',
      `https://example.com/download?id=42&sig=${sig}`, // no sv= or skn=
      `?sv=2022-11-02&ss=b&sig=${sig.slice(3)}`, // 40 characters, not an HMAC-SHA256
      '?sv=2022-11-02&sp=r&se=2025-01-01&sig=<signature>',
      '"integrity": "sha512-YPMc9224tVm8kagaFzAyqq+2/9xLfzoSpJSQDFPRSqlg8rBXZp4AOQQZ14ZvlV1Z/ODhl9dHQKw15f2w+EUzcw=="'
    ]) {
      expect(rules(t), t).toEqual([]);
    }
    // 43 characters: not a key Azure generates (the generic rule may still report the value).
    expect(rules(`SharedAccessKey=${sharedKey.slice(1)}`)).not.toContain('azure-shared-access-key');
  });
});

describe('passwords written in prose', () => {
  it('finds the password after "is", ":", "=", "set to", "with password", and reports only it', () => {
    const cases: [string, string][] = [
      ['the password is hunter2!Xy', 'hunter2!Xy'],
      ['Password: Ab3!xy', 'Ab3!xy'],
      ['pwd = Xk9#mQ', 'Xk9#mQ'],
      ['my passphrase is Blue-Horse-42!', 'Blue-Horse-42!'],
      ['The wifi password is "c0ffee-Sh0p".', 'c0ffee-Sh0p'],
      ['the password for the staging db is Qw3rty!9, ask me for the other one', 'Qw3rty!9'],
      ["root's password was reset to tmp-8842-QZ yesterday", 'tmp-8842-QZ'],
      ['Log in with password Tr0ub4dor&3 and change it.', 'Tr0ub4dor&3'],
      ['{"text": "the password is \\"hunter2!Xy\\""}', 'hunter2!Xy'],
      ['new password: P@ss99', 'P@ss99'],
      ['The password is hunter2.', 'hunter2']
    ];
    for (const [text, password] of cases) {
      const found = secrets(text);
      expect(
        found.map((f) => f.rule),
        text
      ).toEqual(['password-in-prose']);
      expect(text.slice(found[0]!.start, found[0]!.end), text).toBe(password);
      expect(redact(text, found)).toBe(text.replace(password, '[REDACTED:password-in-prose]'));
    }
  });
  it('is not documentation prose about passwords', () => {
    for (const t of [
      'The password must be at least 8 characters long.',
      'Enter your password and press Login.',
      'Password is required.',
      'Error: password is incorrect',
      'The password is case-sensitive.',
      'the password is stored in ~/.pgpass',
      'The password is hashed with SHA-256 before it is stored.',
      'The password is SHA-256 hashed.',
      'Your password was reset. Check your email.',
      'password is set to expire in 90 days',
      'Forgot your password? Click "Reset password".',
      'the password is 8-64 characters',
      'the password is the same as the username',
      'password: ${DB_PASSWORD}',
      'password: $DB_PASSWORD',
      'password: %DB_PASSWORD%',
      'password: "<your password>"',
      'password: ********',
      'password: hunt****',
      'password: (hidden)',
      'password: [REDACTED]',
      'pwd: /home/ada/projects',
      'PWD=/usr/src/app',
      'password: op://vault/db/password',
      'password: vault:secret/db',
      'password: {{ .Values.db.password }}',
      'input[type=password] { border: 1px solid }',
      'const password = await getPassword(user);',
      'password = bcrypt.hashSync(pw, 10)',
      'password: hashed_pw2,',
      'password: newPass1,',
      'if (password == "x") return',
      'passwords are rotated every 90 days',
      'Use password "password-for-30001" for 30001',
      'the password is changeme42'
    ]) {
      expect(rules(t), t).toEqual([]);
    }
  });
  it('judges a string literal in source code by the assignment rule, not as prose', () => {
    // A password in data (JSON, YAML, a config line) is prose enough; an object literal in code
    // with an example password (`password: 'secret1' },`) is left to the stricter assignment rule.
    expect(spans('{"username": "svc_report", "password": "hunter2x"}')).toEqual(['hunter2x']);
    expect(spans('smtp:\n  password: "mail42go"\n  port: 587')).toEqual(['mail42go']);
    expect(spans('DB_PASSWORD = "hunter2x"')).toEqual(['hunter2x']);
    for (const t of [
      "const obj = { username: 'john', password: 'secret123' }",
      "users.push({ name: 'jane', password: 'secret2' });",
      "auth: {\n  username: 'janedoe',\n  password: 's00pers3cret'\n}",
      "connect(user='app', password='hunter2x')",
      'let n=this,{password:r,strength:a,ready:s}=n;',
      'email:!0,month:!0,number:!0,password:!0,range:!0,search:!0',
      'const password = (password: string): Buffer => {'
    ]) {
      expect(rules(t), t).toEqual([]);
    }
  });
  it('reports a password once when an assignment rule already covers it', () => {
    expect(secrets('password = "Summer2024!x"').map((f) => f.rule)).toEqual(['secret-assignment']);
  });
  it('judges values by shape', () => {
    expect(looksLikePassword('hunter2')).toBe(true);
    expect(looksLikePassword('S3cr3t!')).toBe(true);
    expect(looksLikePassword('Ab1!')).toBe(false); // too short
    expect(looksLikePassword('incorrect')).toBe(false);
    expect(looksLikePassword('bcrypt-hashed')).toBe(false);
    expect(looksLikePassword('123456789')).toBe(false);
    expect(looksLikePassword('aaaa11')).toBe(false);
    expect(looksLikePassword('hashedPw1', true)).toBe(false);
    expect(looksLikePassword('hashedPw1')).toBe(true);
    expect(looksLikePassword('Password1!')).toBe(false); // names itself: an example
  });
});

describe('user:password pairs', () => {
  it('finds pairs after credential words, in curl -u and in -u/-p, and reports the password', () => {
    const cases: [string, string][] = [
      ['login with admin / S3cr3t!pass', 'S3cr3t!pass'],
      ['Log in as ops@acme.io:Sup3rS3cret! to see the dashboard', 'Sup3rS3cret!'],
      ['basic auth deploy:Xy7kq2Lm9p', 'Xy7kq2Lm9p'],
      ['creds are admin / Adm1n!2024', 'Adm1n!2024'],
      ['Authentication: backup:R3store-Me', 'R3store-Me'],
      ['curl -u deploy:Xy7kq2Lm9 https://registry.acme.io/v2/_catalog', 'Xy7kq2Lm9'],
      ['curl --user "ci-bot:Tk3n!Qz" https://x', 'Tk3n!Qz'],
      ['docker login -u ci -p Gh7!pLm2qz registry.acme.io', 'Gh7!pLm2qz'],
      ['mysql -u root -pS3cr3tPw reports', 'S3cr3tPw']
    ];
    for (const [text, password] of cases) {
      const found = secrets(text);
      expect(
        found.map((f) => f.rule),
        text
      ).toEqual(['credential-pair']);
      expect(text.slice(found[0]!.start, found[0]!.end), text).toBe(password);
    }
  });
  it('leaves times, ratios, addresses, paths, C++, emoji and config words alone', () => {
    for (const t of [
      'last login at 12:30:45 from 10.0.0.5',
      'Login: Mon Mar 14 10:22:01 2025',
      'auth success ratio 3:1',
      'auth: enabled:true',
      'login: route:home',
      'login from fe80::1ff:fe23:4567:890a',
      'login: db.internal:5432',
      'login: db:5432/app2',
      'auth C:\\Users\\ada\\creds.txt',
      'auth std::string token',
      'login :smile: :rocket:',
      'auth: sha256:9f86d081884c7d659a2feaa0c55ad015',
      'login: https://login.acme.io/callback',
      'credentials: user:password',
      'login: admin:admin',
      'git branch -u origin/feature-2x',
      'docker run -u 1000:1000 app',
      'curl -u "$USER:$PASS" https://x',
      'curl -u user:${TOKEN} https://x'
    ]) {
      expect(rules(t), t).toEqual([]);
    }
  });
  it('leaves credentials in URLs to the URL rules', () => {
    expect(rules('login: https://bot:Zm9vYmFyYmF6cXV4@git.acme.io/x.git')).toEqual(['url-credentials']);
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
  it('finds a JWT that starts inside a look-alike', () => {
    expect(spans(`eyJub3QtanNvbg.${jwt}`)).toEqual([jwt]);
  });
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
  it('takes a password of stars or x only as a mask', () => {
    expect(rules('postgres://app:**@db/app')).toEqual([]);
    expect(rules('postgres://app:xX@db/app')).toEqual([]);
    expect(spans('postgres://app:s3cr3tP4ssx@db/app')).toEqual(['s3cr3tP4ssx']);
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
    const enc = (s: string) => Buffer.from(s).toString('base64');
    expect(rules(`Authorization: Basic ${enc('\u00e9deploy:S3cretPassw0rd')}`)).toEqual([]);
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

describe('what each rule reports', () => {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const cases: [string, string, string, string, string][] = [
    // [text, rule, severity, message, reported span]
    [`id ${AWS_ID}`, 'aws-access-key-id', 'high', 'AWS access key id', AWS_ID],
    [
      `aws_secret_access_key = ${AWS_SECRET}`,
      'aws-secret-access-key',
      'critical',
      'AWS secret access key',
      AWS_SECRET
    ],
    [
      'AccountKey=YPMc9224tVm8kagaFzAyqq+2/9xLfzoSpJSQDFPRSqlg8rBXZp4AOQQZ14ZvlV1Z/ODhl9dHQKw15f2w+EUzcw==',
      'azure-storage-key',
      'critical',
      'Azure Storage account key',
      'YPMc9224tVm8kagaFzAyqq+2/9xLfzoSpJSQDFPRSqlg8rBXZp4AOQQZ14ZvlV1Z/ODhl9dHQKw15f2w+EUzcw=='
    ],
    [
      'SharedAccessKey=bbpvbgVugkTiMAKiuEry+wWUJu1FG0cZb5Rp/Nj5CyM=',
      'azure-shared-access-key',
      'high',
      'Azure shared access key',
      'bbpvbgVugkTiMAKiuEry+wWUJu1FG0cZb5Rp/Nj5CyM='
    ],
    [
      '?sv=2022-11-02&sp=r&sig=XVem%2F06QyYb9VGKBZPnCq5zNkBQ6Va2%2Bem%2BqFdUvz7E%3D',
      'azure-sas-signature',
      'high',
      'Azure shared access signature',
      'XVem%2F06QyYb9VGKBZPnCq5zNkBQ6Va2%2Bem%2BqFdUvz7E%3D'
    ],
    [
      'Authorization: Bearer 8f3kQ9zL2mXvB7nW4pRtY6uJ1cH5dG0s',
      'bearer-token',
      'high',
      'bearer token in an Authorization header',
      '8f3kQ9zL2mXvB7nW4pRtY6uJ1cH5dG0s'
    ],
    [
      `Authorization: Basic ${Buffer.from('deploy:S3cretPassw0rd').toString('base64')}`,
      'basic-auth',
      'high',
      'HTTP basic credentials',
      Buffer.from('deploy:S3cretPassw0rd').toString('base64')
    ],
    [
      `t ${b64({ alg: 'HS256' })}.${b64({ sub: '1' })}.c2ln`,
      'jwt',
      'high',
      'JSON Web Token',
      `${b64({ alg: 'HS256' })}.${b64({ sub: '1' })}.c2ln`
    ],
    [
      'postgres://app:s3cr3tP4ss@db/app',
      'connection-string',
      'high',
      'database or broker connection string with a password',
      's3cr3tP4ss'
    ],
    [
      'https://bot:Zm9vYmFyYmF6cXV4@git.acme.io/x.git',
      'url-credentials',
      'high',
      'URL with an embedded password',
      'Zm9vYmFyYmF6cXV4'
    ],
    [
      'DB_PASSWORD=Xk9#mQ2$vL7pZ',
      'secret-assignment',
      'medium',
      'a password or key assigned in clear text',
      'Xk9#mQ2$vL7pZ'
    ],
    [
      'the password is hunter2!Xy',
      'password-in-prose',
      'medium',
      'a password written out in text',
      'hunter2!Xy'
    ],
    [
      'login with admin / S3cr3t!pass',
      'credential-pair',
      'medium',
      'a user name and password written out',
      'S3cr3t!pass'
    ],
    [
      'sshpass -p Gh7!pLm2qz ssh host',
      'credential-pair',
      'medium',
      'a user name and password written out',
      'Gh7!pLm2qz'
    ]
  ];
  for (const [text, rule, severity, message, span] of cases) {
    it(`${rule}: ${severity}, "${message}", on the secret only`, () => {
      const found = secrets(text);
      expect(found.map((f) => [f.rule, f.severity, f.message, text.slice(f.start, f.end)])).toEqual([
        [rule, severity, message, span]
      ]);
    });
  }
  it('names the kind of private key block, or none for PKCS#8', () => {
    const body = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n';
    expect(secrets(`-----BEGIN RSA PRIVATE KEY-----\n${body}-----END RSA PRIVATE KEY-----`)[0]).toMatchObject(
      {
        rule: 'private-key',
        severity: 'critical',
        message: 'RSA private key block'
      }
    );
    expect(secrets(`-----BEGIN PRIVATE KEY-----\n${body}-----END PRIVATE KEY-----`)[0]?.message).toBe(
      'private key block'
    );
  });
});

describe('AWS keys at their edges', () => {
  it('reports a secret right after a key id as a secret access key', () => {
    const text = `${AWS_ID},${AWS_SECRET}`;
    expect(secrets(text).map((f) => [f.rule, f.severity, f.message, text.slice(f.start, f.end)])).toEqual([
      ['aws-access-key-id', 'high', 'AWS access key id', AWS_ID],
      ['aws-secret-access-key', 'critical', 'AWS secret access key', AWS_SECRET]
    ]);
  });
  it('takes a secret right after a key id only when it looks random', () => {
    expect(rules(`${AWS_ID},${'a1b2c3d4e5'.repeat(4)}`)).toEqual(['aws-access-key-id']);
  });
  it('wants mixed case, digits and 4 bits of entropy per character in a secret key', () => {
    for (const v of [
      'abcdefghijklmnopqrstuvwxyz0123456789abcd', // no upper case
      'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCD', // no lower case
      'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN', // no digit
      'AAAAAAAAAAAAAaaaaaaaaaaaaaa1111111111111' // all three, little entropy
    ]) {
      expect(rules(`aws_secret_access_key = ${v}`), v).not.toContain('aws-secret-access-key');
    }
  });
  it('reads the name before the value, not the value, for `secret`', () => {
    expect(rules(`aws_id = SecretAbcdefGhij1234567890KLMNopqrstuvWX`)).not.toContain('aws-secret-access-key');
  });
  it('takes a key under a name with `secret` but not AWS only with AWS named in the 300 characters before', () => {
    const v = `secret_key: ${AWS_SECRET}`;
    expect(rules(v)).not.toContain('aws-secret-access-key');
    expect(rules(`# S3 bucket settings\n${v}`)).toContain('aws-secret-access-key');
    expect(rules(`# S3 bucket settings\n${' '.repeat(300)}${v}`)).not.toContain('aws-secret-access-key');
    expect(rules(`${v}\n# for the S3 bucket`)).not.toContain('aws-secret-access-key');
  });
});

describe('format rules at their edges', () => {
  it('Google: the 35 characters after AIza must look random on their own', () => {
    expect(rules('AIzaabcdefghijklmnopqrstuvwxyzabcdefghi')).toEqual([]);
  });
  it('Slack: a numeric part of 8 to 20 digits, and a random last part of at least 8', () => {
    expect(rules('xoxb-12345678-AbCdEf12')).toEqual(['slack-token']);
    expect(rules('xoxb-12345678-AbCdEfGh12')).toEqual(['slack-token']);
    for (const t of [
      'xoxb-1234567-AbCdEfGh12', // 7 digits
      'xoxb-abcdefghij-AbCdEfGh12', // no numeric part
      'xoxb-ab12345678-AbCdEfGh12',
      'xoxb-12345678ab-AbCdEfGh12',
      'xoxb-12345678-AbCdE12' // last part of 7
    ]) {
      expect(rules(t), t).toEqual([]);
    }
  });
  it('Hugging Face: at least 6 capitals and 6 small letters, two capitals together, and entropy', () => {
    // Exactly 6 capitals (A and Z among them), then exactly 6 small letters (a and z among them).
    expect(rules('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')).toEqual(['huggingface-token']);
    expect(rules('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')).toEqual([]); // 5 capitals
    expect(rules('hf_ABCDEFGHIJKLMNOPQRSTUVWXYZazbcdeQR')).toEqual(['huggingface-token']);
    expect(rules('hf_ABCDEFGHIJKLMNOPQRSTUVWXYZazbcdEQR')).toEqual([]); // 5 small letters
    expect(rules('hf_AbCdEfGhIjKlMnOpqrstuvwxyzabcdefgh')).toEqual([]); // no two capitals together
    expect(rules(`hf_${'ABabab'.repeat(5)}ABab`)).toEqual([]); // little entropy
  });
  it('SendGrid: a random key id, and a secret with both cases and 4 bits of entropy', () => {
    const id = 'EkFgXgATbWTN-_YI0f-J8n';
    const secret = 'aZvbmg5FKuVg_MKdZYwT7l18r6qo1mTZrx9-TBXTDiU';
    expect(rules(`SG.${id}.${secret}`)).toEqual(['sendgrid-api-key']);
    expect(rules(`SG.${'a'.repeat(22)}.${secret}`)).toEqual([]);
    expect(rules(`SG.${id}.${secret.toLowerCase()}`)).toEqual([]);
    expect(rules(`SG.${id}.${secret.toUpperCase()}`)).toEqual([]);
    expect(rules(`SG.${id}.${'aB'.repeat(21)}c`)).toEqual([]);
  });
  it('OpenAI: a body of at least 32 characters with digits, both cases and 4 bits of entropy', () => {
    // 16 different characters twice each: exactly 4 bits per character.
    expect(rules('sk-Ab3dEf6hIj9kLm2nAb3dEf6hIj9kLm2n')).toEqual(['openai-api-key']);
    expect(rules('sk-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wX')).toEqual([]); // 29
    for (const body of [
      'abcdefghijklmnopqrstuvwxyzABCDEFGHIJ', // no digit
      'abcdefghijklmnopqrstuvwxyz0123456789', // no upper case
      'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', // no lower case
      'aB1aB1aB1aB1aB1aB1aB1aB1aB1aB1aB1aB1' // little entropy
    ]) {
      expect(rules(`sk-${body}`), body).toEqual([]);
    }
  });
  it('a bearer token needs two kinds of character and 3.5 bits of entropy, exactly at the bar', () => {
    // Four characters twice and eight once: exactly 3.5 bits per character.
    expect(rules('Bearer AAbbCCdd12345678')).toEqual(['bearer-token']);
    expect(rules('Bearer abcdefghijklmnopqrstuvwxyz')).toEqual([]);
    expect(rules('Bearer aaaaaaaaaaaaaaaaaaaaaaaa11')).toEqual([]);
  });
  it('basic credentials: the whole of what decodes must be user:password', () => {
    const enc = (s: string) => Buffer.from(s).toString('base64');
    expect(rules(`Authorization: Basic ${enc('\u00e9t\u00e9:S3cretPassw0rd')}`)).toEqual([]);
    expect(rules(`Authorization: Basic ${enc('deploy:S3cretPassw0rd\u00e9')}`)).toEqual([]);
  });
});

describe('Azure keys at their edges', () => {
  const sig = 'XVem%2F06QyYb9VGKBZPnCq5zNkBQ6Va2%2Bem%2BqFdUvz7E%3D';
  it('takes an account key only under an account-key name', () => {
    const key = 'YPMc9224tVm8kagaFzAyqq+2/9xLfzoSpJSQDFPRSqlg8rBXZp4AOQQZ14ZvlV1Z/ODhl9dHQKw15f2w+EUzcw==';
    expect(rules(`signing_key=${key}`)).not.toContain('azure-storage-key');
  });
  it('wants random base64 in account and shared access keys', () => {
    for (const body of [
      'abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmn', // no upper
      'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGHIJKLMN', // no lower
      'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyzABCDEFGH', // no digit
      'aB1'.repeat(28) + 'aB' // little entropy
    ]) {
      expect(rules(`AccountKey=${body}==`), body).not.toContain('azure-storage-key');
      expect(rules(`SharedAccessKey=${body.slice(0, 43)}=`), body).not.toContain('azure-shared-access-key');
    }
  });
  it('takes a SAS signature with sv= and any one of se, sp, sr, ss, srt or st', () => {
    for (const p of ['se=2025-01-01', 'sp=r', 'sr=b', 'ss=b', 'srt=co', 'st=2025-01-01']) {
      expect(rules(`?sv=2022-11-02&${p}&sig=${sig}`), p).toEqual(['azure-sas-signature']);
    }
    expect(rules(`?sv=2022-11-02&spr=https&sig=${sig}`)).toEqual([]);
    expect(rules(`?skn=send&sr=x&sig=${sig}`)).toEqual([]); // no se
    expect(rules(`?skn=send&se=1&sig=${sig}`)).toEqual([]); // no sr
  });
  it('reads the fields of the query the signature is in, not of text next to it', () => {
    for (const d of [' ', '"', "'", '`', '<', '>', '\n']) {
      expect(rules(`sv=2022-11-02&se=2025-01-01${d}sig=${sig}`), escape(d)).toEqual([]);
      expect(rules(`sig=${sig}${d}sv=2022-11-02&se=2025-01-01`), escape(d)).toEqual([]);
    }
    // sv= near but outside the query: its other fields do not make a SAS of it.
    expect(rules(`sv=1 ?se=2025&sig=${sig}`)).toEqual([]);
    expect(rules(`sv=1 ?sr=a&se=2025&sig=${sig}`)).toEqual([]);
  });
  it('looks no further than 400 characters either side of the signature', () => {
    const far = `&x=${'a'.repeat(450)}`;
    expect(rules(`?sv=2022-11-02&se=2025-01-01${far}&sig=${sig}`)).toEqual([]);
    expect(rules(`?sig=${sig}${far}&sv=2022-11-02&se=2025-01-01`)).toEqual([]);
    expect(rules(`?sv=2022-11-02&se=2025-01-01&x=${'a'.repeat(300)}&sig=${sig}`)).toEqual([
      'azure-sas-signature'
    ]);
  });
  it('decodes each escape before judging: a signature of letters and escapes has no digit', () => {
    const letters = 'AbCdEfGhIjKlMnOpQrStUvWxYzaBcDeFgHiJkLmNoP';
    for (const s of [
      `${letters}%2B=`,
      `${letters}%2F=`,
      `${letters}Q%3D`,
      `${letters}Q%3d`,
      `${letters}%2b=`
    ]) {
      expect(rules(`?sv=2022-11-02&sp=r&sig=${s}`), s).toEqual([]);
    }
  });
  it('reads a field at the start of the query, right after a quote', () => {
    expect(rules(`url="sv=2022-11-02&se=2025-01-01&sig=${sig}"`)).toEqual(['azure-sas-signature']);
  });
  it('reads no field that ends past 400 characters after the signature', () => {
    // The `=` of the last `sv=` is the 401st character after the signature.
    const pad = 'a'.repeat(394);
    expect(rules(`?skn=a&se=1&sig=${sig}&x=${pad}&sv=1`)).toEqual([]);
    expect(rules(`?skn=a&se=1&sig=${sig}&x=${pad.slice(1)}&sv=1`)).toEqual(['azure-sas-signature']);
  });
  it('counts each escape as the character it stands for: `+`, `/` and `=` lift a signature to the bar', () => {
    // Each of these decodes to 4.02 to 4.07 bits per character, just over the bar of 4; without the
    // characters its escapes stand for, it would fall under it.
    for (const s of [
      'mLD3Facik3HeD7imm3JckFeJBLF3ig7mgNB7ic79%2B7%2B=',
      'mLD3Facik3HeD7imm3JckFeJBLF3ig7mgNB7ic79%2F7%2F=',
      'ecL9BFem3eBBDJ95imHLcBBFaNND3FLmiB5k7D3NLmx%3D'
    ]) {
      expect(spans(`?sv=2022-11-02&sp=r&se=2025-01-01&sig=${s}`), s).toEqual([s]);
    }
  });
  it('judges a signature by its decoded bytes: letters and escapes alone are not random', () => {
    // Without its escapes this signature has no digit.
    const letters = `${'AbCdEfGhIjKlMnOpQrStUvWxYz'.slice(0, 19)}%2BabcdefGHIJKLMN%2FopqrstU%3D`;
    expect(rules(`?sv=2022-11-02&sp=r&sig=${letters}`)).toEqual([]);
  });
});

describe('private key blocks at their edges', () => {
  const begin = '-----BEGIN PRIVATE KEY-----';
  it('without an END line, takes every base64, blank and header character, and stops at any other', () => {
    const body = '\nAZaz09+/= \t\r\n\\:,-';
    for (const stop of ['#', '~', '!', '@', '[', '`', '{', '.']) {
      const text = `${begin}${body}${stop}rest`;
      expect(spans(text), stop).toEqual([`${begin}${body}`]);
    }
  });
  it('starts the body after the header', () => {
    const text = `${'#'.repeat(40)}${begin}\nQUJD#`;
    expect(spans(text)).toEqual([`${begin}\nQUJD`]);
  });
  it('reports two keys in one text each to its own END line', () => {
    const one = `${begin}\nQUJD\n-----END PRIVATE KEY-----`;
    const two = `${begin}\nREVG\n-----END PRIVATE KEY-----`;
    expect(spans(`${one}\n#\n${two}`)).toEqual([one, two]);
  });
  it('takes an END line only for a private key, within 64 KiB of the header', () => {
    const cert = `${begin}\nQUJD\n-----END CERTIFICATE-----`;
    // Not a private key's END: the body runs on to the first character that is not one of its.
    expect(spans(`${cert}\n#`)).toEqual([`${cert}\n`]);
    const fits = `${begin}${'A'.repeat(64 * 1024)}-----END PRIVATE KEY-----`;
    expect(spans(`${fits}#`)).toEqual([fits]);
    const over = `${begin}${'A'.repeat(64 * 1024 + 1)}-----END PRIVATE KEY-----`;
    expect(spans(`${over}#`)).toEqual([`${begin}${'A'.repeat(64 * 1024)}`]);
  });
  it('takes no END line whose dashes never close', () => {
    const text = `${begin}\nQUJD\n-----END PRIVATE KEY`;
    expect(spans(text)).toEqual([text]);
  });
  it('takes no END line whose dashes never close, even with text after it', () => {
    const key = `${begin}\nQUJD\n-----END PRIVATE KEY\n`;
    expect(spans(`${key}#rest`)).toEqual([key]);
  });
  it('takes the END line when its dashes close 60 characters after it', () => {
    const text = `${begin}\nQUJD\n-----END PRIVATE KEY${' '.repeat(40)}-----`;
    expect(spans(`${text}\n#`)).toEqual([text]);
  });
  it('takes the END line only when its dashes close within 60 characters', () => {
    const text = `${begin}\nQUJD\n-----END PRIVATE KEY${' '.repeat(60)}-----\n#`;
    expect(spans(text)).toEqual([text.slice(0, -1)]);
  });
});

describe('values assigned to secret names, at their edges', () => {
  it('judges the value without the backslashes and the one period or comma it ends with', () => {
    expect(spans('DB_PASSWORD=Xk9#mQ2$vL7pZ\\\\')).toEqual(['Xk9#mQ2$vL7pZ']);
    expect(spans('DB_PASSWORD=Xk9#mQ2$vL7pZ.')).toEqual(['Xk9#mQ2$vL7pZ']);
    expect(spans('DB_PASSWORD=Xk9#m.Q2$vL7pZ')).toEqual(['Xk9#m.Q2$vL7pZ']);
    expect(looksLikeSecretValue('Ab1!.xyz')).toBe(true); // 8 characters, a period inside
    expect(looksLikeSecretValue('Ab1!xyz.')).toBe(false); // 7 once the period is dropped
    expect(looksLikeSecretValue('Ab1!xyz9\\\\')).toBe(true);
    expect(looksLikeSecretValue('Ab1!xyz\\')).toBe(false);
  });
  it('takes 8 to 256 characters', () => {
    const random = (n: number) =>
      Array.from({ length: n }, (_, i) => 'Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z!#'[(i * 7) % 34]).join('');
    expect(looksLikeSecretValue(random(256))).toBe(true);
    expect(looksLikeSecretValue(random(257))).toBe(false);
  });
  it('turns down placeholders and identifier chains even with digits in them', () => {
    expect(looksLikeSecretValue('my_secret_42')).toBe(false);
    expect(looksLikeSecretValue('config.db2.password1')).toBe(false);
  });
  it('needs a digit or a symbol identifiers do not use', () => {
    expect(looksLikeSecretValue('AbcdEfghIjklMnoP')).toBe(false);
    expect(looksLikeSecretValue('AbcdEfgh!jklMnoP')).toBe(true);
  });
  it('asks more of shorter values: all four classes under 12, three under 16', () => {
    expect(looksLikeSecretValue('Abcdefgh1234')).toBe(true); // 12: three classes suffice
    expect(looksLikeSecretValue('Abcdefgh123')).toBe(false); // 11: needs a symbol too
    expect(looksLikeSecretValue('Aa1!Aa1!Aa')).toBe(false); // four classes, little entropy
    expect(looksLikeSecretValue('abcdefghijklmn12')).toBe(true); // 16: two classes suffice
    expect(looksLikeSecretValue('abcdefghijklm12')).toBe(false); // 15: needs three
    expect(looksLikeSecretValue('Aa1Aa1Aa1Aa1')).toBe(false); // three classes, little entropy
    expect(looksLikeSecretValue('aaaaaaaaaaaaaaa1')).toBe(false); // 16, little entropy
  });
  it('starts a secret name at a word boundary or a camelCase capital only', () => {
    for (const before of ['/', ':', '@', '[', '`', '{', ' ', '_', 'z']) {
      const name = before === 'z' ? 'ApiKey' : 'api_key';
      expect(rules(`x${before}${name}=Xk9#mQ2$vL7pZ`), before).toEqual(['secret-assignment']);
    }
    for (const before of ['0', '9', 'A', 'Z', 'a', 'z']) {
      expect(rules(`x${before}api_key=Xk9#mQ2$vL7pZ`), before).toEqual([]);
    }
    expect(rules('myApiKey=Xk9#mQ2$vL7pZ')).toEqual(['secret-assignment']);
    expect(rules('aApiKey=Xk9#mQ2$vL7pZ')).toEqual(['secret-assignment']);
    // A name glued to a word is passed over, and a secret name inside it still counts.
    expect(spans('xtoken_api_key=Xk9#mQ2$vL7pZ')).toEqual(['Xk9#mQ2$vL7pZ']);
    expect(rules('DBApiKey=Xk9#mQ2$vL7pZ')).toEqual([]);
    expect(rules('1ApiKey=Xk9#mQ2$vL7pZ')).toEqual([]);
  });
  it('skips a name whose last part says it holds no secret, and looks again after it', () => {
    expect(rules('password_hash=Xk9#mQ2$vL7pZ')).toEqual([]);
    expect(rules('password_hash=x password=Xk9#mQ2$vL7pZ')).toEqual(['secret-assignment']);
    expect(rules('password_db=Xk9#mQ2$vL7pZ')).toEqual(['secret-assignment']);
  });
});

describe('passwords and pairs at their edges', () => {
  it('takes 6 to 128 characters', () => {
    expect(looksLikePassword('Ab1!' + 'x'.repeat(124))).toBe(true);
    expect(looksLikePassword('Ab1!' + 'x'.repeat(125))).toBe(false);
  });
  it("turns down vendors' examples, paths, references, masks and code", () => {
    for (const v of [
      'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      'passwd42!',
      '~/keys/db1',
      '=Xk9#mQ2',
      'hunt***er1',
      '$(cat pw)1',
      '(hidden1)',
      '[secret1]',
      'hash(pw1)',
      'argv[2]x'
    ]) {
      expect(looksLikePassword(v), v).toBe(false);
    }
    expect(looksLikePassword('sk_test_4eC39HqLyjWDarjtT1zdp7dc')).toBe(false); // Stripe's example
    expect(looksLikePassword('your_pass1')).toBe(false); // a placeholder
    expect(looksLikePassword('Xk9#m*Q2')).toBe(true); // one star is a symbol, not a mask
    expect(looksLikePassword('Xk9#[mQ2')).toBe(true); // a bracket after a symbol is not an index
  });
  it('takes a word before "!" or "?" for a word, and a symbol inside for a password', () => {
    expect(looksLikePassword('required!!!')).toBe(false);
    expect(looksLikePassword('required?')).toBe(false);
    expect(looksLikePassword('requi!red')).toBe(true);
    expect(looksLikePassword('required!!!!')).toBe(true);
  });
  it('ends an unquoted value at a comma or semicolon after `:` or `=`, not in prose', () => {
    // Values the assignment rule turns down (too short for it), so the prose rule decides.
    expect(spans('password: hunter2x,next')).toEqual(['hunter2x']);
    expect(spans('password=hunter2x;next')).toEqual(['hunter2x']);
    expect(spans('the password is hun,ter2x')).toEqual(['hun,ter2x']);
    expect(spans('password: ,hunter2x')).toEqual([]);
    // `>` in the words between the name and "is" is no assignment.
    expect(spans('the password for db>prod is hunter_2x')).toEqual(['hunter_2x']);
  });
  it('leaves a quoted value under an unquoted name to the assignment rule only before code punctuation', () => {
    expect(spans("password: 'hunter2x' and more")).toEqual(['hunter2x']);
    expect(spans("password: 'hunter2x'  ,")).toEqual([]);
    expect(spans("password: 'hunter2x' x,")).toEqual(['hunter2x']);
    expect(spans('"password": \'hunter2x\',')).toEqual(['hunter2x']);
    // Code punctuation after a value that is not a quoted one under an unquoted name changes
    // nothing: unquoted after a colon, quoted in prose, or neither.
    expect(spans('password: hunter2x ,')).toEqual(['hunter2x']);
    expect(spans('with password "hunter2x" ,')).toEqual(['hunter2x']);
    expect(spans('the password is hunter2x )')).toEqual(['hunter2x']);
  });
  it('strips closing brackets without their opening one, and trailing punctuation, twice', () => {
    expect(spans('(the password is Xk9#mQ2z).')).toEqual(['Xk9#mQ2z']);
    expect(spans('[the password is Xk9#mQ2z].')).toEqual(['Xk9#mQ2z']);
    expect(spans('{the password is Xk9#mQ2z}.')).toEqual(['Xk9#mQ2z']);
    expect(spans('<the password is Xk9#mQ2z>.')).toEqual(['Xk9#mQ2z']);
    expect(spans('the password is Xk9#(Q2z)')).toEqual(['Xk9#(Q2z)']);
    expect(spans('the password is Xk9#mQ2z).];')).toEqual(['Xk9#mQ2z']);
    // Two rounds, no more: a third closing bracket stays in the value.
    expect(spans('the password is Xk9#mQ2z)))')).toEqual(['Xk9#mQ2z)']);
  });
  it('takes a user with letters and not a digest name, and a password that is no port', () => {
    expect(rules('login: 12345:Xk9#mQ2z')).toEqual([]);
    expect(rules('auth: sha1:Xk9#mQ2z')).toEqual([]);
    expect(rules('login: db:5432')).toEqual([]);
    expect(rules('login: db:5432?ssl')).toEqual([]);
    expect(rules('login: ops:5432Xk9#m')).toEqual(['credential-pair']);
    expect(rules('login: ops:5432!Xk9')).toEqual(['credential-pair']);
  });
});

describe('settling findings', () => {
  const f = (rule: string, start: number, end: number) =>
    ({ kind: 'secret', rule, severity: 'medium', message: rule, start, end }) as Finding;
  const settled = (text: string, found: Finding[]): string[] => {
    const out = [...found];
    settleSecrets(text, out, 0);
    return out.map((x) => `${x.rule}@${x.start}`);
  };
  const text = 'x'.repeat(300);
  it('drops a heuristic finding that a finding of a lower rank covers, wherever it sits in the list', () => {
    expect(
      settled(text, [f('jwt', 10, 20), f('secret-assignment', 0, 100), f('password-in-prose', 30, 40)])
    ).toEqual(['jwt@10', 'secret-assignment@0']);
    expect(settled(text, [f('password-in-prose', 30, 40), f('jwt', 0, 100), f('jwt', 10, 20)])).toEqual([
      'jwt@0',
      'jwt@10'
    ]);
  });
  it('keeps one that nothing covers: a span before it, or one that starts inside it', () => {
    expect(settled(text, [f('jwt', 0, 10), f('password-in-prose', 30, 40)])).toEqual([
      'jwt@0',
      'password-in-prose@30'
    ]);
    expect(settled(text, [f('jwt', 35, 200), f('password-in-prose', 30, 40)])).toEqual([
      'jwt@35',
      'password-in-prose@30'
    ]);
    expect(settled(text, [f('jwt', 0, 39), f('password-in-prose', 30, 40)])).toEqual([
      'jwt@0',
      'password-in-prose@30'
    ]);
  });
  it('gives way by rank: a pair to prose, prose to an assignment, never the other way', () => {
    expect(
      settled(text, [
        f('credential-pair', 30, 40),
        f('password-in-prose', 20, 50),
        f('secret-assignment', 25, 45)
      ])
    ).toEqual(['password-in-prose@20', 'secret-assignment@25']);
  });
  it('drops a covered one even when the covering span is listed after shorter ones', () => {
    expect(
      settled(text, [
        f('jwt', 50, 60),
        f('jwt', 60, 70),
        f('secret-assignment', 0, 100),
        f('password-in-prose', 30, 40)
      ])
    ).toEqual(['jwt@50', 'jwt@60', 'secret-assignment@0']);
  });
  it('returns a new list when given none', () => {
    expect(scanSecrets(`x ${AWS_ID}`).map((x) => x.rule)).toEqual(['aws-access-key-id']);
  });
  it('leaves the findings before `from` alone', () => {
    const before = f('zero-width', 0, 1);
    expect(scanSecrets('AKIAIOSFODNN7EXAMPLE', [before])).toEqual([before]);
    expect(scanSecrets(`x ${AWS_ID}`, [before]).map((x) => x.rule)).toEqual([
      'zero-width',
      'aws-access-key-id'
    ]);
  });
});
