// Generated secrets and personal data for the scanner evaluation. Every key is well-formed for its
// type (GitHub and npm tokens carry a valid CRC-32 checksum, cards pass Luhn with a real issuer
// prefix, IBANs pass mod-97, SSNs avoid the never-issued ranges) and is embedded in a realistic
// line of text. Near misses are the negatives: wrong checksums, placeholders, hashes, ids.
import { createHmac } from 'node:crypto';
import { createRng, uuid, BASE62, BASE64, BASE64URL, DIGITS, HEX, UPPER, LOWER } from './rng.mjs';

// ---------------------------------------------------------------------------------------------
// Checksums (re-implemented here so the data does not depend on the code under test)
// ---------------------------------------------------------------------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(s) {
  let c = 0xffffffff;
  for (let i = 0; i < s.length; i++) c = CRC_TABLE[(c ^ s.charCodeAt(i)) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function base62(n, width) {
  let s = '';
  do {
    s = BASE62[n % 62] + s;
    n = Math.floor(n / 62);
  } while (n > 0);
  return s.padStart(width, '0');
}
function checksummed(r) {
  const random = r.chars(BASE62, 30);
  return random + base62(crc32(random), 6);
}
function luhnComplete(partial) {
  // Append the check digit that makes `partial + d` Luhn-valid.
  for (let d = 0; d <= 9; d++) {
    const s = partial + d;
    let sum = 0;
    for (let i = 0; i < s.length; i++) {
      let v = Number(s[s.length - 1 - i]);
      if (i % 2 === 1) {
        v *= 2;
        if (v > 9) v -= 9;
      }
      sum += v;
    }
    if (sum % 10 === 0) return s;
  }
  throw new Error('unreachable');
}
function mod97(s) {
  let rem = 0;
  for (const ch of s) {
    const v = /[0-9]/.test(ch) ? ch : String(ch.charCodeAt(0) - 55);
    for (const d of v) rem = (rem * 10 + Number(d)) % 97;
  }
  return rem;
}
function makeIban(country, bban) {
  const check = 98 - mod97(bban + country + '00');
  return country + String(check).padStart(2, '0') + bban;
}
const b64url = (buf) => Buffer.from(buf).toString('base64url');

// ---------------------------------------------------------------------------------------------
// Secret generators: each returns the secret string
// ---------------------------------------------------------------------------------------------

// Passwords people write down: a word with digits and a symbol, random characters, or a short
// mix of letters and digits. Never a trailing `.`/`,`/`;`/`:` (a sentence's own punctuation).
const WORDS = [
  'falcon',
  'summer',
  'orange',
  'river',
  'maple',
  'tiger',
  'winter',
  'coffee',
  'purple',
  'rocket'
];
const PASSWORD_SYMBOLS = '!@#^&-_+?';
function password(r) {
  return r.pick([
    () => {
      const w = r.pick(WORDS);
      return `${w[0].toUpperCase()}${w.slice(1)}${r.int(1, 9999)}${r.chars(PASSWORD_SYMBOLS, 1)}`;
    },
    () => {
      let s;
      do s = r.chars(BASE62 + PASSWORD_SYMBOLS, r.int(8, 16));
      while (!/[A-Za-z]/.test(s) || !/[0-9]/.test(s));
      return s;
    },
    () => `${r.chars(LOWER, r.int(4, 6))}${r.chars(DIGITS, r.int(2, 4))}`
  ])();
}

const GEN = {
  'aws-access-key-id': (r) =>
    r.pick(['AKIA', 'AKIA', 'ASIA']) + r.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16),
  'aws-secret-access-key': (r) => {
    let s;
    do s = r.chars(BASE64, 40);
    while (!/[a-z]/.test(s) || !/[A-Z]/.test(s) || !/[0-9]/.test(s));
    return s;
  },
  'github-token': (r) => `${r.pick(['ghp', 'gho', 'ghu', 'ghs', 'ghr'])}_${checksummed(r)}`,
  'github-fine-grained-pat': (r) => `github_pat_11${r.chars(UPPER + DIGITS, 20)}_${r.chars(BASE62, 59)}`,
  'npm-token': (r) => `npm_${checksummed(r)}`,
  'slack-token': (r) =>
    r.chance(0.5)
      ? `xoxb-${r.chars(DIGITS, r.int(10, 13))}-${r.chars(DIGITS, r.int(10, 13))}-${r.chars(BASE62, 24)}`
      : `xoxp-${r.chars(DIGITS, 11)}-${r.chars(DIGITS, 11)}-${r.chars(DIGITS, 13)}-${r.chars(HEX, 32)}`,
  'slack-webhook': (r) =>
    `https://hooks.slack.com/services/T${r.chars(UPPER + DIGITS, 10)}/B${r.chars(UPPER + DIGITS, 10)}/${r.chars(BASE62, 24)}`,
  'stripe-live-key': (r) => `${r.pick(['sk', 'sk', 'rk'])}_live_${r.chars(BASE62, r.pick([24, 99]))}`,
  'google-api-key': (r) => `AIza${r.chars(BASE64URL, 35)}`,
  'openai-api-key': (r) =>
    r.pick([
      () => `sk-proj-${r.chars(BASE64URL, 156)}`,
      () => `sk-${r.chars(BASE62, 20)}T3BlbkFJ${r.chars(BASE62, 20)}`,
      () => `sk-svcacct-${r.chars(BASE64URL, 100)}`
    ])(),
  'private-key': (r) => {
    const kind = r.pick(['RSA ', 'EC ', 'OPENSSH ', '', 'ENCRYPTED ']);
    const len = kind === 'EC ' ? 121 : kind === 'OPENSSH ' ? 400 : 1190;
    const width = kind === 'OPENSSH ' ? 70 : 64;
    const body = Buffer.from(r.bytes(len)).toString('base64');
    const lines = body.match(new RegExp(`.{1,${width}}`, 'g'));
    return `-----BEGIN ${kind}PRIVATE KEY-----\n${lines.join('\n')}\n-----END ${kind}PRIVATE KEY-----`;
  },
  jwt: (r) => {
    const alg = r.pick(['HS256', 'RS256', 'ES256']);
    const header = b64url(
      JSON.stringify({ alg, typ: 'JWT', ...(alg !== 'HS256' ? { kid: r.chars(HEX, 16) } : {}) })
    );
    const now = 1735689600 + r.int(0, 3e7);
    const payload = b64url(
      JSON.stringify({
        sub: uuid(r),
        iss: 'https://login.acme-corp.io',
        aud: 'api',
        iat: now,
        exp: now + 3600,
        scope: 'read write'
      })
    );
    const sig =
      alg === 'HS256'
        ? createHmac('sha256', r.chars(BASE62, 32)).update(`${header}.${payload}`).digest('base64url')
        : b64url(r.bytes(alg === 'RS256' ? 256 : 64));
    return `${header}.${payload}.${sig}`;
  },
  'connection-string': (r) => r.chars(BASE62 + '!*-_', r.int(12, 28)),
  'url-credentials': (r) => r.chars(BASE62, r.int(20, 40)),
  'secret-assignment': (r) => {
    let s;
    do s = r.chars(BASE62 + '!#%&*+-_', r.int(12, 32));
    while (!/[0-9]/.test(s) || !/[a-z]/.test(s) || !/[A-Z]/.test(s));
    return s;
  },
  'bearer-token': (r) => r.chars(BASE64URL + '.', r.int(32, 64)),
  'basic-auth': (r) =>
    Buffer.from(
      `${r.pick(['deploy', 'ci', 'admin', 'svc-backup'])}:${r.chars(BASE62, r.int(12, 24))}`
    ).toString('base64'),
  // Hugging Face: `hf_` + 34 letters (user access tokens); `api_org_` + 34 (older org tokens).
  'huggingface-token': (r) => `${r.pick(['hf_', 'hf_', 'hf_', 'api_org_'])}${r.chars(UPPER + LOWER, 34)}`,
  // SendGrid: `SG.` + 22 + `.` + 43, base64url.
  'sendgrid-api-key': (r) => `SG.${r.chars(BASE64URL, 22)}.${r.chars(BASE64URL, 43)}`,
  // Azure Storage account keys are 512 random bits in base64 (88 characters, `==` at the end).
  'azure-storage-key': (r) => r.bytes(64).toString('base64'),
  // Service Bus / Event Hubs / IoT Hub keys: 256 random bits in base64 (44 characters).
  'azure-shared-access-key': (r) => r.bytes(32).toString('base64'),
  // A SAS `sig`: base64 of an HMAC-SHA256, usually percent-encoded in the query string.
  'azure-sas-signature': (r) => {
    const sig = r.bytes(32).toString('base64');
    return r.chance(0.8) ? encodeURIComponent(sig) : sig;
  },
  'password-in-prose': (r) => password(r),
  'credential-pair': (r) => password(r)
};

/** Record a second real secret a context adds (so a finding on it is not counted as a false positive). */
function plant(also, secret) {
  also.push(secret);
  return secret;
}

// Contexts: (secret, rng, also) => text containing the secret exactly once.
const CONTEXTS = {
  'aws-access-key-id': [
    (s) => `[default]\naws_access_key_id = ${s}\nregion = eu-west-1`,
    (s) => `export AWS_ACCESS_KEY_ID=${s}`,
    (s) => `{"AccessKeyId": "${s}", "Status": "Active", "UserName": "ci-deployer"}`,
    (s) => `The CI job is failing with InvalidClientTokenId for key ${s}, can you check if it was rotated?`,
    (s) => `2025-03-14T10:22:01Z WARN boto3 using static credentials ${s} from environment`
  ],
  'aws-secret-access-key': [
    (s, r, also) =>
      `[default]\naws_access_key_id = ${plant(also, GEN['aws-access-key-id'](r))}\naws_secret_access_key = ${s}\n`,
    (s) => `export AWS_SECRET_ACCESS_KEY=${s}`,
    (s) => `{"AccessKey": {"UserName": "ci", "SecretAccessKey": "${s}", "Status": "Active"}}`,
    (s, r, also) => `Access key ID,Secret access key\n${plant(also, GEN['aws-access-key-id'](r))},${s}\n`,
    (s) => `aws:\n  region: us-east-1\n  secret_access_key: "${s}"`
  ],
  'github-token': [
    (s) => `export GITHUB_TOKEN=${s}`,
    (s) => `git clone https://x-access-token:${s}@github.com/acme/private-repo.git`,
    (s) => `{"token": "${s}", "expires_at": null, "scopes": ["repo", "workflow"]}`,
    (s) => `curl -H "Authorization: token ${s}" https://api.github.com/user/repos`,
    (s) => `Hi, here is the token you asked for: ${s} (expires in 30 days)`
  ],
  'github-fine-grained-pat': [
    (s) => `GH_PAT=${s}`,
    (s) => `gh auth login --with-token <<< "${s}"`,
    (s) => `- name: checkout\n  with:\n    token: ${s}`
  ],
  'npm-token': [
    (s) => `//registry.npmjs.org/:_authToken=${s}`,
    (s) => `NPM_TOKEN=${s} npm publish --access public`
  ],
  'slack-token': [
    (s) => `SLACK_BOT_TOKEN=${s}`,
    (s) => `const slack = new WebClient('${s}');`,
    (s) => `{"ok": true, "access_token": "${s}", "team": {"name": "Acme"}}`
  ],
  'slack-webhook': [
    (s) => `curl -X POST -H 'Content-type: application/json' --data '{"text":"deploy done"}' ${s}`,
    (s) => `webhook_url: ${s}`
  ],
  'stripe-live-key': [
    (s) => `STRIPE_SECRET_KEY=${s}`,
    (s) => `stripe.api_key = "${s}"`,
    (s) => `const stripe = require('stripe')('${s}');`,
    (s) => `Our prod key is ${s}, please don't share it.`
  ],
  'google-api-key': [
    (s) => `<script src="https://maps.googleapis.com/maps/api/js?key=${s}&callback=initMap"></script>`,
    (s) => `GOOGLE_API_KEY=${s}`,
    (s) => `{"apiKey": "${s}", "authDomain": "acme-prod.firebaseapp.com", "projectId": "acme-prod"}`
  ],
  'openai-api-key': [
    (s) => `OPENAI_API_KEY=${s}`,
    (s) => `client = OpenAI(api_key="${s}")`,
    (s) => `curl https://api.openai.com/v1/models -H "Authorization: Bearer ${s}"`,
    (s) => `I keep getting 429 with this key ${s} even on the first request?`
  ],
  'private-key': [
    (s) => s,
    (s) => `Here is the deploy key, add it to the server:\n\n${s}\n\nThanks!`,
    (s) =>
      JSON.stringify(
        {
          type: 'service_account',
          project_id: 'acme-prod',
          private_key: `${s}\n`,
          client_email: 'svc@acme-prod.iam.gserviceaccount.com'
        },
        null,
        2
      ),
    (s) => `ssh_key: |\n  ${s.split('\n').join('\n  ')}`
  ],
  jwt: [
    (s) => `Authorization: Bearer ${s}`,
    (s) => `{"access_token": "${s}", "token_type": "Bearer", "expires_in": 3600}`,
    (s) => `Set-Cookie: session=${s}; Path=/; HttpOnly; Secure`,
    (s) => `2025-03-14T10:22:01Z DEBUG auth verified jwt=${s} user=42`
  ],
  'connection-string': [
    (s) => `DATABASE_URL=postgres://app_user:${s}@db.prod.internal:5432/orders`,
    (s) => `mongodb+srv://admin:${s}@cluster0.ab1cd.mongodb.net/test?retryWrites=true`,
    (s) => `REDIS_URL=redis://default:${s}@redis-12345.c1.eu-west-1.ec2.cloud.redislabs.com:12345`,
    (s) => `spring.datasource.url=jdbc:mysql://reporting:${s}@10.0.3.17:3306/reports`,
    (s) => `amqp://worker:${s}@rabbitmq.internal:5672/vhost`
  ],
  'url-credentials': [
    (s) => `git remote set-url origin https://deploy-bot:${s}@git.acme-corp.io/platform/api.git`,
    (s) => `proxy: http://proxyuser:${s}@proxy.acme-corp.io:3128`,
    (s) => `ftp://backup:${s}@files.acme-corp.io/nightly/`
  ],
  'secret-assignment': [
    (s) => `DB_PASSWORD=${s}`,
    (s) => `password = "${s}"`,
    (s) => `{"username": "svc_report", "password": "${s}"}`,
    (s) => `smtp:\n  user: alerts\n  password: ${s}`,
    (s) => `api_key: ${s}`,
    (s) => `client_secret=${s}&grant_type=client_credentials`,
    (s) => `const dbPassword = '${s}';`
  ],
  'bearer-token': [
    (s) => `curl -H "Authorization: Bearer ${s}" https://api.acme-corp.io/v2/orders`,
    (s) => `GET /v1/me HTTP/1.1\nHost: api.acme-corp.io\nAuthorization: Bearer ${s}\n`
  ],
  'basic-auth': [
    (s) => `Authorization: Basic ${s}`,
    (s) => `curl -H "Authorization: Basic ${s}" https://registry.acme-corp.io/v2/_catalog`
  ],
  'huggingface-token': [
    (s) => `HF_TOKEN=${s}`,
    (s) => `huggingface-cli login --token ${s} --add-to-git-credential`,
    (s) => `from huggingface_hub import login\nlogin(token="${s}")`,
    (s) => `curl https://huggingface.co/api/whoami-v2 -H "Authorization: Bearer ${s}"`,
    (s) => `model = AutoModel.from_pretrained("acme/internal-ranker", use_auth_token="${s}")`
  ],
  'sendgrid-api-key': [
    (s) => `SENDGRID_API_KEY=${s}`,
    (s) => `sg = sendgrid.SendGridAPIClient(api_key='${s}')`,
    (s) =>
      `curl --request POST --url https://api.sendgrid.com/v3/mail/send --header 'Authorization: Bearer ${s}'`,
    (s) => `sgMail.setApiKey("${s}");`
  ],
  'azure-storage-key': [
    (s) =>
      `DefaultEndpointsProtocol=https;AccountName=acmelogs;AccountKey=${s};EndpointSuffix=core.windows.net`,
    (s) => `export AZURE_STORAGE_KEY=${s}`,
    (s) =>
      `{"ConnectionStrings": {"Storage": "DefaultEndpointsProtocol=https;AccountName=acmeprod;AccountKey=${s}"}}`,
    (s) =>
      `AZURE_STORAGE_CONNECTION_STRING='DefaultEndpointsProtocol=https;AccountName=acmebackup;AccountKey=${s};EndpointSuffix=core.windows.net'`
  ],
  'azure-shared-access-key': [
    (s) =>
      `Endpoint=sb://acme-bus.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${s}`,
    (s) =>
      `EVENTHUB_CONNECTION=Endpoint=sb://acme-events.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=${s};EntityPath=clicks`,
    (s) => `HostName=acme-iot.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=${s}`
  ],
  'azure-sas-signature': [
    (s) =>
      `https://acmelogs.blob.core.windows.net/exports/2025-03.csv?sp=r&st=2025-03-14T10:00:00Z&se=2025-03-21T18:00:00Z&spr=https&sv=2022-11-02&sr=b&sig=${s}`,
    (s) =>
      `AZURE_STORAGE_SAS_TOKEN="?sv=2022-11-02&ss=bfqt&srt=sco&sp=rwdlacupiytfx&se=2025-12-31T23:59:59Z&st=2025-01-01T00:00:00Z&spr=https&sig=${s}"`,
    (s) =>
      `BlobEndpoint=https://acmelogs.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&srt=co&sp=rl&se=2025-06-30T00:00:00Z&sig=${s}`,
    (s) =>
      `az storage blob download --account-name acmelogs -c exports -n q3.csv --sas-token "sv=2021-08-06&sr=c&sp=rl&se=2025-04-01&sig=${s}"`,
    (s) =>
      `Authorization: SharedAccessSignature sr=acme-bus.servicebus.windows.net%2Forders&sig=${s}&se=1742000000&skn=send-only`
  ],
  'password-in-prose': [
    (s) => `Hi Sam, the password is ${s} - please change it after your first login.`,
    (s) => `Wifi for the offsite: network "Acme-Guest", password: ${s}`,
    (s) => `db pwd = ${s}`,
    (s) => `My passphrase is ${s}, I wrote it on the sticky note.`,
    (s) => `The root password for the staging db was reset to ${s} yesterday.`,
    (s) => `{"role": "assistant", "content": "Sure! The admin password is \\"${s}\\"."}`,
    (s) => `Log in with password ${s} and set up 2FA.`,
    (s) => `- temp password: \`${s}\``
  ],
  'credential-pair': [
    (s) => `You can log in with admin / ${s} until SSO is set up.`,
    (s) => `curl -u deploy:${s} https://registry.acme-corp.io/v2/_catalog`,
    (s) => `docker login -u ci-bot -p ${s} registry.acme-corp.io`,
    (s) => `Staging uses basic auth with tester:${s}`,
    (s) => `mysql -u report -p${s} -h db.internal reports`,
    (s) => `Login: support@acme-corp.io / ${s}`,
    (s) => `Grafana credentials: ops:${s}`
  ]
};

/** Positive secrets: `perType` per type, each with the exact planted span. */
export function secretPositives(seed = 7, perType = 14) {
  const r = createRng(seed);
  const items = [];
  for (const [type, gen] of Object.entries(GEN)) {
    const contexts = CONTEXTS[type];
    for (let i = 0; i < perType; i++) {
      const secret = gen(r);
      const also = [];
      const text = contexts[i % contexts.length](secret, r, also);
      const start = text.indexOf(secret);
      items.push({
        id: `${type}-${i + 1}`,
        type,
        text,
        secret,
        start,
        end: start + secret.length,
        ...(also.length ? { also } : {})
      });
    }
  }
  return items;
}

/** Near misses: look like secrets, are not. */
export function secretNegatives(seed = 11) {
  const r = createRng(seed);
  const items = [];
  const add = (category, text) =>
    items.push({
      id: `${category}-${items.filter((x) => x.category === category).length + 1}`,
      category,
      text
    });
  for (let i = 0; i < 10; i++) {
    const good = GEN['github-token'](r);
    const last = good.slice(-1);
    const bad = good.slice(0, -1) + (last === 'a' ? 'b' : 'a');
    add('github-token-bad-checksum', r.pick([`export GITHUB_TOKEN=${bad}`, `token: ${bad}`, `see ${bad}`]));
  }
  for (let i = 0; i < 5; i++) {
    const t = GEN['npm-token'](r);
    add(
      'npm-token-bad-checksum',
      `//registry.npmjs.org/:_authToken=${t.slice(0, -2)}${t.slice(-1)}${t.slice(-2, -1)}`
    );
  }
  for (let i = 0; i < 5; i++)
    add('aws-key-too-short', `aws_access_key_id = AKIA${r.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 15)}`);
  for (let i = 0; i < 3; i++) add('aws-key-lowercase', `id: akia${r.chars(LOWER, 16)}`);
  for (let i = 0; i < 6; i++)
    add(
      'git-sha',
      r.pick([
        `commit ${r.chars(HEX, 40)}`,
        `Merge ${r.chars(HEX, 40)} into main`,
        `"sha": "${r.chars(HEX, 40)}"`
      ])
    );
  for (let i = 0; i < 5; i++) add('sha256', `sha256:${r.chars(HEX, 64)}  release.tar.gz`);
  for (let i = 0; i < 5; i++)
    add('uuid', r.pick([`request_id=${uuid(r)}`, `{"id": "${uuid(r)}"}`, `trace ${uuid(r)}`]));
  add('sk-short', 'pip install sk-learn-contrib');
  add('sk-short', 'use the sk-1234 placeholder in tests');
  add('sk-lowercase', 'model = sk-linear-regression-pipeline-default-settings-v2');
  add('sk-low-entropy', `OPENAI_API_KEY=sk-${'a'.repeat(48)}`);
  for (let i = 0; i < 4; i++)
    add(
      'jwt-invalid-header',
      `token=eyJ${r.chars(BASE64URL, 20)}.${r.chars(BASE64URL, 30)}.${r.chars(BASE64URL, 20)}`
    );
  add('google-key-short', `key=AIza${r.chars(BASE64URL, 30)}`);
  add('google-key-short', `AIzaSyEXAMPLE`);
  add('slack-words', 'xoxb-not-a-real-token');
  add('slack-words', 'the xoxp- prefix marks user tokens');
  add('stripe-publishable', `pk_live_${r.chars(BASE62, 24)}`);
  add('stripe-publishable', `STRIPE_PUBLISHABLE_KEY=pk_live_${r.chars(BASE62, 99)}`);
  add('stripe-placeholder', 'STRIPE_SECRET_KEY=sk_live_your_key_here');
  for (const t of [
    'password=${DB_PASSWORD}',
    'password: "<your password>"',
    'api_key = os.environ["API_KEY"]',
    'token = get_token()',
    'PASSWORD=changeme',
    'secret: "********"',
    'DATABASE_URL=postgres://user:password@localhost:5432/app',
    'postgres://localhost:5432/app',
    'mysql://root@localhost/test',
    'postgres://app:${DB_PASS}@db:5432/app',
    'redis://localhost:6379/0',
    'password_hash: "$2b$12$KIXQ4b1U3Yk9Pj0fQ9C6Re3Gq3rJ2xJ8d5yK7qT0w1uV2x3y4z5a6"',
    'max_tokens=4096',
    'token_count: 18233',
    'tokenizer = "cl100k_base"',
    'const password = config.database.password;',
    'Authorization: Bearer <token>',
    'Use a Bearer token in the Authorization header.',
    'api_key: YOUR_API_KEY',
    'client_secret = settings.CLIENT_SECRET'
  ])
    add('placeholder', t);
  for (let i = 0; i < 5; i++) add('base64-no-context', `checksum ${r.chars(BASE64, 40)}`);
  for (let i = 0; i < 3; i++)
    add('integrity', `"integrity": "sha512-${Buffer.from(r.bytes(64)).toString('base64')}"`);
  add(
    'public-pem',
    `-----BEGIN PUBLIC KEY-----\n${Buffer.from(r.bytes(270))
      .toString('base64')
      .match(/.{1,64}/g)
      .join('\n')}\n-----END PUBLIC KEY-----`
  );
  add(
    'public-pem',
    `-----BEGIN CERTIFICATE-----\n${Buffer.from(r.bytes(600))
      .toString('base64')
      .match(/.{1,64}/g)
      .join('\n')}\n-----END CERTIFICATE-----`
  );
  add('arn', 'arn:aws:iam::123456789012:role/ci-deployer');
  add('arn', `arn:aws:s3:::acme-logs-${r.int(1000, 9999)}/2025/*`);
  add('docker-digest', `ghcr.io/acme/api@sha256:${r.chars(HEX, 64)}`);

  // Keys that vendors print in their documentation as the example: not secrets.
  for (const t of [
    '[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    'Access key ID,Secret access key\nAKIAIOSFODNN7EXAMPLE,wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    '{"Credentials": {"AccessKeyId": "ASIAIOSFODNN7EXAMPLE", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}}',
    'export AWS_ACCESS_KEY_ID=AKIAI44QH8DHBEXAMPLE\nexport AWS_SECRET_ACCESS_KEY=je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY'
  ])
    add('aws-documented-example', t);
  for (const t of [
    "const stripe = require('stripe')('sk_test_4eC39HqLyjWDarjtT1zdp7dc');",
    'curl https://api.stripe.com/v1/charges -u sk_test_BQokikJOvBiI2HlWgH4olfQ2:',
    'STRIPE_SECRET_KEY=sk_test_4eC39HqLyjWDarjtT1zdp7dc\nSTRIPE_PUBLISHABLE_KEY=pk_test_TYooMQauvdEDq54NiTphI7jx',
    'stripe.api_key = "sk_test_BQokikJOvBiI2HlWgH4olfQ2"  # publishable: pk_test_6pRNASCoBOKtIshFeQd4XMUh'
  ])
    add('stripe-documented-test-key', t);
  for (const t of [
    'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;',
    'BlobEndpoint=https://storagesample.blob.core.windows.net;\nSharedAccessSignature=sv=2015-04-05&sr=b&si=tutorial-policy-635959936145100803&sig=9aCzs76n0E7y5BpEi2GvsSv433BZa22leDOZXX%2BXXIU%3D',
    'SharedAccessSignature=sv=2015-07-08&amp;sig=iCvQmdZngZNW%2F4vw43j6%2BVz6fndHF5LI639QJba4r8o%3D&amp;spr=https&amp;st=2016-04-12T03%3A24%3A31Z&amp;se=2016-04-13T03%3A29%3A31Z&amp;srt=s&amp;ss=bf&amp;sp=rwl',
    'Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'
  ])
    add('other-documented-example', t);

  // Near misses of the Hugging Face, SendGrid and Azure formats.
  const letters = UPPER + LOWER;
  add('huggingface-wrong-length', `HF_TOKEN=hf_${r.chars(letters, 33)}`);
  add('huggingface-wrong-length', `HF_TOKEN=hf_${r.chars(letters, 35)}`);
  add(
    'huggingface-digits',
    `token = "hf_${r.chars(letters, 20)}${r.chars(DIGITS, 4)}${r.chars(letters, 10)}"`
  );
  add('huggingface-lowercase', `hf_${r.chars(LOWER, 34)}`);
  add('huggingface-identifier', 'from huggingface_hub import hf_hub_download, snapshot_download');
  add('huggingface-identifier', 'def 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(repo_id):');
  add('huggingface-placeholder', 'HF_TOKEN=hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx');
  add('huggingface-placeholder', 'export HF_TOKEN=hf_YOUR_TOKEN_HERE');
  add('sendgrid-wrong-length', `SENDGRID_API_KEY=SG.${r.chars(BASE64URL, 22)}.${r.chars(BASE64URL, 42)}`);
  add('sendgrid-wrong-length', `SENDGRID_API_KEY=SG.${r.chars(BASE64URL, 20)}.${r.chars(BASE64URL, 43)}`);
  add(
    'sendgrid-wrong-alphabet',
    `SG.${r.chars(BASE64URL, 22)}.${r.chars(BASE64URL, 20)}+${r.chars(BASE64URL, 22)}`
  );
  add(
    'sendgrid-placeholder',
    'SENDGRID_API_KEY=SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'
  );
  add(
    'azure-placeholder',
    'DefaultEndpointsProtocol=https;AccountName=storagesample;AccountKey=<account-key>'
  );
  add('azure-placeholder', 'AZURE_STORAGE_CONNECTION_STRING=UseDevelopmentStorage=true');
  add(
    'azure-placeholder',
    'Endpoint=sb://<namespace>.servicebus.windows.net/;SharedAccessKeyName=<key-name>;SharedAccessKey=<key>'
  );
  add('azure-wrong-length', `AccountKey=${r.bytes(63).toString('base64')}`);
  add(
    'azure-sas-without-version',
    `https://cdn.acme-corp.io/img/42.png?w=640&sig=${encodeURIComponent(r.bytes(32).toString('base64'))}`
  );
  add('azure-sas-short-signature', `?sv=2022-11-02&ss=b&sp=r&se=2025-01-01&sig=${r.chars(BASE64URL, 24)}`);
  add('azure-sas-placeholder', '?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2025-06-30&sig=<signature>');
  add('sha512-integrity', `"integrity": "sha512-${r.bytes(64).toString('base64')}"`);

  // Text about passwords that holds none.
  for (const t of [
    `Passwords must be at least ${r.int(8, 16)} characters and contain a digit.`,
    'Enter your password and press Sign in.',
    'Password is required.',
    'Error: the password is incorrect. You have 2 attempts left.',
    'The password is case-sensitive.',
    'Forgot your password? Click "Reset password" and check your inbox.',
    'Your password was reset. If this was not you, contact support.',
    'The password is hashed with SHA-256 before it is stored.',
    'the password is stored in ~/.pgpass (mode 0600)',
    `password is set to expire in ${r.int(30, 180)} days`,
    'The new password must differ from the last 5 passwords.',
    'Password: ********',
    'password: ${DB_PASSWORD}',
    'password: "<your password>"',
    'DB_PASSWORD=%DB_PASSWORD%',
    'password: (hidden)',
    'pwd: /home/ada/projects/portcullis',
    'password: op://vault/postgres/password',
    'const password = await promptPassword("Password: ");',
    'if (!password) throw new Error("password is required")',
    "| password | string | yes | The user's password (8-64 characters). |",
    'Use a passphrase of four or more random words.'
  ])
    add('password-prose', t);

  // Colons that are not user:password.
  add(
    'pair-lookalike',
    `last login at ${r.int(10, 23)}:${r.int(10, 59)}:${r.int(10, 59)} from 10.0.${r.int(0, 255)}.${r.int(1, 254)}`
  );
  add('pair-lookalike', `Login: Mon Mar 14 ${r.int(10, 23)}:${r.int(10, 59)}:${r.int(10, 59)} 2025`);
  add('pair-lookalike', `auth success ratio ${r.int(2, 9)}:1`);
  add('pair-lookalike', 'auth: enabled:true');
  add('pair-lookalike', 'login from fe80::1ff:fe23:4567:890a');
  add('pair-lookalike', `login: db.internal:${r.int(1024, 65535)}`);
  add('pair-lookalike', 'auth C:\\Users\\ada\\AppData');
  add('pair-lookalike', 'auth std::string token_;');
  add('pair-lookalike', 'login :tada: :rocket:');
  add('pair-lookalike', `auth: sha256:${r.chars(HEX, 64)}`);
  add('pair-lookalike', 'git branch -u origin/feature-2x');
  add('pair-lookalike', 'docker run -u 1000:1000 acme/api');
  add('pair-lookalike', 'credentials: user:password');
  add('pair-lookalike', 'curl -u "$API_USER:$API_PASS" https://api.acme-corp.io');
  return items;
}

// ---------------------------------------------------------------------------------------------
// Personal data
// ---------------------------------------------------------------------------------------------

const CARD_PREFIXES = [
  ['4', 16],
  ['4', 13],
  ['4', 19],
  ['51', 16],
  ['55', 16],
  ['2221', 16],
  ['2720', 16],
  ['34', 15],
  ['37', 15],
  ['6011', 16],
  ['65', 16],
  ['3530', 16],
  ['36', 14],
  ['62', 16]
];

function card(r) {
  const [prefix, len] = r.pick(CARD_PREFIXES);
  const digits = luhnComplete(prefix + r.chars(DIGITS, len - prefix.length - 1));
  const style = r.pick(['none', 'space', 'dash']);
  if (style === 'none') return digits;
  const sep = style === 'space' ? ' ' : '-';
  if (len === 15) return [digits.slice(0, 4), digits.slice(4, 10), digits.slice(10)].join(sep);
  if (len === 14) return [digits.slice(0, 4), digits.slice(4, 10), digits.slice(10)].join(sep);
  return digits.match(/.{1,4}/g).join(sep);
}

const IBAN_SPECS = [
  ['DE', () => 18, (r) => r.chars(DIGITS, 18)],
  ['GB', () => 18, (r) => r.chars(UPPER, 4) + r.chars(DIGITS, 14)],
  ['FR', () => 23, (r) => r.chars(DIGITS, 10) + r.chars(UPPER + DIGITS, 11) + r.chars(DIGITS, 2)],
  ['NL', () => 14, (r) => r.chars(UPPER, 4) + r.chars(DIGITS, 10)],
  ['ES', () => 20, (r) => r.chars(DIGITS, 20)],
  ['IT', () => 23, (r) => r.chars(UPPER, 1) + r.chars(DIGITS, 10) + r.chars(UPPER + DIGITS, 12)],
  ['CH', () => 17, (r) => r.chars(DIGITS, 5) + r.chars(UPPER + DIGITS, 12)],
  ['BE', () => 12, (r) => r.chars(DIGITS, 12)],
  ['AT', () => 16, (r) => r.chars(DIGITS, 16)],
  ['PL', () => 24, (r) => r.chars(DIGITS, 24)]
];

function iban(r, spaced) {
  const [cc, , bban] = r.pick(IBAN_SPECS);
  const compact = makeIban(cc, bban(r));
  return spaced ? compact.match(/.{1,4}/g).join(' ') : compact;
}

function ssn(r) {
  let area;
  do area = r.int(1, 899);
  while (area === 666);
  return `${String(area).padStart(3, '0')}-${String(r.int(1, 99)).padStart(2, '0')}-${String(r.int(1, 9999)).padStart(4, '0')}`;
}

function phone(r) {
  const a = `${r.int(2, 9)}${r.chars(DIGITS, 2)}`;
  const b = `${r.int(2, 9)}${r.chars(DIGITS, 2)}`;
  const c = r.chars(DIGITS, 4);
  return r.pick([
    () => `+1${a}${b}${c}`,
    () => `(${a}) ${b}-${c}`,
    () => `${a}-${b}-${c}`,
    () => `${a}.${b}.${c}`,
    () => `+1 ${a} ${b} ${c}`,
    () => `1-${a}-${b}-${c}`,
    () => `+44 20 ${r.chars(DIGITS, 4)} ${r.chars(DIGITS, 4)}`,
    () => `+49 30 ${r.chars(DIGITS, 8)}`,
    () => `+33 6 ${r.chars(DIGITS, 2)} ${r.chars(DIGITS, 2)} ${r.chars(DIGITS, 2)} ${r.chars(DIGITS, 2)}`,
    () => `020 ${r.chars(DIGITS, 4)} ${r.chars(DIGITS, 4)}`,
    () => `07700 ${r.chars(DIGITS, 6)}`,
    () => `+81-3-${r.chars(DIGITS, 4)}-${r.chars(DIGITS, 4)}`
  ])();
}

const PII_GEN = {
  email: (r) =>
    r.pick([
      () =>
        `${r.chars(LOWER, r.int(3, 8))}.${r.chars(LOWER, r.int(3, 9))}@${r.pick(['gmail.com', 'outlook.com', 'acme-corp.io', 'mail.example.co.uk', 'uni-hamburg.de'])}`,
      () =>
        `${r.chars(LOWER, 5)}+${r.pick(['news', 'billing', 'test'])}@${r.pick(['gmail.com', 'proton.me'])}`,
      () =>
        `${r.chars(LOWER, 1)}${r.chars(LOWER, 6)}${r.int(1, 99)}@${r.pick(['yahoo.com', 'hotmail.fr', 'fastmail.com'])}`
    ])(),
  'payment-card': card,
  phone,
  'us-ssn': ssn,
  iban: (r) => iban(r, r.chance(0.5))
};

const PII_CONTEXTS = [
  (v, t) => `Customer updated their ${t === 'email' ? 'contact address' : 'details'}: ${v}`,
  (v, t) =>
    JSON.stringify({ customer_id: 'cus_8812', field: t, value: v, updated_at: '2025-03-14T10:22:01Z' }),
  (v) => `name,value,source\nJane Roe,${v},signup form`,
  (v) => `Hi team, please process the refund. Details: ${v}. Thanks, Sam`,
  (v, t) =>
    `${t === 'phone' ? 'Call me at' : t === 'us-ssn' ? 'SSN on file:' : t === 'iban' ? 'Pay to IBAN' : t === 'payment-card' ? 'Card number' : 'Reply to'} ${v} before Friday.`
];

export function piiPositives(seed = 13, perType = 24) {
  const r = createRng(seed);
  const items = [];
  for (const [type, gen] of Object.entries(PII_GEN)) {
    for (let i = 0; i < perType; i++) {
      const value = gen(r);
      const text = PII_CONTEXTS[i % PII_CONTEXTS.length](value, type);
      const start = text.indexOf(value);
      items.push({ id: `${type}-${i + 1}`, type, text, value, start, end: start + value.length });
    }
  }
  return items;
}

export function piiNegatives(seed = 17) {
  const r = createRng(seed);
  const items = [];
  const add = (category, text) =>
    items.push({
      id: `${category}-${items.filter((x) => x.category === category).length + 1}`,
      category,
      text
    });
  for (let i = 0; i < 10; i++) {
    const good = luhnComplete('4' + r.chars(DIGITS, 14));
    const bad = good.slice(0, -1) + String((Number(good.slice(-1)) + r.int(1, 9)) % 10);
    add('card-luhn-invalid', r.pick([`card ${bad}`, `order ${bad.match(/.{4}/g).join(' ')}`, `ref=${bad}`]));
  }
  for (let i = 0; i < 5; i++)
    add(
      'luhn-valid-unknown-issuer',
      `invoice ${luhnComplete(r.pick(['1', '7', '8', '9']) + r.chars(DIGITS, 14))}`
    );
  for (let i = 0; i < 5; i++) add('epoch-ms', `"ts": ${1735689600000 + r.int(0, 3e10)}`);
  for (let i = 0; i < 5; i++) add('epoch-s', `created=${1735689600 + r.int(0, 3e7)}`);
  for (let i = 0; i < 4; i++) add('snowflake-id', `message id ${r.int(1, 1)}${r.chars(DIGITS, 18)}`);
  for (let i = 0; i < 4; i++) add('long-id', `order #${r.chars(DIGITS, r.int(8, 12))} shipped`);
  for (let i = 0; i < 3; i++) add('uuid', `request ${uuid(r)}`);
  for (let i = 0; i < 3; i++) add('version', `upgraded to ${r.int(1, 20)}.${r.int(0, 30)}.${r.int(0, 99)}`);
  for (let i = 0; i < 4; i++)
    add(
      'ip',
      `client 192.168.${r.int(0, 255)}.${r.int(1, 254)} connected from 10.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`
    );
  for (let i = 0; i < 3; i++)
    add('datetime', `2025-0${r.int(1, 9)}-1${r.int(0, 9)} 1${r.int(0, 9)}:${r.int(10, 59)}:${r.int(10, 59)}`);
  for (const t of ['000-12-3456', '666-12-3456', '912-34-5678', '123-00-4567', '123-45-0000'])
    add('ssn-invalid', `id ${t}`);
  for (let i = 0; i < 5; i++) {
    const good = iban(r, false);
    const bad =
      good.slice(0, 2) + String((Number(good.slice(2, 4)) + 1) % 100).padStart(2, '0') + good.slice(4);
    add('iban-bad-check', `IBAN ${bad}`);
  }
  add('iban-wrong-length', `IBAN DE${r.chars(DIGITS, 18)}`);
  add('email-like', 'see assets/icon@2x.png and logo@3x.webp');
  add('email-like', 'git clone git@github.com:acme/api.git');
  add('email-like', 'npm i @modelcontextprotocol/server-filesystem@2026.8.31');
  add('email-like', 'ssh deploy@localhost');
  add('email-like', 'docker pull ghcr.io/acme/api@sha256:' + r.chars(HEX, 64));
  add('email-like', 'use the @Override annotation and @param tags');
  add('numbers-table', 'cpu 250 300 4000 ms');
  add('numbers-table', 'counts: 1200 3400 5600 7800');
  add('coordinates', 'lat 37.7749, lon -122.4194');
  add('isbn', 'ISBN 978-3-16-148410-0');
  add('price', 'total 1 299.00 EUR (incl. 19% VAT)');
  add('phone-too-short', 'extension +12 345');
  add('hex-color', 'color: #1e90ff; border: #333333');
  add('duration', 'took 00:12:34.567');
  add('semver-range', 'requires node >=20.11.1 <23');
  return items;
}
