/**
 * What the MCP protocol requires, stated once: the revision that starts the modern era, the shape
 * checks of a `tools/call` request and result, and the defaults the SDK applies to a result. The
 * SDK path gets these rules from the SDK's schemas; the lean paths (transports/lean-call.ts,
 * upstream/direct.ts) answer and forward calls without those schemas and take the rules from here,
 * so the two cannot drift apart unnoticed: each check here is property-tested against the SDK's
 * own schema. Nothing here needs the SDK at run time, and nothing allocates on the way through a
 * well-formed call.
 *
 * How the other side of a connection is reached (the peer) is in `peer.ts`; every use of an SDK
 * field or callback that is not public API is in `sdk-private.ts`.
 */
export { isModern, MODERN_REVISION } from './era.js';
export { isObject } from './json.js';
export { isPlainToolCall, isRequestId } from './tool-call.js';
export { checkCallToolResult, TOOL_RESULT_FOREIGN_KEYS, withEmptyContent } from './tool-result.js';
