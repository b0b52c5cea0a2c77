/**
 * Pins as data: the hash and description each definition was approved with, per server. Kept apart
 * from the pin store so that the shared-state contract (../state/bus.ts) can name them without
 * importing the store that uses that contract.
 */
export interface PinEntry {
  /** SHA-256 (hex) of the definition's canonical form. */
  hash: string;
  /** Which hash scheme `hash` is; absent means 1 (pin files written before tool hashes were v2). */
  hashVersion?: number;
  /** The description it was pinned with, to show what changed (at most 2,000 characters). */
  description?: string;
  /**
   * A tool's input schema as it was pinned, to show what changed (kept when its JSON is at most
   * 8,000 characters; absent in pin files written before it was kept).
   */
  inputSchema?: unknown;
}

export type PinSection = Record<string, PinEntry>;

export interface ServerPins {
  /** When and by whom the server was pinned as a whole: its first use, or the last approval. */
  pinnedAt: string;
  approvedBy: string;
  /** By tool name. Absent until the server's tools are first listed (or approved). */
  tools?: PinSection;
  /** By prompt name; absent until first listed. */
  prompts?: PinSection;
  /** By resource URI; absent until first listed. */
  resources?: PinSection;
  /** By URI template; absent until first listed. */
  resourceTemplates?: PinSection;
}
