/**
 * Resource subscriptions: one upstream subscription per resource however many sessions asked,
 * the upstream's `resources/updated` notifications passed to each of them in the gateway's
 * namespace, and the upstream subscription dropped when the last session leaves.
 */
import type { ResolveUpstream } from '../route/index.js';
import type { Upstream } from '../upstream/index.js';
import type { Forward } from './forward.js';
import type { Names } from './names.js';
import type { Session } from './session.js';

type Updated = (params: Record<string, unknown>) => void;

export function createSubscriptions(resolve: ResolveUpstream, names: Names, forward: Forward) {
  /**
   * Per upstream resource (keyed by its connection: a session-isolated server's are the session's
   * own), the sessions that asked, and how to tell them.
   */
  const subscriptions = new Map<string, { up: Upstream; uri: string; updated: Map<string, Updated> }>();

  return {
    /**
     * A notification from one connection (`key`, Upstream.key) of a server: a resource update goes
     * to every session subscribed to it there.
     */
    notify(key: string, server: string, method: string, params: unknown): void {
      if (method !== 'notifications/resources/updated') return;
      const uri = (params as { uri?: unknown } | undefined)?.uri;
      if (typeof uri !== 'string') return;
      for (const updated of subscriptions.get(`${key}\n${uri}`)?.updated.values() ?? []) {
        updated({ ...(params as Record<string, unknown>), uri: names.resourceUri(server, uri) });
      }
    },

    async subscribe(session: Session, uri: string, updated: Updated): Promise<Record<string, never>> {
      const parts = names.parseResourceUri(uri);
      await forward(
        session,
        'resources/subscribe',
        { uri, ...(parts ? { subject: { kind: 'resource', name: parts.uri } } : {}) },
        parts && resolve(session, parts.server),
        parts?.uri,
        async (up, inner) => {
          const key = `${up.key}\n${inner}`;
          if (!subscriptions.has(key)) await up.request('resources/subscribe', { uri: inner });
          const subs = subscriptions.get(key) ?? { up, uri: inner, updated: new Map<string, Updated>() };
          subs.updated.set(session.id, updated);
          subscriptions.set(key, subs);
        }
      );
      return {};
    },

    async unsubscribe(session: Session, uri: string): Promise<Record<string, never>> {
      const parts = names.parseResourceUri(uri);
      await forward(
        session,
        'resources/unsubscribe',
        { uri },
        parts && resolve(session, parts.server),
        parts?.uri,
        async (up, inner) => {
          const key = `${up.key}\n${inner}`;
          const subs = subscriptions.get(key);
          if (!subs?.updated.delete(session.id) || subs.updated.size > 0) return;
          subscriptions.delete(key);
          await up.request('resources/unsubscribe', { uri: inner });
        }
      );
      return {};
    },

    /** A session went away: drop its subscriptions, and the upstream ones nobody else holds. */
    closed(session: Session): void {
      for (const [key, subs] of subscriptions) {
        if (!subs.updated.delete(session.id) || subs.updated.size > 0) continue;
        subscriptions.delete(key);
        subs.up.request('resources/unsubscribe', { uri: subs.uri }).catch(() => undefined);
      }
    }
  };
}
