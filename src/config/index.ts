/**
 * Loads portcullis.yaml: YAML with positions, ${ENV} substitution, JSON Schema validation, the
 * checks a schema cannot express, and defaults. Every problem in the file is reported at once,
 * each as `file:line:col path: message`.
 */
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { ruleIssues } from '../policy/index.js';
import { configSchema, tokensFileSchema } from './schema.js';
import { issueAt, readYaml, schemaIssues, type PathPart, type YamlSource } from './source.js';
import type { GatewayConfig, RuleConfig, ServerConfig, TokenConfig } from './types.js';

export type * from './types.js';
export { configSchema } from './schema.js';

const ajv = new Ajv({ allErrors: true, verbose: true, strict: false });
const validateConfig = ajv.compile(configSchema);
const validateTokensFile = ajv.compile(tokensFileSchema);

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
        timeout_ms
      };
    } else {
      for (const key of ['args', 'env', 'env_passthrough', 'cwd']) {
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
        timeout_ms
      };
    }
  }

  const rules = ((data.rules ?? []) as RuleConfig[]).map((r) => ({ ...r }));
  for (const issue of ruleIssues(rules, Object.keys(rawServers), 'servers' in data)) {
    issues.push(issueAt(src, at(['rules', issue.index, ...issue.path]), issue.message));
  }

  const auth = (data.auth ?? {}) as { tokens?: unknown; stdio?: { identity: string; roles?: string[] } };
  const tokens = loadTokens(auth.tokens, file, src, env, issues);

  const audit = (data.audit ?? {}) as { path?: string; enabled?: boolean };
  const listen = (data.listen ?? {}) as { host?: string; port?: number };
  const validation = (data.validation ?? {}) as { arguments?: boolean };
  return {
    source: file,
    servers,
    auth: {
      tokens,
      ...(auth.stdio ? { stdio: { identity: auth.stdio.identity, roles: auth.stdio.roles ?? [] } } : {})
    },
    audit: {
      enabled: audit.enabled ?? true,
      path: resolve(dirname(file), audit.path ?? DEFAULT_AUDIT_PATH)
    },
    listen: { host: listen.host ?? '127.0.0.1', port: listen.port ?? 8080 },
    validation: { arguments: validation.arguments ?? true },
    rules
  };
}

function loadTokens(
  value: unknown,
  configFile: string,
  src: YamlSource,
  env: NodeJS.ProcessEnv,
  issues: ConfigIssue[]
): TokenConfig[] {
  if (value === undefined) return [];
  let entries: Array<Record<string, unknown>>;
  let tokenSrc = src;
  let base: PathPart[] = ['auth', 'tokens'];
  if (typeof value === 'string') {
    const tokensFile = resolve(dirname(configFile), value);
    try {
      tokenSrc = readYaml(tokensFile);
    } catch (err) {
      issues.push(issueAt(src, base, `cannot read tokens file: ${(err as Error).message}`));
      return [];
    }
    if (tokenSrc.issues.length > 0) {
      issues.push(...tokenSrc.issues);
      return [];
    }
    const body = tokenSrc.value ?? {};
    if (!validateTokensFile(body)) {
      issues.push(...schemaIssues(tokenSrc, validateTokensFile.errors ?? []));
      return [];
    }
    const before = issues.length;
    const substituted = substituteEnv(body, [], tokenSrc, env, issues, false) as { tokens?: unknown[] };
    if (issues.length > before) return [];
    entries = (substituted.tokens ?? []) as Array<Record<string, unknown>>;
    base = ['tokens'];
  } else {
    entries = value as Array<Record<string, unknown>>;
  }
  const out: TokenConfig[] = [];
  const ids = new Set<string>();
  entries.forEach((t, i) => {
    const id = t.id as string;
    if (ids.has(id)) issues.push(issueAt(tokenSrc, [...base, i, 'id'], `duplicate token id "${id}"`));
    ids.add(id);
    const hasHash = typeof t.sha256 === 'string';
    const hasToken = typeof t.token === 'string';
    if (hasHash === hasToken) {
      issues.push(issueAt(tokenSrc, [...base, i], 'expected exactly one of "sha256" or "token"'));
      return;
    }
    if (hasToken && (t.token as string).length < 16) {
      issues.push(issueAt(tokenSrc, [...base, i, 'token'], 'tokens must be at least 16 characters'));
      return;
    }
    const sha256 = hasHash ? (t.sha256 as string) : hashToken(t.token as string);
    out.push({ id, identity: (t.identity as string | undefined) ?? id, roles: t.roles as string[], sha256 });
  });
  return out;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
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
