import { describe, expect, it } from 'vitest';
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { McpServer } from '@modelcontextprotocol/server';
import { closeSchema, defineTool, runProgram, type OperationRecord } from './index.js';

async function pair(ops: OperationRecord[]) {
  const server = new McpServer({ name: 'kit-test', version: '1.0.0' });
  defineTool(
    server,
    {
      name: 'transfer',
      description: 'Move an amount.',
      inputSchema: {
        type: 'object',
        properties: {
          amount: { type: 'number', minimum: 1, maximum: 1000 },
          to: {
            type: 'object',
            properties: { account: { type: 'string', pattern: '^[0-9]{8}$' } },
            required: ['account']
          }
        },
        required: ['amount', 'to']
      },
      handler: ({ amount, to }: { amount: number; to: { account: string } }) => ({
        moved: amount,
        to: to.account
      })
    },
    { onOperation: (r) => ops.push(r) }
  );
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(b);
  const client = new Client({ name: 't', version: '1' });
  await client.connect(a);
  return client;
}

describe('defineTool', () => {
  it('returns structured results and logs the operation', async () => {
    const ops: OperationRecord[] = [];
    const client = await pair(ops);
    const r = (await client.callTool({
      name: 'transfer',
      arguments: { amount: 10, to: { account: '12345678' } }
    })) as {
      structuredContent?: unknown;
      isError?: boolean;
    };
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toEqual({ moved: 10, to: '12345678' });
    expect(ops.at(-1)).toMatchObject({ tool: 'transfer', ok: true });
  });

  it.each([
    ['an unknown property', { amount: 10, to: { account: '12345678' }, memo: 'x' }],
    ['an unknown nested property', { amount: 10, to: { account: '12345678', bank: 'x' } }],
    ['an amount out of range', { amount: 5000, to: { account: '12345678' } }],
    ['a malformed account', { amount: 10, to: { account: '123' } }],
    ['a missing field', { amount: 10 }],
    ['a wrong type', { amount: '10', to: { account: '12345678' } }]
  ])('refuses %s', async (_what, args) => {
    const client = await pair([]);
    const r = (await client.callTool({ name: 'transfer', arguments: args })) as { isError?: boolean };
    expect(r.isError).toBe(true);
  });

  it('closes object schemas that do not say otherwise', () => {
    expect(closeSchema({ type: 'object', properties: { a: { type: 'object' } } })).toEqual({
      type: 'object',
      additionalProperties: false,
      properties: { a: { type: 'object', additionalProperties: false } }
    });
    expect(closeSchema({ type: 'object', additionalProperties: true })).toEqual({
      type: 'object',
      additionalProperties: true
    });
  });
});

describe('runProgram', () => {
  it('passes arguments as they are: a shell never sees them', async () => {
    const r = await runProgram('printf', ['%s|', '; echo pwned', '$(id)', '`id`']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('; echo pwned|$(id)|`id`|');
  });

  it('refuses shell-looking program names and NUL bytes', async () => {
    await expect(runProgram('ls; rm -rf /', [])).rejects.toThrow(/not a program name/);
    await expect(runProgram('ls', ['a\0b'])).rejects.toThrow(/NUL/);
  });

  it('gives the program only PATH unless told otherwise, and reports its exit code', async () => {
    process.env.PORTCULLIS_KIT_SECRET = 'x';
    const r = await runProgram('env', []);
    expect(r.stdout).not.toContain('PORTCULLIS_KIT_SECRET');
    expect(r.stdout).toContain('PATH=');
    delete process.env.PORTCULLIS_KIT_SECRET;
    expect((await runProgram('false', [])).code).toBe(1);
  });

  it('stops a program that runs past its timeout', async () => {
    await expect(runProgram('sleep', ['5'], { timeoutMs: 200 })).rejects.toThrow();
  });
});
