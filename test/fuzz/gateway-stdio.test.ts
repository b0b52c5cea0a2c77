/**
 * End-to-end fuzz of `portcullis stdio` (the built CLI, `npm run build` first) in front of the
 * records demo server and the faulty fixture's echo, both behind the tee fixture. Random lines
 * (JSON-RPC-shaped calls with hostile arguments and wrong types, arbitrary JSON, not-JSON, invalid
 * UTF-8, empty lines, CRLF) must only ever produce JSON-RPC responses on stdout, the gateway must
 * stay alive and answer a valid call after every case, and no call the schema or the policy
 * forbids may ever reach an upstream.
 *
 * More runs: FUZZ_E2E_RUNS=5000 npx vitest run test/fuzz/gateway-stdio.test.ts
 *   (or FUZZ_RUNS=100000 npx vitest run test/fuzz, which gives the end-to-end tests 5,000 runs)
 * Replay a failure: FUZZ_SEED=<seed> FUZZ_PATH=<path> npx vitest run test/fuzz/gateway-stdio.test.ts
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, FIXTURES, NODE, RECORDS, TEE, tempDir, tokensYaml } from '../helpers.js';
import {
  CaptureReader,
  FUZZ_RULES,
  e2eRuns,
  hostileArguments,
  hostileString,
  hostileValue,
  isNotification,
  isPlainObject,
  nearValidCall,
  params,
  responseProblem,
  timeoutFor,
  toJsonText,
  violations
} from './support.js';

const FAULTY = join(FIXTURES, 'faulty-server.mjs');
const ARG_KEYS = ['id', 'text', 'level', 'count', 'path', 'extra'];
/** The stdio identity in tokensYaml is an analyst. */
const MAY_CALL = ['get_record', 'list_records', 'echo'];

let configFile: string;
let auditFile: string;
let captures: CaptureReader[];

/** One running `portcullis stdio` with its stdout split into lines. */
class StdioGateway {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: string[] = [];
  stderr = '';
  private partial = Buffer.alloc(0);
  private seq = 0;
  private waiters = new Map<string, (m: Record<string, unknown>) => void>();

  constructor() {
    this.child = spawn(NODE, [CLI, 'stdio', '--config', configFile], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (d: Buffer) => {
      let buf = Buffer.concat([this.partial, d]);
      for (let nl = buf.indexOf(0x0a); nl !== -1; nl = buf.indexOf(0x0a)) {
        const l = buf.subarray(0, nl).toString('utf8');
        this.lines.push(l);
        buf = buf.subarray(nl + 1);
        for (const [id, waiter] of this.waiters) {
          if (!l.includes(id)) continue;
          try {
            const m = JSON.parse(l) as Record<string, unknown>;
            if (m.id === id) waiter(m);
          } catch {
            // Not JSON: the property reports it.
          }
        }
      }
      this.partial = buf;
    });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-20_000);
    });
    this.child.stdin.on('error', () => undefined);
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  write(data: Buffer | string): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.stdin.write(data)) resolve();
      else this.child.stdin.once('drain', () => resolve());
    });
  }

  /** Send a request and wait for the response with its id. */
  call(method: string, params: Record<string, unknown>, ms = 20_000): Promise<Record<string, unknown>> {
    const id = `fuzz-sentinel-${++this.seq}`;
    return this.ask(id, JSON.stringify({ jsonrpc: '2.0', id, method, params }), ms);
  }

  /** Send one raw line carrying request `id` and wait for the response with that id. */
  async ask(id: string, line: string, ms = 20_000): Promise<Record<string, unknown>> {
    const answered = new Promise<Record<string, unknown>>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(id);
        this.child.off('exit', onExit);
      };
      const onExit = (code: number | null, signal: string | null) => {
        done();
        reject(new Error(`gateway exited (${code ?? signal}) before answering ${id}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no response to ${id} within ${ms} ms (alive: ${this.alive})`));
      }, ms);
      this.waiters.set(id, (m) => {
        done();
        resolve(m);
      });
      this.child.once('exit', onExit);
    });
    await this.write(`${line}\n`);
    return answered;
  }

  async initialize(): Promise<void> {
    const r = await this.call('initialize', {
      protocolVersion: '2025-11-25',
      capabilities: {},
      clientInfo: { name: 'fuzz', version: '1' }
    });
    if (!r.result) throw new Error(`initialize failed: ${JSON.stringify(r)}`);
    await this.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
  }

  stop(): Promise<void> {
    if (!this.alive) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.stdin.end();
      setTimeout(() => this.child.kill('SIGKILL'), 5_000).unref();
    });
  }
}

let gateway: StdioGateway | undefined;
let checked = 0;

/** A running, initialised gateway; a fresh one if the last case killed it. */
async function live(): Promise<StdioGateway> {
  if (gateway?.alive) return gateway;
  gateway = new StdioGateway();
  checked = 0;
  await gateway.initialize();
  const ok = await gateway.call('tools/call', { name: 'records__get_record', arguments: { id: 'r-1001' } });
  if (!ok.result) throw new Error(`warm-up call failed: ${JSON.stringify(ok)}`);
  for (const c of captures) c.next();
  return gateway;
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first');
  const dir = tempDir('portcullis-fuzz-stdio-');
  const recordsLog = join(dir, 'records.jsonl');
  const faultyLog = join(dir, 'faulty.jsonl');
  configFile = join(dir, 'portcullis.yaml');
  auditFile = join(dir, 'audit.jsonl');
  writeFileSync(
    configFile,
    `
servers:
  records:
    command: ${NODE}
    args: ["${TEE}", "${recordsLog}", "${NODE}", "${RECORDS}"]
  faulty:
    command: ${NODE}
    args: ["${TEE}", "${faultyLog}", "${NODE}", "${FAULTY}"]
auth:${tokensYaml}
audit: { path: ./audit.jsonl }
${FUZZ_RULES}`
  );
  captures = [new CaptureReader(recordsLog), new CaptureReader(faultyLog)];
  await live();
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
});

// ---------------------------------------------------------------------------------------------
// Generators

const TOOL_NAMES = [
  'records__get_record',
  'records__list_records',
  'records__delete_record',
  'faulty__echo',
  'faulty__pid',
  'faulty__crash',
  'faulty__env',
  'echo',
  'records__',
  '__get_record'
];

const modernMeta = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'fuzz', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {}
};

const rpcLine = fc
  .record(
    {
      jsonrpc: fc.oneof(
        { weight: 12, arbitrary: fc.constant<unknown>('2.0') },
        { weight: 1, arbitrary: fc.constantFrom<unknown>('1.0', 2, null) }
      ),
      id: fc.oneof(
        { weight: 6, arbitrary: fc.integer({ min: 0, max: 1_000_000 }) },
        { weight: 2, arbitrary: fc.string({ maxLength: 10 }) },
        { weight: 1, arbitrary: fc.constantFrom<unknown>(null, 1.5, true, {}, [], 2 ** 60) }
      ),
      method: fc.oneof(
        { weight: 10, arbitrary: fc.constant<unknown>('tools/call') },
        {
          weight: 3,
          arbitrary: fc.constantFrom<unknown>(
            'tools/list',
            'initialize',
            'ping',
            'resources/read',
            'prompts/get',
            'completion/complete',
            'notifications/cancelled',
            'logging/setLevel'
          )
        },
        { weight: 1, arbitrary: hostileValue() }
      ),
      call: fc.oneof(
        { weight: 3, arbitrary: nearValidCall },
        {
          weight: 2,
          arbitrary: fc.record({
            name: fc.oneof(
              { weight: 8, arbitrary: fc.constantFrom<unknown>(...TOOL_NAMES) },
              { weight: 1, arbitrary: hostileValue() }
            ),
            arguments: hostileArguments(ARG_KEYS)
          })
        }
      ),
      modern: fc.boolean(),
      paramsOverride: fc.option(hostileValue(), { nil: undefined, freq: 12 })
    },
    { requiredKeys: ['jsonrpc', 'method', 'call', 'modern'] }
  )
  .map((r) => {
    const p =
      r.paramsOverride !== undefined
        ? r.paramsOverride
        : {
            name: r.call.name,
            ...(r.call.arguments !== undefined ? { arguments: r.call.arguments } : {}),
            ...(r.modern ? { _meta: modernMeta } : {})
          };
    return toJsonText({
      jsonrpc: r.jsonrpc,
      ...(r.id !== undefined ? { id: r.id } : {}),
      method: r.method,
      params: p
    });
  });

const line = fc
  .tuple(
    fc.oneof(
      { weight: 10, arbitrary: rpcLine.map((s) => Buffer.from(s)) },
      { weight: 2, arbitrary: hostileValue().map((v) => Buffer.from(toJsonText(v))) },
      { weight: 2, arbitrary: hostileString.map((s) => Buffer.from(s.replace(/\n/g, ' '))) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(rpcLine, fc.nat(), fc.constantFrom([0xff], [0xc0, 0x80], [0x80], [0xe2, 0x82]))
          .map(([s, at, bad]) => {
            const i = at % (s.length + 1);
            return Buffer.concat([
              Buffer.from(s.slice(0, i)),
              Buffer.from(bad),
              Buffer.from(s.slice(i))
            ]).filter((b) => b !== 0x0a);
          })
          .map((b) => Buffer.from(b))
      },
      { weight: 1, arbitrary: fc.constantFrom('', ' ', '\t').map((s) => Buffer.from(s)) }
    ),
    fc.constantFrom('\n', '\n', '\r\n')
  )
  .map(([bytes, eol]) => Buffer.concat([bytes, Buffer.from(eol)]));

// ---------------------------------------------------------------------------------------------
// The property

async function runCase(lines: Buffer[], cuts: number[]): Promise<void> {
  const gw = await live();
  // Write the lines as one stream cut at arbitrary points.
  const data = Buffer.concat(lines);
  const points = [...new Set(cuts.map((c) => Math.floor(c * data.length)))]
    .filter((p) => p > 0 && p < data.length)
    .sort((a, b) => a - b);
  let start = 0;
  for (const p of [...points, data.length]) {
    await gw.write(data.subarray(start, p));
    start = p;
  }

  // Still serving: a valid call goes through after whatever came before.
  const sentinel = await gw.call('tools/call', { name: 'records__get_record', arguments: { id: 'r-1001' } });
  expect(sentinel.result, JSON.stringify(sentinel).slice(0, 500)).toBeTruthy();
  expect(gw.alive).toBe(true);

  // stdout carried only JSON-RPC responses (and notifications).
  for (; checked < gw.lines.length; checked++) {
    const l = gw.lines[checked]!;
    let m: unknown;
    expect(() => (m = JSON.parse(l)), `stdout line is not JSON: ${l.slice(0, 300)}`).not.toThrow();
    const problem = isNotification(m) ? undefined : responseProblem(m);
    expect(problem, `stdout line is not a JSON-RPC response: ${l.slice(0, 300)}`).toBeUndefined();
  }

  // Nothing the schema or the policy forbids reached an upstream.
  const got = captures.flatMap((c) => c.next());
  expect(violations(got)).toStrictEqual([]);
  for (const { raw, message } of got) {
    const m = message as { method?: string; params?: { name?: string } };
    if (m.method === 'tools/call') expect(MAY_CALL, raw.slice(0, 300)).toContain(m.params?.name);
  }
}

const runs = e2eRuns(100);

describe('portcullis stdio (fuzz)', () => {
  it(
    'writes only JSON-RPC responses, keeps serving, and forwards nothing forbidden',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(line, { minLength: 1, maxLength: 6 }),
          fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
          async (lines, cuts) => {
            try {
              await runCase(lines, cuts);
            } catch (err) {
              const stderr = gateway?.stderr.split('\n').slice(-8).join('\n') ?? '';
              throw new Error(`${(err as Error).message}\n--- gateway stderr (tail) ---\n${stderr}`);
            }
          }
        ),
        params(runs)
      );
    },
    timeoutFor(runs, 200, 60_000)
  );

  it(
    'leaves exactly one audit record for every tools/call it does not refuse as an invalid request',
    async () => {
      // README: "every call ends in one audit record" - allowed, denied or failed. A message the
      // transport refuses as an Invalid Request (-32600, e.g. nested past the bound) is not a call:
      // then it must not have reached an upstream either.
      const callRecords = () =>
        existsSync(auditFile)
          ? readFileSync(auditFile, 'utf8')
              .split('\n')
              .filter((l) => l.includes('"event":"tools/call"')).length
          : 0;
      // A fresh gateway: calls the previous test left in flight must not land in this count.
      await gateway?.stop();
      gateway = undefined;
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            nearValidCall,
            fc.record({
              name: fc.constantFrom(...TOOL_NAMES),
              arguments: hostileArguments(ARG_KEYS).filter(isPlainObject)
            })
          ),
          async (call) => {
            const gw = await live();
            const before = callRecords();
            const id = `fuzz-audit-${Math.random().toString(36).slice(2)}`;
            const text = toJsonText({ jsonrpc: '2.0', id, method: 'tools/call', params: call });
            const answer = (await gw.ask(id, text)) as { error?: { code: number } };
            const forwarded = captures
              .flatMap((c) => c.next())
              .filter(({ message }) => (message as { method?: string }).method === 'tools/call');
            const shown = JSON.stringify(answer).slice(0, 300);
            if (answer.error?.code === -32600) {
              expect(forwarded, `refused as invalid, yet forwarded: ${shown}`).toStrictEqual([]);
              expect(callRecords() - before).toBe(0);
            } else {
              expect(callRecords() - before, `audit records for ${shown}`).toBe(1);
            }
          }
        ),
        params(e2eRuns(60))
      );
    },
    timeoutFor(e2eRuns(60), 300, 60_000)
  );

  const ask = (gw: StdioGateway, id: string, line: string) =>
    gw.ask(id, line) as Promise<{ result?: unknown; error?: { code: number } }>;
  const auditLines = (marker: string) =>
    readFileSync(auditFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes(marker)).length;
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

  // Under the nesting bound a call is decided (here a constraint refuses it) and audited exactly
  // once; past it, the message is refused as invalid before any decision: never forwarded, and not
  // a call to audit.
  it.each([
    ['just under the nesting bound', 95, 'decided'],
    ['1,500 levels deep', 1500, 'invalid'],
    ['20,000 levels deep', 20_000, 'invalid']
  ] as const)(
    'never runs an allowed call it does not audit: arguments nested %s',
    async (_what, depth, outcome) => {
      const gw = await live();
      const marker = `executed-${depth}-${Date.now()}`;
      const answer = await ask(
        gw,
        `fuzz-deep-allowed-${depth}`,
        `{"jsonrpc":"2.0","id":"fuzz-deep-allowed-${depth}","method":"tools/call","params":{"name":"faulty__echo","arguments":{"text":"${marker}","x":${deep(depth)}}}}`
      );
      const upstreamGotIt = captures.flatMap((c) => c.next()).some(({ raw }) => raw.includes(marker));
      const shown = `upstream executed it: ${upstreamGotIt}; answer: ${JSON.stringify(answer).slice(0, 200)}`;
      if (outcome === 'invalid') {
        expect(answer.error?.code, shown).toBe(-32600);
        expect(upstreamGotIt, shown).toBe(false);
        expect(auditLines(marker), shown).toBe(0);
      } else {
        expect(answer.error?.code, shown).not.toBe(-32600);
        expect(auditLines(marker), shown).toBe(1);
      }
    }
  );

  it('refuses a denied call nested 5,000 levels deep without forwarding it, and audits it if it was decided', async () => {
    const gw = await live();
    const marker = `denied-${Date.now()}`;
    const answer = await ask(
      gw,
      'fuzz-deep-denied',
      `{"jsonrpc":"2.0","id":"fuzz-deep-denied","method":"tools/call","params":{"name":"records__delete_record","arguments":{"id":"${marker}","x":${deep(5000)}}}}`
    );
    const upstreamGotIt = captures.flatMap((c) => c.next()).some(({ raw }) => raw.includes(marker));
    expect(upstreamGotIt).toBe(false);
    expect(answer.error, JSON.stringify(answer)).toBeDefined();
    // Refused by the transport (-32600) or by the policy (-32051, then on record).
    if (answer.error?.code !== -32600) {
      expect(answer.error?.code).toBe(-32051);
      expect(auditLines(marker)).toBe(1);
    }
  });
});
