/**
 * The web console's static files under /admin, served from the package's `console/` folder with
 * the security headers of every admin answer; nothing outside that folder is served.
 */
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail, SECURITY_HEADERS } from './respond.js';

const CONSOLE_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json'
};

export async function serveConsole(res: ServerResponse, url: URL): Promise<void> {
  let rel = url.pathname.slice('/admin'.length);
  if (rel === '' || rel === '/') rel = '/index.html';
  const file = normalize(join(CONSOLE_DIR, rel));
  if (!file.startsWith(CONSOLE_DIR.endsWith(sep) ? CONSOLE_DIR : CONSOLE_DIR + sep))
    return fail(res, 404, 'not found');
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch {
    return fail(res, 404, 'not found');
  }
  res.writeHead(200, {
    'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
    ...SECURITY_HEADERS
  });
  res.end(body);
}
