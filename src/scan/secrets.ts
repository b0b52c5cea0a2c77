/**
 * Secret detectors: credentials that should never cross the gateway in a tool argument or come
 * back in a result. Each rule matches a format, then validates what it matched the way the format
 * allows: GitHub and npm tokens carry a CRC-32 checksum, JWT headers must decode to JSON with
 * `alg`, free-form values (passwords, OpenAI-style keys) must look random. A near miss (wrong
 * checksum, a placeholder like `${DB_PASSWORD}`, a git sha) is not a finding.
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
  rx
} from './util.js';

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
export function looksRandom(value: string, minLength: number, minEntropy: number): boolean {
  if (value.length < minLength) return false;
  const cls = charClasses(value);
  return cls.count >= 2 && entropy(value) >= minEntropy;
}

const KNOWN_FORMAT =
  /^(?:gh[pousr]_|github_pat_|npm_|xox[abprs]-|[sr]k_live_|pk_live_|AKIA|ASIA|AIza|sk-|eyJ|-----BEGIN)/;
const IDENTIFIER_CHAIN = /^[A-Za-z_$][\w$]{0,80}(?:\.[A-Za-z_$][\w$]{0,80}){1,10}$/;
const PATH_LIKE = /^(?:\/|\.{1,2}\/|~\/|[A-Za-z]:\\)/;

/**
 * Whether the value of `password=...`-style assignment looks like a real secret rather than a
 * reference to one (`os.environ[...]`, `${VAR}`, `config.db.password`, a path, a plain word).
 */
export function looksLikeSecretValue(raw: string): boolean {
  const value = raw.replace(/\\+$/, '').replace(/[.,]$/, '');
  // A value in a known format is judged by that format's rule (checksum, header, prefix).
  if (KNOWN_FORMAT.test(value)) return false;
  if (value.length < 8 || value.length > 256) return false;
  if (isPlaceholder(value) || IDENTIFIER_CHAIN.test(value) || PATH_LIKE.test(value)) return false;
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
      if (isPlaceholder(password) || /^[*x]+$/i.test(password)) return;
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
    const value = raw.replace(/\\+$/, '').replace(/[.,]$/, '');
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

/** Every secret detector, in a fixed order. */
export const SECRET_DETECTORS: readonly Detect[] = [
  awsAccessKeyId,
  awsSecretAssigned,
  googleApiKey,
  githubToken,
  githubFineGrained,
  npmToken,
  slackToken,
  slackWebhook,
  stripeKey,
  openAiKey,
  privateKey,
  jwt,
  connectionString,
  urlCredentials,
  secretAssignment,
  bearerToken,
  basicAuth
];

export const SECRET_RULES = [
  'aws-access-key-id',
  'aws-secret-access-key',
  'google-api-key',
  'github-token',
  'github-fine-grained-pat',
  'npm-token',
  'slack-token',
  'slack-webhook',
  'stripe-live-key',
  'openai-api-key',
  'private-key',
  'jwt',
  'connection-string',
  'url-credentials',
  'secret-assignment',
  'bearer-token',
  'basic-auth'
] as const;

/**
 * The pattern every finding of a detector starts from: a detector finds nothing where its pattern
 * does not match. The generic assignment pattern has a backreference, so it stays out of the union.
 */
const GATED: ReadonlyMap<Detect, RegExp> = new Map([
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
]);
const MAY_MATCH = anyMatch([...GATED.values()]);
const UNGATED = SECRET_DETECTORS.filter((d) => !GATED.has(d));

export function scanSecrets(text: string, out: Finding[] = []): Finding[] {
  // Most text matches none of the formats: then only the detectors outside the union can find anything.
  for (const detect of MAY_MATCH(text) ? SECRET_DETECTORS : UNGATED) detect(text, out);
  return out;
}
