/** Formatting helpers: times, durations, numbers and JSON. */

const pad = (n) => String(n).padStart(2, '0');

export function parseTime(value) {
  if (value === undefined || value === null || value === '') return NaN;
  const t = typeof value === 'number' ? value : Date.parse(value);
  return Number.isFinite(t) ? t : NaN;
}

/** 14:03:27 (local time). */
export function clock(value) {
  const t = parseTime(value);
  if (Number.isNaN(t)) return '—';
  const d = new Date(t);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** 2026-11-25 14:03:27 (local time). */
export function dateTime(value) {
  const t = parseTime(value);
  if (Number.isNaN(t)) return '—';
  const d = new Date(t);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(t)}`;
}

/** 0:42, 4:05, 1:02:03 for a span of milliseconds (never negative). */
export function countdown(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  return h > 0 ? `${h}:${pad(m)}:${pad(sec)}` : `${m}:${pad(sec)}`;
}

/** 12s, 4m 05s, 3h 12m, 2d 4h. */
export function duration(ms) {
  if (!Number.isFinite(ms)) return '—';
  const total = Math.max(0, Math.floor(ms / 1000));
  if (total < 60) return `${total}s`;
  const m = Math.floor(total / 60);
  if (m < 60) return `${m}m ${pad(total % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${pad(m % 60)}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** "12s ago", "4m 05s ago". */
export function ago(value, now = Date.now()) {
  const t = parseTime(value);
  if (Number.isNaN(t)) return '—';
  return `${duration(now - t)} ago`;
}

const numberFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
export function num(value) {
  if (value === undefined || value === null || value === '') return '—';
  const n = Number(value);
  return Number.isFinite(n) ? numberFormat.format(n) : String(value);
}

export function pretty(value) {
  if (value === undefined) return '';
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

/** One-line JSON, cut to `max` characters. */
export function compact(value, max = 80) {
  if (value === undefined || value === null) return '';
  let text;
  try {
    text = JSON.stringify(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function shortHash(value, n = 12) {
  if (!value) return '—';
  const text = String(value);
  return text.length > n ? text.slice(0, n) : text;
}

/** A short label for a session id: a UUID's first block, or the id itself when short. */
export function sessionLabel(id) {
  if (!id) return '—';
  const text = String(id);
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-/i.test(text)) return text.slice(0, 8);
  return text.length > 18 ? `${text.slice(0, 16)}…` : text;
}

/** A YAML-like rendering of plain JSON data, for reading rules. */
export function yamlish(value) {
  return yamlLines(value, 0).join('\n');
}

const isInline = (v) =>
  v === null ||
  typeof v !== 'object' ||
  (Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object')) ||
  Object.keys(v).length === 0;

function inline(v) {
  if (Array.isArray(v)) return `[${v.map(scalar).join(', ')}]`;
  if (v && typeof v === 'object') return '{}';
  return scalar(v);
}

function yamlLines(value, indent) {
  const pad = '  '.repeat(indent);
  if (isInline(value)) return [pad + inline(value)];
  if (Array.isArray(value)) {
    return value.flatMap((item) => {
      const inner = yamlLines(item, indent + 1);
      inner[0] = `${pad}- ${inner[0].trimStart()}`;
      return inner;
    });
  }
  return Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .flatMap(([k, v]) => {
      const key = /^[A-Za-z_][\w.-]*$/.test(k) ? k : JSON.stringify(k);
      if (isInline(v)) return [`${pad}${key}: ${inline(v)}`];
      return [`${pad}${key}:`, ...yamlLines(v, indent + 1)];
    });
}

function scalar(v) {
  if (typeof v === 'string') {
    const plain =
      /^[A-Za-z_/.][\w ./@*:-]*$/.test(v) &&
      !/^(true|false|null|yes|no|on|off)$/i.test(v) &&
      !/[: ]$/.test(v) &&
      !v.includes(': ');
    return plain ? v : JSON.stringify(v);
  }
  return JSON.stringify(v);
}
