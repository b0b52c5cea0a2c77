import { describe, expect, it } from 'vitest';
import { prettyLine } from './log.js';

describe('readable log lines', () => {
  const time = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

  it('show the time, the level and the message, then the fields; the process id is left out', () => {
    const line = JSON.stringify({
      level: 40,
      time,
      pid: 7,
      msg: 'upstream exited',
      server: 'files',
      code: 1
    });
    expect(prettyLine(line)).toBe('03:04:05.678 WARN  upstream exited server=files code=1\n');
  });

  it('quote a value that is not one word, and write objects as JSON', () => {
    const line = JSON.stringify({
      level: 30,
      time,
      msg: 'call denied',
      reason: 'no rule allows it',
      roles: ['a']
    });
    expect(prettyLine(line)).toBe('03:04:05.678 INFO  call denied reason="no rule allows it" roles=["a"]\n');
  });

  it('colour the level on a terminal only', () => {
    const line = JSON.stringify({ level: 50, time, msg: 'boom' });
    expect(prettyLine(line, true)).toContain('\u001b[31mERROR\u001b[39m');
    expect(prettyLine(line, false)).not.toContain('\u001b[');
  });

  it('pass a line that is not JSON through as it is', () => {
    expect(prettyLine('not json')).toBe('not json\n');
  });
});
