/**
 * The protocol revision from which the modern era starts. From it on, every request carries its
 * own `_meta` envelope (protocol version, the client's capabilities, the log level it wants), so a
 * server logs for a request only when it names a level, and capabilities are those the request
 * declares rather than those declared at initialize; every result carries a `resultType`; and a
 * tool result's `structuredContent` may be any JSON value. Revisions are dates, so they compare as
 * strings.
 */
export const MODERN_REVISION = '2026-07-28';

/** Whether a negotiated protocol version is of the modern era (see `MODERN_REVISION`). */
export function isModern(version: string | undefined): boolean {
  return version !== undefined && version >= MODERN_REVISION;
}
