/**
 * The public API of the portcullis package. Adding a symbol here makes it public: do so on purpose.
 */
export { loadConfig, configSchema, hashToken } from './config/index.js';
export type { GatewayConfig, RuleConfig, ServerConfig, ConstraintConfig } from './config/types.js';
export { createGateway, type Gateway, type GatewayOptions } from './core/gateway.js';
export {
  compilePolicy,
  type Policy,
  type Decision,
  type PolicyInput,
  type RuleTrace
} from './policy/index.js';
export { serveHttp, type HttpHandle, type HttpOptions } from './transports/http.js';
export { serveGatewayStdio } from './transports/stdio.js';
export { ERRORS, GatewayError, ConfigError, type ErrorCode, type ConfigIssue } from './errors.js';
export { createLogger } from './log.js';
