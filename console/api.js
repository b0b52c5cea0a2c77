/**
 * The Admin API client. The token lives in sessionStorage only (gone when the tab closes); every
 * request carries it as a bearer token. The event stream is read with fetch, because EventSource
 * cannot send an Authorization header, and parsed here as text/event-stream.
 */

// Browser globals, named here so linting with the repository's Node globals still works.
const { TextDecoderStream, URLSearchParams } = globalThis;

export const API = '/admin/api';
const KEY = 'portcullis.console.token';

let unauthorizedHandler = () => {};

export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

export function getToken() {
  try {
    return globalThis.sessionStorage.getItem(KEY) ?? '';
  } catch {
    return '';
  }
}

export function setToken(token) {
  try {
    if (token) globalThis.sessionStorage.setItem(KEY, token);
    else globalThis.sessionStorage.removeItem(KEY);
  } catch {
    /* storage disabled: the session lasts until reload */
  }
}

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

/** The most useful human message in an error body, whatever its shape. */
export function errorMessage(body, fallback) {
  if (!body) return fallback;
  if (typeof body === 'string') return body || fallback;
  const e = body.error;
  if (typeof e === 'string') return body.message ? `${body.message}` : e;
  if (e && typeof e === 'object') return e.message || e.code || fallback;
  return body.message || body.reason || fallback;
}

const STATUS_TEXT = {
  400: 'bad request',
  401: 'not signed in',
  403: 'forbidden',
  404: 'not found',
  409: 'conflict',
  429: 'too many requests',
  500: 'server error',
  503: 'unavailable'
};

/**
 * Call the API. Resolves with the parsed JSON; throws ApiError for a non-2xx answer. A 401 also
 * calls the unauthorized handler (the console returns to sign-in), unless `quiet401` is set.
 */
export async function api(path, { method = 'GET', body, signal, token = getToken(), quiet401 = false } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, signal, cache: 'no-store', credentials: 'omit' };
  if (method !== 'GET' && method !== 'HEAD') {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body ?? {});
  }
  let res;
  try {
    res = await fetch(API + path, init);
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'The gateway cannot be reached.', undefined);
  }
  const text = await res.text();
  let data;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const message = errorMessage(data, STATUS_TEXT[res.status] ?? `HTTP ${res.status}`);
    const error = new ApiError(res.status, message, data);
    if (res.status === 401 && !quiet401) unauthorizedHandler(error);
    throw error;
  }
  return data;
}

/** Build a query string from an object, skipping empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const text = q.toString();
  return text ? `?${text}` : '';
}

/**
 * Incremental text/event-stream parser. Feed it decoded text; it calls `dispatch(type, data, id)`
 * for every complete event. Handles CRLF, CR and LF line ends split across chunks, comments, and
 * multi-line data.
 */
export function createSseParser(dispatch) {
  let buffer = '';
  let type = '';
  let data = [];
  let id = '';
  const line = (text) => {
    if (text === '') {
      if (data.length > 0) dispatch(type || 'message', data.join('\n'), id);
      type = '';
      data = [];
      return;
    }
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
  };
  return {
    push(chunk) {
      buffer += chunk;
      for (;;) {
        const match = /\r\n|\r|\n/.exec(buffer);
        if (!match) break;
        // A lone CR at the very end may be the first half of a CRLF: wait for more.
        if (match[0] === '\r' && match.index === buffer.length - 1) break;
        line(buffer.slice(0, match.index));
        buffer = buffer.slice(match.index + match[0].length);
      }
    }
  };
}

/**
 * Keep a live connection to GET /admin/api/events. Calls `onEvent(type, payload)` for each event
 * and `onState('connecting' | 'live' | 'offline')`. Reconnects with backoff. Returns `stop()`.
 */
export function openEventStream({ onEvent, onState }) {
  let stopped = false;
  let controller;
  let timer;
  let delay = 1000;

  const connect = async () => {
    if (stopped) return;
    controller = new AbortController();
    onState('connecting');
    try {
      const res = await fetch(`${API}/events`, {
        headers: { Authorization: `Bearer ${getToken()}`, Accept: 'text/event-stream' },
        signal: controller.signal,
        cache: 'no-store',
        credentials: 'omit'
      });
      if (res.status === 401) {
        unauthorizedHandler(new ApiError(401, 'not signed in'));
        return;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      onState('live');
      delay = 1000;
      const parser = createSseParser((type, text) => {
        let payload = text;
        try {
          payload = JSON.parse(text);
        } catch {
          /* not JSON: pass the text */
        }
        onEvent(type, payload);
      });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.push(value);
      }
    } catch (err) {
      if (stopped || (err && err.name === 'AbortError')) return;
    }
    if (stopped) return;
    onState('offline');
    timer = setTimeout(connect, delay);
    delay = Math.min(delay * 2, 15000);
  };

  connect();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      controller?.abort();
    }
  };
}
