// Tests of what an argument refusal tells the agent: which argument and what the tool's schema
// expects, bounded, and never the value that was sent.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError, MAX_HINT_LENGTH } from '../errors.js';
import { createArgumentValidator } from './index.js';

const schema = {
  type: 'object',
  properties: {
    path: { type: 'string', description: 'where' },
    count: { type: 'integer', minimum: 1 },
    mode: { enum: ['r', 'w'] },
    options: {
      type: 'object',
      properties: { depth: { type: 'integer' } },
      required: ['depth'],
      additionalProperties: false
    },
    tags: { type: 'array', items: { type: 'string', pattern: '^[a-z]+$' } },
    labels: { type: 'object', additionalProperties: { type: 'number' } }
  },
  required: ['path'],
  additionalProperties: false
};

const hint = (args: Record<string, unknown>) => createArgumentValidator().check(schema, args)?.hint;

describe('argument refusals', () => {
  it('name a missing argument and what it must be', () => {
    expect(hint({})).toBe('argument "path" is missing; expected a string');
    expect(hint({ path: 'a', options: {} })).toBe('argument "options.depth" is missing; expected an integer');
  });

  it('name a mistyped argument and the type it must have', () => {
    expect(hint({ path: 42 })).toBe('argument "path" must be string');
    expect(hint({ path: 'a', count: 0 })).toBe('argument "count" must be >= 1');
    expect(hint({ path: 'a', mode: 'x' })).toBe('argument "mode" must be one of "r", "w"');
    expect(hint({ path: 'a', tags: ['ok', 'NO'] })).toBe('argument "tags[1]" must match pattern "^[a-z]+$"');
  });

  it('name an extra argument and what the tool accepts', () => {
    expect(hint({ path: 'a', extra: true })).toBe(
      'argument "extra" is not accepted by this tool; accepted: path, count, mode, options, tags, labels'
    );
    expect(hint({ path: 'a', options: { depth: 1, deep: 2 } })).toBe(
      'argument "options" has a property the tool does not accept; accepted: depth'
    );
  });

  it('never repeat a key inside a free-form object: it is data', () => {
    expect(hint({ path: 'a', labels: { 'secret-key-name': 'x' } })).toBe(
      'argument "labels" (in an entry of it) must be number'
    );
  });

  it('keep the detail for the audit record', () => {
    expect(createArgumentValidator().check(schema, { path: 42 })?.detail).toBe(
      'arguments.path must be string'
    );
  });

  it('never carry the value sent, whatever it is', () => {
    const marker = fc.string({ minLength: 6 }).map((s) => `VALUE-${s}`);
    const wrong = fc.oneof(
      marker.map((v) => ({ path: 'a', count: v })),
      marker.map((v) => ({ path: 'a', mode: v })),
      marker.map((v) => ({ path: 'a', tags: [v] })),
      marker.map((v) => ({ path: 'a', options: { depth: v } })),
      marker.map((v) => ({ path: 'a', labels: { [v]: v } })),
      marker.map((v) => ({ path: 'a', options: { depth: 1, [v]: v } }))
    );
    fc.assert(
      fc.property(wrong, (args) => {
        const problem = createArgumentValidator().check(schema, args);
        expect(problem).toBeDefined();
        const message = new GatewayError('invalid_arguments', problem!.detail, { hint: problem!.hint })
          .message;
        expect(message).not.toContain('VALUE-');
        expect(message.startsWith('invalid arguments: ')).toBe(true);
      }),
      { numRuns: 200 }
    );
  });

  it(`are at most ${MAX_HINT_LENGTH} characters`, () => {
    const many = {
      type: 'object',
      properties: { x: { enum: Array.from({ length: 200 }, (_, i) => `v${i}`) } }
    };
    const problem = createArgumentValidator().check(many, { x: 'nope' })!;
    const e = new GatewayError('invalid_arguments', problem.detail, { hint: problem.hint });
    expect(e.hint!.length).toBeLessThanOrEqual(MAX_HINT_LENGTH);
    expect(e.hint!.endsWith('…')).toBe(true);
    expect(e.message).toBe(`invalid arguments: ${e.hint}`);
  });
});
