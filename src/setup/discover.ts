/**
 * Ask servers for their tools before any agent does: each is started (or reached) as the gateway
 * would start it, from the portcullis.yaml text, all at once and each within a bounded time. A
 * server that fails or is too slow is reported with the reason; it never holds up the others.
 */
import type { Logger } from 'pino';
import { loadConfig } from '../config/index.js';
import type { GatewayConfig } from '../config/types.js';
import { Upstream, type UpstreamTool } from '../upstream/index.js';
import type { Discovered } from './policy.js';

export const DEFAULT_PROBE_TIMEOUT_MS = 20_000;

/** The environment, with every unset variable empty: a server is tried without what is missing. */
function lenientEnv(): NodeJS.ProcessEnv {
  return new Proxy({} as NodeJS.ProcessEnv, {
    get: (_t, name) => (typeof name === 'string' ? (process.env[name] ?? '') : undefined)
  });
}

function messageOf(err: unknown): string {
  return (err as { detail?: string }).detail ?? (err as Error).message ?? String(err);
}

/** List one server's tools, within `timeoutMs` however it behaves. */
export async function listServerTools(
  name: string,
  config: GatewayConfig,
  timeoutMs: number,
  log: Logger
): Promise<{ tools: UpstreamTool[] } | { error: string }> {
  const server = config.servers[name];
  if (!server) return { error: 'not in the configuration' };
  const bounded = { ...server, connect_timeout_ms: Math.min(server.connect_timeout_ms, timeoutMs) };
  const up = new Upstream(name, bounded, log.child({ server: name }));
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)),
      timeoutMs
    );
  });
  try {
    return { tools: await Promise.race([up.listTools(), late]) };
  } catch (err) {
    return { error: messageOf(err) };
  } finally {
    clearTimeout(timer);
    await up.close().catch(() => undefined);
  }
}

/** The tools of `names`, servers of the portcullis.yaml `text` (at `file`), in parallel. */
export async function discoverTools(
  text: string,
  file: string,
  names: string[],
  log: Logger,
  timeoutMs = DEFAULT_PROBE_TIMEOUT_MS
): Promise<Record<string, Discovered>> {
  let config: GatewayConfig;
  try {
    config = loadConfig(file, { text, env: lenientEnv() });
  } catch (err) {
    const error = messageOf(err).split('\n')[0] ?? 'invalid configuration';
    return Object.fromEntries(names.map((n) => [n, { error }]));
  }
  const found = await Promise.all(names.map((n) => listServerTools(n, config, timeoutMs, log)));
  return Object.fromEntries(names.map((n, i) => [n, found[i]!]));
}
