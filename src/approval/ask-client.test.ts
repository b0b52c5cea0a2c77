// Asking the person at the caller's own client (`ask_client_roles`): who is asked, what the
// question shows, what each answer does to the held call, and that the question is withdrawn once
// the call is settled. The client here is the gateway's side of it (a Relay); the real exchange
// with an MCP client is in test/e2e/approve-at-client.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { call, carol, person, queueFactory } from '../../test/support/approval.js';
import type { Resolved } from '../core/pipeline.js';
import type { Decision } from '../policy/index.js';
import type { Relay } from '../upstream/index.js';
import { approvalStage } from './index.js';

const { settings, queue, close } = queueFactory({ ask_client_roles: ['analyst'] });
afterEach(close);

interface Asked {
  method: string;
  params: Record<string, unknown>;
  options: { signal?: AbortSignal; timeout?: number } | undefined;
}

/** A client whose person answers with `answer` (or never, when it is undefined). */
function client(answer?: () => unknown): { relay: Relay; asked: Asked[] } {
  const asked: Asked[] = [];
  const relay: Relay = {
    notify: () => undefined,
    request: (method, params, options) => {
      asked.push({ method, params: params ?? {}, options });
      return answer ? Promise.resolve().then(answer) : new Promise(() => undefined);
    }
  };
  return { relay, asked };
}

const bob = person('bob', 'analyst');
const settled = () => new Promise((r) => setTimeout(r, 20));

describe('asking the person at the client', () => {
  it('asks a caller with a listed role, with the call, its arguments and the reason', async () => {
    const { q } = queue();
    const { relay, asked } = client();
    const { held } = q.hold(call({ identity: 'bob', roles: ['analyst'] }), 30_000, undefined, {
      client: relay,
      caller: bob
    });
    expect(asked).toHaveLength(1);
    const [{ method, params, options }] = asked as [Asked];
    expect(method).toBe('elicitation/create');
    expect(params.message).toBe(
      'Portcullis holds a call for your approval.\n' +
        'Tool: records__delete_record\n' +
        'Arguments: {"id":"r-1","tags":[],"filter":{}}\n' +
        'Why it is held: needs approval\n' +
        'Accept to let it run once; decline to refuse it.'
    );
    expect(params.requestedSchema).toEqual({
      type: 'object',
      properties: { note: { type: 'string', title: 'A note for the audit record', maxLength: 500 } }
    });
    // The question lasts as long as the call may wait, and a little more: settling withdraws it.
    expect(options?.timeout).toBe(90_000);
    expect(options?.signal?.aborted).toBe(false);
    expect(held.status).toBe('pending');
  });

  it('shows at most 600 characters of the arguments', () => {
    const { q } = queue();
    const { relay, asked } = client();
    q.hold(call({ arguments: { text: 'x'.repeat(1000) } }), 30_000, undefined, {
      client: relay,
      caller: bob
    });
    const shown = /Arguments: (.*)\n/.exec(String(asked[0]!.params.message))![1]!;
    expect(shown).toBe(`${JSON.stringify({ text: 'x'.repeat(1000) }).slice(0, 600)}…`);
    q.hold(call({ arguments: { text: 'x'.repeat(589) } }), 30_000, undefined, { client: relay, caller: bob });
    // Exactly 600 characters: shown whole.
    expect(String(asked[1]!.params.message)).toContain(`Arguments: {"text":"${'x'.repeat(589)}"}\n`);
  });

  it('does not ask a caller without a listed role, nor without a client', async () => {
    const { q, lines } = queue();
    const { relay, asked } = client(() => ({ action: 'accept' }));
    const { held } = q.hold(call(), 30_000, undefined, {
      client: relay,
      caller: person('bob', 'ops', 'admin')
    });
    const second = q.hold(call(), 30_000).held;
    await settled();
    expect(asked).toHaveLength(0);
    expect(held.status).toBe('pending');
    expect(second.status).toBe('pending');
    expect(lines.some((l) => String(l.msg).includes('client'))).toBe(false);
    // One listed role among others is enough.
    q.hold(call(), 30_000, undefined, { client: relay, caller: person('bob', 'ops', 'analyst') });
    expect(asked).toHaveLength(1);
    // No role is asked unless the setting lists it.
    const { q: none } = queue({ ask_client_roles: undefined });
    none.hold(call(), 30_000, undefined, { client: relay, caller: bob });
    expect(asked).toHaveLength(1);
  });

  it('accepting approves the call as <identity>@client, with the note', async () => {
    const { q } = queue();
    const { relay, asked } = client(() => ({ action: 'accept', content: { note: 'fine by me' } }));
    const { held, done } = q.hold(call(), 30_000, undefined, { client: relay, caller: bob });
    expect(await done).toBe('approved');
    expect(held.decisions).toEqual([
      { by: 'bob@client', decision: 'approve', at: expect.any(String) as string, note: 'fine by me' }
    ]);
    // Settled: the question is withdrawn.
    expect(asked[0]!.options?.signal?.aborted).toBe(true);
  });

  it('accepting without a note, or with a note that is not text, approves with no note', async () => {
    for (const content of [undefined, { note: 42 }]) {
      const { q } = queue();
      const { relay } = client(() => ({ action: 'accept', ...(content ? { content } : {}) }));
      const { held, done } = q.hold(call(), 30_000, undefined, { client: relay, caller: bob });
      expect(await done).toBe('approved');
      expect(held.decisions[0]).not.toHaveProperty('note');
    }
  });

  it('declining denies the call', async () => {
    const { q } = queue();
    const { relay } = client(() => ({ action: 'decline' }));
    const { held, done } = q.hold(call(), 30_000, undefined, { client: relay, caller: bob });
    expect(await done).toBe('denied');
    expect(held.decisions).toMatchObject([{ by: 'bob@client', decision: 'deny' }]);
  });

  it('a dismissed question, or an answer of another shape, leaves the call pending', async () => {
    for (const answer of [{ action: 'cancel' }, { action: 'approve' }, null, undefined]) {
      const { q, lines } = queue();
      const { relay } = client(() => answer);
      const { held } = q.hold(call(), 30_000, undefined, { client: relay, caller: bob });
      await expect
        .poll(() => lines.find((l) => l.msg === 'the client dismissed the approval question'))
        .toMatchObject({
          approval: held.id
        });
      expect(held.status).toBe('pending');
      expect(held.decisions).toEqual([]);
    }
  });

  it('a client that cannot ask leaves the call pending, and says so', async () => {
    const { q, lines } = queue();
    const { relay } = client(() => {
      throw new Error('the agent did not declare the elicitation capability');
    });
    const { held } = q.hold(call(), 30_000, undefined, { client: relay, caller: bob });
    await expect
      .poll(() => lines.find((l) => l.msg === 'the client was not asked, or its answer did not count'))
      .toMatchObject({ approval: held.id, err: 'the agent did not declare the elicitation capability' });
    expect(held.status).toBe('pending');
  });

  it('counts as one approval: with two needed, the call still waits for another person', async () => {
    const { q } = queue({ approvers: 2 });
    const { relay, asked } = client(() => ({ action: 'accept' }));
    const { held, done } = q.hold(call({ required: 2 }), 30_000, undefined, { client: relay, caller: bob });
    await expect.poll(() => held.decisions.length).toBe(1);
    expect(held.status).toBe('pending');
    expect(asked[0]!.options?.signal?.aborted).toBe(false);
    q.decide(held.id, carol, 'approve');
    expect(await done).toBe('approved');
    expect(asked[0]!.options?.signal?.aborted).toBe(true);
  });

  it('a call decided elsewhere withdraws the question, and its late answer changes nothing', async () => {
    const { q, lines } = queue();
    let answer: (value: unknown) => void = () => undefined;
    const asked: Asked[] = [];
    const relay: Relay = {
      notify: () => undefined,
      request: (method, params, options) => {
        asked.push({ method, params: params ?? {}, options });
        return new Promise((resolve, reject) => {
          answer = resolve;
          options?.signal?.addEventListener('abort', () => reject(new Error('cancelled')));
        });
      }
    };
    const { held, done } = q.hold(call(), 30_000, undefined, { client: relay, caller: bob });
    q.decide(held.id, carol, 'deny');
    expect(await done).toBe('denied');
    expect(asked[0]!.options?.signal?.aborted).toBe(true);
    answer({ action: 'accept' });
    await settled();
    expect(held.decisions).toHaveLength(1);
    // Withdrawn on purpose: nothing to report.
    expect(lines.some((l) => l.msg === 'the client was not asked, or its answer did not count')).toBe(false);
  });
});

describe('the approval stage asks through the call’s client', () => {
  const decision = { effect: 'approval', rules: ['rule 1'], reason: 'risky', risk: 4 } as Decision;
  const context = (relay?: Relay) =>
    ({
      decision,
      session: { id: 's-9', identity: bob },
      server: 'records',
      tool: 'delete_record',
      name: 'records__delete_record',
      args: { id: 'r-9' },
      policyVersion: 'v1',
      ...(relay ? { client: relay } : {})
    }) as unknown as Resolved;

  it('an accepted question lets the call run; with no client nobody is asked', async () => {
    const { q } = queue({ timeout_s: 1 });
    const s = approvalStage({
      queue: q,
      settings: settings({ timeout_s: 1 }),
      redecide: () => ({ decision: { ...decision, effect: 'allow' }, version: 'v2' })
    });
    const { relay, asked } = client(() => ({ action: 'accept' }));
    const ctx = context(relay);
    await s.run(ctx);
    expect(ctx.approval).toMatchObject({ status: 'approved', decisions: [{ by: 'bob@client' }] });
    expect(asked[0]!.params.message).toContain('Arguments: {"id":"r-9"}');
    await expect(s.run(context())).rejects.toMatchObject({ code: 'approval_timeout' });
  });
});
