/** What `approvals` and `pins` share: reaching a running gateway's admin API. */
import type { Command } from 'commander';
import { UserError } from './output.js';

export interface AdminOptions {
  url: string;
  token?: string;
}

/** --url and --token, with their environment defaults. */
export const adminOptions = (cmd: Command) =>
  cmd
    .option('--url <url>', 'the gateway', process.env.PORTCULLIS_URL ?? 'http://127.0.0.1:8080')
    .option('--token <token>', 'admin token (default $PORTCULLIS_ADMIN_TOKEN)');

/** GET `path` of the admin API, or POST `body` to it; an error status is a user error. */
export const adminCall = async (opts: AdminOptions, path: string, body?: unknown) => {
  const token = opts.token ?? process.env.PORTCULLIS_ADMIN_TOKEN;
  if (!token) throw new UserError('an admin token is needed: --token T or PORTCULLIS_ADMIN_TOKEN');
  let res: Response;
  try {
    res = await fetch(new URL(`/admin/api${path}`, opts.url), {
      method: body === undefined ? 'GET' : 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    });
  } catch (e) {
    throw new UserError(`cannot reach ${opts.url}: ${(e as Error).message}`);
  }
  const data = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) throw new UserError(`${res.status}: ${String(data.error ?? res.statusText)}`);
  return data;
};
