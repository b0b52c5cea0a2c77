// Preloaded into a process under measurement (`node --expose-gc --import <this file> ...`): on
// SIGUSR2 it collects garbage and appends `process.memoryUsage()` as one JSON line to the file
// named by MEMORY_PROBE_FILE, so a benchmark can read heap figures from outside without the
// process knowing it is measured. Without MEMORY_PROBE_FILE it does nothing.
import { appendFileSync } from 'node:fs';

const file = process.env.MEMORY_PROBE_FILE;
if (file) {
  process.on('SIGUSR2', () => {
    globalThis.gc?.();
    globalThis.gc?.();
    appendFileSync(file, `${JSON.stringify({ t: Date.now(), ...process.memoryUsage() })}\n`);
  });
}
