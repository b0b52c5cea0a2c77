/**
 * Loads portcullis.yaml: YAML with positions, JSON Schema validation that also fills in the
 * schema's defaults, ${ENV} substitution, and the checks a schema cannot express. Every problem in
 * the file is reported at once, each as `file:line:col path: message`.
 */
import { dirname, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { parseRateLimit, ruleIssues } from '../policy/index.js';
import { durationMs } from '../policy/conditions.js';
import { validateOAuthConfig } from '../auth/oauth.js';
import { hashToken, parseTokenEntries, readTokenFile } from '../auth/token-file.js';
import { configSchema } from './schema.js';
import type { SchemaConfig } from './schema-types.js';
import { issueAt, readYaml, schemaIssues, type PathPart, type YamlSource } from './source.js';
import type { GatewayConfig, RevocationConfig, ServerConfig, TokenConfig } from './types.js';

export type * from './types.js';
export { configSchema } from './schema.js';
export { hashToken } from '../auth/token-file.js';

/** `useDefaults`: validating a document also fills in every default the schema gives. */
const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, useDefaults: true });
const validateConfig = ajv.compile<SchemaConfig>(configSchema);

const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9-]*(?:_[A-Za-z0-9-]+)*$/;

interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Parse this text instead of reading `file`. */
  text?: string;
}

/** Load and validate a config file; throws ConfigError listing every issue. */
export function loadConfig(file: string, options: LoadOptions = {}): GatewayConfig {
  const path = resolve(file);
  let src: YamlSource;
  try {
    src = readYaml(path, options.text);
  } catch (err) {
    throw new ConfigError([
      { file: path, line: 1, col: 1, path: '', message: `cannot read file: ${(err as Error).message}` }
    ]);
  }
  if (src.issues.length > 0) throw new ConfigError(src.issues);

  // A file holding only a list is a rules-only policy file.
  const rulesOnly = Array.isArray(src.value);
  const raw: unknown = rulesOnly ? { rules: src.value } : (src.value ?? {});
  if (typeof raw !== 'object' || raw === null) {
    throw new ConfigError([issueAt(src, [], 'expected a mapping at the top of the file')]);
  }
  const env = options.env ?? process.env;
  const issues: ConfigIssue[] = [];
  if (!validateConfig(raw)) {
    const found = [...(validateConfig.errors ?? [])];
    const errors = found.map((e) =>
      rulesOnly ? { ...e, instancePath: e.instancePath.replace(/^\/rules/, '') } : e
    );
    issues.push(...schemaIssues(src, errors));
    // Unset variables are reported with the schema's findings, all at once.
    const data = substituteEnv(raw, [], src, env, issues, rulesOnly);
    // And so is what the checks after the schema find in the parts the schema accepted.
    throw new ConfigError(withLater(issues, laterIssues(data, found, path, src, env, rulesOnly)));
  }
  const data = substituteEnv(raw, [], src, env, issues, rulesOnly);
  const later: ConfigIssue[] = [];
  const config = build(data, path, src, env, later, rulesOnly);
  if (issues.length > 0 || later.length > 0) throw new ConfigError(withLater(issues, later));
  return config;
}

/** `later` issues added to `first`, except where `first` already names the same place. */
function withLater(first: ConfigIssue[], later: ConfigIssue[]): ConfigIssue[] {
  const at = new Set(first.map((i) => `${i.line}:${i.col}`));
  return [...first, ...later.filter((i) => !at.has(`${i.line}:${i.col}`))];
}

/**
 * The checks after the schema, run on a file the schema refused: on every rule, server and
 * section it accepted (the rest left out, their defaults filled in again), so one `policy check`
 * shows every mistake, not only the schema's. Nothing when what is left still does not fit.
 */
function laterIssues(
  data: unknown,
  errors: readonly ErrorObject[],
  file: string,
  src: YamlSource,
  env: NodeJS.ProcessEnv,
  rulesOnly: boolean
): ConfigIssue[] {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return [];
  const partial = structuredClone(data) as Record<string, unknown>;
  const badRules = new Set<number>();
  const badServers = new Set<string>();
  const badSections = new Set<string>();
  for (const e of errors) {
    const [section, item] = e.instancePath.split('/').slice(1);
    if (section === undefined) {
      const extra = (e.params as { additionalProperty?: string }).additionalProperty;
      if (extra !== undefined) badSections.add(extra);
      else return [];
    } else if (section === 'rules' && item !== undefined) badRules.add(Number(item));
    else if (section === 'servers' && item !== undefined)
      badServers.add(item.replace(/~1/g, '/').replace(/~0/g, '~'));
    else badSections.add(section);
  }
  const serversDeclared = 'servers' in partial && !badSections.has('servers');
  const serverNames =
    partial.servers && typeof partial.servers === 'object' ? Object.keys(partial.servers) : [];
  for (const section of badSections) delete partial[section];
  const ruleIndex: number[] = [];
  if (Array.isArray(partial.rules)) {
    const kept: unknown[] = [];
    (partial.rules as unknown[]).forEach((rule, i) => {
      if (badRules.has(i)) return;
      kept.push(rule);
      ruleIndex.push(i);
    });
    partial.rules = kept;
  }
  if (serversDeclared) {
    const servers = partial.servers as Record<string, unknown>;
    for (const name of badServers) delete servers[name];
  }
  if (!validateConfig(partial)) return [];
  const found: ConfigIssue[] = [];
  try {
    build(partial, file, src, env, found, rulesOnly, { ruleIndex, serverNames, serversDeclared });
  } catch {
    // What the schema refused can still break a check that trusts it; what was found stands.
  }
  return found;
}

/** Checking what the schema accepted of a file it refused: where each kept rule was, and the servers named. */
interface PartialView {
  ruleIndex: number[];
  serverNames: string[];
  serversDeclared: boolean;
}

/**
 * From the schema's shape to the gateway's: what a schema cannot express. References between
 * fields, paths resolved against the file, tokens read and hashed, durations parsed. The defaults
 * are already there (the schema's).
 */
function build(
  data: SchemaConfig,
  file: string,
  src: YamlSource,
  env: NodeJS.ProcessEnv,
  issues: ConfigIssue[],
  rulesOnly: boolean,
  partial?: PartialView
): GatewayConfig {
  const at = (path: PathPart[]) => (rulesOnly && path[0] === 'rules' ? path.slice(1) : path);
  const here = (path: string) => resolve(dirname(file), path);

  const servers = buildServers(data.servers ?? {}, here, src, issues);
  const rules = data.rules.map((r) => ({ ...r }));
  const serverNames = partial?.serverNames ?? Object.keys(data.servers ?? {});
  const serversDeclared = partial?.serversDeclared ?? 'servers' in data;
  for (const issue of ruleIssues(rules, serverNames, serversDeclared)) {
    const index = partial?.ruleIndex[issue.index] ?? issue.index;
    issues.push(issueAt(src, at(['rules', index, ...issue.path]), issue.message));
  }

  const { tokens: tokensSetting, rate_limit, ...auth } = data.auth;
  const tokens = loadTokens(tokensSetting, file, src, env, issues);
  if (auth.stdio) {
    const { identity, os_users, token_env } = auth.stdio;
    if ([identity, os_users, token_env].filter((v) => v !== undefined).length !== 1) {
      issues.push(
        issueAt(src, ['auth', 'stdio'], 'expected exactly one of "identity", "os_users" or "token_env"')
      );
    }
  }
  if (auth.oauth) {
    for (const problem of validateOAuthConfig(auth.oauth))
      issues.push(issueAt(src, ['auth', 'oauth'], problem));
  }

  const audit = buildAudit(data.audit, here, src, issues);
  if (data.listen.public_url !== undefined && !/^https?:\/\/[^/]+/.test(data.listen.public_url)) {
    issues.push(issueAt(src, ['listen', 'public_url'], 'expected an absolute http(s) URL'));
  }
  const { token: adminToken, ...admin } = data.admin;
  if (adminToken !== undefined && adminToken.length < 16) {
    issues.push(issueAt(src, ['admin', 'token'], 'tokens must be at least 16 characters'));
  }
  const { token: metricsToken, ...metrics } = data.metrics;
  if (metricsToken !== undefined && metricsToken.length < 16) {
    issues.push(issueAt(src, ['metrics', 'token'], 'tokens must be at least 16 characters'));
  }
  if (data.approvals.webhook && !/^https?:\/\//.test(data.approvals.webhook.url)) {
    issues.push(issueAt(src, ['approvals', 'webhook', 'url'], 'expected an http(s) URL'));
  }
  for (const key of ['half_life', 'reset_after'] as const) {
    const v = data.policy.risk?.[key];
    if (v !== undefined && durationMs(v) === undefined) {
      issues.push(issueAt(src, ['policy', 'risk', key], 'expected a duration such as 90s, 10m, 1h'));
    }
  }
  const { session_ttl, ...state } = data.state;
  if (state.store === 'redis' && !state.url) {
    issues.push(issueAt(src, ['state'], 'store: redis needs url (redis://host:port)', 'store'));
  }
  const sessionTtl = durationMs(session_ttl);
  if (sessionTtl === undefined || sessionTtl <= 0) {
    issues.push(issueAt(src, ['state', 'session_ttl'], 'expected a duration such as 30m, 24h'));
  }
  const { tls } = data.listen;
  return {
    source: file,
    servers,
    auth: {
      ...auth,
      tokens: tokens.tokens,
      ...(tokens.file ? { tokens_file: tokens.file } : {}),
      ...(tokens.revocations?.length ? { revocations: tokens.revocations } : {}),
      ...(rate_limit ? { rate_limit: parseRateLimit(rate_limit) } : {})
    },
    audit,
    listen: { ...data.listen, ...(tls ? { tls: { cert: here(tls.cert), key: here(tls.key) } } : {}) },
    security: data.security,
    // An unparsable session_ttl is reported above, and the config refused.
    state: { ...state, session_ttl_ms: sessionTtl ?? 0 },
    limits: data.limits,
    validation: data.validation,
    metrics: { ...metrics, ...(metricsToken ? { token_sha256: hashToken(metricsToken) } : {}) },
    telemetry: data.telemetry,
    scanning: {
      ...data.scanning,
      pins: { ...data.scanning.pins, path: here(data.scanning.pins.path) }
    },
    approvals: data.approvals,
    admin: { ...admin, ...(adminToken ? { token_sha256: hashToken(adminToken) } : {}) },
    policy: data.policy,
    rules
  };
}

function buildServers(
  entries: NonNullable<SchemaConfig['servers']>,
  here: (path: string) => string,
  src: YamlSource,
  issues: ConfigIssue[]
): Record<string, ServerConfig> {
  const servers: Record<string, ServerConfig> = {};
  for (const [name, s] of Object.entries(entries)) {
    if (!SERVER_NAME.test(name)) {
      issues.push(
        issueAt(src, ['servers'], 'server names use letters, digits, "-" and single "_" (never "__")', name)
      );
    }
    if (!s.enabled) continue;
    const { timeout_ms, connect_timeout_ms, trust_annotations, namespace } = s;
    if (s.command !== undefined && s.url === undefined) {
      for (const key of ['url', 'transport', 'headers'] as const) {
        if (key in s)
          issues.push(issueAt(src, ['servers', name], `"${key}" applies only to url servers`, key));
      }
      const idleTimeout = durationMs(s.idle_timeout ?? '15m');
      if (idleTimeout === undefined || idleTimeout <= 0 || idleTimeout > 2147483647) {
        issues.push(
          issueAt(src, ['servers', name, 'idle_timeout'], 'expected a duration such as 90s, 15m, 1h')
        );
      }
      servers[name] = {
        kind: 'stdio',
        command: s.command,
        args: s.args,
        env: s.env,
        env_passthrough: s.env_passthrough,
        ...(s.cwd !== undefined ? { cwd: here(s.cwd) } : {}),
        timeout_ms,
        connect_timeout_ms,
        trust_annotations,
        namespace,
        ...(s.sandbox ? { sandbox: s.sandbox } : {}),
        ...(s.path_style ? { path_style: s.path_style } : {}),
        isolation: s.isolation ?? 'shared',
        // An unparsable idle_timeout is reported above, and the config refused.
        idle_timeout_ms: idleTimeout ?? 0
      };
    } else if (s.url !== undefined && s.command === undefined) {
      for (const key of [
        'args',
        'env',
        'env_passthrough',
        'cwd',
        'sandbox',
        'isolation',
        'idle_timeout'
      ] as const) {
        if (key in s)
          issues.push(issueAt(src, ['servers', name], `"${key}" applies only to command servers`, key));
      }
      let url: URL | undefined;
      try {
        url = new URL(s.url);
      } catch {
        issues.push(issueAt(src, ['servers', name, 'url'], 'expected an absolute http(s) URL'));
      }
      if (url && url.protocol !== 'http:' && url.protocol !== 'https:') {
        issues.push(issueAt(src, ['servers', name, 'url'], 'expected an http: or https: URL'));
      }
      servers[name] = {
        kind: 'http',
        url: s.url,
        transport: s.transport,
        headers: s.headers,
        timeout_ms,
        connect_timeout_ms,
        trust_annotations,
        namespace,
        ...(s.path_style ? { path_style: s.path_style } : {})
      };
    } else {
      issues.push(
        issueAt(src, ['servers', name], 'expected exactly one of "command" (stdio) or "url" (HTTP)')
      );
    }
  }
  const bare = Object.keys(servers).filter((name) => !servers[name]!.namespace);
  if (bare.length > 0 && Object.keys(servers).length > 1) {
    for (const name of bare) {
      issues.push(
        issueAt(
          src,
          ['servers', name, 'namespace'],
          '"namespace: false" needs this to be the only server: names from two servers could collide'
        )
      );
    }
  }
  return servers;
}

function buildAudit(
  audit: SchemaConfig['audit'],
  here: (path: string) => string,
  src: YamlSource,
  issues: ConfigIssue[]
): GatewayConfig['audit'] {
  const { path, postgres, flush, signing_key, ...rest } = audit;
  if (postgres) {
    for (const key of ['path', 'rotate_bytes', 'rotate_s'] as const) {
      if (key in audit)
        issues.push(issueAt(src, ['audit'], `"${key}" applies only to an audit file, not postgres`, key));
    }
    if (flush === 'os') {
      issues.push(
        issueAt(src, ['audit', 'flush'], 'with postgres, flush is "every" (the default) or "batch"')
      );
    }
    let url: URL | undefined;
    try {
      url = new URL(postgres.url);
    } catch {
      // reported below
    }
    if (!url || (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')) {
      issues.push(issueAt(src, ['audit', 'postgres', 'url'], 'expected a postgres:// or postgresql:// URL'));
    }
  }
  // A file path, or the name of a stream; nothing when the chain lives in PostgreSQL.
  let sink = '';
  if (!postgres) sink = path === 'stderr' || path === 'stdout' ? path : here(path);
  return {
    ...rest,
    path: sink,
    ...(postgres ? { postgres } : {}),
    flush,
    ...(signing_key !== undefined ? { signing_key: here(signing_key) } : {})
  };
}

function loadTokens(
  value: SchemaConfig['auth']['tokens'],
  configFile: string,
  src: YamlSource,
  env: NodeJS.ProcessEnv,
  issues: ConfigIssue[]
): { tokens: TokenConfig[]; file?: string; revocations?: RevocationConfig[] } {
  if (value === undefined) return { tokens: [] };
  if (typeof value === 'string') {
    const file = resolve(dirname(configFile), value);
    const read = readTokenFile(file, (body, tokenSrc, found) =>
      substituteEnv(body, [], tokenSrc, env, found, false)
    );
    issues.push(...read.issues);
    return { tokens: read.tokens, file, revocations: read.revocations };
  }
  return {
    tokens: parseTokenEntries(value, src, ['auth', 'tokens'], issues)
  };
}

/** ${ENV} substitution for another YAML file (a token file), with the same rules. */
export function substituteEnvIn(
  value: unknown,
  src: YamlSource,
  issues: ConfigIssue[],
  env = process.env
): unknown {
  return substituteEnv(value, [], src, env, issues, false);
}

/**
 * Replace ${NAME} in every string with the environment's value; `$${` is a literal `${`. The shape
 * is kept (a string stays a string), so the value keeps its type.
 */
function substituteEnv<T>(
  value: T,
  path: PathPart[],
  src: YamlSource,
  env: NodeJS.ProcessEnv,
  issues: ConfigIssue[],
  rulesOnly: boolean
): T {
  return substituted(value, path, src, env, issues, rulesOnly) as T;
}

function substituted(
  value: unknown,
  path: PathPart[],
  src: YamlSource,
  env: NodeJS.ProcessEnv,
  issues: ConfigIssue[],
  rulesOnly: boolean
): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    return value.replace(/\$?\$\{([^}]*)\}/g, (match, name: string) => {
      if (match.startsWith('$$')) return match.slice(1);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        issues.push(issueAt(src, shown(path, rulesOnly), `"\${${name}}" is not a valid variable name`));
        return match;
      }
      const v = env[name];
      if (v === undefined) {
        issues.push(issueAt(src, shown(path, rulesOnly), `environment variable ${name} is not set`));
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value))
    return value.map((v, i) => substituted(v, [...path, i], src, env, issues, rulesOnly));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = substituted(v, [...path, k], src, env, issues, rulesOnly);
    return out;
  }
  return value;
}

function shown(path: PathPart[], rulesOnly: boolean): PathPart[] {
  return rulesOnly && path[0] === 'rules' ? path.slice(1) : path;
}
