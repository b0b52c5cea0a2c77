/**
 * A `tools/call` request as the SDK's schemas accept it, checked without a schema library: the
 * lean stdio path answers exactly the requests this takes and leaves every other one to the SDK
 * server. Property-tested against the SDK's request schema (tool-call.test.ts).
 */
import type { JSONRPCRequest, RequestId } from '@modelcontextprotocol/server';
import { isObject } from './json.js';

/** The keys of a JSON-RPC request (the SDK's request schema is strict) and of `tools/call` params. */
const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
const CALL_KEYS = new Set(['name', 'arguments', '_meta']);
/** `_meta` keys the SDK reads itself (envelope, tasks): a call that has any goes to the server. */
const RESERVED_META = 'io.modelcontextprotocol/';

/** A JSON-RPC request id: a string or an integer. */
export const isRequestId = (v: unknown): v is RequestId => typeof v === 'string' || Number.isSafeInteger(v);

/** A request the SDK would take as a valid `tools/call`, checked without a schema library. */
export function isPlainToolCall(value: unknown): value is JSONRPCRequest {
  if (!isObject(value) || value.method !== 'tools/call' || value.jsonrpc !== '2.0' || !isRequestId(value.id))
    return false;
  for (const key in value) if (!REQUEST_KEYS.has(key)) return false;
  const params = value.params;
  if (!isObject(params) || typeof params.name !== 'string') return false;
  for (const key in params) if (!CALL_KEYS.has(key)) return false;
  if (params.arguments !== undefined && !isObject(params.arguments)) return false;
  const meta = params._meta;
  if (meta === undefined) return true;
  if (!isObject(meta)) return false;
  for (const key in meta) if (key.startsWith(RESERVED_META)) return false;
  return meta.progressToken === undefined || isRequestId(meta.progressToken);
}
