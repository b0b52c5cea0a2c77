/**
 * Rule conditions at their edges, through decisions where a decision can show them: absent
 * identity parts, arguments that are missing, null or of another type (which fail closed: the rule
 * grants nothing but still restricts), list membership, empty and odd time windows, invalid
 * specs, and what CEL sees when the call carries no identity or history.
 */
import { describe, expect, it } from 'vitest';
import type { RuleConfig } from '../config/types.js';
import {
  celProblem,
  compileAfter,
  compileCel,
  compilePrincipal,
  compileTime,
  compileWhere,
  durationMs,
  timeProblems
} from './conditions.js';
import { compileConstraint, constraintHint } from './constraints.js';
import { compilePolicy, ruleIssues, type PolicyInput } from './index.js';

/** Wednesday 2026-03-18 12:00 UTC. */
const NOON = Date.UTC(2026, 2, 18, 12);

const call = (over: Partial<PolicyInput> = {}): PolicyInput => ({
  roles: ['analyst'],
  server: 'files',
  tool: 't',
  args: {},
  now: NOON,
  ...over
});

const grant: RuleConfig = { id: 'grant', tool: 't', allowed_roles: ['analyst'] };

/** A policy that allows `t` unless the deny rule, under `cond`, applies (or cannot be evaluated). */
const denyWhen = (cond: Partial<RuleConfig>) =>
  compilePolicy([grant, { id: 'stop', tool: 't', deny: true, ...cond }]);

describe('principal', () => {
  it('a call without an identity meets no principal condition, and breaks nothing', () => {
    for (const principal of [
      { users: ['*'] },
      { agents: ['*'] },
      { auth: ['token' as const] },
      { claims: { org: ['acme'] } }
    ]) {
      const p = compilePolicy([{ tool: 't', allowed_roles: ['analyst'], principal }]);
      expect(p.decide(call()).code).toBe('no_rule');
      expect(denyWhen({ principal }).decide(call()).effect).toBe('allow');
    }
  });

  it('an identity without an agent or auth method meets no agent or auth condition', () => {
    expect(denyWhen({ principal: { agents: ['*'] } }).decide(call({ identity: { id: 'ana' } })).effect).toBe(
      'allow'
    );
    expect(
      denyWhen({ principal: { auth: ['token'] } }).decide(call({ identity: { id: 'ana' } })).effect
    ).toBe('allow');
  });

  it('any of several agent globs will do', () => {
    const p = denyWhen({ principal: { agents: ['claude-*', 'cursor'] } });
    expect(p.decide(call({ identity: { id: 'a', agent: 'cursor' } })).effect).toBe('deny');
    expect(p.decide(call({ identity: { id: 'a', agent: 'claude-code' } })).effect).toBe('deny');
    expect(p.decide(call({ identity: { id: 'a', agent: 'other' } })).effect).toBe('allow');
  });

  it('a claim may be a list; an absent claim meets nothing', () => {
    const p = denyWhen({ principal: { claims: { groups: ['contractors'] } } });
    expect(
      p.decide(call({ identity: { id: 'a', claims: { groups: ['staff', 'contractors'] } } })).effect
    ).toBe('deny');
    expect(p.decide(call({ identity: { id: 'a', claims: { groups: 'contractors' } } })).effect).toBe('deny');
    expect(p.decide(call({ identity: { id: 'a', claims: { groups: ['staff'] } } })).effect).toBe('allow');
    expect(p.decide(call({ identity: { id: 'a', claims: {} } })).effect).toBe('allow');
    expect(p.decide(call({ identity: { id: 'a', claims: { groups: [] } } })).effect).toBe('allow');
  });

  it('an absent claim is not the text "undefined"', () => {
    const p = denyWhen({ principal: { claims: { org: ['undefined', 'null'] } } });
    expect(p.decide(call({ identity: { id: 'a', claims: {} } })).effect).toBe('allow');
    expect(p.decide(call({ identity: { id: 'a' } })).effect).toBe('allow');
    expect(p.decide(call({ identity: { id: 'a', claims: { org: 'null' } } })).effect).toBe('deny');
  });
});

describe('where', () => {
  it('a path through null or a non-object is an absent argument: the condition does not hold', () => {
    const p = denyWhen({ where: [{ arg: 'a.b', op: 'eq', value: 1 }] });
    expect(p.decide(call({ args: { a: null } })).effect).toBe('allow');
    expect(p.decide(call({ args: { a: 5 } })).effect).toBe('allow');
    expect(p.decide(call({ args: { a: 'xb' } })).effect).toBe('allow');
    expect(p.decide(call({ args: { a: { b: 1 } } })).effect).toBe('deny');
  });

  it('a path does not reach into strings', () => {
    const p = denyWhen({ where: [{ arg: 'name.length', op: 'gt', value: 2 }] });
    expect(p.decide(call({ args: { name: 'abcdef' } })).effect).toBe('allow');
    expect(p.decide(call({ args: { name: { length: 3 } } })).effect).toBe('deny');
    const index = denyWhen({ where: [{ arg: 'name.0', op: 'eq', value: 'a' }] });
    expect(index.decide(call({ args: { name: 'abc' } })).effect).toBe('allow');
  });

  it('an absent second argument: the condition does not hold (no error, no restriction)', () => {
    const p = denyWhen({ where: [{ arg: 'a', op: 'eq', arg2: 'b' }] });
    expect(p.decide(call({ args: { a: 1 } })).effect).toBe('allow');
    expect(p.decide(call({ args: { a: 1, b: 1 } })).effect).toBe('deny');
    expect(p.decide(call({ args: { a: 1, b: 2 } })).effect).toBe('allow');
  });

  it('null against an object cannot be compared: a deny rule still refuses', () => {
    const p = denyWhen({ where: [{ arg: 'x', op: 'eq', value: null }] });
    expect(p.decide(call({ args: { x: null } })).effect).toBe('deny');
    expect(p.decide(call({ args: { x: { a: 1 } } })).effect).toBe('deny');
    const { trace } = p.explain(call({ args: { x: { a: 1 } } }));
    expect(trace[1]!.notes[0]).toBe(
      'condition where x eq null could not be evaluated (argument "x" is a object, not comparable with a null): grants nothing, still restricts'
    );
    const lists = denyWhen({ where: [{ arg: 'x', op: 'eq', value: 'prod' }] });
    expect(lists.explain(call({ args: { x: ['prod'] } })).trace[1]!.notes[0]).toBe(
      'condition where x eq "prod" could not be evaluated (argument "x" is a array, not comparable with a string): grants nothing, still restricts'
    );
  });

  it('ordering needs two finite numbers or two strings; anything else fails closed', () => {
    const p = denyWhen({ where: [{ arg: 'amount', op: 'gt', value: 1000 }] });
    expect(p.decide(call({ args: { amount: 5000 } })).effect).toBe('deny');
    expect(p.decide(call({ args: { amount: 10 } })).effect).toBe('allow');
    expect(p.decide(call({ args: { amount: '10' } })).effect).toBe('deny');
    expect(p.decide(call({ args: { amount: true } })).effect).toBe('deny');
    const s = denyWhen({ where: [{ arg: 'name', op: 'lt', value: 'm' }] });
    expect(s.decide(call({ args: { name: 'a' } })).effect).toBe('deny');
    expect(s.decide(call({ args: { name: 'z' } })).effect).toBe('allow');
    expect(s.decide(call({ args: { name: 1 } })).effect).toBe('deny');
    const pair = denyWhen({ where: [{ arg: 'a', op: 'ge', arg2: 'b' }] });
    expect(pair.decide(call({ args: { a: 1, b: 'x' } })).effect).toBe('deny');
    expect(pair.decide(call({ args: { a: 'x', b: 1 } })).effect).toBe('deny');
    expect(pair.decide(call({ args: { a: 1, b: 2 } })).effect).toBe('allow');
  });

  it('in / not_in: an empty list holds nothing; a list with a value of the argument type compares', () => {
    const inEmpty = denyWhen({ where: [{ arg: 'env', op: 'in', value: [] }] });
    expect(inEmpty.decide(call({ args: { env: 'prod' } })).effect).toBe('allow');
    const notInEmpty = denyWhen({ where: [{ arg: 'env', op: 'not_in', value: [] }] });
    expect(notInEmpty.decide(call({ args: { env: 'prod' } })).effect).toBe('deny');
    const mixed = denyWhen({ where: [{ arg: 'env', op: 'in', value: [1, 'prod'] }] });
    expect(mixed.decide(call({ args: { env: 'prod' } })).effect).toBe('deny');
    expect(mixed.decide(call({ args: { env: 'dev' } })).effect).toBe('allow');
    expect(mixed.decide(call({ args: { env: 1 } })).effect).toBe('deny');
    expect(mixed.decide(call({ args: { env: 2 } })).effect).toBe('allow');
    const strings = denyWhen({ where: [{ arg: 'env', op: 'not_in', value: ['dev', 'test'] }] });
    expect(strings.decide(call({ args: { env: 'prod' } })).effect).toBe('deny');
    expect(strings.decide(call({ args: { env: 'dev' } })).effect).toBe('allow');
    // A number against a list of strings cannot be compared: refused either way.
    expect(strings.decide(call({ args: { env: 5 } })).effect).toBe('deny');
    const prod = denyWhen({ where: [{ arg: 'env', op: 'in', value: ['prod', 'staging'] }] });
    expect(prod.decide(call({ args: { env: 1 } })).effect).toBe('deny');
    expect(prod.decide(call({ args: { env: ['prod'] } })).effect).toBe('deny');
    expect(prod.decide(call({ args: { env: 'dev' } })).effect).toBe('allow');
    const onlyIn = compilePolicy([
      { tool: 't', allowed_roles: ['analyst'], where: [{ arg: 'env', op: 'not_in', value: ['prod'] }] }
    ]);
    expect(onlyIn.decide(call({ args: { env: 'dev' } })).effect).toBe('allow');
    expect(onlyIn.decide(call({ args: { env: 7 } })).code).toBe('role_not_allowed');
  });

  it('in against an argument that is not a list fails closed, and says why', () => {
    const p = denyWhen({ where: [{ arg: 'env', op: 'in', arg2: 'allowed' }] });
    expect(p.decide(call({ args: { env: 'a', allowed: ['a', 'b'] } })).effect).toBe('deny');
    expect(p.decide(call({ args: { env: 'c', allowed: ['a', 'b'] } })).effect).toBe('allow');
    expect(p.decide(call({ args: { env: 'a', allowed: 'a' } })).effect).toBe('deny');
    expect(p.explain(call({ args: { env: 'a', allowed: 'a' } })).trace[1]!.notes[0]).toBe(
      'condition where env in args.allowed could not be evaluated ("in" needs a list): grants nothing, still restricts'
    );
  });
});

describe('time', () => {
  it('a window whose start equals its end is empty', () => {
    const p = compilePolicy([{ tool: 't', allowed_roles: ['analyst'], time: { hours: '12:00-12:00' } }]);
    expect(p.decide(call({ now: NOON })).code).toBe('no_rule');
    expect(p.decide(call({ now: NOON - 3_600_000 })).code).toBe('no_rule');
    expect(p.decide(call({ now: NOON + 3_600_000 })).code).toBe('no_rule');
  });

  it('a date range holds from its first day to its last, inclusive', () => {
    const p = compilePolicy([
      { tool: 't', allowed_roles: ['analyst'], time: { from: '2026-03-18', until: '2026-03-18' } }
    ]);
    expect(p.decide(call({ now: Date.UTC(2026, 2, 18, 0, 0) })).effect).toBe('allow');
    expect(p.decide(call({ now: Date.UTC(2026, 2, 18, 23, 59) })).effect).toBe('allow');
    expect(p.decide(call({ now: Date.UTC(2026, 2, 17, 23, 59) })).code).toBe('no_rule');
    expect(p.decide(call({ now: Date.UTC(2026, 2, 19, 0, 0) })).code).toBe('no_rule');
  });

  it('the clock is right from the first decision, whatever the instant', () => {
    // 1970-01-01 was a Thursday; its first minutes are read like any other.
    for (const now of [60_000, 0]) {
      const p = compilePolicy([
        { tool: 't', allowed_roles: ['analyst'], time: { days: ['thu'], hours: '00:00-00:02' } }
      ]);
      expect(p.decide(call({ now })).effect).toBe('allow');
    }
  });

  it('the description names the default zone, UTC', () => {
    expect(compileTime({ hours: '09:00-17:00' })).toMatchObject({
      kind: 'time',
      text: 'time 09:00-17:00 UTC'
    });
    expect(compileTime({ days: ['sat', 'sun'], timezone: 'Asia/Tokyo' }).text).toBe(
      'time sat,sun Asia/Tokyo'
    );
    expect(compileTime({ until: '2026-12-31' }).text).toBe('time until 2026-12-31 UTC');
    expect(compileTime({ from: '2026-01-01' }).text).toBe('time from 2026-01-01 UTC');
  });

  it('an invalid window cannot be compiled, and the error says what is wrong', () => {
    expect(() => compileTime({ hours: '9-5', days: ['someday'] })).toThrow(
      'invalid time window: unknown day "someday" (use mon, tue, wed, thu, fri, sat, sun); expected "HH:MM-HH:MM", e.g. "09:00-17:30"'
    );
  });

  it('hours: surrounding spaces are fine; anything after the minutes is not', () => {
    const problems = (hours: string) => timeProblems({ hours }).map((p) => p.message);
    expect(problems(' 09:00 - 17:00 ')).toEqual([]);
    expect(problems('09:00x-17:00')).toEqual(['expected "HH:MM-HH:MM", e.g. "09:00-17:30"']);
    expect(problems('09:00-17:005')).toEqual(['expected "HH:MM-HH:MM", e.g. "09:00-17:30"']);
    const p = compilePolicy([{ tool: 't', allowed_roles: ['analyst'], time: { hours: ' 11:00 - 13:00 ' } }]);
    expect(p.decide(call()).effect).toBe('allow');
  });

  it.each(['2026-02-30', '2026-13-01', '2025-02-29', '2026-04-31', '2026-00-10', 'x2026-01-01', '2026-1-01'])(
    'from: %s is not a calendar date',
    (from) => {
      expect(timeProblems({ from })).toEqual([
        { path: ['from'], message: 'expected a calendar date YYYY-MM-DD (in the rule time zone)' }
      ]);
    }
  );

  it.each(['2024-02-29', '2026-12-31', '2026-01-01'])('until: %s is a calendar date', (until) => {
    expect(timeProblems({ until })).toEqual([]);
  });
});

describe('after', () => {
  it('durations may carry spaces around them', () => {
    expect(durationMs(' 10m ')).toBe(600_000);
    expect(durationMs('90 s')).toBe(90_000);
    expect(durationMs('10x')).toBeUndefined();
    expect(ruleIssues([{ tool: 't', after: { tools: ['x'], within: ' 10m' } }], [], false)).toEqual([]);
  });

  it('an invalid duration cannot be compiled', () => {
    expect(() => compileAfter({ tools: ['x'], within: 'soon' })).toThrow('invalid duration "soon"');
  });

  it('its description lists the tools, and the count only when above one', () => {
    expect(compileAfter({ tools: ['a', 'b__c'] })).toMatchObject({ kind: 'after', text: 'after a, b__c' });
    expect(compileAfter({ tools: ['a'], min_count: 1 }).text).toBe('after a');
    expect(compileAfter({ tools: ['a'], min_count: 3 }).text).toBe('after a at least 3 times');
    expect(compileAfter({ tools: ['a'], within: '5m' }).text).toBe('after a within 5m');
    expect(compileAfter({ tools: ['a'], within_calls: 4 }).text).toBe('after a within 4 calls');
  });

  it('without a time window, every earlier call counts, however old', () => {
    const p = denyWhen({ after: { tools: ['read_secret'] } });
    expect(p.decide(call({ history: [{ server: 'v', tool: 'read_secret', at: 0 }] })).effect).toBe('deny');
    expect(p.decide(call({ history: [] })).effect).toBe('allow');
    expect(p.decide(call()).effect).toBe('allow');
  });
});

describe('descriptions', () => {
  it('each condition says what it is', () => {
    expect(compilePrincipal({ users: ['a'] })).toMatchObject({
      kind: 'principal',
      text: 'principal {"users":["a"]}'
    });
    expect(compileWhere({ arg: 'n', op: 'lt', value: 3 })).toMatchObject({
      kind: 'where',
      text: 'where n lt 3'
    });
    expect(compileWhere({ arg: 'n', op: 'lt', arg2: 'm' }).text).toBe('where n lt args.m');
    expect(compileCel('args.n > 1')).toMatchObject({ kind: 'when', text: 'when args.n > 1' });
  });
});

describe('CEL', () => {
  it('a call without identity or history sees empty strings and no calls', () => {
    const holds = (when: string, over: Partial<PolicyInput> = {}) =>
      compilePolicy([{ tool: 't', allowed_roles: ['analyst'], when }]).decide(call(over)).effect;
    expect(holds('identity.id == "" && identity.agent == "" && identity.auth == ""')).toBe('allow');
    expect(holds('size(identity.claims) == 0')).toBe('allow');
    expect(holds('session.calls == 0')).toBe('allow');
    expect(
      holds('identity.agent == "bot" && identity.auth == "oauth" && identity.id == "ana"', {
        identity: { id: 'ana', agent: 'bot', method: 'oauth' }
      })
    ).toBe('allow');
    expect(holds('identity.agent == ""', { identity: { id: 'ana', agent: 'bot' } })).toBe('deny');
  });

  it('an unparsable expression is reported with the parser message', () => {
    const problem = celProblem('args.n >');
    expect(problem).toMatch(/^not a valid CEL expression: \S.{8,}$/);
    expect(problem).not.toContain('\n');
    expect(celProblem('args.n > 1')).toBeUndefined();
  });
});

describe('constraints', () => {
  it('a value given as undefined is missing', () => {
    const check = compileConstraint('path', { prefix: '/data/' });
    expect(check({ path: undefined })).toBe('parameter "path" is missing');
    expect(check({})).toBe('parameter "path" is missing');
    expect(
      compileConstraint('path', { prefix: '/data/', optional: true })({ path: undefined })
    ).toBeUndefined();
  });

  it('min and max need a finite number', () => {
    const check = compileConstraint('n', { min: 0, max: 10 });
    expect(check({ n: 5 })).toBeUndefined();
    expect(check({ n: '5' })).toBe('parameter "n" is not a number');
    expect(check({ n: Number.NaN })).toBe('parameter "n" is not a number');
    expect(check({ n: Number.POSITIVE_INFINITY })).toBe('parameter "n" is not a number');
    expect(check({ n: 0 })).toBeUndefined();
    expect(check({ n: 10 })).toBeUndefined();
    expect(check({ n: 11 })).toBe('parameter "n" is above the maximum 10');
    expect(check({ n: -1 })).toBe('parameter "n" is below the minimum 0');
  });

  it('with normalize_path off, the value as sent must still match', () => {
    const check = compileConstraint('p', { pattern: '^/data/', normalize_path: false });
    expect(check({ p: '/data/x' })).toBeUndefined();
    expect(check({ p: '/etc/x' })).toBe('parameter "p" does not match the pattern');
    const prefix = compileConstraint('p', { prefix: '/data/', normalize_path: false });
    expect(prefix({ p: '/etc/x' })).toBe('parameter "p" does not start with the required prefix');
  });

  it('an empty string is judged as sent, not as a path', () => {
    const check = compileConstraint('q', { pattern: '^[a-z]*$' });
    expect(check({ q: '' })).toBeUndefined();
    expect(check({ q: 'abc' })).toBeUndefined();
    expect(check({ q: 'a/b' })).toBe('parameter "q" does not match the pattern');
  });

  it('escapes in a pattern mean the character itself; a class escape means the class', () => {
    const version = compileConstraint('v', { pattern: '^v1\\.' });
    expect(version({ v: 'v1.2' })).toBeUndefined();
    expect(version({ v: 'v12' })).toBe('parameter "v" does not match the pattern');
    const digit = compileConstraint('id', { pattern: '^\\d' });
    expect(digit({ id: '5abc' })).toBeUndefined();
    expect(digit({ id: 'dog' })).toBe('parameter "id" does not match the pattern');
    const any = compileConstraint('x', { pattern: '^.*' });
    expect(any({ x: 'anything' })).toBeUndefined();
    const inner = compileConstraint('x', { pattern: 'a^b' });
    expect(inner({ x: 'b' })).toBe('parameter "x" does not match the pattern');
    const alt = compileConstraint('x', { pattern: '^(ls|pwd)$' });
    expect(alt({ x: 'pwd' })).toBeUndefined();
    expect(alt({ x: 'rm' })).toBe('parameter "x" does not match the pattern');
  });
});

describe('constraint hints', () => {
  it('say which argument and what it must be, never the value, pattern or prefix', () => {
    const cases: Array<[Parameters<typeof compileConstraint>[1], unknown, string]> = [
      [{ prefix: '/data/' }, undefined, 'argument "a" is required'],
      [{ prefix: '/data/' }, [], 'argument "a" must not be an empty list'],
      [{ prefix: '/data/' }, 7, 'argument "a" must be a string'],
      [
        { pattern: '^/secret-pattern/' },
        '/etc/VALUE',
        'argument "a" must match the pattern the policy sets for it'
      ],
      [
        { prefix: '/secret-prefix/' },
        '/etc/VALUE',
        'argument "a" must start with the prefix the policy allows'
      ],
      [{ maxLength: 3 }, 'VALUE', 'argument "a" must be at most 3 characters long'],
      [{ min: 1, max: 10 }, 'VALUE', 'argument "a" must be a number'],
      [{ min: 1.5 }, -7, 'argument "a" must be at least 1.5'],
      [{ max: 10 }, 99, 'argument "a" must be at most 10'],
      [{ enum: ['secret-choice'] }, 'VALUE', 'argument "a" must be one of the values the policy allows']
    ];
    for (const [config, value, expected] of cases) {
      const problem = compileConstraint('a', config)(value === undefined ? {} : { a: value });
      expect(problem, JSON.stringify(config)).toBeDefined();
      const hint = constraintHint(problem!);
      expect(hint).toBe(expected);
      expect(hint).not.toMatch(/VALUE|secret|99|-7/);
    }
  });
});
