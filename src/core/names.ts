/**
 * Namespacing. Tools and prompts are exposed as `<server>__<name>`; server names never contain
 * `__`, so the first `__` always splits correctly and two servers can never shadow each other.
 * Resource URIs are wrapped as `portcullis://<server>/<original-uri>`.
 *
 * A gateway with exactly one server may expose it under its own names (`namespace: false`): with
 * nothing to collide with, the gateway is then transparent to names, and a client that knew the
 * server directly keeps working unchanged. The config refuses `namespace: false` next to another
 * server.
 */
import type { ServerConfig } from '../config/types.js';

const SEP = '__';
const RESOURCE_PREFIX = 'portcullis://';

export function joinName(server: string, name: string): string {
  return `${server}${SEP}${name}`;
}

export function splitName(full: string): { server: string; name: string } | undefined {
  const i = full.indexOf(SEP);
  if (i <= 0 || i + SEP.length >= full.length) return undefined;
  return { server: full.slice(0, i), name: full.slice(i + SEP.length) };
}

export function resourceUri(server: string, uri: string): string {
  return `${RESOURCE_PREFIX}${server}/${uri}`;
}

export function parseResourceUri(uri: string): { server: string; uri: string } | undefined {
  if (!uri.startsWith(RESOURCE_PREFIX)) return undefined;
  const rest = uri.slice(RESOURCE_PREFIX.length);
  const i = rest.indexOf('/');
  if (i <= 0 || i + 1 >= rest.length) return undefined;
  return { server: rest.slice(0, i), uri: rest.slice(i + 1) };
}

/** How one gateway names what its servers offer: namespaced, or one server under its own names. */
export interface Names {
  join(server: string, name: string): string;
  split(full: string): { server: string; name: string } | undefined;
  resourceUri(server: string, uri: string): string;
  parseResourceUri(uri: string): { server: string; uri: string } | undefined;
}

const namespaced: Names = { join: joinName, split: splitName, resourceUri, parseResourceUri };

export function createNames(servers: Record<string, Pick<ServerConfig, 'namespace'>>): Names {
  const names = Object.keys(servers);
  const bare = names.length === 1 && servers[names[0]!]!.namespace === false ? names[0]! : undefined;
  if (bare === undefined) return namespaced;
  return {
    join: (_server, name) => name,
    split: (full) => (full === '' ? undefined : { server: bare, name: full }),
    resourceUri: (_server, uri) => uri,
    parseResourceUri: (uri) => (uri === '' ? undefined : { server: bare, uri })
  };
}
