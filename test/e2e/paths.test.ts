/**
 * Path constraints through a running gateway, with the official filesystem server behind it: a
 * symlink out of the allowed tree is refused with `realpath: true` and followed without it, and a
 * server whose `path_style` is windows has every Windows traversal form refused before it is sent.
 * A tee on each upstream's stdin proves what reached it.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import {
  ANALYST_TOKEN,
  FILESYSTEM,
  NODE,
  TEE,
  connect,
  received,
  startGateway,
  tempDir,
  tokensYaml,
  tryCall,
  type TestGateway
} from '../helpers.js';

let gw: TestGateway;
let client: Client;
let root: string;
let allowed: string;
const logs: Record<string, string> = {};

beforeAll(async () => {
  // The filesystem server may read the whole root; the policy narrows each server to allowed/.
  root = tempDir('portcullis-paths-');
  allowed = join(root, 'allowed');
  mkdirSync(allowed);
  mkdirSync(join(root, 'secret'));
  writeFileSync(join(allowed, 'a.txt'), 'allowed contents\n');
  writeFileSync(join(root, 'secret', 'key.txt'), 'secret contents\n');
  symlinkSync('../secret', join(allowed, 'link'));
  symlinkSync('loop-b', join(allowed, 'loop-a'));
  symlinkSync('loop-a', join(allowed, 'loop-b'));
  const server = (name: string, extra = '') => {
    logs[name] = join(root, `${name}.jsonl`);
    return `  ${name}:
    command: ${NODE}
    args: ["${TEE}", "${logs[name]}", "${NODE}", "${FILESYSTEM}", "${root}"]${extra}`;
  };
  gw = await startGateway(`
servers:
${server('strict')}
${server('loose')}
${server('win', '\n    path_style: windows')}
auth:${tokensYaml}
rules:
  - { server: strict, tool: read_text_file, allowed_roles: [analyst],
      parameter_constraints: { path: { prefix: "${allowed}/", realpath: true } } }
  - { server: strict, tool: write_file, allowed_roles: [analyst],
      parameter_constraints: { path: { prefix: "${allowed}/", realpath: true } } }
  - { server: loose, tool: read_text_file, allowed_roles: [analyst],
      parameter_constraints: { path: { prefix: "${allowed}/" } } }
  - { server: win, tool: read_text_file, allowed_roles: [analyst],
      parameter_constraints: { path: { prefix: 'C:\\data\\public\\' } } }
`);
  client = await connect(gw.mcp, ANALYST_TOKEN);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await gw?.close();
});

const callsTo = (server: string) => received(logs[server]!, 'tools/call');
const denialOf = (path: string) =>
  gw
    .audit()
    .find(
      (r) =>
        r.event === 'tools/call' && r.decision === 'deny' && (r.arguments as { path?: string }).path === path
    );

describe.skipIf(process.platform === 'win32')('symlinks', () => {
  it('without realpath, a link out of the allowed tree is followed by the server', async () => {
    const r = await tryCall(client, 'loose__read_text_file', { path: `${allowed}/link/key.txt` });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.result.content?.[0]?.text).toBe('secret contents\n');
  });

  it('with realpath, the same link is refused, the upstream never sees it, the audit says where it led', async () => {
    const path = `${allowed}/link/key.txt`;
    const before = callsTo('strict').length;
    const r = await tryCall(client, 'strict__read_text_file', { path });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe(-32052);
      expect(r.message).not.toContain(root);
    }
    expect(callsTo('strict').length).toBe(before);
    expect(denialOf(path)).toMatchObject({ code: 'constraint_failed', server: 'strict' });
    expect(denialOf(path)?.reason).toContain(
      `resolves to "${root}/secret/key.txt" (symlinks followed), which does not start with the required prefix`
    );
  });

  it('with realpath, a plain file and a new file in the allowed tree are allowed', async () => {
    const read = await tryCall(client, 'strict__read_text_file', { path: `${allowed}/a.txt` });
    expect(read.ok && read.result.content?.[0]?.text).toBe('allowed contents\n');
    const write = await tryCall(client, 'strict__write_file', { path: `${allowed}/new.txt`, content: 'n' });
    expect(write.ok && !write.result.isError).toBe(true);
  });

  it('with realpath, a new file through a link out is refused', async () => {
    const path = `${allowed}/link/planted.txt`;
    const r = await tryCall(client, 'strict__write_file', { path, content: 'x' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe(-32052);
    expect(denialOf(path)?.reason).toContain('does not start with the required prefix');
  });

  it('with realpath, a symlink loop is refused with the reason in the audit', async () => {
    const path = `${allowed}/loop-a`;
    const before = callsTo('strict').length;
    const r = await tryCall(client, 'strict__read_text_file', { path });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe(-32052);
    expect(callsTo('strict').length).toBe(before);
    expect(denialOf(path)?.reason).toContain('symlink loop');
  });
});

describe('a server with path_style: windows', () => {
  it.each(['C:\\data\\public\\a.txt', 'c:/data/public/a.txt'])(
    'sends %j on to the server (the policy allows it)',
    async (path) => {
      const r = await tryCall(client, 'win__read_text_file', { path });
      // The filesystem server runs on this host and answers for itself; the policy let it through.
      if (!r.ok) expect(r.code).not.toBe(-32052);
      expect(callsTo('win').some((m) => (m.params?.arguments as { path?: string }).path === path)).toBe(true);
    }
  );

  it.each([
    'C:\\data\\public\\..\\secret.txt',
    'C:/data/public/../secret.txt',
    'c:\\DATA\\public\\..\\..\\x',
    'C:\\data\\public/..\\secret.txt',
    'C:\\data\\public\\a.txt:stream',
    'C:\\data\\public\\a.txt::$DATA',
    '\\\\?\\C:\\data\\public\\..\\x',
    '\\\\.\\C:\\data\\public\\a.txt',
    'C:\\data\\public\\x.',
    'C:\\data\\public\\.. \\x',
    '\\\\server\\share\\data\\public\\a.txt',
    'C:\\data\\public\\CON',
    'C:\\data\\public\\nul.txt'
  ])('refuses %j before the server sees it', async (path) => {
    const before = callsTo('win').length;
    const r = await tryCall(client, 'win__read_text_file', { path });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe(-32052);
    expect(callsTo('win').length).toBe(before);
    expect(denialOf(path)).toMatchObject({ code: 'constraint_failed', server: 'win' });
  });
});
