import { describe, expect, it } from 'vitest';
import { scanText } from './index.js';
import { cardNetwork, ibanValid, ssnValid } from './pii.js';
import { luhnValid } from './util.js';

const pii = (text: string) => scanText(text, { injection: false, secrets: false });
const rules = (text: string): string[] => pii(text).map((f) => f.rule);
const spans = (text: string): string[] => pii(text).map((f) => text.slice(f.start, f.end));

describe('email', () => {
  it('finds addresses, including sub-addressing and subdomains', () => {
    expect(spans('mail ada@example.com now')).toEqual(['ada@example.com']);
    expect(spans('<jane.doe+billing@mail.acme.co.uk>')).toEqual(['jane.doe+billing@mail.acme.co.uk']);
    expect(spans('mailto:bob@acme.io.')).toEqual(['bob@acme.io']);
  });
  it('ignores look-alikes', () => {
    for (const t of [
      'assets/icon@2x.png',
      'git clone git@github.com:acme/api.git',
      'npm i @modelcontextprotocol/server-filesystem@2026.8.31',
      'ssh deploy@localhost',
      'image@sha256:abcdef',
      'postgres://app:s3cret@db.internal:5432/app',
      '@@@@',
      'a@b'
    ]) {
      expect(rules(t), t).toEqual([]);
    }
  });
});

describe('payment cards', () => {
  it('checks Luhn and the issuer prefix', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(cardNetwork('4111111111111111')).toBe('Visa');
    expect(cardNetwork('378282246310005')).toBe('American Express');
    expect(cardNetwork('5555555555554444')).toBe('Mastercard');
    expect(cardNetwork('1234567812345670')).toBeUndefined();
  });
  it('finds cards with and without separators', () => {
    expect(spans('card 4111 1111 1111 1111 exp 12/27')).toEqual(['4111 1111 1111 1111']);
    expect(spans('card 4111-1111-1111-1111')).toEqual(['4111-1111-1111-1111']);
    expect(spans('amex 3782 822463 10005')).toEqual(['3782 822463 10005']);
    expect(spans('{"pan":"5555555555554444"}')).toEqual(['5555555555554444']);
    expect(spans('a,6011111111111117,b')).toEqual(['6011111111111117']);
  });
  it('ignores Luhn-invalid numbers, unknown issuers, long digit runs and odd grouping', () => {
    for (const t of [
      'card 4111111111111112',
      'invoice 1234567812345670',
      'id 41111111111111110000',
      'total 4111 1111 1111 1111 2222 3333',
      'ref 41 11 11 11 11 11 11 11',
      'pi 3.4111111111111111',
      'ts 1735689600000'
    ]) {
      expect(rules(t), t).toEqual([]);
    }
  });
});

describe('phone numbers', () => {
  it('finds E.164, North American and national formats', () => {
    for (const p of [
      '+14155550132',
      '+1 415 555 0132',
      '(415) 555-0132',
      '415-555-0132',
      '415.555.0132',
      '1-800-555-0199',
      '+44 20 7946 0958',
      '+49 30 12345678',
      '+33 6 12 34 56 78',
      '020 7946 0958',
      '07700 900123'
    ]) {
      expect(spans(`call ${p} today`), p).toEqual([p]);
    }
    expect(spans('Phone: 4155550132')).toEqual(['4155550132']);
  });
  it('ignores timestamps, ids, dates, versions, IPs and number lists', () => {
    for (const t of [
      'ts 1735689600',
      'ms 1735689600123',
      'snowflake 1234567890123456789',
      'order #123456789012',
      '2025-03-14 10:22:01',
      'v12.4.1',
      'ip 192.168.10.254',
      'cpu 250 300 4000 ms',
      '123-456-7890',
      'tz +05:30',
      'extension +12 345',
      'ISBN 978-3-16-148410-0',
      '415-555.0132'
    ]) {
      expect(rules(t), t).toEqual([]);
    }
  });
});

describe('US SSN', () => {
  it('excludes never-issued ranges', () => {
    expect(ssnValid('123', '45', '6789')).toBe(true);
    expect(ssnValid('000', '45', '6789')).toBe(false);
    expect(ssnValid('666', '45', '6789')).toBe(false);
    expect(ssnValid('900', '45', '6789')).toBe(false);
    expect(ssnValid('123', '00', '6789')).toBe(false);
    expect(ssnValid('123', '45', '0000')).toBe(false);
  });
  it('finds dashed numbers, and undashed ones after a label', () => {
    expect(rules('SSN on file: 123-45-6789')).toEqual(['us-ssn']);
    expect(spans('ssn: 123456789')).toEqual(['123456789']);
    expect(spans('Social Security Number 123 45 6789')).toEqual(['123 45 6789']);
  });
  it('ignores invalid ranges and bare digit runs', () => {
    for (const t of [
      'id 000-12-3456',
      'id 666-12-3456',
      'id 912-34-5678',
      'id 123-00-4567',
      'id 123-45-0000',
      'zip 123456789',
      'id 123-45-67890'
    ]) {
      expect(rules(t), t).toEqual([]);
    }
  });
});

describe('IBAN', () => {
  it('checks length and mod-97', () => {
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('GB82WEST12345698765432')).toBe(true);
    expect(ibanValid('DE88370400440532013000')).toBe(false);
    expect(ibanValid('DE8937040044053201300')).toBe(false);
  });
  it('finds compact and grouped IBANs', () => {
    expect(spans('Pay to DE89370400440532013000 by Friday')).toEqual(['DE89370400440532013000']);
    expect(spans('IBAN: GB82 WEST 1234 5698 7654 32.')).toEqual(['GB82 WEST 1234 5698 7654 32']);
    expect(spans('FR14 2004 1010 0505 0001 3M02 606')).toEqual(['FR14 2004 1010 0505 0001 3M02 606']);
  });
  it('ignores a wrong check or length', () => {
    expect(rules('IBAN DE88370400440532013000')).toEqual([]);
    expect(rules('IBAN DE8937040044053201300')).toEqual([]);
  });
});
