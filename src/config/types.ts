/** The validated, defaulted configuration every stage reads. */

export interface ConstraintConfig {
  pattern?: string;
  prefix?: string;
  enum?: unknown[];
  min?: number;
  max?: number;
  maxLength?: number;
  optional?: boolean;
  normalize_path?: boolean;
  /** Also check the path with its symlinks resolved on the gateway's host. */
  realpath?: boolean;
}

export interface RuleConfig {
  id?: string;
  description?: string;
  /**
   * Exactly one of `tool`, `prompt` and `resource` names what the rule is about: one glob, or a
   * list of globs of which any one may match.
   */
  tool?: string | string[];
  /** Glob over the upstream's own prompt name (or a list of them). */
  prompt?: string | string[];
  /** Glob over the upstream's own resource URI (or URI template): `*` stops at `/`, `**` crosses it. */
  resource?: string | string[];
  server?: string;
  allowed_roles?: string[];
  deny?: boolean;
  require_approval?: boolean;
  read_only?: boolean;
  max_calls_per_session?: number;
  /** A cap across every session of one identity, in a sliding window (`within: 1h`). */
  max_calls?: { count: number; per: 'identity'; within: string };
  parameter_constraints?: Record<string, ConstraintConfig>;
  /** `enforce` (default: the policy's mode) or `observe`: log what would be refused, allow the call. */
  mode?: 'enforce' | 'observe';
  time?: { days?: string[]; hours?: string; timezone?: string; from?: string; until?: string };
  after?: {
    tools: string[];
    within_calls?: number;
    within?: string;
    min_count?: number;
    /** Whose calls count: this session's (default) or every session's of the same identity. */
    scope?: 'session' | 'identity';
  };
  principal?: {
    users?: string[];
    agents?: string[];
    auth?: Array<'stdio' | 'token' | 'oauth'>;
    claims?: Record<string, string[]>;
  };
  where?: Array<{
    arg: string;
    op: 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'in' | 'not_in';
    value?: unknown;
    arg2?: string;
  }>;
  when?: string;
  /** Risk this rule adds to the session for each call it applies to. */
  risk?: number;
  /** `10/min`: calls under this rule per window, counted per `rate_scope`. */
  rate_limit?: string;
  rate_scope?: 'identity' | 'session' | 'global';
}

export interface PolicySettings {
  mode: 'enforce' | 'observe';
  risk?: {
    /** Refuse a call that would take the session's risk above this. */
    budget?: number;
    /** Require approval for a call that would take the session's risk above this. */
    approval_at?: number;
    /** Risk halves every this long (`10m`); absent: no decay. */
    half_life?: string;
    /** Risk returns to zero after this long without a call (`1h`). */
    reset_after?: string;
    /** One score per session (default) or one per identity, shared by all its sessions. */
    scope?: 'session' | 'identity';
  };
  /** Risk per tool, by glob over `server__tool` (or the bare tool name). */
  tool_risk: Record<string, number>;
}

export interface StdioServerConfig {
  kind: 'stdio';
  command: string;
  args: string[];
  env: Record<string, string>;
  env_passthrough: string[];
  cwd?: string;
  timeout_ms: number;
  /** Bound on connecting and the MCP handshake (timeout_ms bounds every later request). */
  connect_timeout_ms: number;
  trust_annotations: boolean;
  /** false: expose this (only) server's tools, prompts and resources under their own names. */
  namespace: boolean;
  sandbox?: SandboxConfig;
  /** How the server reads paths in arguments (default: as the gateway's host does). */
  path_style?: 'posix' | 'windows';
  /** One process for every session (`shared`), or one per agent session (`session`). */
  isolation: 'shared' | 'session';
  /** `isolation: session`: a session's process idle this long is stopped. */
  idle_timeout_ms: number;
}

export interface SandboxConfig {
  network?: boolean;
  user?: string;
  group?: string;
  memory_mb?: number;
  cpu_seconds?: number;
  open_files?: number;
}

export interface HttpServerConfig {
  kind: 'http';
  url: string;
  transport: 'streamable-http' | 'sse';
  headers: Record<string, string>;
  timeout_ms: number;
  /** Bound on connecting and the MCP handshake (timeout_ms bounds every later request). */
  connect_timeout_ms: number;
  trust_annotations: boolean;
  /** false: expose this (only) server's tools, prompts and resources under their own names. */
  namespace: boolean;
  /** How the server reads paths in arguments (default: as the gateway's host does). */
  path_style?: 'posix' | 'windows';
}

export type ServerConfig = StdioServerConfig | HttpServerConfig;

export interface TokenConfig {
  id: string;
  identity: string;
  roles: string[];
  /** Scopes the token carries; undefined means every scope. */
  scopes?: string[];
  /** SHA-256 of the token, lower-case hex. */
  sha256: string;
  description?: string;
  created?: string;
  /** ISO time from which the token is refused (also the end of a rotation's grace period). */
  expires?: string;
  revoked?: string;
  rotated_to?: string;
}

/** A credential the token file revokes that is none of its tokens: an OAuth `jti`. */
export interface RevocationConfig {
  id: string;
  /** ISO time it was revoked. */
  revoked: string;
}

export interface StdioAuthConfig {
  identity?: string;
  roles: string[];
  scopes?: string[];
  os_users?: Record<string, string[]>;
  token_env?: string;
}

/** The `auth.oauth` block; its fields are documented where they are used (src/auth/oauth.ts). */
import type { OAuthConfig } from '../auth/oauth.js';
export type OAuthSettings = OAuthConfig;

export type ScanAction = 'off' | 'flag' | 'redact' | 'block';
export interface ScanActions {
  injection: ScanAction;
  secrets: ScanAction;
  pii: ScanAction;
}

export interface ScanningConfig {
  descriptions: { enabled: boolean; block_at: 'low' | 'medium' | 'high' | 'critical'; max_bytes: number };
  pins: { enabled: boolean; path: string; trust_on_first_use: boolean; on_change: 'block' | 'alert' };
  responses: ScanActions;
  arguments: ScanActions;
  overrides: Array<{
    server?: string;
    tool?: string;
    responses?: Partial<ScanActions>;
    arguments?: Partial<ScanActions>;
  }>;
  risk: { injection: number; secret: number; pii: number };
}

export interface StateConfig {
  store: 'memory' | 'redis';
  url?: string;
  prefix: string;
  timeout_ms: number;
  session_ttl_ms: number;
  on_unavailable: 'deny' | 'local';
}

export interface GatewayConfig {
  /** Absolute path of the file this came from, or '<memory>'. */
  source: string;
  servers: Record<string, ServerConfig>;
  auth: {
    tokens: TokenConfig[];
    /** The tokens file, when tokens live in one; watched for changes (revocation without restart). */
    tokens_file?: string;
    /** Credentials the token file revokes that are none of its tokens (OAuth `jti`s). */
    revocations?: RevocationConfig[];
    stdio?: StdioAuthConfig;
    oauth?: OAuthSettings;
    scopes: { read: string; call: string };
    lockout: { failures: number; window_s: number; duration_s: number };
    rate_limit?: { limit: number; window_ms: number };
  };
  audit: {
    enabled: boolean;
    /** A file path, or 'stderr' / 'stdout'; empty when the audit goes to PostgreSQL. */
    path: string;
    /** The audit chain in PostgreSQL, shared by every replica (instead of a file). */
    postgres?: {
      url: string;
      table: string;
      queue_records: number;
      commit_timeout_s: number;
      connect_timeout_s: number;
    };
    flush: 'every' | 'batch' | 'os';
    batch_records?: number;
    batch_ms?: number;
    rotate_bytes?: number;
    rotate_s?: number;
    checkpoint_every: number;
    signing_key?: string;
    arguments: 'full' | 'hash' | 'omit';
    overrides: Array<{ server?: string; tool?: string; arguments: 'full' | 'hash' | 'omit' }>;
  };
  listen: {
    host: string;
    port: number;
    public_url?: string;
    allowed_hosts?: string[];
    allowed_origins?: string[];
    max_body_bytes: number;
    tls?: { cert: string; key: string };
  };
  security: { check_permissions: boolean };
  state: StateConfig;
  limits: {
    max_sessions: number;
    max_sessions_per_identity: number;
    /** Upstream processes at once; a new session-isolated process past it is refused. */
    max_upstream_processes: number;
    /** HTTP requests open at once per caller; an unread response keeps its request open. */
    max_requests_per_identity: number;
    shutdown_grace_s: number;
  };
  validation: { arguments: boolean };
  metrics: { enabled: boolean; token_sha256?: string; roles: string[] };
  telemetry: { otlp?: { endpoint: string; headers: Record<string, string> } };
  scanning: ScanningConfig;
  approvals: {
    timeout_s: number;
    approvers: number;
    approver_roles: string[];
    progress_interval_s: number;
    ask_client_roles: string[];
    webhook?: { url: string; headers: Record<string, string> };
  };
  admin: { enabled: boolean; token_sha256?: string; identity: string; roles: string[] };
  policy: PolicySettings;
  rules: RuleConfig[];
}
