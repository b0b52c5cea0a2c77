/**
 * The peer over a real 2025-era connection: what an upstream sends during a call reaches the agent,
 * and a request the agent never declared it can answer is refused instead of relayed.
 */
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { ProtocolError, Server } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it } from 'vitest';
import { createPeer, serverChannel } from './peer.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close().catch(() => undefined);
});

async function connect(declareSampling: boolean) {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const server = new Server(
    { name: 'peer-test', version: '1.0.0' },
    { capabilities: { tools: {}, logging: {} } }
  );
  const client = new Client(
    { name: 'agent', version: '1.0.0' },
    { capabilities: declareSampling ? { sampling: {} } : {} }
  );
  const logged: unknown[] = [];
  client.setNotificationHandler('notifications/message', (n) => void logged.push(n.params));
  if (declareSampling) {
    client.setRequestHandler('sampling/createMessage', async () => ({
      role: 'assistant',
      content: { type: 'text', text: 'sampled' },
      model: 'm'
    }));
  }
  await server.connect(serverSide);
  await client.connect(clientSide);
  closers.push(() => client.close());
  return { server, logged };
}

describe('createPeer', () => {
  it('relays log messages and requests to an agent that declared it can answer them', async () => {
    const { server, logged } = await connect(true);
    const peer = createPeer(server, serverChannel(server));
    peer.notify('notifications/message', { level: 'info', data: 'from upstream', logger: 'u' });
    const answer = await peer.request('sampling/createMessage', {
      messages: [{ role: 'user', content: { type: 'text', text: 'hi' } }],
      maxTokens: 5
    });
    expect(answer).toMatchObject({ content: { type: 'text', text: 'sampled' } });
    expect(logged).toEqual([{ level: 'info', data: 'from upstream', logger: 'u' }]);
  });

  it('refuses a request the agent never declared it can answer', async () => {
    const { server } = await connect(false);
    const peer = createPeer(server, serverChannel(server));
    const err = await peer
      .request('sampling/createMessage', { messages: [], maxTokens: 5 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as Error).message).toContain('the agent did not declare the sampling capability');
    await expect(peer.request('elicitation/create', { message: 'm' })).rejects.toThrow(
      'the agent did not declare the elicitation capability'
    );
  });
});
