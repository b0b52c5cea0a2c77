import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpstreamFetch } from './http-fetch.js';

let server: Server;
let base: string;
const seen: Array<{ method?: string; headers: IncomingMessage['headers']; body: string; port?: number }> = [];
let release: (() => void) | undefined;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method, headers: req.headers, body, port: req.socket.remotePort });
      if (req.url === '/json') {
        res.writeHead(200, { 'Content-Type': 'application/json', 'X-Echo': String(req.headers['x-test']) });
        res.end(body);
      } else if (req.url === '/empty') {
        res.writeHead(204).end();
      } else if (req.url === '/redirect') {
        res.writeHead(307, { Location: '/json' }).end();
      } else if (req.url === '/stream') {
        // One event now, the rest when the test says so: the first must arrive before the end.
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.write('data: one\n\n');
        release = () => res.end('data: two\n\n');
      } else if (req.url === '/hang') {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.write(': open\n\n');
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('upstream fetch', () => {
  it('posts the body and headers as given and reuses one connection', async () => {
    const up = createUpstreamFetch();
    try {
      seen.length = 0;
      for (const n of [1, 2]) {
        const res = await up.fetch(new URL('/json', base), {
          method: 'POST',
          headers: new Headers({ 'content-type': 'application/json', 'x-test': `call-${n}` }),
          body: JSON.stringify({ n }),
          redirect: 'manual'
        });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('application/json');
        expect(res.headers.get('x-echo')).toBe(`call-${n}`);
        expect(await res.json()).toEqual({ n });
      }
      expect(seen.map((s) => s.method)).toEqual(['POST', 'POST']);
      expect(seen[0]!.headers['content-length']).toBe(String('{"n":1}'.length));
      expect(seen[0]!.port).toBe(seen[1]!.port);
    } finally {
      up.close();
    }
  });

  it('streams a body as it arrives', async () => {
    const up = createUpstreamFetch();
    try {
      const res = await up.fetch(`${base}/stream`, { redirect: 'manual' });
      const reader = res.body!.getReader();
      const first = await reader.read();
      expect(Buffer.from(first.value!).toString()).toBe('data: one\n\n');
      release!();
      let rest = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        rest += Buffer.from(value).toString();
      }
      expect(rest).toBe('data: two\n\n');
    } finally {
      up.close();
    }
  });

  it('keeps a quiet stream open past the idle timeout, and closes idle connections', async () => {
    const up = createUpstreamFetch(100);
    try {
      const res = await up.fetch(`${base}/stream`, { redirect: 'manual' });
      const reader = res.body!.getReader();
      await reader.read();
      await new Promise((r) => setTimeout(r, 400));
      release!();
      const { value } = await reader.read();
      expect(Buffer.from(value!).toString()).toBe('data: two\n\n');
      seen.length = 0;
      await (await up.fetch(`${base}/json`, { method: 'POST', body: '1', redirect: 'manual' })).text();
      await new Promise((r) => setTimeout(r, 400));
      await (await up.fetch(`${base}/json`, { method: 'POST', body: '2', redirect: 'manual' })).text();
      expect(seen[0]!.port).not.toBe(seen[1]!.port);
    } finally {
      up.close();
    }
  });

  it('answers statuses without a body, and leaves redirects to the caller', async () => {
    const up = createUpstreamFetch();
    try {
      const empty = await up.fetch(`${base}/empty`, { method: 'POST', body: '{}', redirect: 'manual' });
      expect(empty.status).toBe(204);
      expect(empty.body).toBeNull();
      const moved = await up.fetch(`${base}/redirect`, { redirect: 'manual' });
      expect(moved.status).toBe(307);
      expect(moved.headers.get('location')).toBe('/json');
    } finally {
      up.close();
    }
  });

  it('rejects with the abort reason, before and during a response', async () => {
    const up = createUpstreamFetch();
    try {
      const before = new AbortController();
      before.abort(new Error('stopped early'));
      await expect(up.fetch(`${base}/json`, { redirect: 'manual', signal: before.signal })).rejects.toThrow(
        'stopped early'
      );
      const during = new AbortController();
      const res = await up.fetch(`${base}/hang`, { redirect: 'manual', signal: during.signal });
      const reader = res.body!.getReader();
      await reader.read();
      during.abort(new Error('stopped mid-stream'));
      await expect(reader.read()).rejects.toThrow('stopped mid-stream');
    } finally {
      up.close();
    }
  });

  it('fails like fetch when nothing listens', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const up = createUpstreamFetch();
    try {
      const failure = await up
        .fetch(`http://127.0.0.1:${port}/`, { redirect: 'manual' })
        .catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(TypeError);
      expect((failure as TypeError).message).toBe('fetch failed');
      expect(((failure as TypeError).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    } finally {
      up.close();
    }
  });
});
