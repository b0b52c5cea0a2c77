import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseDuration, parsePort, parseTime } from './options.js';
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

describe('parseTime', () => {
  const now = Date.UTC(2026, 4, 10, 12, 0, 0);

  it('reads a duration as that long before now', () => {
    expect(parseTime('90s', now)).toBe(now - 90_000);
    expect(parseTime('30m', now)).toBe(now - 1_800_000);
    expect(parseTime('1h', now)).toBe(now - 3_600_000);
    expect(parseTime('2d', now)).toBe(now - 172_800_000);
    expect(parseTime('1w', now)).toBe(now - 604_800_000);
  });

  it('reads ISO dates and date-times', () => {
    expect(parseTime('2026-05-01', now)).toBe(Date.UTC(2026, 4, 1));
    expect(parseTime('2026-05-01T12:30:00Z', now)).toBe(Date.UTC(2026, 4, 1, 12, 30));
    expect(parseTime('2026-05-01T12:30:00.250+02:00', now)).toBe(Date.UTC(2026, 4, 1, 10, 30, 0, 250));
  });

  it('refuses anything else as a user error', () => {
    for (const text of ['', '1', 'h', '-1h', '1.5h', 'yesterday', '1h30m', '2026-13-45', 'May 1 2026']) {
      expect(() => parseTime(text, now), text).toThrow(UserError);
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
