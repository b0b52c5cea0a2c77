/**
 * Rule conditions, each compiled once into a closure: time windows (with time zones), session
 * history (what this session, or every session of the identity, called before), identity attributes, argument comparisons, and a CEL
 * expression for the rare case the YAML cannot say. A rule applies to a call only when every one
 * of its conditions holds. A condition that cannot be evaluated (a CEL error) is reported as an
 * error, and the engine treats it the fail-closed way: the rule grants nothing but still restricts.
 */
import { parse as parseCel } from '@marcbachmann/cel-js';
import type { RuleConfig } from '../config/types.js';
import { canonicalJson } from '../audit/canonical.js';
import { compileGlob, type Glob } from './glob.js';

/** One prior call in the session, oldest first. */
export interface CallRecordView {
  server: string;
  tool: string;
  at: number;
}

export interface ConditionInput {
  roles: readonly string[];
  server: string;
  tool: string;
  args: Record<string, unknown>;
  identity?: { id: string; agent?: string; method?: string; claims?: Record<string, unknown> };
  now: number;
  history: readonly CallRecordView[];
  /** Earlier calls of every session of the identity, oldest first (`after` with `scope: identity`). */
  identityHistory: readonly CallRecordView[];
  risk: number;
}

type ConditionResult = true | false | Error;

export interface Condition {
  kind: 'time' | 'after' | 'principal' | 'where' | 'when';
  test(input: ConditionInput): ConditionResult;
  /** A short description for explanations. */
  text: string;
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** `90s`, `15m`, `12h`, `7d` in milliseconds; undefined if not a duration. */
export function durationMs(text: string): number | undefined {
  const m = /^(\d+)\s*(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    m[2] as 'ms' | 's' | 'm' | 'h' | 'd'
  ];
  return Number(m[1]) * unit;
}

function minutesOf(hhmm: string): number | undefined {
  const m = /^([01]?\d|2[0-4]):([0-5]\d)$/.exec(hhmm.trim());
  if (!m) return undefined;
  const v = Number(m[1]) * 60 + Number(m[2]);
  return v <= 24 * 60 ? v : undefined;
}

/** Local weekday and minute of day in a time zone, cached per zone and minute. */
function localClock(timeZone: string): (now: number) => { day: number; minute: number; date: string } {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    weekday: 'short',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit'
  });
  let cachedMinute = -1;
  let cached = { day: 0, minute: 0, date: '' };
  return (now) => {
    const minuteKey = Math.floor(now / 60_000);
    if (minuteKey === cachedMinute) return cached;
    const parts: Record<string, string> = {};
    for (const p of format.formatToParts(new Date(now))) parts[p.type] = p.value;
    const day = DAYS.indexOf((parts.weekday ?? '').toLowerCase().slice(0, 3) as (typeof DAYS)[number]);
    cached = {
      day,
      minute: Number(parts.hour) * 60 + Number(parts.minute),
      date: `${parts.year}-${parts.month}-${parts.day}`
    };
    cachedMinute = minuteKey;
    return cached;
  };
}

type TimeSpec = NonNullable<RuleConfig['time']>;

const DAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

/** `mon` or `monday` (any case) to 1; anything else is not a day. */
function dayIndex(name: string): number | undefined {
  const n = name.toLowerCase();
  const i = DAY_NAMES.findIndex((full) => n === full || n === full.slice(0, 3));
  return i === -1 ? undefined : i;
}

function hoursOf(text: string): [number, number] | undefined {
  const parts = text.split('-');
  if (parts.length !== 2) return undefined;
  const a = minutesOf(parts[0]!);
  const b = minutesOf(parts[1]!);
  return a === undefined || b === undefined ? undefined : [a, b];
}

function validDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return (
    d.getUTCFullYear() === Number(m[1]) &&
    d.getUTCMonth() === Number(m[2]) - 1 &&
    d.getUTCDate() === Number(m[3])
  );
}

export function timeProblems(spec: TimeSpec): Array<{ path: string[]; message: string }> {
  const problems: Array<{ path: string[]; message: string }> = [];
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: spec.timezone ?? 'UTC' });
  } catch {
    problems.push({ path: ['timezone'], message: `unknown time zone "${spec.timezone}"` });
  }
  for (const d of spec.days ?? []) {
    if (dayIndex(d) === undefined) {
      problems.push({
        path: ['days'],
        message: `unknown day "${d}" (use mon, tue, wed, thu, fri, sat, sun)`
      });
    }
  }
  if (spec.hours !== undefined && hoursOf(spec.hours) === undefined) {
    problems.push({ path: ['hours'], message: 'expected "HH:MM-HH:MM", e.g. "09:00-17:30"' });
  }
  for (const key of ['from', 'until'] as const) {
    const v = spec[key];
    if (v !== undefined && !validDate(v)) {
      problems.push({ path: [key], message: 'expected a calendar date YYYY-MM-DD (in the rule time zone)' });
    }
  }
  return problems;
}

/**
 * A time window: weekdays, hours (`09:00-17:00`; a window that wraps midnight like `22:00-06:00`
 * works too) and a date range, all in the rule's time zone (default UTC), so DST is the zone's.
 */
export function compileTime(spec: TimeSpec): Condition {
  const problems = timeProblems(spec);
  if (problems.length > 0)
    throw new Error(`invalid time window: ${problems.map((p) => p.message).join('; ')}`);
  const clock = localClock(spec.timezone ?? 'UTC');
  const days = spec.days ? new Set(spec.days.map((d) => dayIndex(d)!)) : undefined;
  const [start, end] = spec.hours ? hoursOf(spec.hours)! : [undefined, undefined];
  return {
    kind: 'time',
    text: `time ${[
      spec.days?.join(','),
      spec.hours,
      spec.from && `from ${spec.from}`,
      spec.until && `until ${spec.until}`
    ]
      .filter(Boolean)
      .join(' ')} ${spec.timezone ?? 'UTC'}`,
    test(input) {
      const local = clock(input.now);
      if (spec.from !== undefined && local.date < spec.from) return false;
      if (spec.until !== undefined && local.date > spec.until) return false;
      if (days && !days.has(local.day)) return false;
      if (start !== undefined && end !== undefined) {
        const inside =
          start <= end
            ? local.minute >= start && local.minute < end
            : local.minute >= start || local.minute < end;
        if (!inside) return false;
      }
      return true;
    }
  };
}

/** Matches a call by tool name, or by `server__tool` when the glob names a server. */
function callGlob(source: string): (server: string, tool: string) => boolean {
  const glob: Glob = compileGlob(source);
  return source.includes('__')
    ? (server, tool) => glob.test(`${server}__${tool}`)
    : (_s, tool) => glob.test(tool);
}

type AfterSpec = NonNullable<RuleConfig['after']>;

/**
 * Session history: the rule applies when this session already called a matching tool — at least
 * `min_count` times (default 1), among its last `within_calls` calls and/or within `within`. With
 * `scope: identity` the calls are those of every session of the identity, so a new session does
 * not start a forbidden sequence afresh.
 */
export function compileAfter(spec: AfterSpec): Condition {
  const matchers = spec.tools.map(callGlob);
  const windowMs = spec.within !== undefined ? durationMs(spec.within) : undefined;
  if (spec.within !== undefined && windowMs === undefined)
    throw new Error(`invalid duration "${spec.within}"`);
  const min = spec.min_count ?? 1;
  const identity = spec.scope === 'identity';
  return {
    kind: 'after',
    text: `after ${spec.tools.join(', ')}${spec.within_calls ? ` within ${spec.within_calls} calls` : ''}${
      spec.within ? ` within ${spec.within}` : ''
    }${min > 1 ? ` at least ${min} times` : ''}${identity ? ' in any session of the identity' : ''}`,
    test(input) {
      const h = identity ? input.identityHistory : input.history;
      const first = spec.within_calls !== undefined ? Math.max(0, h.length - spec.within_calls) : 0;
      const since = windowMs !== undefined ? input.now - windowMs : -Infinity;
      let seen = 0;
      for (let i = h.length - 1; i >= first; i--) {
        const c = h[i]!;
        if (c.at < since) break;
        if (matchers.some((m) => m(c.server, c.tool)) && ++seen >= min) return true;
      }
      return false;
    }
  };
}

type PrincipalSpec = NonNullable<RuleConfig['principal']>;

/** Identity attributes beyond roles: user and agent globs, how they authenticated, claim values. */
export function compilePrincipal(spec: PrincipalSpec): Condition {
  const users = spec.users?.map(compileGlob);
  const agents = spec.agents?.map(compileGlob);
  const claims = Object.entries(spec.claims ?? {});
  return {
    kind: 'principal',
    text: `principal ${JSON.stringify(spec)}`,
    test(input) {
      const id = input.identity;
      if (users && !(id && users.some((g) => g.test(id.id)))) return false;
      if (agents && !(id?.agent !== undefined && agents.some((g) => g.test(id.agent!)))) return false;
      if (spec.auth && !(id?.method !== undefined && spec.auth.includes(id.method as never))) return false;
      for (const [name, allowed] of claims) {
        const value = id?.claims?.[name];
        const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
        if (!values.some((v) => allowed.includes(String(v)))) return false;
      }
      return true;
    }
  };
}

type WhereSpec = NonNullable<RuleConfig['where']>[number];

function argAt(args: Record<string, unknown>, path: string): unknown {
  let v: unknown = args;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object' || !Object.prototype.hasOwnProperty.call(v, part))
      return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

function same(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function kind(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/**
 * Comparisons on arguments: against a value (`value`) or another argument (`arg2`). An absent
 * argument makes the comparison false. Values of different types (`"5000"` against 1000,
 * `["prod"]` against `"prod"`) cannot be compared, and that fails closed: the rule grants nothing
 * but still restricts, so a deny rule `amount gt 1000` also refuses `amount: "5000"`.
 */
export function compileWhere(spec: WhereSpec): Condition {
  const op = spec.op;
  return {
    kind: 'where',
    text: `where ${spec.arg} ${op} ${spec.arg2 !== undefined ? `args.${spec.arg2}` : JSON.stringify(spec.value)}`,
    test(input) {
      const left = argAt(input.args, spec.arg);
      // Nothing to compare: the condition does not hold.
      if (left === undefined) return false;
      const right = spec.arg2 !== undefined ? argAt(input.args, spec.arg2) : spec.value;
      if (right === undefined) return false;
      const mismatch = () =>
        new Error(`argument "${spec.arg}" is a ${kind(left)}, not comparable with a ${kind(right)}`);
      switch (op) {
        case 'eq':
        case 'ne':
          if (kind(left) !== kind(right)) return mismatch();
          return op === 'eq' ? same(left, right) : !same(left, right);
        case 'in':
        case 'not_in': {
          if (!Array.isArray(right)) return new Error(`"${op}" needs a list`);
          if (right.length > 0 && !right.some((r) => kind(r) === kind(left))) return mismatch();
          const found = right.some((r) => same(left, r));
          return op === 'in' ? found : !found;
        }
        default: {
          const comparable =
            (typeof left === 'number' &&
              typeof right === 'number' &&
              Number.isFinite(left) &&
              Number.isFinite(right)) ||
            (typeof left === 'string' && typeof right === 'string');
          if (!comparable) return mismatch();
          const l = left as number | string;
          const r = right as number | string;
          return op === 'lt' ? l < r : op === 'le' ? l <= r : op === 'gt' ? l > r : l >= r;
        }
      }
    }
  };
}

/** Why a CEL expression cannot be used, or undefined. */
export function celProblem(expression: string): string | undefined {
  try {
    parseCel(expression);
    return undefined;
  } catch (err) {
    return `not a valid CEL expression: ${(err as Error).message.split('\n')[0]}`;
  }
}

/**
 * A CEL expression, parsed once. It sees the same inputs as the YAML conditions: `args`, `tool`,
 * `server`, `identity` (id, roles, agent, auth, claims), `session` (calls, risk) and `time`
 * (hour, minute, weekday 0-6 in UTC, epoch seconds). It must return a boolean.
 */
export function compileCel(expression: string): Condition {
  const program = parseCel(expression);
  return {
    kind: 'when',
    text: `when ${expression}`,
    test(input) {
      const d = new Date(input.now);
      try {
        const out = program({
          args: input.args,
          tool: input.tool,
          server: input.server,
          identity: {
            id: input.identity?.id ?? '',
            roles: [...input.roles],
            agent: input.identity?.agent ?? '',
            auth: input.identity?.method ?? '',
            claims: input.identity?.claims ?? {}
          },
          session: { calls: BigInt(input.history.length), risk: input.risk },
          time: {
            hour: BigInt(d.getUTCHours()),
            minute: BigInt(d.getUTCMinutes()),
            weekday: BigInt(d.getUTCDay()),
            epoch: BigInt(Math.floor(input.now / 1000))
          }
        });
        if (typeof out !== 'boolean') return new Error(`expression returned ${typeof out}, not a boolean`);
        return out;
      } catch (err) {
        return err instanceof Error ? err : new Error(String(err));
      }
    }
  };
}
