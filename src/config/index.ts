/**
 * Loads portcullis.yaml: YAML with positions, ${ENV} substitution, JSON Schema validation, the
 * checks a schema cannot express, and defaults. Every problem in the file is reported at once,
 * each as `file:line:col path: message`.
 */
import { dirname, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { parseRateLimit, ruleIssues } from '../policy/index.js';
import { durationMs } from '../policy/conditions.js';
import { validateOAuthConfig } from '../auth/oauth.js';
import { hashToken, parseTokenEntries, readTokenFile } from '../auth/token-file.js';
import { configSchema } from './schema.js';
import { issueAt, readYaml, schemaIssues, type PathPart, type YamlSource } from './source.js';
import type {
  GatewayConfig,
  OAuthSettings,
  PolicySettings,
  ScanActions,
  ScanningConfig,
  SandboxConfig,
  RuleConfig,
  StateConfig,
  ServerConfig,
  StdioAuthConfig,
  TokenConfig
} from './types.js';

export type * from './types.js';
export { configSchema } from './schema.js';
export { hashToken } from '../auth/token-file.js';

const ajv = new Ajv({ allErrors: true, verbose: true, strict: false });
const validateConfig = ajv.compile(configSchema);

const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9-]*(?:_[A-Za-z0-9-]+)*$/;
export const DEFAULT_AUDIT_PATH = './portcullis-audit.jsonl';

export interface LoadOptions {
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
  let raw = src.value ?? {};
  let prefix: PathPart[] = [];
  if (Array.isArray(raw)) {
    raw = { rules: raw };
    prefix = [];
  }
  const issues: ConfigIssue[] = [];
  if (typeof raw !== 'object' || raw === null) {
    throw new ConfigError([issueAt(src, [], 'expected a mapping at the top of the file')]);
  }
  const rulesOnly = Array.isArray(src.value);
  if (!validateConfig(raw)) {
    const errors = (validateConfig.errors ?? []).map((e) =>
      rulesOnly ? { ...e, instancePath: e.instancePath.replace(/^\/rules/, '') } : e
    );
    issues.push(...schemaIssues(src, errors, prefix));
  }
  const env = options.env ?? process.env;
  const data = substituteEnv(raw, [], src, env, issues, rulesOnly) as Record<string, unknown>;
  if (issues.length > 0) throw new ConfigError(issues);

  const config = build(data, path, src, env, issues, rulesOnly);
  if (issues.length > 0) throw new ConfigError(issues);
  return config;
}

function build(
  data: Record<string, unknown>,
  file: string,
  src: YamlSource,
  env: NodeJS.ProcessEnv,
  issues: ConfigIssue[],
  rulesOnly: boolean
): GatewayConfig {
  const at = (path: PathPart[]) => (rulesOnly && path[0] === 'rules' ? path.slice(1) : path);
  const servers: Record<string, ServerConfig> = {};
  const rawServers = (data.servers ?? {}) as Record<string, Record<string, unknown>>;
  for (const [name, s] of Object.entries(rawServers)) {
    if (!SERVER_NAME.test(name)) {
      issues.push(
        issueAt(src, ['servers'], 'server names use letters, digits, "-" and single "_" (never "__")', name)
      );
    }
    if (s.enabled === false) continue;
    const timeout_ms = (s.timeout_ms as number | undefined) ?? 60_000;
    const hasCommand = typeof s.command === 'string';
    const hasUrl = typeof s.url === 'string';
    if (hasCommand === hasUrl) {
      issues.push(
        issueAt(src, ['servers', name], 'expected exactly one of "command" (stdio) or "url" (HTTP)')
      );
      continue;
    }
    if (hasCommand) {
      for (const key of ['url', 'transport', 'headers']) {
        if (key in s)
          issues.push(issueAt(src, ['servers', name], `"${key}" applies only to url servers`, key));
      }
      servers[name] = {
        kind: 'stdio',
        command: s.command as string,
        args: (s.args as string[] | undefined) ?? [],
        env: (s.env as Record<string, string> | undefined) ?? {},
        env_passthrough: (s.env_passthrough as string[] | undefined) ?? [],
        ...(typeof s.cwd === 'string' ? { cwd: resolve(dirname(file), s.cwd) } : {}),
        timeout_ms,
        trust_annotations: s.trust_annotations === true,
        namespace: s.namespace !== false,
        ...(s.sandbox ? { sandbox: s.sandbox as SandboxConfig } : {})
      };
    } else {
      for (const key of ['args', 'env', 'env_passthrough', 'cwd', 'sandbox']) {
        if (key in s)
          issues.push(issueAt(src, ['servers', name], `"${key}" applies only to command servers`, key));
      }
      let url: URL | undefined;
      try {
        url = new URL(s.url as string);
      } catch {
        issues.push(issueAt(src, ['servers', name, 'url'], 'expected an absolute http(s) URL'));
      }
      if (url && url.protocol !== 'http:' && url.protocol !== 'https:') {
        issues.push(issueAt(src, ['servers', name, 'url'], 'expected an http: or https: URL'));
      }
      servers[name] = {
        kind: 'http',
        url: s.url as string,
        transport: (s.transport as 'streamable-http' | 'sse' | undefined) ?? 'streamable-http',
        headers: (s.headers as Record<string, string> | undefined) ?? {},
        timeout_ms,
        trust_annotations: s.trust_annotations === true,
        namespace: s.namespace !== false
      };
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

  const rules = ((data.rules ?? []) as RuleConfig[]).map((r) => ({ ...r }));
  for (const issue of ruleIssues(rules, Object.keys(rawServers), 'servers' in data)) {
    issues.push(issueAt(src, at(['rules', issue.index, ...issue.path]), issue.message));
  }

  const auth = (data.auth ?? {}) as {
    tokens?: unknown;
    stdio?: StdioAuthConfig & { roles?: string[] };
    oauth?: OAuthSettings;
    scopes?: { read?: string; call?: string };
    lockout?: { failures?: number; window_s?: number; duration_s?: number };
    rate_limit?: string;
  };
  const tokens = loadTokens(auth.tokens, file, src, env, issues);
  const stdio = auth.stdio;
  if (stdio) {
    const ways = [stdio.identity !== undefined, stdio.os_users !== undefined, stdio.token_env !== undefined];
    if (ways.filter(Boolean).length !== 1) {
      issues.push(
        issueAt(src, ['auth', 'stdio'], 'expected exactly one of "identity", "os_users" or "token_env"')
      );
    }
  }
  if (auth.oauth) {
    for (const problem of validateOAuthConfig(auth.oauth))
      issues.push(issueAt(src, ['auth', 'oauth'], problem));
  }

  const audit = (data.audit ?? {}) as Partial<Omit<GatewayConfig['audit'], 'postgres'>> & {
    postgres?: Partial<NonNullable<GatewayConfig['audit']['postgres']>> & { url: string };
  };
  if (audit.postgres) {
    for (const key of ['path', 'rotate_bytes', 'rotate_s'] as const) {
      if (key in audit)
        issues.push(issueAt(src, ['audit'], `"${key}" applies only to an audit file, not postgres`, key));
    }
    if (audit.flush === 'os') {
      issues.push(
        issueAt(src, ['audit', 'flush'], 'with postgres, flush is "every" (the default) or "batch"')
      );
    }
    let url: URL | undefined;
    try {
      url = new URL(audit.postgres.url);
    } catch {
      // reported below
    }
    if (!url || (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')) {
      issues.push(issueAt(src, ['audit', 'postgres', 'url'], 'expected a postgres:// or postgresql:// URL'));
    }
  }
  const listen = (data.listen ?? {}) as GatewayConfig['listen'] & {
    host?: string;
    port?: number;
    max_body_bytes?: number;
  };
  if (listen.public_url !== undefined && !/^https?:\/\/[^/]+/.test(listen.public_url)) {
    issues.push(issueAt(src, ['listen', 'public_url'], 'expected an absolute http(s) URL'));
  }
  const validation = (data.validation ?? {}) as { arguments?: boolean };
  const metrics = (data.metrics ?? {}) as { enabled?: boolean; token?: string; roles?: string[] };
  const approvals = (data.approvals ?? {}) as Partial<GatewayConfig['approvals']> & {
    webhook?: { url: string; headers?: Record<string, string> };
  };
  const scanning = (data.scanning ?? {}) as {
    descriptions?: Partial<ScanningConfig['descriptions']>;
    pins?: Partial<ScanningConfig['pins']>;
    responses?: Partial<ScanActions>;
    arguments?: Partial<ScanActions>;
    overrides?: ScanningConfig['overrides'];
    risk?: Partial<ScanningConfig['risk']>;
  };
  const admin = (data.admin ?? {}) as {
    enabled?: boolean;
    token?: string;
    identity?: string;
    roles?: string[];
  };
  if (admin.token !== undefined && admin.token.length < 16) {
    issues.push(issueAt(src, ['admin', 'token'], 'tokens must be at least 16 characters'));
  }
  if (approvals.webhook && !/^https?:\/\//.test(approvals.webhook.url)) {
    issues.push(issueAt(src, ['approvals', 'webhook', 'url'], 'expected an http(s) URL'));
  }
  if (metrics.token !== undefined && metrics.token.length < 16) {
    issues.push(issueAt(src, ['metrics', 'token'], 'tokens must be at least 16 characters'));
  }
  const policy = (data.policy ?? {}) as Partial<PolicySettings>;
  for (const key of ['half_life', 'reset_after'] as const) {
    const v = policy.risk?.[key];
    if (v !== undefined && durationMs(v) === undefined) {
      issues.push(issueAt(src, ['policy', 'risk', key], 'expected a duration such as 90s, 10m, 1h'));
    }
  }
  const security = (data.security ?? {}) as { check_permissions?: boolean };
  const state = (data.state ?? {}) as Partial<Omit<StateConfig, 'session_ttl_ms'>> & { session_ttl?: string };
  if (state.store === 'redis' && !state.url) {
    issues.push(issueAt(src, ['state'], 'store: redis needs url (redis://host:port)', 'store'));
  }
  const sessionTtl = state.session_ttl !== undefined ? durationMs(state.session_ttl) : 86_400_000;
  if (sessionTtl === undefined || sessionTtl <= 0) {
    issues.push(issueAt(src, ['state', 'session_ttl'], 'expected a duration such as 30m, 24h'));
  }
  const limits = (data.limits ?? {}) as Partial<GatewayConfig['limits']>;
  const lockout = auth.lockout ?? {};
  return {
    source: file,
    servers,
    auth: {
      tokens: tokens.tokens,
      ...(tokens.file ? { tokens_file: tokens.file } : {}),
      ...(stdio ? { stdio: { ...stdio, roles: stdio.roles ?? [] } } : {}),
      ...(auth.oauth ? { oauth: auth.oauth } : {}),
      scopes: { read: auth.scopes?.read ?? 'tools:read', call: auth.scopes?.call ?? 'tools:call' },
      lockout: {
        failures: lockout.failures ?? 10,
        window_s: lockout.window_s ?? 60,
        duration_s: lockout.duration_s ?? 300
      },
      ...(auth.rate_limit ? { rate_limit: parseRateLimit(auth.rate_limit) } : {})
    },
    audit: {
      enabled: audit.enabled ?? true,
      path: audit.postgres
        ? ''
        : audit.path === 'stderr' || audit.path === 'stdout'
          ? audit.path
          : resolve(dirname(file), audit.path ?? DEFAULT_AUDIT_PATH),
      ...(audit.postgres
        ? {
            postgres: {
              url: audit.postgres.url,
              table: audit.postgres.table ?? 'portcullis_audit',
              queue_records: audit.postgres.queue_records ?? 10_000,
              commit_timeout_s: audit.postgres.commit_timeout_s ?? 10,
              connect_timeout_s: audit.postgres.connect_timeout_s ?? 5
            }
          }
        : {}),
      flush: audit.flush ?? (audit.postgres ? 'every' : 'os'),
      ...(audit.batch_records !== undefined ? { batch_records: audit.batch_records } : {}),
      ...(audit.batch_ms !== undefined ? { batch_ms: audit.batch_ms } : {}),
      ...(audit.rotate_bytes !== undefined ? { rotate_bytes: audit.rotate_bytes } : {}),
      ...(audit.rotate_s !== undefined ? { rotate_s: audit.rotate_s } : {}),
      checkpoint_every: audit.checkpoint_every ?? 1000,
      ...(audit.signing_key !== undefined ? { signing_key: resolve(dirname(file), audit.signing_key) } : {}),
      arguments: audit.arguments ?? 'full',
      overrides: audit.overrides ?? []
    },
    listen: {
      ...listen,
      host: listen.host ?? '127.0.0.1',
      port: listen.port ?? 8080,
      max_body_bytes: listen.max_body_bytes ?? 4 * 1024 * 1024,
      ...(listen.tls
        ? {
            tls: {
              cert: resolve(dirname(file), listen.tls.cert),
              key: resolve(dirname(file), listen.tls.key)
            }
          }
        : {})
    },
    security: { check_permissions: security.check_permissions ?? true },
    state: {
      store: state.store ?? 'memory',
      ...(state.url ? { url: state.url } : {}),
      prefix: state.prefix ?? 'portcullis:',
      timeout_ms: state.timeout_ms ?? 1000,
      session_ttl_ms: sessionTtl ?? 86_400_000,
      on_unavailable: state.on_unavailable ?? 'deny'
    },
    limits: {
      max_sessions: limits.max_sessions ?? 10_000,
      max_sessions_per_identity: limits.max_sessions_per_identity ?? 256,
      max_requests_per_identity: limits.max_requests_per_identity ?? 64,
      shutdown_grace_s: limits.shutdown_grace_s ?? 10
    },
    validation: { arguments: validation.arguments ?? true },
    metrics: {
      enabled: metrics.enabled ?? true,
      ...(metrics.token ? { token_sha256: hashToken(metrics.token) } : {}),
      roles: metrics.roles ?? ['admin']
    },
    scanning: {
      descriptions: {
        enabled: scanning.descriptions?.enabled ?? true,
        block_at: scanning.descriptions?.block_at ?? 'medium',
        max_bytes: scanning.descriptions?.max_bytes ?? 4096
      },
      pins: {
        enabled: scanning.pins?.enabled ?? true,
        path: resolve(dirname(file), scanning.pins?.path ?? './portcullis-pins.json'),
        trust_on_first_use: scanning.pins?.trust_on_first_use ?? true,
        on_change: scanning.pins?.on_change ?? 'block'
      },
      responses: { injection: 'flag', secrets: 'redact', pii: 'flag', ...scanning.responses },
      arguments: { injection: 'off', secrets: 'block', pii: 'flag', ...scanning.arguments },
      overrides: scanning.overrides ?? [],
      risk: { injection: 25, secret: 10, pii: 0, ...scanning.risk }
    },
    approvals: {
      timeout_s: approvals.timeout_s ?? 300,
      approvers: approvals.approvers ?? 1,
      approver_roles: approvals.approver_roles ?? ['admin'],
      progress_interval_s: approvals.progress_interval_s ?? 5,
      ...(approvals.webhook
        ? { webhook: { url: approvals.webhook.url, headers: approvals.webhook.headers ?? {} } }
        : {})
    },
    admin: {
      enabled: admin.enabled ?? true,
      ...(admin.token ? { token_sha256: hashToken(admin.token) } : {}),
      identity: admin.identity ?? 'admin',
      roles: admin.roles ?? ['admin']
    },
    policy: {
      mode: policy.mode ?? 'enforce',
      ...(policy.risk ? { risk: policy.risk } : {}),
      tool_risk: policy.tool_risk ?? {}
    },
    rules
  };
}

function loadTokens(
  value: unknown,
  configFile: string,
  src: YamlSource,
  env: NodeJS.ProcessEnv,
  issues: ConfigIssue[]
): { tokens: TokenConfig[]; file?: string } {
  if (value === undefined) return { tokens: [] };
  if (typeof value === 'string') {
    const file = resolve(dirname(configFile), value);
    const read = readTokenFile(file, (body, tokenSrc, found) =>
      substituteEnv(body, [], tokenSrc, env, found, false)
    );
    issues.push(...read.issues);
    return { tokens: read.tokens, file };
  }
  return {
    tokens: parseTokenEntries(value as Array<Record<string, unknown>>, src, ['auth', 'tokens'], issues)
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

/** Replace ${NAME} in every string with the environment's value; `$${` is a literal `${`. */
function substituteEnv(
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
    return value.map((v, i) => substituteEnv(v, [...path, i], src, env, issues, rulesOnly));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = substituteEnv(v, [...path, k], src, env, issues, rulesOnly);
    return out;
  }
  return value;
}

function shown(path: PathPart[], rulesOnly: boolean): PathPart[] {
  return rulesOnly && path[0] === 'rules' ? path.slice(1) : path;
}
