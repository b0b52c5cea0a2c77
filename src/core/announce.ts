/**
 * List changes told to every session: a server that a listing had to leave out (down, still
 * connecting, or too slow to list) is announced once it can be listed, and a server's own change
 * to its tools, prompts or resources is passed on. The transports subscribe and send
 * `notifications/<kind>/list_changed` to their agents; which sessions exist is theirs to know.
 */
import type { Upstream } from '../upstream/index.js';

export type ListKind = 'tools' | 'prompts' | 'resources';

export type ListChanged = (kind: ListKind) => void;

export interface Announcer {
  /** Listen for list changes; returns the function that stops listening. */
  subscribe(listener: ListChanged): () => void;
  /** A listing answered without this server: announce the kind once the server can be listed. */
  missed(kind: ListKind, server: string): void;
  /** A listing gave up waiting for `pending`: announce the kind when it lists after all. */
  late(kind: ListKind, server: string, pending: Promise<unknown>): void;
  /** The server connected: announce every kind a listing missed it in, that it offers. */
  ready(up: Upstream): void;
  /** The server said this kind changed. */
  changed(kind: ListKind): void;
}

export function createAnnouncer(): Announcer {
  const listeners = new Set<ListChanged>();
  /** Per kind, the servers a listing left out since they were last announced. */
  const missing: Record<ListKind, Set<string>> = {
    tools: new Set(),
    prompts: new Set(),
    resources: new Set()
  };
  const emit = (kind: ListKind) => {
    for (const listener of [...listeners]) listener(kind);
  };
  const announce = (kind: ListKind, server: string) => {
    if (missing[kind].delete(server)) emit(kind);
  };

  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    missed(kind, server) {
      missing[kind].add(server);
    },
    late(kind, server, pending) {
      missing[kind].add(server);
      // A listing that fails after all stays missed, for the server's next connection to announce.
      pending.then(
        () => announce(kind, server),
        () => undefined
      );
    },
    ready(up) {
      const capabilities = up.capabilities() ?? {};
      announce('tools', up.name);
      for (const kind of ['prompts', 'resources'] as const) {
        if (capabilities[kind]) announce(kind, up.name);
        else missing[kind].delete(up.name);
      }
    },
    changed: emit
  };
}
