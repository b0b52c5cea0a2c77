import { describe, expect, it } from 'vitest';
import { scanText } from './index.js';
import { cardNetwork, ibanValid, ssnValid } from './pii.js';
import { ibanMod97Valid, luhnValid } from './util.js';

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

/** `prefix` padded with zeros to `length - 1` digits, and the Luhn check digit. */
function card(prefix: string, length: number): string {
  const body = prefix.padEnd(length - 1, '0');
  for (let d = 0; d <= 9; d++) if (luhnValid(body + d)) return body + d;
  throw new Error('unreachable');
}

describe('what each rule reports', () => {
  it('names the rule, severity and message, on the personal data only', () => {
    const cases: [string, string, string, string, string][] = [
      ['mail ada@example.com now', 'email', 'medium', 'email address', 'ada@example.com'],
      ['card 4111 1111 1111 1111 exp', 'payment-card', 'high', 'Visa card number', '4111 1111 1111 1111'],
      ['call 415-555-0132 today', 'phone', 'medium', 'phone number', '415-555-0132'],
      ['call 020 7946 0958 today', 'phone', 'medium', 'phone number', '020 7946 0958'],
      [
        'call +44 20 7946 0958 now',
        'phone',
        'medium',
        'phone number (international format)',
        '+44 20 7946 0958'
      ],
      ['Phone: 4155550132', 'phone', 'medium', 'phone number', '4155550132'],
      ['SSN 123-45-6789', 'us-ssn', 'high', 'US social security number', '123-45-6789'],
      ['ssn: 123 45 6789', 'us-ssn', 'high', 'US social security number', '123 45 6789'],
      ['Pay DE89370400440532013000 now', 'iban', 'high', 'IBAN (checksum verified)', 'DE89370400440532013000']
    ];
    for (const [text, rule, severity, message, span] of cases) {
      expect(
        pii(text).map((f) => [f.rule, f.severity, f.message, text.slice(f.start, f.end)]),
        text
      ).toEqual([[rule, severity, message, span]]);
    }
  });
});

describe('card networks at the edges of their prefixes and lengths', () => {
  it('names each network inside its ranges, and none just outside them', () => {
    const cases: [string, number, string | undefined][] = [
      ['4', 13, 'Visa'],
      ['4', 16, 'Visa'],
      ['4', 19, 'Visa'],
      ['4', 14, undefined],
      ['4', 15, undefined],
      ['4', 17, undefined],
      ['4', 18, undefined],
      ['51', 16, 'Mastercard'],
      ['55', 16, 'Mastercard'],
      ['51', 15, undefined],
      ['51', 17, undefined],
      ['56', 16, undefined],
      ['2221', 16, 'Mastercard'],
      ['2720', 16, 'Mastercard'],
      ['2220', 16, undefined],
      ['2721', 16, undefined],
      ['34', 15, 'American Express'],
      ['37', 15, 'American Express'],
      ['34', 16, undefined],
      ['35', 15, undefined],
      ['6011', 16, 'Discover'],
      ['6011', 19, 'Discover'],
      ['6011', 15, undefined],
      ['644', 16, 'Discover'],
      ['649', 16, 'Discover'],
      ['643', 16, undefined],
      ['65', 16, 'Discover'],
      ['622126', 16, 'Discover'],
      ['622925', 16, 'Discover'],
      ['622125', 16, 'UnionPay'],
      ['622926', 16, 'UnionPay'],
      ['62', 15, undefined],
      ['3528', 16, 'JCB'],
      ['3589', 16, 'JCB'],
      ['3527', 16, undefined],
      ['3590', 16, undefined],
      ['3528', 15, undefined],
      ['300', 14, 'Diners Club'],
      ['305', 14, 'Diners Club'],
      ['306', 14, undefined],
      ['3095', 14, 'Diners Club'],
      ['3094', 14, undefined],
      ['36', 14, 'Diners Club'],
      ['38', 14, 'Diners Club'],
      ['39', 14, 'Diners Club'],
      ['36', 13, undefined],
      ['2200', 16, 'Mir'],
      ['2204', 16, 'Mir'],
      ['2205', 16, undefined],
      ['2199', 16, undefined],
      ['2200', 15, undefined],
      ['5018', 13, 'Maestro'],
      ['5020', 13, 'Maestro'],
      ['5038', 13, 'Maestro'],
      ['5893', 13, 'Maestro'],
      ['6304', 13, 'Maestro'],
      ['6759', 13, 'Maestro'],
      ['6761', 13, 'Maestro'],
      ['6762', 13, 'Maestro'],
      ['6763', 13, 'Maestro'],
      ['6763', 12, undefined],
      ['5019', 13, undefined]
    ];
    for (const [prefix, length, network] of cases) {
      expect(cardNetwork(prefix.padEnd(length, '0')), `${prefix} ${length}`).toBe(network);
    }
  });
});

describe('card numbers as written', () => {
  it('takes groups of four and a shorter last one, or the 4-6-5 and 4-6-4 groupings, one separator kind', () => {
    const visa19 = card('4', 19);
    const grouped = `${visa19.slice(0, 4)} ${visa19.slice(4, 8)} ${visa19.slice(8, 12)} ${visa19.slice(12, 16)} ${visa19.slice(16)}`;
    expect(spans(`n ${grouped} x`)).toEqual([grouped]);
    const diners = card('36', 14);
    const d464 = `${diners.slice(0, 4)} ${diners.slice(4, 10)} ${diners.slice(10)}`;
    expect(spans(`n ${d464} x`)).toEqual([d464]);
    expect(rules('card 4111-1111 1111-1111')).toEqual([]);
    expect(rules('card 4111 1111 11111 111')).toEqual([]);
    expect(rules(`card ${diners.slice(0, 4)} ${diners.slice(4, 9)} ${diners.slice(9)}`)).toEqual([]);
  });
  it('passes over one digit repeated, Luhn-valid or not', () => {
    // 5555 5555 5555 5557 is a Mastercard test number; all fives is not a card.
    expect(rules('n 5555555555555557 x')).toEqual(['payment-card']);
    const same = '0'.repeat(16);
    expect(luhnValid(same)).toBe(true);
    expect(rules(`n ${same} x`)).toEqual([]);
  });
});

describe('email addresses at their edges', () => {
  it('takes a local part of up to 64 characters and a domain of up to 254', () => {
    const local = 'a'.repeat(64);
    expect(spans(`x ${local}@example.com`)).toEqual([`${local}@example.com`]);
    expect(rules(`x a${local}@example.com`)).toEqual([]);
    const domain = `${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(60)}.com`; // 248
    expect(spans(`x ada@${domain}`)).toEqual([`ada@${domain}`]);
    const long = `${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(60)}.com`; // 257
    expect(rules(`x ada@${long}`)).toEqual([]);
  });
  it('takes every character of a local part and a domain, and drops leading and trailing dots', () => {
    expect(spans('x (A.z_0%9+b-c@Sub-1.Example.ORG) y')).toEqual(['A.z_0%9+b-c@Sub-1.Example.ORG']);
    expect(spans('x ..ada@example.com')).toEqual(['ada@example.com']);
    expect(spans('x ada@example.com.-')).toEqual(['ada@example.com']);
    expect(rules('x ada.@example.com')).toEqual([]);
    expect(rules('x a..da@example.com')).toEqual([]);
    expect(rules('x .@example.com')).toEqual([]);
  });
  it('wants labels of 1 to 63 characters not starting or ending with a dash, and a letter TLD', () => {
    expect(spans(`x ada@${'a'.repeat(63)}.com`)).toEqual([`ada@${'a'.repeat(63)}.com`]);
    for (const t of [
      `x ada@${'a'.repeat(64)}.com`,
      'x ada@-acme.com',
      'x ada@acme-.com',
      'x ada@acme..com',
      'x ada@acme.c',
      'x ada@acme.c0m',
      'x ada@acme.PNG',
      'x ada@localhost'
    ]) {
      expect(rules(t), t).toEqual([]);
    }
    expect(spans(`x ada@acme.${'a'.repeat(24)}`)).toEqual([`ada@acme.${'a'.repeat(24)}`]);
    expect(rules(`x ada@acme.${'a'.repeat(25)}`)).toEqual([]);
  });
  it('skips git remotes and URL credentials only', () => {
    expect(rules('git@github.com:acme/api.git')).toEqual([]);
    expect(rules('git@github.com is the address')).toEqual(['email']);
    expect(rules('gitx@github.com:acme')).toEqual(['email']);
    expect(rules('https://ada@example.com/x')).toEqual([]);
    expect(rules(`https://${'u'.repeat(150)}:${'p'.repeat(40)}@example.com/x`)).toEqual([]);
    expect(rules('see https://x.io/ and ada@example.com')).toEqual(['email']);
  });
});

describe('phone numbers at their edges', () => {
  it('North American: the exchange separator matches the area one; spaces only after a country code', () => {
    expect(spans('call 415 555 0132 now')).toEqual([]);
    expect(spans('call +1 415 555 0132 now')).toEqual(['+1 415 555 0132']);
    expect(spans('call 1 415 555 0132 now')).toEqual(['1 415 555 0132']);
    expect(spans('call (415) 555-0132 now')).toEqual(['(415) 555-0132']);
    expect(rules('call 415 555-0132 now')).toEqual([]);
  });
  it('national: 10 or 11 digits', () => {
    expect(spans('call 0201 234 5678 now')).toEqual(['0201 234 5678']);
    expect(spans('call 02012 3456 7890 now')).toEqual([]);
    expect(spans('call 020 123 456 now')).toEqual([]);
  });
  it('international: + and a digit 1-9, 8 to 15 digits, single or double separators, balanced parentheses', () => {
    expect(spans('call +12345678 now')).toEqual(['+12345678']);
    expect(spans('call +1234567 now')).toEqual([]);
    expect(spans('call +123456789012345 now')).toEqual(['+123456789012345']);
    expect(spans('call +1234567890123456 now')).toEqual([]);
    expect(spans('call +9 87 65 43 21 now')).toEqual(['+9 87 65 43 21']);
    expect(spans('call +0 87 65 43 21 now')).toEqual([]);
    expect(spans('call +44 (0) 20 7946 0958 now')).toEqual(['+44 (0) 20 7946 0958']);
    expect(spans('call +44 (0 20 7946 0958 now')).toEqual([]);
    expect(spans('call +44 20  7946 0958 now')).toEqual(['+44 20  7946 0958']);
    expect(spans('call +44 20   7946 0958 now')).toEqual([]);
    expect(spans('a+44 20 7946 0958')).toEqual([]);
    expect(spans('+44 20 7946 0958')).toEqual(['+44 20 7946 0958']);
    expect(spans('call +44 20 7946 0958x')).toEqual([]);
    expect(spans('call +44 20 7946 0958. Or +33 6 12 34 56 78.')).toEqual([
      '+44 20 7946 0958',
      '+33 6 12 34 56 78'
    ]);
  });
  it('labelled: 10 to 15 digits after the label', () => {
    expect(spans('Phone: 415 555 0132')).toEqual(['415 555 0132']);
    expect(spans('tel: 123456789012345')).toEqual(['123456789012345']);
    expect(spans('tel: 1234567890123456')).toEqual([]);
    expect(spans('tel: 123456789')).toEqual([]);
  });
});

describe('SSNs at their edges', () => {
  it('takes areas up to 899 and labelled numbers at their exact offsets', () => {
    expect(ssnValid('899', '45', '6789')).toBe(true);
    expect(ssnValid('665', '45', '6789')).toBe(true);
    expect(ssnValid('667', '45', '6789')).toBe(true);
    expect(ssnValid('001', '01', '0001')).toBe(true);
    expect(spans('ssn:123456789 x')).toEqual(['123456789']);
    expect(rules('ssn: 000 45 6789')).toEqual([]);
    expect(rules('ssn: 123456789').length).toBe(1);
  });
});

describe('more edges of email, cards, phone numbers and IBANs', () => {
  it('finds an address only around an @, and never with an empty local part', () => {
    expect(rules('see www.example.com today')).toEqual([]);
    expect(rules('write to @example.com')).toEqual([]);
    expect(spans('ada@example.com, see www.example.org')).toEqual(['ada@example.com']);
  });
  it('takes a domain of up to 253 characters after the @', () => {
    const domain = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`; // 253
    expect(spans(`x ada@${domain} y`)).toEqual([`ada@${domain}`]);
    expect(rules(`x ada@${domain}x y`)).toEqual([]);
  });
  it('names no network for prefixes 660 and up', () => {
    expect(cardNetwork('6600000000000000')).toBeUndefined();
  });
  it('turns down a last group longer than four', () => {
    const visa = card('4', 19);
    expect(
      rules(`n ${visa.slice(0, 4)} ${visa.slice(4, 8)} ${visa.slice(8, 12)} ${visa.slice(12)} x`)
    ).toEqual([]);
  });
  it('national numbers of 10 digits', () => {
    expect(spans('call 020 123 4567 now')).toEqual(['020 123 4567']);
  });
  it('international: dashes and dots separate, letters do not; the number is read alone', () => {
    expect(spans('call +44-20-7946-0958 now')).toEqual(['+44-20-7946-0958']);
    expect(spans('call +44.20.7946.0958 now')).toEqual(['+44.20.7946.0958']);
    expect(rules('call +4420a79460958 now')).toEqual([]);
    expect(spans('Note (see below: +44 20 7946 0958')).toEqual(['+44 20 7946 0958']);
    expect(spans('+44 20 7946 0958,+33 6 12 34 56 78')).toEqual(['+44 20 7946 0958', '+33 6 12 34 56 78']);
    // 25 characters, the last a digit: the whole number.
    expect(spans('+1  2  3  4  5  6  7  8 9')).toEqual(['+1  2  3  4  5  6  7  8 9']);
    // A number is read over at most 24 characters after the `+`: a longer run of digits and
    // separators is reported up to there.
    expect(spans('+1  2  3  4  5  6  7  8  9  0')).toEqual(['+1  2  3  4  5  6  7  8']);
    expect(spans('+1--2--3--4--5--6--7--8--9--0--1 x')).toEqual(['+1--2--3--4--5--6--7--8']);
  });
  it('international: a number in parentheses, without them', () => {
    expect(spans('call me (+44 20 7946 0958) today')).toEqual(['+44 20 7946 0958']);
    expect(spans('(+33 6 12 34 56 78).')).toEqual(['+33 6 12 34 56 78']);
    expect(spans('call +44 20 7946 (0958) now')).toEqual(['+44 20 7946 (0958)']);
    expect(spans('(+44 20 7946 0958 )')).toEqual(['+44 20 7946 0958']);
    // Parentheses elsewhere in the text do not count.
    expect(spans('call me (+44 20 7946 0958) today (or later')).toEqual(['+44 20 7946 0958']);
  });
  it('labelled numbers need 10 digits', () => {
    expect(rules('tel: 123-456-789')).toEqual([]);
  });
  it('an IBAN must have its country’s length even when its check digits fit', () => {
    // DE with a 17-digit account part (21 characters, not 22) and check digits computed for it.
    const bban = '37040044053201300';
    const numeric = BigInt(`${bban}1314` + '00');
    const check = String(98n - (numeric % 97n)).padStart(2, '0');
    expect(ibanMod97Valid(`DE${check}${bban}`)).toBe(true);
    expect(ibanValid(`DE${check}${bban}`)).toBe(false);
    expect(ibanValid('DE89370400440532013000')).toBe(true);
  });
  it('scanPii returns a new list when given none', async () => {
    const { scanPii } = await import('./pii.js');
    expect(scanPii('mail ada@example.com').map((f) => f.rule)).toEqual(['email']);
  });
});
