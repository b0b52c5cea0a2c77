import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  ERRORS,
  GatewayError,
  LOCAL_ERRORS,
  LocalError,
  isRefusal,
  type ErrorCode,
  type ErrorEntry,
  type LocalErrorCode
} from './errors.js';
import { MAX_JSON_DEPTH } from './transports/limits.js';

/**
 * HTTP-level answers that carry the SDK transport's codes (-32000, -32001) or JSON-RPC's (-32600,
 * -32700), as the SDK answers such requests itself.
 */
const SDK_ANSWERS = new Set<string>([
  'host_refused',
  'origin_refused',
  'session_foreign',
  'session_required',
  'session_not_found',
  'not_found',
  'method_not_allowed',
  'body_too_large',
  'body_not_json',
  'message_not_jsonrpc',
  'nested_too_deep'
]);

describe('the error registry', () => {
  it('is documented in docs/errors.md, row for row', () => {
    const doc = readFileSync(join(__dirname, '..', 'docs', 'errors.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `([a-z_]+)` \| (-?\d+) \| ([^|]+) \| ([a-z]+) \|/gm)].map((m) => [
      m[1],
      Number(m[2]),
      m[3]!.trim(),
      m[4]
    ]);
    expect(rows).toEqual(Object.entries(ERRORS).map(([code, e]) => [code, e.rpc, e.message, e.kind]));
  });

  it('gives every code a kind: outages and failures are faults, never refusals', () => {
    for (const code of [
      'upstream_unavailable',
      'upstream_failed',
      'state_unavailable',
      'audit_unavailable',
      'internal'
    ] as const) {
      expect(new GatewayError(code).kind, code).toBe('fault');
      expect(isRefusal(new GatewayError(code)), code).toBe(false);
    }
    for (const code of [
      'policy_denied',
      'risk_budget',
      'rate_limited',
      'insufficient_scope',
      'argument_blocked'
    ] as const) {
      expect(isRefusal(new GatewayError(code)), code).toBe(true);
    }
    expect(isRefusal(new Error('policy_denied'))).toBe(false);
  });

  it('keeps gateway codes clear of the codes the SDK uses', () => {
    for (const [code, e] of Object.entries(ERRORS)) {
      if (code === 'invalid_arguments' || code === 'internal' || SDK_ANSWERS.has(code)) continue;
      expect(e.rpc, code).toBeGreaterThanOrEqual(-32069);
      expect(e.rpc, code).toBeLessThanOrEqual(-32050);
    }
  });

  it("uses the SDK's or JSON-RPC's codes only for answers at the HTTP level", () => {
    for (const code of SDK_ANSWERS) {
      const e: ErrorEntry = ERRORS[code as ErrorCode];
      expect(e.status, code).toBeGreaterThanOrEqual(400);
      expect([-32000, -32001, -32600, -32700], code).toContain(e.rpc);
    }
  });

  it('gives every HTTP-level entry a client or server error status and a kind', () => {
    const entries: Array<[string, ErrorEntry]> = Object.entries(ERRORS);
    const http = entries.filter(([, e]) => e.status !== undefined);
    expect(http.length).toBeGreaterThan(0);
    for (const [code, entry] of http) {
      expect(entry.status, code).toBeGreaterThanOrEqual(400);
      expect(entry.status, code).toBeLessThan(600);
      expect(['refusal', 'fault'], code).toContain(entry.kind);
    }
  });

  it('names the nesting bound the transports enforce', () => {
    expect(ERRORS.nested_too_deep.message).toBe(
      `Invalid Request: nested deeper than ${MAX_JSON_DEPTH} levels`
    );
  });

  it('never puts the detail on the wire message', () => {
    const e = new GatewayError('constraint_failed', 'rule secret-rule: parameter "path" does not match ^/x/');
    expect(e.message).toBe('denied by policy: parameter constraint');
    expect(e.detail).toContain('secret-rule');
  });
});

describe('local errors', () => {
  it('each local error class carries its code from LOCAL_ERRORS, and is a LocalError', async () => {
    const { ApprovalRefused } = await import('./state/bus.js');
    const { OAuthConfigError } = await import('./auth/oauth.js');
    const { RevokeRefused } = await import('./core/revoke.js');
    const { SetupError } = await import('./setup/errors.js');
    const { UserError } = await import('./cli/output.js');
    const { DirectCallFailure, NeedsClient } = await import('./upstream/direct.js');
    const made: Array<[LocalError, LocalErrorCode]> = [
      [new ConfigError([]), 'config_invalid'],
      [new ApprovalRefused(409, 'decided'), 'approval_refused'],
      [new OAuthConfigError(['no issuer']), 'oauth_config'],
      [new RevokeRefused('in the config'), 'revoke_refused'],
      [new SetupError('bad file', 'x.json'), 'setup_failed'],
      [new UserError('no such server'), 'user_error'],
      [new DirectCallFailure('gone'), 'direct_call_failed'],
      [new NeedsClient(), 'needs_client']
    ];
    for (const [err, code] of made) {
      expect(err).toBeInstanceOf(LocalError);
      expect(err).toBeInstanceOf(Error);
      expect(err.code).toBe(code);
      expect(Object.keys(LOCAL_ERRORS)).toContain(err.code);
      expect(err.name).toBe(err.constructor.name);
    }
    expect(new ApprovalRefused(404, 'no held call').status).toBe(404);
    // No local code is also a registry code: a code names one error.
    for (const code of Object.keys(LOCAL_ERRORS)) expect(Object.keys(ERRORS)).not.toContain(code);
  });
});
