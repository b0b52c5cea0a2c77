/**
 * Namespacing. Tools and prompts are exposed as `<server>__<name>`; server names never contain
 * `__`, so the first `__` always splits correctly and two servers can never shadow each other.
 * Resource URIs are wrapped as `portcullis://<server>/<original-uri>`.
 */

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
