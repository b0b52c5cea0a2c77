/**
 * The types the JSON Schema itself describes, and the compile-time proof that the hand-written
 * types in types.ts say the same: a field added, dropped, renamed, made optional or given another
 * type on one side only fails `tsc`. Where `build()` changes the shape (a token read and hashed, a
 * duration parsed, a server given its kind), the check names the change. Not part of the
 * package's public types.
 */
import type { FromSchema } from 'json-schema-to-ts';
import type { configSchema, tokensFileSchema } from './schema.js';
import type {
  ConstraintConfig,
  GatewayConfig,
  HttpServerConfig,
  OAuthSettings,
  PolicySettings,
  RevocationConfig,
  RuleConfig,
  SandboxConfig,
  ScanActions,
  ScanningConfig,
  StateConfig,
  StdioAuthConfig,
  StdioServerConfig,
  TokenConfig
} from './types.js';

/**
 * A config as ajv leaves it: valid against the schema, every default filled in. With if/then/else
 * read, a command server is known to have its args and an audit file its path.
 */
export type SchemaConfig = FromSchema<typeof configSchema, { parseIfThenElseKeywords: true }>;
type SchemaServer = NonNullable<SchemaConfig['servers']>[string];
type SchemaAuth = SchemaConfig['auth'];
type SchemaToken = NonNullable<FromSchema<typeof tokensFileSchema>['tokens']>[number];

/** The same type, readonly-ness aside: each side assignable to the other, key for key. */
export type Same<A, B> =
  (<T>() => T extends Plain<A> ? 1 : 2) extends <T>() => T extends Plain<B> ? 1 : 2 ? true : false;
type Plain<T> = T extends (infer U)[]
  ? Plain<U>[]
  : T extends readonly (infer U)[]
    ? Plain<U>[]
    : T extends object
      ? { -readonly [K in keyof T]: Plain<T[K]> }
      : T;
type Check<T extends true> = T;

// Keys only one kind of server has, and the ones the schema leaves to its if/then/else defaults.
type StdioOnly =
  'command' | 'args' | 'env' | 'env_passthrough' | 'cwd' | 'sandbox' | 'isolation' | 'idle_timeout';
type HttpOnly = 'url' | 'transport' | 'headers';

type _ConfigTypesMatchTheSchema = [
  Check<Same<RuleConfig, SchemaConfig['rules'][number]>>,
  Check<Same<ConstraintConfig, NonNullable<RuleConfig['parameter_constraints']>[string]>>,
  Check<Same<PolicySettings, SchemaConfig['policy']>>,
  Check<Same<SandboxConfig, NonNullable<SchemaServer['sandbox']>>>,
  Check<
    Same<
      StdioServerConfig,
      { kind: 'stdio' } & Omit<SchemaServer, HttpOnly | 'enabled' | 'idle_timeout'> &
        Required<Pick<SchemaServer, 'command' | 'args' | 'env' | 'env_passthrough' | 'isolation'>> & {
          idle_timeout_ms: number;
        }
    >
  >,
  Check<
    Same<
      HttpServerConfig,
      { kind: 'http' } & Omit<SchemaServer, StdioOnly | 'enabled'> &
        Required<Pick<SchemaServer, 'url' | 'transport' | 'headers'>>
    >
  >,
  // Tokens are kept only as hashes; the identity defaults to the id.
  Check<
    Same<
      TokenConfig,
      Omit<SchemaToken, 'token' | 'sha256' | 'identity'> & { sha256: string; identity: string }
    >
  >,
  Check<Same<RevocationConfig, NonNullable<FromSchema<typeof tokensFileSchema>['revocations']>[number]>>,
  Check<Same<StdioAuthConfig, NonNullable<SchemaAuth['stdio']>>>,
  Check<Same<OAuthSettings, NonNullable<SchemaAuth['oauth']>>>,
  Check<
    Same<
      GatewayConfig['auth'],
      Omit<SchemaAuth, 'tokens' | 'rate_limit'> & {
        tokens: TokenConfig[];
        tokens_file?: string;
        revocations?: RevocationConfig[];
        rate_limit?: { limit: number; window_ms: number };
      }
    >
  >,
  // The path is resolved (empty with postgres); flush has a default for either kind of sink.
  Check<
    Same<
      GatewayConfig['audit'],
      Omit<SchemaConfig['audit'], 'path' | 'flush'> & {
        path: string;
        flush: NonNullable<SchemaConfig['audit']['flush']>;
      }
    >
  >,
  Check<Same<GatewayConfig['listen'], SchemaConfig['listen']>>,
  Check<Same<GatewayConfig['security'], SchemaConfig['security']>>,
  Check<Same<StateConfig, Omit<SchemaConfig['state'], 'session_ttl'> & { session_ttl_ms: number }>>,
  Check<Same<GatewayConfig['limits'], SchemaConfig['limits']>>,
  Check<Same<GatewayConfig['validation'], SchemaConfig['validation']>>,
  Check<Same<GatewayConfig['metrics'], Omit<SchemaConfig['metrics'], 'token'> & { token_sha256?: string }>>,
  Check<Same<GatewayConfig['telemetry'], SchemaConfig['telemetry']>>,
  Check<Same<ScanningConfig, SchemaConfig['scanning']>>,
  Check<Same<ScanActions, SchemaConfig['scanning']['responses']>>,
  Check<Same<GatewayConfig['approvals'], SchemaConfig['approvals']>>,
  Check<Same<GatewayConfig['admin'], Omit<SchemaConfig['admin'], 'token'> & { token_sha256?: string }>>,
  // Every section, and nothing else: the file's own path, and the servers (above) by kind.
  Check<Same<keyof GatewayConfig, keyof SchemaConfig | 'source'>>
];
