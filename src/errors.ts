/**
 * The one registry of gateway errors.
 *
 * Two families, kept apart on purpose:
 * - `GatewayError` is a wire error: it carries a JSON-RPC code and a short public message that names
 *   the kind of refusal but no policy internals. The full reason goes to the audit log only. A
 *   refusal the agent can correct (`invalid_arguments`, `constraint_failed`) adds a hint to the
 *   message: which argument, and what it must be; never the argument's value (at most
 *   MAX_HINT_LENGTH characters).
 * - `ConfigError` and other local errors carry stable string codes and never cross the wire.
 *
 * Every code here is documented in docs/errors.md (code, meaning, how to fix); a test keeps the
 * table and this registry in step. Gateway codes live in -32050..-32069, clear of the codes the
 * MCP SDK itself uses (-32001, -32002, -32020..-32022, -32042).
 */

export const ERRORS = {
  unauthenticated: {
    kind: 'refusal',
    rpc: -32050,
    message: 'authentication required',
    fix: 'Send a valid bearer token (HTTP) or configure auth.stdio (stdio).'
  },
  policy_denied: {
    kind: 'refusal',
    rpc: -32051,
    message: 'denied by policy',
    fix: 'Check `portcullis policy explain` for the identity, tool and arguments; add or change a rule.'
  },
  no_rule: {
    kind: 'refusal',
    rpc: -32051,
    message: 'denied by policy: no rule allows this tool',
    fix: 'Default deny: add a rule whose `tool` matches and whose `allowed_roles` names the caller role.'
  },
  role_not_allowed: {
    kind: 'refusal',
    rpc: -32051,
    message: 'denied by policy: role not allowed',
    fix: 'Add the caller role to `allowed_roles` of a matching rule, or call with another identity.'
  },
  constraint_failed: {
    kind: 'refusal',
    rpc: -32052,
    message: 'denied by policy: parameter constraint',
    fix: 'The arguments break a `parameter_constraints` entry; the message names the argument and what it must be (never the pattern or prefix itself), the audit record the rule.'
  },
  approval_required: {
    kind: 'refusal',
    rpc: -32053,
    message: 'approval required',
    fix: 'A matching rule sets `require_approval: true`; the call must be approved by a person.'
  },
  approval_unsupported: {
    kind: 'refusal',
    rpc: -32053,
    message: 'approval required, and prompts and resources are not held for approval',
    fix: 'A rule with `require_approval: true` matches this prompt or resource; only tool calls wait for a person. Allow it for the role without approval, or deny it.'
  },
  call_limit: {
    kind: 'refusal',
    rpc: -32054,
    message: 'denied by policy: session call limit reached',
    fix: 'A rule caps calls per session (`max_calls_per_session`) or per identity across its sessions (`max_calls`); start a new session (per-session caps), wait for the `max_calls` window, or raise the cap.'
  },
  approval_denied: {
    kind: 'refusal',
    rpc: -32061,
    message: 'approval denied',
    fix: 'A person refused the call (or the agent went away while it waited); the audit record says who.'
  },
  approval_timeout: {
    kind: 'refusal',
    rpc: -32062,
    message: 'approval timed out',
    fix: 'Nobody decided within approvals.timeout_s; ask an approver to watch the console, or raise the timeout.'
  },
  tool_blocked: {
    kind: 'refusal',
    rpc: -32063,
    message: 'tool withheld by content scanning',
    fix: 'The definition of the tool, prompt or resource (or the template a resource comes from) has findings, or the server changed it since it was pinned; review with `portcullis pins list` and approve.'
  },
  response_blocked: {
    kind: 'refusal',
    rpc: -32064,
    message: 'response withheld by content scanning',
    fix: 'The tool result contained content the scanning policy blocks (injection, secret or PII); see the audit record.'
  },
  argument_blocked: {
    kind: 'refusal',
    rpc: -32065,
    message: 'arguments refused by content scanning',
    fix: 'The arguments carried a secret or PII the scanning policy blocks from leaving; see the audit record.'
  },
  risk_budget: {
    kind: 'refusal',
    rpc: -32060,
    message: 'denied by policy: session risk budget exhausted',
    fix: 'The session (or, with `policy.risk.scope: identity`, the identity) accumulated too much risk (policy.risk.budget); wait for it to decay, start a new session (per-session scope) or lower rule weights.'
  },
  insufficient_scope: {
    kind: 'refusal',
    rpc: -32058,
    message: 'insufficient scope',
    fix: 'The token lacks the scope this tool needs (read-only tools need the read scope, others the call scope); get a token with it.'
  },
  rate_limited: {
    kind: 'refusal',
    rpc: -32059,
    message: 'rate limit exceeded',
    fix: 'Too many requests for this identity; wait and retry (see Retry-After).'
  },
  invalid_arguments: {
    kind: 'refusal',
    rpc: -32602,
    message: 'invalid arguments',
    fix: "The arguments do not match the tool's own inputSchema; the message names the argument (missing, of the wrong type, or not accepted) and what the schema expects; fix the call."
  },
  unknown_tool: {
    kind: 'refusal',
    rpc: -32055,
    message: 'unknown tool',
    fix: 'Call a tool listed by tools/list; names are `<server>__<tool>`.'
  },
  unknown_resource: {
    kind: 'refusal',
    rpc: -32055,
    message: 'unknown resource or prompt',
    fix: 'Use a name or URI returned by prompts/list, resources/list or resources/templates/list.'
  },
  upstream_unavailable: {
    kind: 'fault',
    rpc: -32056,
    message: 'upstream server unavailable',
    fix: 'The upstream could not be started or reached, or did not finish its handshake within connect_timeout_ms; /healthz says why. It is retried with backoff and announced with list_changed when it is back.'
  },
  upstream_processes_full: {
    kind: 'refusal',
    rpc: -32059,
    message: 'too many upstream processes on this gateway',
    fix: 'The server has `isolation: session` (a process for each agent session) and the gateway already runs limits.max_upstream_processes upstream processes; retry once other sessions end or their processes idle out (idle_timeout), or raise the limit. The audit record (`upstream/refused`) names the server and the limit.'
  },
  upstream_failed: {
    kind: 'fault',
    rpc: -32057,
    message: 'upstream server failed during the call',
    fix: 'The upstream closed or timed out while handling the call; it is restarted with backoff.'
  },
  state_unavailable: {
    kind: 'fault',
    rpc: -32068,
    message: 'shared state unavailable',
    fix: 'The shared store (state.url, Redis) could not be reached in time; calls that need session counts, limits or risk are refused until it is back. Check Redis and the network; the gateway reconnects by itself.'
  },
  audit_unavailable: {
    kind: 'fault',
    rpc: -32066,
    message: 'audit log unavailable',
    fix: 'The call was refused, or its reply withheld, because its audit record could not be stored: the audit database is unreachable or its queue is full, or the audit file failed. The gateway reconnects by itself and answers again once records can be stored; see its log and /healthz.'
  },
  internal: {
    kind: 'fault',
    rpc: -32603,
    message: 'internal error',
    fix: 'A fault inside the gateway; the log has the stack. Please report it.'
  },

  // Answered at the HTTP level, before any JSON-RPC handling: `status` is the HTTP status. Where the
  // SDK's own transport gives the same answer, the JSON-RPC code is the SDK's, so a client sees one
  // code whichever layer refused it.
  locked_out: {
    rpc: -32059,
    status: 429,
    kind: 'refusal',
    message: 'too many failed authentication attempts',
    fix: 'Too many failed authentications came from this address (auth.lockout), or from so many addresses that the gateway cannot count a new one (its log says so); wait for Retry-After, then send a valid token.'
  },
  metrics_unauthenticated: {
    rpc: -32050,
    status: 401,
    kind: 'refusal',
    message: 'metrics need their own credential',
    fix: 'Scrape /metrics with the metrics token (metrics.token), or a gateway or OAuth token carrying one of metrics.roles.'
  },
  admin_unauthenticated: {
    rpc: -32050,
    status: 401,
    kind: 'refusal',
    message: 'admin credentials required',
    fix: 'Call the admin API with the admin token (admin.token), or a gateway or OAuth token carrying one of admin.roles.'
  },
  sessions_full: {
    rpc: -32059,
    status: 503,
    kind: 'refusal',
    message: 'too many sessions on this gateway',
    fix: 'The gateway holds limits.max_sessions sessions; retry after Retry-After, close idle sessions, or raise the limit.'
  },
  identity_sessions_full: {
    rpc: -32059,
    status: 429,
    kind: 'refusal',
    message: 'too many sessions for this identity',
    fix: 'This identity holds limits.max_sessions_per_identity sessions; close some (DELETE the session) or raise the limit.'
  },
  identity_requests_full: {
    rpc: -32059,
    status: 429,
    kind: 'refusal',
    message: 'too many requests open for this identity',
    fix: 'This identity has limits.max_requests_per_identity requests open; read the responses before sending more.'
  },
  host_refused: {
    rpc: -32000,
    status: 403,
    kind: 'refusal',
    message: 'Invalid Host',
    fix: 'The Host header names a host this listener does not answer to (DNS rebinding guard); add it to listen.allowed_hosts. The message names the Host sent.'
  },
  origin_refused: {
    rpc: -32000,
    status: 403,
    kind: 'refusal',
    message: 'Invalid Origin',
    fix: 'A browser Origin other than the host itself; add it to listen.allowed_origins. The message names the Origin sent.'
  },
  session_foreign: {
    rpc: -32001,
    status: 403,
    kind: 'refusal',
    message: 'session belongs to another identity',
    fix: 'A session is bound to the exact credential that opened it; use that credential, or open a new session.'
  },
  session_required: {
    rpc: -32000,
    status: 400,
    kind: 'refusal',
    message: 'Bad Request: Mcp-Session-Id required',
    fix: 'A 2025-era request other than initialize needs the Mcp-Session-Id the initialize response gave.'
  },
  session_not_found: {
    rpc: -32001,
    status: 404,
    kind: 'refusal',
    message: 'Session not found',
    fix: 'The session ended, expired (30 minutes idle) or never existed; initialize a new one.'
  },
  not_found: {
    rpc: -32000,
    status: 404,
    kind: 'refusal',
    message: 'Not found',
    fix: 'Use /mcp, /sse and /messages, /healthz, /metrics (when enabled) or /admin (when enabled).'
  },
  method_not_allowed: {
    rpc: -32000,
    status: 405,
    kind: 'refusal',
    message: 'Method not allowed',
    fix: '/mcp takes POST, GET and DELETE; /sse, /healthz and /metrics take GET; /messages takes POST.'
  },
  body_too_large: {
    rpc: -32600,
    status: 413,
    kind: 'refusal',
    message: 'request body too large',
    fix: 'The body is over listen.max_body_bytes (4 MiB by default); send less, or raise the limit.'
  },
  body_not_json: {
    rpc: -32700,
    status: 400,
    kind: 'refusal',
    message: 'Parse error: request body is not JSON',
    fix: 'Send a JSON-RPC message (or a batch) as UTF-8 JSON.'
  },
  message_not_jsonrpc: {
    rpc: -32700,
    status: 400,
    kind: 'refusal',
    message: 'Parse error: not a JSON-RPC message',
    fix: 'POST to /messages one JSON-RPC message as UTF-8 JSON.'
  },
  request_id_in_use: {
    rpc: -32067,
    status: 409,
    kind: 'refusal',
    message: 'request id already in use in this session',
    fix: 'A 2025-era session got a request whose JSON-RPC id is still in flight under an earlier request of the same session; the earlier one is answered normally. Give every request its own id.'
  },
  nested_too_deep: {
    rpc: -32600,
    status: 400,
    kind: 'refusal',
    message: 'Invalid Request: nested deeper than 100 levels',
    fix: 'No MCP message nests this deep; deep nesting is refused before anything parses it further.'
  }
} as const satisfies Record<string, ErrorEntry>;

/** One registry entry. */
export interface ErrorEntry {
  /** A refusal (the caller's request is not allowed) or a fault (the gateway could not serve it). */
  kind: ErrorKind;
  /** The JSON-RPC error code. */
  rpc: number;
  /** Public: names the kind of refusal, never its internals. */
  message: string;
  fix: string;
  /** HTTP status, for errors answered at the HTTP level before any JSON-RPC handling. */
  status?: number;
}

export type ErrorCode = keyof typeof ERRORS;

/**
 * What an error says about a call: a `refusal` is the gateway deciding no (a denial, audited as
 * `denied` and counted as one); a `fault` is something failing (an upstream, the shared store, the
 * audit log, the gateway itself), audited as an `error` and never counted as a denial.
 */
type ErrorKind = 'refusal' | 'fault';

/** Is this a refusal from the registry (not a fault, not a foreign error)? */
export function isRefusal(err: unknown): err is GatewayError {
  return err instanceof GatewayError && err.kind === 'refusal';
}

/** The longest hint a refusal's public message carries. */
export const MAX_HINT_LENGTH = 300;

/** A hint cut to MAX_HINT_LENGTH characters, on one line. */
function boundedHint(hint: string): string {
  const line = hint.replace(/\s+/g, ' ').trim();
  const chars = [...line];
  return chars.length <= MAX_HINT_LENGTH ? line : `${chars.slice(0, MAX_HINT_LENGTH - 1).join('')}…`;
}

/** A refusal or failure that reaches the agent as a JSON-RPC error. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly rpc: number;
  readonly kind: ErrorKind;
  /** Full reason for the audit log; never sent to the agent. */
  readonly detail: string;
  /** Public: what the agent can correct (which argument, what it must be); part of `message`. */
  readonly hint: string | undefined;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown; hint?: string }) {
    const hint = options?.hint ? boundedHint(options.hint) : undefined;
    super(hint ? `${ERRORS[code].message}: ${hint}` : ERRORS[code].message, options);
    this.name = 'GatewayError';
    this.code = code;
    this.rpc = ERRORS[code].rpc;
    this.kind = ERRORS[code].kind;
    this.detail = detail ?? ERRORS[code].message;
    this.hint = hint;
  }
}

/**
 * Errors that stay inside the gateway or the command line (never sent to an agent as such), each
 * with a stable code and what it means: the one list of them, which `docs/errors.md` shows.
 */
export const LOCAL_ERRORS = {
  config_invalid: 'the configuration does not load (every problem with its file, line and column)',
  oauth_config: 'the OAuth section names no usable issuer, audience or keys',
  jwks_unavailable: "the issuer's key set could not be fetched in time (the token is refused)",
  approval_refused: 'an approver may not decide this held call (404 unknown, 409 decided, 403 not allowed)',
  revoke_refused: 'a credential cannot be revoked here (tokens in the config file, or no token id)',
  setup_failed: 'init, wrap or unwrap cannot proceed (a client config it cannot read or write)',
  user_error: 'a command was given something it cannot use (exit status 1, no stack trace)',
  connect_timeout: 'an upstream did not finish connecting within connect_timeout_ms',
  direct_call_failed: 'the lean call path could not complete a call (the SDK client takes over or it fails)',
  needs_client: 'a 2026-era result is not complete, so the call is repeated through the SDK client',
  body_over_limit: 'a request body grew past the limit while being read (answered 413, body_too_large)',
  tool_input: "the hardening kit refused a tool's arguments (every problem named)",
  pattern_unsupported: "the start finder does not read a pattern's syntax (the pattern scans on its own)"
} as const;

export type LocalErrorCode = keyof typeof LOCAL_ERRORS;

/** The base of every local error: `code` says which, as `GatewayError.code` does for the registry. */
export class LocalError extends Error {
  constructor(
    readonly code: LocalErrorCode,
    message?: string,
    options?: { cause?: unknown }
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration problem; `file:line:col path: message`. Local only. */
export interface ConfigIssue {
  file: string;
  line: number;
  col: number;
  path: string;
  message: string;
}

export class ConfigError extends LocalError {
  declare readonly code: 'config_invalid';
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super('config_invalid', issues.map(formatIssue).join('\n'));
    this.issues = issues;
  }
}

export function formatIssue(issue: ConfigIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.col}`;
  return issue.path ? `${where} ${issue.path}: ${issue.message}` : `${where} ${issue.message}`;
}
