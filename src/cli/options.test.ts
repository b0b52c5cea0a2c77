import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseDuration, parsePort } from './options.js';
import { UserError } from './output.js';

describe('parseDuration', () => {
  it('reads seconds, minutes, hours and days', () => {
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('15m')).toBe(900);
    expect(parseDuration(' 12h ')).toBe(43_200);
    expect(parseDuration('30d')).toBe(2_592_000);
  });

  it('refuses anything else as a user error', () => {
    for (const text of ['', '30', 'd', '1.5h', '-1d', '2w', '1h30m']) {
      expect(() => parseDuration(text), text).toThrow(UserError);
    }
  });
});

describe('parsePort', () => {
  it('accepts 0 to 65535', () => {
    expect(parsePort('0')).toBe(0);
    expect(parsePort('8080')).toBe(8080);
    expect(parsePort('65535')).toBe(65535);
  });

  it('refuses other values as a usage error (exit 2)', () => {
    for (const value of ['65536', '-1', '80.5', 'abc']) {
      let thrown: unknown;
      try {
        parsePort(value);
      } catch (e) {
        thrown = e;
      }
      expect(thrown, value).toBeInstanceOf(CommanderError);
      expect((thrown as CommanderError).exitCode).toBe(2);
      expect((thrown as CommanderError).code).toBe('portcullis.port');
    }
  });
});
