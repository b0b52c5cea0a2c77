/**
 * The `fetch` the SDK's HTTP client transports use to reach an HTTP upstream: node:http(s) over a
 * keep-alive agent of the upstream's own, answering with a web `Response` whose body streams the
 * upstream's bytes as they arrive (SSE replies and progress included).
 *
 * The global `fetch` (undici) builds a `Request`, runs the fetch algorithm and tees streams for
 * every call; for one JSON-RPC POST to a known server that is most of the cost of a forwarded call.
 * This covers what the SDK transports send (string or no body, redirects left to the SDK) and hands
 * anything else to the global `fetch`. Like undici: an idle connection is kept 4 s, or up to 1 s
 * before the server's own `Keep-Alive: timeout`; a network failure rejects with
 * `TypeError('fetch failed')` and the cause; an abort rejects with the signal's reason.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

export interface UpstreamFetch {
  fetch: FetchLike;
  /** Drop every kept-alive connection. */
  close(): void;
}

/** Idle keep-alive connections close after this long (undici's default). */
const IDLE_MS = 4000;
/** Statuses whose responses never have a body (a `Response` refuses one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

export function createUpstreamFetch(idleMs = IDLE_MS): UpstreamFetch {
  // `timeout` closes idle kept-alive sockets; on a socket in use it only emits an event nobody acts on.
  const http = new HttpAgent({ keepAlive: true, timeout: idleMs, scheduling: 'lifo', noDelay: true });
  const https = new HttpsAgent({ keepAlive: true, timeout: idleMs, scheduling: 'lifo', noDelay: true });

  const fetchOne: FetchLike = (input, init = {}) => {
    const url = typeof input === 'string' ? new URL(input) : input;
    const body = init.body;
    const simple =
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      init.redirect === 'manual' &&
      (body === undefined || body === null || typeof body === 'string');
    // Anything the SDK transports do not send this way (redirects to follow, streamed bodies).
    if (!simple) return fetch(input, init);
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(signal.reason);

    return new Promise<Response>((resolve, reject) => {
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((value, name) => {
        headers[name] = value;
      });
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(url, {
        method: init.method ?? 'GET',
        headers,
        agent: url.protocol === 'https:' ? https : http
      });
      let settled = false;
      let streamError: ((err: unknown) => void) | undefined;
      const onAbort = () => {
        const reason = signal!.reason;
        req.destroy();
        if (!settled) {
          settled = true;
          reject(reason);
        } else streamError?.(reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);

      req.on('error', (err) => {
        done();
        if (!settled) {
          settled = true;
          reject(new TypeError('fetch failed', { cause: err }));
        } else streamError?.(new TypeError('terminated', { cause: err }));
      });
      req.on('response', (res: IncomingMessage) => {
        try {
          respond(res);
        } catch (err) {
          // A status or reason phrase a `Response` cannot hold.
          req.destroy();
          done();
          settled = true;
          reject(new TypeError('fetch failed', { cause: err }));
        }
      });
      const respond = (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const responseHeaders = new Headers();
        const raw = res.rawHeaders;
        for (let i = 0; i + 1 < raw.length; i += 2) responseHeaders.append(raw[i]!, raw[i + 1]!);
        if (NULL_BODY.has(status) || init.method === 'HEAD') {
          const empty = new Response(null, {
            status,
            statusText: res.statusMessage ?? '',
            headers: responseHeaders
          });
          settled = true;
          res.resume();
          res.once('end', done);
          resolve(empty);
          return;
        }
        let open = true;
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            streamError = (err) => {
              if (!open) return;
              open = false;
              controller.error(err);
            };
            res.on('data', (chunk: Buffer) => {
              if (!open) return;
              controller.enqueue(chunk);
              // Stop reading from the socket while the consumer is behind.
              if ((controller.desiredSize ?? 1) <= 0) res.pause();
            });
            res.once('end', () => {
              done();
              if (!open) return;
              open = false;
              controller.close();
            });
            res.once('close', () => {
              done();
              // Closed before the end: the connection dropped mid-body.
              if (!res.complete) streamError?.(new TypeError('terminated'));
            });
            res.once('error', (err) => streamError?.(new TypeError('terminated', { cause: err })));
          },
          pull() {
            res.resume();
          },
          cancel() {
            open = false;
            done();
            res.destroy();
          }
        });
        const response = new Response(stream, {
          status,
          statusText: res.statusMessage ?? '',
          headers: responseHeaders
        });
        settled = true;
        resolve(response);
      };
      req.end(typeof body === 'string' ? body : undefined);
    });
  };

  return {
    fetch: fetchOne,
    close() {
      http.destroy();
      https.destroy();
    }
  };
}
