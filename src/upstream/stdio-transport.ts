/**
 * The client side of a stdio upstream: spawns the server as a child process with exactly the
 * environment the config gives it (plus PATH, so a command can be found), frames JSON-RPC over
 * its pipes with the SDK's own codec, and reaps the child on close.
 *
 * Unlike the SDK's stdio client, nothing of the gateway's own environment reaches the child
 * unless the config names it in `env_passthrough`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  ReadBuffer,
  serializeMessage,
  type JSONRPCMessage,
  type Transport
} from '@modelcontextprotocol/client';
import type { StdioServerConfig } from '../config/types.js';
import { dieWithParent, sandboxed } from './sandbox.js';

const STDERR_TAIL = 4096;
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

function childEnvironment(config: StdioServerConfig, parent: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  if (parent.PATH !== undefined) env.PATH = parent.PATH;
  for (const name of config.env_passthrough) {
    const v = parent[name];
    if (v !== undefined) env[name] = v;
  }
  return { ...env, ...config.env };
}

export class ChildStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private child: ChildProcess | undefined;
  private readonly buffer = new ReadBuffer({ maxBufferSize: MAX_MESSAGE_BYTES });
  private stderrTail = '';
  private closed = false;
  /** Sends waiting for the child's stdin to drain: one listener for all of them. */
  private drainWaiters: Array<() => void> = [];
  /** Called with each line the child writes to stderr. */
  onstderr?: (line: string) => void;
  /** Called once when the child has exited, or could not be started. */
  onexit?: () => void;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;

  /** `orphanProof`: the child is killed when the gateway dies, where the host allows (sandbox.ts). */
  constructor(
    private readonly config: StdioServerConfig,
    private readonly orphanProof = false
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The last bytes the child wrote to stderr, for error messages. */
  get stderr(): string {
    return this.stderrTail;
  }

  start(): Promise<void> {
    if (this.child) throw new Error('transport already started');
    return new Promise((resolve, reject) => {
      let launch;
      try {
        const own = { command: this.config.command, args: this.config.args };
        launch = sandboxed(this.orphanProof ? dieWithParent(own) : own, this.config.sandbox);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
        this.finish();
        return;
      }
      const child = spawn(launch.command, launch.args, {
        env: childEnvironment(this.config, process.env),
        cwd: this.config.cwd,
        stdio: ['pipe', 'pipe', 'pipe'],
        shell: false,
        detached: false
      });
      this.child = child;
      child.once('error', (err) => {
        reject(err);
        this.onerror?.(err);
        this.finish();
      });
      child.once('spawn', () => resolve());
      child.once('close', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        this.finish();
      });
      child.stdout?.on('data', (chunk: Buffer) => {
        try {
          this.buffer.append(chunk);
          for (;;) {
            const msg = this.buffer.readMessage();
            if (msg === null) break;
            this.onmessage?.(msg);
          }
        } catch (err) {
          this.onerror?.(err instanceof Error ? err : new Error(String(err)));
        }
      });
      child.stderr?.setEncoding('utf8');
      let partial = '';
      child.stderr?.on('data', (text: string) => {
        this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL);
        partial += text;
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) this.onstderr?.(line);
      });
      child.stdin?.on('error', (err) => this.onerror?.(err));
      child.stdin?.on('drain', () => {
        const waiters = this.drainWaiters;
        this.drainWaiters = [];
        for (const resolve of waiters) resolve();
      });
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin || this.closed) return Promise.reject(new Error('upstream process is not running'));
    return new Promise((resolve, reject) => {
      const ok = stdin.write(serializeMessage(message), (err) => (err ? reject(err) : undefined));
      if (ok) resolve();
      else this.drainWaiters.push(resolve);
    });
  }

  async close(): Promise<void> {
    const child = this.child;
    if (!child || this.closed) return;
    child.stdin?.end();
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const term = setTimeout(() => child.kill('SIGTERM'), 500);
    const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(term);
    clearTimeout(kill);
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.buffer.clear();
    for (const resolve of this.drainWaiters) resolve();
    this.drainWaiters = [];
    this.onexit?.();
    this.onclose?.();
  }
}
