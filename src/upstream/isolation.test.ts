import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { StdioServerConfig } from '../config/types.js';
import { GatewayError } from '../errors.js';
import { SessionUpstreams } from './isolation.js';
import { ProcessBudget } from './processes.js';

const config: StdioServerConfig = {
  kind: 'stdio',
  command: 'node',
  args: [],
  env: {},
  env_passthrough: [],
  timeout_ms: 1000,
  connect_timeout_ms: 1000,
  trust_annotations: false,
  namespace: true,
  isolation: 'session',
  idle_timeout_ms: 60_000
};

const pool = () =>
  new SessionUpstreams({ s: config }, new ProcessBudget(2), pino({ level: 'silent' }), () => ({}));

describe('session-isolated connections', () => {
  it('are one per session, kept for the session, and never handed to another identity', async () => {
    const p = pool();
    const a1 = p.for({ id: 'one', identity: 'i:token:alice' }, 's');
    expect(p.for({ id: 'one', identity: 'i:token:alice' }, 's')).toBe(a1);
    const a2 = p.for({ id: 'two', identity: 'i:token:alice' }, 's');
    expect(a2).not.toBe(a1);
    expect(a1.key).not.toBe(a2.key);
    expect(() => p.for({ id: 'one', identity: 'i:token:bob' }, 's')).toThrow(
      expect.objectContaining({ code: 'internal' })
    );
    // An ended session's connection is gone: the id opened again gets a new one.
    await p.release('one');
    expect(p.for({ id: 'one', identity: 'i:token:bob' }, 's')).not.toBe(a1);
    await p.close();
    expect(() => p.for({ id: 'three', identity: 'i:token:alice' }, 's')).toThrow(
      expect.objectContaining({ code: 'upstream_unavailable' })
    );
  });
});

describe('the process budget', () => {
  it('refuses past the bound, except a shared server, and takes a slot back once', () => {
    const budget = new ProcessBudget(2);
    const first = budget.take('s', false);
    budget.take('s', false);
    expect(() => budget.take('s', false)).toThrow(GatewayError);
    expect(() => budget.take('s', false)).toThrow(
      expect.objectContaining({ detail: expect.stringMatching(/max_upstream_processes \(2\)/) })
    );
    const shared = budget.take('shared', true);
    expect(budget.count).toBe(3);
    first();
    first();
    shared();
    expect(budget.count).toBe(1);
    budget.take('s', false);
    expect(() => budget.take('s', false)).toThrow(
      expect.objectContaining({ code: 'upstream_processes_full' })
    );
  });
});
