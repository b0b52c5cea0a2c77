/**
 * A real redis-server for tests, on a free loopback port, with no persistence. `stop` and `start`
 * take it away and bring it back on the same port (outage tests).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, tempDir, waitFor } from '../helpers.js';

export interface TestRedis {
  url: string;
  port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const dir = tempDir('portcullis-redis-');
  let child: ChildProcess | undefined;
  const redis: TestRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      const proc = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
        { stdio: ['ignore', 'pipe', 'pipe'] }
      );
      child = proc;
      let out = '';
      proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      await Promise.race([
        waitFor(() => out.includes('Ready to accept connections'), 15_000, `redis-server on ${port}`),
        exited.then(() => {
          throw new Error(`redis-server exited: ${out}`);
        })
      ]);
    },
    async stop() {
      const proc = child;
      child = undefined;
      if (!proc || proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    }
  };
  await redis.start();
  return redis;
}
