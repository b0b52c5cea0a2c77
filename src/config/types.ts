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
}

export interface RuleConfig {
  id?: string;
  description?: string;
  tool: string;
  server?: string;
  allowed_roles?: string[];
  deny?: boolean;
  require_approval?: boolean;
  max_calls_per_session?: number;
  parameter_constraints?: Record<string, ConstraintConfig>;
}

export interface StdioServerConfig {
  kind: 'stdio';
  command: string;
  args: string[];
  env: Record<string, string>;
  env_passthrough: string[];
  cwd?: string;
  timeout_ms: number;
}

export interface HttpServerConfig {
  kind: 'http';
  url: string;
  transport: 'streamable-http' | 'sse';
  headers: Record<string, string>;
  timeout_ms: number;
}

export type ServerConfig = StdioServerConfig | HttpServerConfig;

export interface TokenConfig {
  id: string;
  identity: string;
  roles: string[];
  /** SHA-256 of the token, lower-case hex. */
  sha256: string;
}

export interface GatewayConfig {
  /** Absolute path of the file this came from, or '<memory>'. */
  source: string;
  servers: Record<string, ServerConfig>;
  auth: {
    tokens: TokenConfig[];
    stdio?: { identity: string; roles: string[] };
  };
  audit: { enabled: boolean; path: string };
  listen: { host: string; port: number };
  validation: { arguments: boolean };
  rules: RuleConfig[];
}
