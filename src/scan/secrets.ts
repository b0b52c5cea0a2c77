/**
 * Secret detectors: credentials that should never cross the gateway in a tool argument or come
 * back in a result. Each rule matches a format, then validates what it matched the way the format
 * allows: GitHub and npm tokens carry a CRC-32 checksum, JWT headers must decode to JSON with
 * `alg`, free-form values (passwords, OpenAI-style keys) must look random. A near miss (wrong
 * checksum, a placeholder like `${DB_PASSWORD}`, a git sha) is not a finding, and neither is a key
 * that a vendor prints in its own documentation as the example (`VENDOR_EXAMPLES`).
 */
import type { Detect, Finding, Severity } from './types.js';
import {
  anyMatch,
  base62ChecksumValid,
  charClasses,
  decodeBase64Url,
  eachMatch,
  entropy,
  isPlaceholder,
  rx,
  withPlan
} from './util.js';
import { matchPlanner } from './starts.js';

function push(
  out: Finding[],
  rule: string,
  severity: Severity,
  message: string,
  start: number,
  end: number
): void {
  out.push({ kind: 'secret', rule, severity, message, start, end });
}

/** A detector for `re` whose whole match (or group `group`) is the secret, kept when `valid`. */
function formatRule(
  re: RegExp,
  rule: string,
  severity: Severity,
  message: string,
  valid: (m: RegExpExecArray) => boolean = () => true
): Detect {
  return (text, out) =>
    eachMatch(re, text, (m) => {
      if (valid(m)) push(out, rule, severity, message, m.index, m.index + m[0].length);
    });
}

/** Random-looking: long enough, several character classes, enough entropy per character. */
function looksRandom(value: string, minLength: number, minEntropy: number): boolean {
  if (value.length < minLength) return false;
  const cls = charClasses(value);
  return cls.count >= 2 && entropy(value) >= minEntropy;
}

// ---------------------------------------------------------------------------------------------
// Vendors' documented examples
// ---------------------------------------------------------------------------------------------

/**
 * Keys that vendors print in their own documentation for every reader to copy. They open nothing,
 * they fill READMEs and tutorials, and a finding on one would only teach people to ignore findings.
 * Each entry is a vendor's documented example; add only values that the vendor itself publishes.
 */
const VENDOR_EXAMPLES: ReadonlySet<string> = new Set([
  // AWS IAM documentation: the example access key id and secret access key.
  'AKIAIOSFODNN7EXAMPLE',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  // Stripe API reference: the test-mode keys shown to readers who are not signed in (current and
  // older pages).
  'sk_test_4eC39HqLyjWDarjtT1zdp7dc',
  'pk_test_TYooMQauvdEDq54NiTphI7jx',
  'sk_test_BQokikJOvBiI2HlWgH4olfQ2',
  'pk_test_6pRNASCoBOKtIshFeQd4XMUh',
  // Azure Storage emulator (Azurite): the fixed, well-known key of the account devstoreaccount1.
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
  // Azure Storage documentation: the signatures of the example SAS connection strings.
  '9aCzs76n0E7y5BpEi2GvsSv433BZa22leDOZXX%2BXXIU%3D',
  'iCvQmdZngZNW%2F4vw43j6%2BVz6fndHF5LI639QJba4r8o%3D',
  // jwt.io's example token (HS256, signed with the published secret "your-256-bit-secret").
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'
]);

/** AWS marks every example key in its documentation with `EXAMPLE`; no real key id or secret has it. */
const AWS_EXAMPLE_SHAPE =
  /^(?:(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}|[A-Za-z0-9/+]{40})$/;

/** Whether `value` is (or contains) a key a vendor publishes as its documentation example. */
export function isVendorExample(value: string): boolean {
  if (VENDOR_EXAMPLES.has(value)) return true;
  if (value.includes('EXAMPLE') && AWS_EXAMPLE_SHAPE.test(value)) return true;
  for (const example of VENDOR_EXAMPLES) if (value.includes(example)) return true;
  return false;
}

const KNOWN_FORMAT =
  /^(?:gh[pousr]_|github_pat_|npm_|xox[abprs]-|[sr]k_live_|pk_live_|AKIA|ASIA|AIza|sk-|eyJ|-----BEGIN|hf_|api_org_|SG\.)/;
const IDENTIFIER_CHAIN = /^[A-Za-z_$][\w$]{0,80}(?:\.[A-Za-z_$][\w$]{0,80}){1,10}$/;
const PATH_LIKE = /^(?:\/|\.{1,2}\/|~\/|[A-Za-z]:\\)/;
/** References to a secret kept elsewhere: `vault:secret/db`, `op://...`, `$env:DB_PASS`, `%DB_PASS%`. */
const SECRET_REFERENCE =
  /:\/\/|^(?:vault|ssm|secretsmanager|arn|env|file|keychain|op|kv|ref|secret|secrets)[:/]|^\$env:|^\$[A-Za-z_]\w{0,60}$|^%[A-Za-z_]\w{0,60}%$/i;

/** `s` without the backslashes it ends with (a loop: a pattern for this backtracks on long runs). */
function trimBackslashes(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 0x5c) end--;
  return end === s.length ? s : s.slice(0, end);
}

/**
 * Whether the value of `password=...`-style assignment looks like a real secret rather than a
 * reference to one (`os.environ[...]`, `${VAR}`, `config.db.password`, a path, a plain word).
 */
export function looksLikeSecretValue(raw: string): boolean {
  const value = trimBackslashes(raw).replace(/[.,]$/, '');
  // A value in a known format is judged by that format's rule (checksum, header, prefix).
  if (KNOWN_FORMAT.test(value) || isVendorExample(value)) return false;
  if (value.length < 8 || value.length > 256) return false;
  if (isPlaceholder(value) || IDENTIFIER_CHAIN.test(value) || PATH_LIKE.test(value)) return false;
  if (SECRET_REFERENCE.test(value)) return false;
  // Code, not a literal: a call, an index, a template.
  if (/^https?:\/\//i.test(value) || /[([]|\$\{/.test(value)) return false;
  const cls = charClasses(value);
  if (!(cls.lower || cls.upper)) return false;
  // Needs a digit or a symbol other than the ones identifiers use.
  if (!cls.digit && !/[^A-Za-z0-9_.-]/.test(value)) return false;
  // Short values need every character class (a real password); short random ids are too common.
  if (value.length < 12) return cls.count === 4 && entropy(value) >= 2.8;
  if (value.length < 16) return cls.count >= 3 && entropy(value) >= 2.8;
  return cls.count >= 2 && entropy(value) >= 3.3;
}

// ---------------------------------------------------------------------------------------------
// Cloud providers
// ---------------------------------------------------------------------------------------------

const AWS_KEY_ID = rx(
  '(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z2-7]{16}(?![A-Za-z0-9])'
);
const AWS_SECRET_ASSIGNED = rx(
  '(?<![A-Za-z0-9])(?:aws|secret)[A-Za-z0-9_.-]{0,30}?\\\\?["\']?[ \\t]{0,4}(?::=|=>|=|:|,)[ \\t]{0,4}\\\\?["\']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])',
  'i'
);
const AWS_SECRET_TOKEN = rx('(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])');
const AWS_CONTEXT = /aws|amazon|\bAKIA|\bASIA|\bs3\b|\biam\b/i;

function awsSecretValue(v: string): boolean {
  const cls = charClasses(v);
  // Real secrets are base64 of random bytes: mixed case and digits. A 40-char hex string is a sha1.
  return cls.lower && cls.upper && cls.digit && entropy(v) >= 4;
}

const awsAccessKeyId: Detect = (text, out) =>
  eachMatch(AWS_KEY_ID, text, (m) => {
    const end = m.index + m[0].length;
    push(out, 'aws-access-key-id', 'high', 'AWS access key id', m.index, end);
    // A secret access key right after the id (CSV credential files, `id:secret` pairs).
    const window = text.slice(end, end + 160);
    eachMatch(AWS_SECRET_TOKEN, window, (s) => {
      if (awsSecretValue(s[0])) {
        push(
          out,
          'aws-secret-access-key',
          'critical',
          'AWS secret access key',
          end + s.index,
          end + s.index + 40
        );
      }
      return window.length;
    });
  });

const awsSecretAssigned: Detect = (text, out) =>
  eachMatch(AWS_SECRET_ASSIGNED, text, (m) => {
    const value = m[1]!;
    const name = m[0].slice(0, m[0].length - value.length);
    if (!/secret/i.test(name) || !awsSecretValue(value)) return;
    // `SecretAccessKey` is AWS's own name for it; otherwise look for AWS nearby.
    const awsName = /aws|secret_?access_?key/i.test(name);
    if (!awsName && !AWS_CONTEXT.test(text.slice(Math.max(0, m.index - 300), m.index))) return;
    const start = m.index + m[0].length - 40;
    push(out, 'aws-secret-access-key', 'critical', 'AWS secret access key', start, start + 40);
  });

const GOOGLE_API_KEY = rx('(?<![A-Za-z0-9_-])AIza[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])');
const googleApiKey = formatRule(GOOGLE_API_KEY, 'google-api-key', 'high', 'Google API key', (m) =>
  looksRandom(m[0].slice(4), 35, 3.5)
);

/** Base64 of random bytes: mixed case, digits, and the entropy random bytes give at that length. */
function randomBase64(value: string, minEntropy: number): boolean {
  const cls = charClasses(value.replace(/={1,8}$/, ''));
  return cls.lower && cls.upper && cls.digit && entropy(value) >= minEntropy;
}

// Azure Storage account keys are 512-bit, written as 88 characters of base64 (86 and `==`). They
// appear as `AccountKey=` in connection strings, or under the names the SDKs and tools give them.
// The pattern starts at `key` (cheaper to look for than the names); the name is checked before it.
const AZURE_ACCOUNT_KEY = rx(
  'key\\\\?["\']?[ \\t]{0,3}[=:][ \\t]{0,3}\\\\?["\']?([A-Za-z0-9+/]{86}==)(?![A-Za-z0-9+/=])',
  'i'
);
const AZURE_ACCOUNT_KEY_NAME =
  /(?:^|[^A-Za-z0-9])(?:account_?|azure_storage_(?:account_)?(?:access_)?|storage_?account_?(?:access_?)?)$/i;
const azureAccountKey: Detect = (text, out) =>
  eachMatch(AZURE_ACCOUNT_KEY, text, (m) => {
    const key = m[1]!;
    if (!AZURE_ACCOUNT_KEY_NAME.test(text.slice(Math.max(0, m.index - 40), m.index))) return;
    if (!randomBase64(key, 4.6)) return;
    const start = m.index + m[0].length - key.length;
    push(out, 'azure-storage-key', 'critical', 'Azure Storage account key', start, start + key.length);
  });

// Service Bus, Event Hubs and IoT Hub connection strings carry `SharedAccessKey=`: a 256-bit key
// (44 characters of base64) as generated, or a 512-bit one. `SharedAccessKeyName=` is only a name.
const AZURE_SHARED_ACCESS_KEY = rx(
  '(?<![A-Za-z0-9])SharedAccessKey[ \\t]{0,3}=[ \\t]{0,3}([A-Za-z0-9+/]{43}=|[A-Za-z0-9+/]{86}==)(?![A-Za-z0-9+/=])',
  'i'
);
const azureSharedAccessKey: Detect = (text, out) =>
  eachMatch(AZURE_SHARED_ACCESS_KEY, text, (m) => {
    const key = m[1]!;
    if (!randomBase64(key, 4)) return;
    const start = m.index + m[0].length - key.length;
    push(out, 'azure-shared-access-key', 'high', 'Azure shared access key', start, start + key.length);
  });

// A shared access signature is a query string; its `sig=` is the base64 HMAC-SHA256 (32 bytes: 43
// characters and `=`), usually percent-encoded (`%2B`, `%2F`, `%3D`). Storage SAS always carry
// `sv=` (the signed version) and some of `se` `sp` `sr` `ss` `srt` `st`; Service Bus and Event
// Hubs SAS carry `sr`, `se` and `skn` (the key name) instead of `sv`.
const AZURE_SAS_SIG = rx(
  '(?<![A-Za-z0-9_])sig=((?:[A-Za-z0-9+/]|%2[BbFf]){43}(?:=|%3[Dd])?)(?![A-Za-z0-9+/=%])'
);
const SAS_QUERY_WINDOW = 400;

function isQueryChar(c: number): boolean {
  // Anything but whitespace, quotes, backticks and angle brackets: the query around `sig=`.
  return !(c <= 32 || c === 34 || c === 39 || c === 96 || c === 60 || c === 62);
}

// The SAS fields, after the `?`, `&`, `;` (also of `&amp;`) or `=` (`SharedAccessSignature=sv=`)
// that opens them. Azure writes them in lower case.
const SAS_FIELD = rx('(?:^|[?&;=\\s])(sv|se|sp|sr|ss|srt|st|skn)=');
const NO_FIELDS: ReadonlySet<string> = new Set();

/** The SAS fields of the query string around `text[from, to)`. */
function sasParams(text: string, from: number, to: number): ReadonlySet<string> {
  const lo = Math.max(0, from - SAS_QUERY_WINDOW);
  const hi = Math.min(text.length, to + SAS_QUERY_WINDOW);
  // Most `sig=` outside a SAS has neither field that every SAS carries anywhere near it.
  const near = text.slice(lo, hi);
  if (!near.includes('sv=') && !near.includes('skn=')) return NO_FIELDS;
  let left = from;
  while (left > lo && isQueryChar(text.charCodeAt(left - 1))) left--;
  let right = to;
  while (right < hi && isQueryChar(text.charCodeAt(right))) right++;
  const names = new Set<string>();
  eachMatch(SAS_FIELD, text.slice(left, right), (f) => {
    names.add(f[1]!);
  });
  return names;
}

const azureSasSignature: Detect = (text, out) =>
  eachMatch(AZURE_SAS_SIG, text, (m) => {
    const sig = m[1]!;
    const decoded = sig
      .replace(/%2[Bb]/g, '+')
      .replace(/%2[Ff]/g, '/')
      .replace(/%3[Dd]/g, '=');
    if (!randomBase64(decoded, 4)) return;
    const params = sasParams(text, m.index, m.index + m[0].length);
    const storage = params.has('sv') && ['se', 'sp', 'sr', 'ss', 'srt', 'st'].some((p) => params.has(p));
    const bus = params.has('skn') && params.has('sr') && params.has('se');
    if (!storage && !bus) return;
    const start = m.index + 4;
    push(out, 'azure-sas-signature', 'high', 'Azure shared access signature', start, start + sig.length);
  });

// ---------------------------------------------------------------------------------------------
// Source hosting and package registries
// ---------------------------------------------------------------------------------------------

const GITHUB_TOKEN = rx('(?<![A-Za-z0-9_])gh[pousr]_([A-Za-z0-9]{36})(?![A-Za-z0-9_])');
const githubToken = formatRule(
  GITHUB_TOKEN,
  'github-token',
  'high',
  'GitHub token (checksum verified)',
  (m) => base62ChecksumValid(m[1]!)
);

const GITHUB_PAT = rx('(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9]{22}_([A-Za-z0-9]{59})(?![A-Za-z0-9_])');
const githubFineGrained = formatRule(
  GITHUB_PAT,
  'github-fine-grained-pat',
  'high',
  'GitHub fine-grained personal access token',
  (m) => looksRandom(m[1]!, 59, 4)
);

const NPM_TOKEN = rx('(?<![A-Za-z0-9_])npm_([A-Za-z0-9]{36})(?![A-Za-z0-9_])');
const npmToken = formatRule(NPM_TOKEN, 'npm-token', 'high', 'npm access token (checksum verified)', (m) =>
  base62ChecksumValid(m[1]!)
);

// ---------------------------------------------------------------------------------------------
// SaaS API keys
// ---------------------------------------------------------------------------------------------

const SLACK_TOKEN = rx('(?<![A-Za-z0-9-])xox[abprs]-[A-Za-z0-9-]{10,250}(?![A-Za-z0-9-])');
const slackToken = formatRule(SLACK_TOKEN, 'slack-token', 'high', 'Slack token', (m) => {
  const parts = m[0].slice(5).split('-');
  const last = parts[parts.length - 1]!;
  const numeric = parts.some((p) => p.length >= 8 && /^[0-9]{8,20}$/.test(p));
  return parts.length >= 2 && numeric && last.length >= 8 && looksRandom(last, 8, 2.8);
});

const SLACK_WEBHOOK = rx(
  'https://hooks\\.slack\\.com/(?:services|workflows|triggers)/[A-Za-z0-9_]{6,40}/[A-Za-z0-9_]{6,40}/[A-Za-z0-9_]{12,80}'
);
const slackWebhook = formatRule(SLACK_WEBHOOK, 'slack-webhook', 'high', 'Slack incoming webhook URL');

const STRIPE_KEY = rx('(?<![A-Za-z0-9_])(?:sk|rk)_live_([A-Za-z0-9]{20,247})(?![A-Za-z0-9_])');
const stripeKey = formatRule(STRIPE_KEY, 'stripe-live-key', 'critical', 'Stripe live secret key', (m) =>
  looksRandom(m[1]!, 20, 3.5)
);

// Hugging Face user access tokens: `hf_` and 34 letters. The deprecated organization API tokens
// (`api_org_`, no longer issued but still accepted) have the same 34-letter body.
const HUGGINGFACE_TOKEN = rx('(?<![A-Za-z0-9_])(?:hf_|api_org_)([A-Za-z]{34})(?![A-Za-z0-9_])');

function countIn(s: string, lo: number, hi: number): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= lo && c <= hi) n++;
  }
  return n;
}

const huggingFaceToken = formatRule(
  HUGGINGFACE_TOKEN,
  'huggingface-token',
  'high',
  'Hugging Face access token',
  (m) => {
    // Random letters are about half upper case, with capitals side by side somewhere; a 34-letter
    // camelCase identifier (`loadPretrainedModelFromHubWithAuth`) has a few capitals, never two.
    const body = m[1]!;
    return (
      countIn(body, 65, 90) >= 6 &&
      countIn(body, 97, 122) >= 6 &&
      /[A-Z]{2}/.test(body) &&
      entropy(body) >= 3.6
    );
  }
);

// SendGrid API keys: `SG.`, the key id (22 characters of base64url), `.`, the secret (43).
const SENDGRID_KEY = rx('(?<![A-Za-z0-9_-])SG\\.([A-Za-z0-9_-]{22})\\.([A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])');
const sendGridKey = formatRule(SENDGRID_KEY, 'sendgrid-api-key', 'high', 'SendGrid API key', (m) => {
  const cls = charClasses(m[2]!);
  return looksRandom(m[1]!, 22, 3) && cls.lower && cls.upper && entropy(m[2]!) >= 4;
});

const OPENAI_KEY = rx(
  '(?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|admin-|ant-[a-z]{3,8}[0-9]{2}-)?([A-Za-z0-9_-]{20,250})(?![A-Za-z0-9_-])'
);
const openAiKey = formatRule(OPENAI_KEY, 'openai-api-key', 'high', 'OpenAI-style API key (sk-…)', (m) => {
  const body = m[1]!;
  if (body.length < 32) return false;
  const cls = charClasses(body);
  return cls.digit && cls.lower && cls.upper && entropy(body) >= 4;
});

// ---------------------------------------------------------------------------------------------
// Structured credentials
// ---------------------------------------------------------------------------------------------

const PEM_BEGIN = rx('-----BEGIN ((?:[A-Z0-9]{1,12} ){0,3})PRIVATE KEY(?: BLOCK)?-----');
const PEM_MAX_BODY = 64 * 1024;

function isPemBodyChar(c: number): boolean {
  // base64, whitespace, `\` of escaped newlines in JSON text, and `:,-` of the encryption headers.
  return (
    (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122) ||
    (c >= 48 && c <= 57) ||
    c === 43 ||
    c === 47 ||
    c === 61 ||
    c === 32 ||
    c === 9 ||
    c === 10 ||
    c === 13 ||
    c === 92 ||
    c === 58 ||
    c === 44 ||
    c === 45
  );
}

const privateKey: Detect = (text, out) => {
  // The next `-----END ` after a position, remembered so repeated BEGIN headers stay linear.
  let cachedFrom = Infinity;
  let cachedAt = -1;
  const nextEnd = (from: number): number => {
    if (from >= cachedFrom && (cachedAt === -1 || cachedAt >= from)) return cachedAt;
    cachedFrom = from;
    cachedAt = text.indexOf('-----END ', from);
    return cachedAt;
  };
  eachMatch(PEM_BEGIN, text, (m) => {
    const bodyStart = m.index + m[0].length;
    let end = -1;
    const endAt = nextEnd(bodyStart);
    if (endAt !== -1 && endAt - bodyStart <= PEM_MAX_BODY) {
      const close = text.indexOf('-----', endAt + 9);
      if (close !== -1 && close - endAt <= 60 && text.slice(endAt, close).includes('PRIVATE KEY')) {
        end = close + 5;
      }
    }
    if (end === -1) {
      // No matching END: take the body that follows the header.
      end = bodyStart;
      const limit = Math.min(text.length, bodyStart + PEM_MAX_BODY);
      while (end < limit && isPemBodyChar(text.charCodeAt(end))) end++;
    }
    const label = (m[1] ?? '').trim();
    push(out, 'private-key', 'critical', `${label ? label + ' ' : ''}private key block`, m.index, end);
    return end;
  });
};

const JWT = rx(
  '(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,4000}\\.[A-Za-z0-9_-]{2,16000}\\.[A-Za-z0-9_-]{0,4000}(?![A-Za-z0-9_-])'
);

function jwtHeaderValid(segment: string): boolean {
  const json = decodeBase64Url(segment);
  if (json === undefined) return false;
  try {
    const header = JSON.parse(json) as unknown;
    return (
      typeof header === 'object' && header !== null && typeof (header as { alg?: unknown }).alg === 'string'
    );
  } catch {
    return false;
  }
}

const jwt: Detect = (text, out) =>
  eachMatch(JWT, text, (m) => {
    const header = m[0].slice(0, m[0].indexOf('.'));
    if (jwtHeaderValid(header)) {
      push(out, 'jwt', 'high', 'JSON Web Token', m.index, m.index + m[0].length);
      return;
    }
    return m.index + 3; // a later segment may start a real token
  });

const CONNECTION_STRING = rx(
  '(?<![A-Za-z0-9+.-])(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\\+srv)?|rediss?|amqps?|mssql|sqlserver|cockroachdb|clickhouse|jdbc:[a-z]{2,12})://([^\\s:@/?#"\'`<>\\\\]{0,128}):([^\\s@/?#"\'`<>\\\\]{1,256})@[A-Za-z0-9._\\[\\]-]{1,255}',
  'i'
);
const URL_CREDENTIALS = rx(
  '(?<![A-Za-z0-9+.-])(?:https?|ftps?|sftp|ssh|git|smtps?|ldaps?|imaps?)://([^\\s:@/?#"\'`<>\\\\]{1,128}):([^\\s@/?#"\'`<>\\\\]{3,256})@[A-Za-z0-9.-]{1,255}',
  'i'
);

function passwordRule(re: RegExp, rule: string, message: string): Detect {
  return (text, out) =>
    eachMatch(re, text, (m) => {
      const password = m[2]!;
      if (isPlaceholder(password) || /^[*x]{1,1000}$/i.test(password)) return;
      // Offset of the password: after `scheme://user:`.
      const start = m.index + m[0].indexOf('://') + 3 + m[1]!.length + 1;
      push(out, rule, 'high', message, start, start + password.length);
    });
}

const connectionString = passwordRule(
  CONNECTION_STRING,
  'connection-string',
  'database or broker connection string with a password'
);
const urlCredentials = passwordRule(URL_CREDENTIALS, 'url-credentials', 'URL with an embedded password');

// ---------------------------------------------------------------------------------------------
// Generic assignments and authorization headers
// ---------------------------------------------------------------------------------------------

const SECRET_NAME = rx(
  '(?:pass(?:word|wd|phrase)|pwd|secret|api[_-]?key|access[_-]?key|auth[_-]?token|access[_-]?token|refresh[_-]?token|client[_-]?secret|private[_-]?key|token|credentials?)((?:[_.-][A-Za-z0-9]{1,20}(?![A-Za-z0-9])){0,2})\\\\?["\']?[ \\t]{0,3}(?::=|=>|=|:)[ \\t]{0,3}(?:\\\\?(["\'`])([^\\s"\'`\\\\]{8,256})\\\\?\\2|([^\\s"\'`,;&)}\\]<>]{8,256}))',
  'i'
);
/** Names that mention a secret without holding one: `token_count`, `password_hash`, `tokenizer`. */
const NOT_A_SECRET_SUFFIX =
  /^[_.-]?(?:hash(?:ed)?|length|len|count|type|name|url|uri|endpoint|path|file|id|ids|policy|field|label|prompt|hint|regex|pattern|limit|expiry|expires(?:_?at|_?in)?|ttl|ref|izer|ization|ize|s|min|max|reset|rotation|header|env|var|required|manager|store|version|provider)$/i;

function nameBoundary(text: string, at: number): boolean {
  if (at === 0) return true;
  const prev = text.charCodeAt(at - 1);
  const first = text.charCodeAt(at);
  const prevAlnum = (prev >= 48 && prev <= 57) || (prev >= 65 && prev <= 90) || (prev >= 97 && prev <= 122);
  if (!prevAlnum) return true;
  // camelCase: `dbPassword`, `apiToken`.
  return prev >= 97 && prev <= 122 && first >= 65 && first <= 90;
}

const secretAssignment: Detect = (text, out) =>
  eachMatch(SECRET_NAME, text, (m) => {
    if (!nameBoundary(text, m.index)) return m.index + 1;
    const suffix = m[1] ?? '';
    if (suffix && NOT_A_SECRET_SUFFIX.test(suffix.split(/[_.-]/).pop() ?? '')) return m.index + 1;
    const raw = m[3] ?? m[4]!;
    // A rejected value is skipped whole: every character is looked at once.
    if (!looksLikeSecretValue(raw)) return m.index + m[0].length;
    const value = trimBackslashes(raw).replace(/[.,]$/, '');
    const start = m.index + m[0].lastIndexOf(raw);
    push(
      out,
      'secret-assignment',
      'medium',
      'a password or key assigned in clear text',
      start,
      start + value.length
    );
    return undefined;
  });

const BEARER = rx('\\b(?:[Bb]earer|BEARER)\\s{1,3}([A-Za-z0-9._~+/-]{16,2048}={0,2})(?![A-Za-z0-9._~+/=-])');
const bearerToken: Detect = (text, out) =>
  eachMatch(BEARER, text, (m) => {
    const token = m[1]!;
    if (isPlaceholder(token) || !looksRandom(token, 16, 3.5)) return;
    const start = m.index + m[0].length - token.length;
    push(out, 'bearer-token', 'high', 'bearer token in an Authorization header', start, start + token.length);
  });

const BASIC_AUTH = rx('\\b(?:[Bb]asic|BASIC)\\s{1,3}([A-Za-z0-9+/]{8,1024}={0,2})(?![A-Za-z0-9+/=])');
const basicAuth: Detect = (text, out) =>
  eachMatch(BASIC_AUTH, text, (m) => {
    const decoded = decodeBase64Url(m[1]!);
    if (decoded === undefined || !/^[\x20-\x7e]{1,200}:[\x20-\x7e]{3,200}$/.test(decoded)) return;
    const start = m.index + m[0].length - m[1]!.length;
    push(out, 'basic-auth', 'high', 'HTTP basic credentials', start, start + m[1]!.length);
  });

// ---------------------------------------------------------------------------------------------
// Passwords written in prose, and user:password pairs
// ---------------------------------------------------------------------------------------------

/** Names of hash, cipher and encoding schemes, versions: what text says a password "is" without one. */
const TECHNICAL_TERM =
  /^(?:sha-?(?:1|224|256|384|512)|sha3-\d{3}|md[45]|aes-?\d{3}(?:-[a-z]{3})?|utf-?(?:8|16|32)|base(?:32|58|64)|pbkdf2(?:-sha\d{1,3})?|argon2(?:id|i|d)?|scrypt|bcrypt|[hre]s\d{3}|rfc-?\d{3,5}|iso-?\d{3,5}(?:-\d{1,2})?|x86_64|oauth2?|ntlmv?2?|v?\d{1,3}(?:\.\d{1,3}){1,3})$/i;
const HASH_ALGORITHM = /^(?:sha-?\d{1,3}|sha3-\d{3}|md5|blake2[bs]?|crc32|sha512_256)$/i;

/** Strip the punctuation a sentence puts after a value (the password itself may end in `!`). */
function trimValue(raw: string): string {
  let v = raw;
  for (let i = 0; i < 2; i++) {
    while (v.length > 0 && '.,;:'.includes(v[v.length - 1]!)) v = v.slice(0, -1);
    const open = { ')': '(', ']': '[', '}': '{', '>': '<' }[v[v.length - 1] ?? ''];
    if (open !== undefined && !v.includes(open)) v = v.slice(0, -1);
  }
  return v;
}

/**
 * Whether a value that text calls a password looks like one: 6 to 128 characters with letters and
 * a digit or a symbol, and not a placeholder (`<password>`, `${DB_PASS}`, `****`, `(hidden)`,
 * `password123`), a path, a reference to a secret store, a call or an index, the name of a hash
 * scheme, or an ordinary word ("required", "incorrect", "reset"). `assigned` values (after `:` or
 * `=`) may be code, so a variable name (`new_pass2`, `hashedPw1`) is not taken for a password.
 */
export function looksLikePassword(value: string, assigned = false): boolean {
  if (value.length < 6 || value.length > 128) return false;
  if (isPlaceholder(value) || isVendorExample(value) || SECRET_REFERENCE.test(value)) return false;
  // A value that names itself (`password-for-30001`, `example-pass1`, `changeme2`) is an example.
  if (/passw(?:or)?d|example|placeholder|changeme|redacted/i.test(value)) return false;
  if (PATH_LIKE.test(value) || /^[=>:/\\$%*]/.test(value) || /[*•]{3}|\$\{|\$\(|%\(|\{\{/.test(value))
    return false;
  // Opened like `(hidden)`, `[redacted]`, `<secret>`, or code: a call or an index (`hash(pw`, `argv[2]`).
  if (/^[([{<]/.test(value) || /[\w$][([]/.test(value)) return false;
  if (IDENTIFIER_CHAIN.test(value) || TECHNICAL_TERM.test(value)) return false;
  const cls = charClasses(value);
  if (!(cls.lower || cls.upper)) return false;
  // Letters alone, or with only the joiners words use (`case-sensitive`, `o'clock`), are words,
  // and so are they before a sentence's `!` or `?` ("password is required!").
  if (!cls.digit && !/[^A-Za-z0-9_.'-]/.test(value.replace(/[!?]{1,3}$/, ''))) return false;
  if (
    assigned &&
    /^[A-Za-z_$][\w$]{0,127}$/.test(value) &&
    (value.includes('_') || /[a-z][A-Z]/.test(value))
  ) {
    return false;
  }
  return new Set(value).size >= 4;
}

const VALUE_CHARS = '[^\\s"\'`\\\\\\u2019\\u201d]';
// What `looksLikePassword` requires of every value, in the pattern itself so that text without one
// stays out of the union: a first character that opens no placeholder, path or code (`${`, `%`,
// `*`, `<`, `(`, `/`, `=`), and a digit or a symbol somewhere in the value.
const VALUE_FIRST = '[^\\s"\'`\\\\\\u2019\\u201d$%*<{(\\[=>:/]';
const VALUE_SYMBOL = '[^A-Za-z_.\'\\-\\s"`\\\\\\u2019\\u201d]';
const PASSWORD_VALUE = `(?=${VALUE_CHARS}{0,127}?${VALUE_SYMBOL})(${VALUE_FIRST}${VALUE_CHARS}{0,127})(?!${VALUE_CHARS})`;
const QUOTED_VALUE = `(?:\\\\?["'\`\\u2018\\u201c])?${PASSWORD_VALUE}`;
const PASSWORD_WORD = 'pass(?:word|wd|phrase|code)|pass[ -]phrase|pwd|pw|pgpassword';

// "the password is X", "password for the staging db: X", "pwd = X", "my passphrase was set to X",
// "log in with password X", "(password X)", "use the password 'X'". Group 1, 2 or 3 is the value.
const PROSE_PASSWORD = rx(
  '(?:' +
    `(?<![A-Za-z])(?:${PASSWORD_WORD})\\\\?["']?` +
    '(?:[ \\t]{1,3}(?:for|to|of|on)(?:[ \\t]{1,3}[^\\s:=]{1,40}){1,4})?' +
    '(?:[ \\t]{0,3}(?::=|=>|[:=])[ \\t]{0,3}' +
    '|[ \\t]{1,3}(?:(?:(?:is|was|has[ \\t]{1,3}been)[ \\t]{1,3})?(?:set|changed|reset|updated)[ \\t]{1,3}to' +
    '|(?:is|was)(?:[ \\t]{1,3}(?:now|still|just))?' +
    '|will[ \\t]{1,3}be)(?:[ \\t]{0,3}:)?[ \\t]{1,3})' +
    QUOTED_VALUE +
    '|(?:password|passphrase|passwd)' +
    '(?<=(?:(?:^|[^A-Za-z])(?:with|using|and)[ \\t]{1,3}(?:(?:the|a|new)[ \\t]{1,3})?|\\()(?:password|passphrase|passwd))' +
    `[ \\t]{1,3}${QUOTED_VALUE}` +
    `|(?<![A-Za-z])(?:password|passphrase|passwd)[ \\t]{1,3}(?=\\\\?["'\`\\u2018\\u201c])${QUOTED_VALUE})`,
  'i'
);

const QUOTES = '"\'`\u2018\u201c';

const passwordInProse: Detect = (text, out) =>
  eachMatch(PROSE_PASSWORD, text, (m) => {
    let raw = m[1] ?? m[2] ?? m[3]!;
    const lead = m[0].slice(0, m[0].length - raw.length);
    const quoted = QUOTES.includes(lead[lead.length - 1]!);
    const assigned = m[1] !== undefined && /[:=>][ \t]{0,3}\\?["'`\u2018\u201c]?$/.test(lead);
    if (assigned && !quoted) {
      // Unquoted after `:` or `=`, a comma or semicolon ends the value (`{password:e,salt:t}`).
      const stop = raw.search(/[,;]/);
      if (stop >= 0) raw = raw.slice(0, stop);
    }
    if (assigned && quoted && !/^[A-Za-z0-9_.-]{0,80}\\?["']/.test(lead)) {
      // A string literal under an unquoted name, followed by `,` `;` `)` `}` or `]`, is source code
      // (`{ name: 'john', password: 'secret1' }`): the assignment rule judges it, with its own bar.
      const after = m.index + m[0].length + 1;
      if (/^\s{0,16}[,;)}\]]/.test(text.slice(after, after + 17))) return;
    }
    const value = trimValue(raw);
    if (!looksLikePassword(value, assigned)) return;
    const start = m.index + lead.length;
    push(out, 'password-in-prose', 'medium', 'a password written out in text', start, start + value.length);
  });

// `user:password` (or `user / password`) after a word that announces credentials ("credentials",
// "creds", "login", "log in", "auth", "basic auth", "authentication"). Group 1 is the user, 2 the
// password.
const CREDENTIAL_PAIR = rx(
  '(?<![A-Za-z0-9])(?:credentials?|creds|log[ -]?in|auth(?:entication)?)' +
    '(?:[ \\t]{0,3}[:=][ \\t]{0,3}|[ \\t]{1,3}(?:(?:is|are|was|were|with|using|as|via)[ \\t]{1,3}(?:the[ \\t]{1,3})?)?)' +
    `["']?([A-Za-z0-9._@+-]{1,64})(?::|[ \\t]{0,2}/[ \\t]{0,2})${PASSWORD_VALUE}`,
  'i'
);
// Command lines: `curl -u user:password`, `-u user -p password` (docker login, mysql and the
// like), `sshpass -p password`. Group 1 is the user (none for sshpass), 2 the password. Kept
// apart from the pattern above: V8 runs the two as one alternation several times slower.
const CREDENTIAL_FLAGS = rx(
  '(?:(?<![A-Za-z0-9-])(?:-u|--user(?:name)?)(?:[ \\t]{1,3}|=)["\']?([A-Za-z0-9._@+-]{1,64})' +
    '(?::|["\']?[ \\t]{1,3}(?:-p[ \\t]{0,3}|--password(?:[ \\t]{1,3}|=))["\']?)' +
    `|(?<![A-Za-z0-9-])sshpass[ \\t]{1,3}-p[ \\t]{0,3}["']?)${PASSWORD_VALUE}`,
  'i'
);

/** A detector for a `user`/`password` pattern whose last group is the password. */
function credentialRule(re: RegExp): Detect {
  return (text, out) =>
    eachMatch(re, text, (m) => {
      const raw = m[m.length - 1]!;
      let user = 'sshpass';
      for (let g = m.length - 2; g >= 1; g--) if (m[g] !== undefined) user = m[g]!;
      const value = trimValue(raw);
      // A user has letters (not a time, a ratio or a port), and is not a digest's algorithm.
      if (!/[A-Za-z]/.test(user) || HASH_ALGORITHM.test(user)) return;
      // `host:5432/db` is an address, not a password.
      if (/^\d{1,5}(?:[/?#]|$)/.test(value) || !looksLikePassword(value)) return;
      const start = m.index + m[0].length - raw.length;
      push(
        out,
        'credential-pair',
        'medium',
        'a user name and password written out',
        start,
        start + value.length
      );
    });
}

const credentialPair = credentialRule(CREDENTIAL_PAIR);
const credentialFlags = credentialRule(CREDENTIAL_FLAGS);

/** Every secret detector, in a fixed order. */
export const SECRET_DETECTORS: readonly Detect[] = [
  awsAccessKeyId,
  awsSecretAssigned,
  googleApiKey,
  azureAccountKey,
  azureSharedAccessKey,
  azureSasSignature,
  githubToken,
  githubFineGrained,
  npmToken,
  slackToken,
  slackWebhook,
  stripeKey,
  huggingFaceToken,
  sendGridKey,
  openAiKey,
  privateKey,
  jwt,
  connectionString,
  urlCredentials,
  secretAssignment,
  bearerToken,
  basicAuth,
  passwordInProse,
  credentialPair,
  credentialFlags
];

/**
 * The pattern every finding of a detector starts from: a detector finds nothing where its pattern
 * does not match. The generic assignment pattern has a backreference, so it stays out of the union.
 * One union per group (and set of flags), not one for all: V8 runs a long alternation of these
 * patterns up to twice as slow per character as the same patterns in a few shorter ones (measured
 * on the project-written tool results of bench/scan), so the formats added later, and the
 * passwords written out in text, have unions of their own.
 */
const GATES: readonly (readonly (readonly [Detect, RegExp])[])[] = [
  [
    [awsAccessKeyId, AWS_KEY_ID],
    [awsSecretAssigned, AWS_SECRET_ASSIGNED],
    [googleApiKey, GOOGLE_API_KEY],
    [githubToken, GITHUB_TOKEN],
    [githubFineGrained, GITHUB_PAT],
    [npmToken, NPM_TOKEN],
    [slackToken, SLACK_TOKEN],
    [slackWebhook, SLACK_WEBHOOK],
    [stripeKey, STRIPE_KEY],
    [openAiKey, OPENAI_KEY],
    [privateKey, PEM_BEGIN],
    [jwt, JWT],
    [connectionString, CONNECTION_STRING],
    [urlCredentials, URL_CREDENTIALS],
    [bearerToken, BEARER],
    [basicAuth, BASIC_AUTH]
  ],
  [
    [azureAccountKey, AZURE_ACCOUNT_KEY],
    [azureSharedAccessKey, AZURE_SHARED_ACCESS_KEY],
    [azureSasSignature, AZURE_SAS_SIG],
    [huggingFaceToken, HUGGINGFACE_TOKEN],
    [sendGridKey, SENDGRID_KEY]
  ],
  [
    [passwordInProse, PROSE_PASSWORD],
    [credentialPair, CREDENTIAL_PAIR],
    [credentialFlags, CREDENTIAL_FLAGS]
  ]
];
const GATED: ReadonlyMap<Detect, RegExp> = new Map(GATES.flat());
const UNIONS = GATES.map((group) => anyMatch(group.map(([, re]) => re)));
const MAY_MATCH = (text: string): boolean => UNIONS.some((union) => union(text));
const UNGATED = SECRET_DETECTORS.filter((d) => !GATED.has(d));

/**
 * Heuristic rules that give way, by rank, to every other rule whose finding covers theirs: a value
 * that a format rule reports is not reported again as a `SharedAccessKey=` assignment, and a
 * password that a `password=` assignment reports is not reported again as prose.
 */
const GIVES_WAY: ReadonlyMap<string, number> = new Map([
  ['secret-assignment', 1],
  ['password-in-prose', 2],
  ['credential-pair', 3]
]);

/** Containment queries against a set of spans: sorted by start, with the furthest end so far. */
function spanIndex(spans: readonly Finding[]): (start: number, end: number) => boolean {
  const sorted = [...spans].sort((a, b) => a.start! - b.start!);
  const starts = sorted.map((f) => f.start!);
  const reach: number[] = [];
  for (const f of sorted) reach.push(Math.max(reach[reach.length - 1] ?? -1, f.end!));
  return (start, end) => {
    // The spans that start at or before `start`; one of them covers [start, end) when the furthest
    // of them reaches `end`.
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! <= start) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && reach[lo - 1]! >= end;
  };
}

/**
 * Drop the vendors' documented examples and the heuristic findings another rule already covers,
 * among the findings from `out[from]` on (exported for the test that checks the union's gate).
 */
export function settleSecrets(text: string, out: Finding[], from: number): void {
  if (out.length === from) return;
  const found = out.slice(from);
  let kept = found.filter((f) => !isVendorExample(text.slice(f.start, f.end)));
  if (kept.some((f) => GIVES_WAY.has(f.rule))) {
    for (const rank of [1, 2, 3]) {
      if (!kept.some((f) => GIVES_WAY.get(f.rule) === rank)) continue;
      const covered = spanIndex(kept.filter((f) => (GIVES_WAY.get(f.rule) ?? 0) < rank));
      kept = kept.filter((f) => GIVES_WAY.get(f.rule) !== rank || !covered(f.start!, f.end!));
    }
  }
  if (kept.length === found.length) return;
  out.length = from;
  for (const f of kept) out.push(f);
}

/**
 * The patterns the detectors run over the whole text, their matches found from one pass over it
 * (./starts): each is tried only where a literal it must hold allows, with the same matches.
 */
const PLAN = matchPlanner([
  AWS_KEY_ID,
  AWS_SECRET_ASSIGNED,
  GOOGLE_API_KEY,
  AZURE_ACCOUNT_KEY,
  AZURE_SHARED_ACCESS_KEY,
  AZURE_SAS_SIG,
  GITHUB_TOKEN,
  GITHUB_PAT,
  NPM_TOKEN,
  SLACK_TOKEN,
  SLACK_WEBHOOK,
  STRIPE_KEY,
  HUGGINGFACE_TOKEN,
  SENDGRID_KEY,
  OPENAI_KEY,
  PEM_BEGIN,
  JWT,
  CONNECTION_STRING,
  URL_CREDENTIALS,
  SECRET_NAME,
  BEARER,
  BASIC_AUTH,
  PROSE_PASSWORD,
  CREDENTIAL_PAIR,
  CREDENTIAL_FLAGS
]);

export function scanSecrets(text: string, out: Finding[] = []): Finding[] {
  const from = out.length;
  // Most text matches none of the formats: then only the detectors outside the union can find anything.
  const detectors = MAY_MATCH(text) ? SECRET_DETECTORS : UNGATED;
  withPlan(PLAN(text), () => {
    for (const detect of detectors) detect(text, out);
  });
  settleSecrets(text, out, from);
  return out;
}
