/**
 * `portcullis demo` leaves nothing behind: its temporary folder (data, audit log, pins) is removed
 * when it stops on SIGTERM or SIGINT. The built CLI (`npm run build` first), a real process.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, NODE, waitFor } from '../helpers.js';

const started: Array<ReturnType<typeof spawn>> = [];
afterEach(() => {
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

describe('portcullis demo on exit', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`removes its temporary folder on ${signal}`, async () => {
      const child = spawn(NODE, [CLI, 'demo', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
      started.push(child);
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(() => out.includes('Press Ctrl-C'), 30_000, 'the demo banner');
      const data = /data folder: (\S+)/.exec(out)?.[1];
      const audit = /audit log:\s+(\S+)/.exec(out)?.[1];
      expect(data && audit).toBeTruthy();
      const work = dirname(data!);
      expect(dirname(audit!)).toBe(work);
      expect(existsSync(work)).toBe(true);

      const exited = once(child, 'exit');
      child.kill(signal);
      const [code] = (await exited) as [number | null];
      expect(code).toBe(0);
      expect(existsSync(work)).toBe(false);
    });
  }
});
