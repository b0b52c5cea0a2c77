/**
 * Personal data detectors: email addresses, payment card numbers (Luhn and issuer prefix), phone
 * numbers (E.164, North American and national trunk formats, or digits after a "phone:" label),
 * US social security numbers (invalid areas, groups and serials excluded) and IBANs (mod-97).
 * They are tuned to pass over the numbers tool results are full of: timestamps, ids, versions,
 * IP addresses, dates and hashes.
 */
import type { Detect, Finding, Severity } from './types.js';
import { compileAhead, eachMatch, ibanMod97Valid, isAlnum, isDigit, luhnValid, rx } from './util.js';

function push(
  out: Finding[],
  rule: string,
  severity: Severity,
  message: string,
  start: number,
  end: number
): void {
  out.push({ kind: 'pii', rule, severity, message, start, end });
}

// ---------------------------------------------------------------------------------------------
// Email: found from each `@`, scanning a bounded distance either side.
// ---------------------------------------------------------------------------------------------

const isLocalChar = (c: number): boolean =>
  isAlnum(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45; // . _ % + -
const isDomainChar = (c: number): boolean => isAlnum(c) || c === 46 || c === 45;

/** Top-level "domains" that are really file extensions: `icon@2x.png`, `logo@3x.webp`. */
const FILE_TLDS = new Set([
  'png',
  'jpg',
  'jpeg',
  'gif',
  'svg',
  'webp',
  'ico',
  'bmp',
  'js',
  'mjs',
  'ts',
  'css',
  'json',
  'md',
  'txt',
  'html',
  'htm',
  'xml',
  'yml',
  'yaml',
  'lock',
  'map',
  'pdf'
]);

function validDomain(domain: string): boolean {
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  for (const l of labels) {
    if (l.length === 0 || l.length > 63 || l.startsWith('-') || l.endsWith('-')) return false;
  }
  const tld = labels[labels.length - 1]!;
  return /^[A-Za-z]{2,24}$/.test(tld) && !FILE_TLDS.has(tld.toLowerCase());
}

const URL_USERINFO = /:\/\/(?:[^\s/@]{0,200}:)?$/;

const email: Detect = (text, out) => {
  for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
    let s = at;
    while (s > 0 && at - s <= 64 && isLocalChar(text.charCodeAt(s - 1))) s--;
    if (at - s > 64) continue;
    while (s < at && text.charCodeAt(s) === 46) s++; // no leading dot
    if (s === at || text.charCodeAt(at - 1) === 46) continue;
    let e = at + 1;
    while (e < text.length && e - at <= 254 && isDomainChar(text.charCodeAt(e))) e++;
    if (e - at > 254) continue;
    while (e > at + 1 && (text.charCodeAt(e - 1) === 46 || text.charCodeAt(e - 1) === 45)) e--;
    const local = text.slice(s, at);
    const domain = text.slice(at + 1, e);
    if (local.includes('..') || !validDomain(domain)) continue;
    if (local === 'git' && text.charCodeAt(e) === 58) continue; // git@host:org/repo.git
    if (URL_USERINFO.test(text.slice(Math.max(0, s - 200), s))) continue; // scheme://user:pass@host
    push(out, 'email', 'medium', 'email address', s, e);
  }
};

// ---------------------------------------------------------------------------------------------
// Payment cards
// ---------------------------------------------------------------------------------------------

const CARD = rx(
  '(?<![0-9A-Za-z_.])(?<![0-9][ -])[0-9](?:[ -]?[0-9]){12,18}(?![0-9A-Za-z_]|[ -][0-9]|[.,][0-9])'
);

/** The card network for a digit string, or undefined when no known issuer prefix fits. */
export function cardNetwork(d: string): string | undefined {
  const n = d.length;
  const p2 = Number(d.slice(0, 2));
  const p3 = Number(d.slice(0, 3));
  const p4 = Number(d.slice(0, 4));
  const p6 = Number(d.slice(0, 6));
  if (d[0] === '4' && (n === 13 || n === 16 || n === 19)) return 'Visa';
  if (((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) && n === 16) return 'Mastercard';
  if ((p2 === 34 || p2 === 37) && n === 15) return 'American Express';
  if ((p4 === 6011 || (p3 >= 644 && p3 <= 649) || p2 === 65 || (p6 >= 622126 && p6 <= 622925)) && n >= 16)
    return 'Discover';
  if (p4 >= 3528 && p4 <= 3589 && n >= 16) return 'JCB';
  if (((p3 >= 300 && p3 <= 305) || p4 === 3095 || p2 === 36 || p2 === 38 || p2 === 39) && n >= 14)
    return 'Diners Club';
  if (p2 === 62 && n >= 16) return 'UnionPay';
  if (p4 >= 2200 && p4 <= 2204 && n >= 16) return 'Mir';
  if ([5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763].includes(p4) && n >= 13) return 'Maestro';
  return undefined;
}

function cardGroupsPlausible(raw: string): boolean {
  const groups = raw.split(/[ -]/);
  if (groups.length === 1) return true;
  const sep = raw.replace(/[0-9]/g, '');
  if (!/^(?: {1,32}|-{1,32})$/.test(sep) || sep.length !== groups.length - 1) return false;
  const lens = groups.map((g) => g.length).join(',');
  if (lens === '4,6,5' || lens === '4,6,4') return true;
  return groups.slice(0, -1).every((g) => g.length === 4) && groups[groups.length - 1]!.length <= 4;
}

const paymentCard: Detect = (text, out) =>
  eachMatch(CARD, text, (m) => {
    const raw = m[0];
    const digits = raw.replace(/[ -]/g, '');
    if (!cardGroupsPlausible(raw) || /^(\d)\1{1,31}$/.test(digits) || !luhnValid(digits)) return;
    const network = cardNetwork(digits);
    if (!network) return;
    push(out, 'payment-card', 'high', `${network} card number`, m.index, m.index + raw.length);
  });

// ---------------------------------------------------------------------------------------------
// Phone numbers
// ---------------------------------------------------------------------------------------------

const NANP = rx(
  '(?<![0-9A-Za-z_+.-])(?:\\+?1[ .-]?)?(?:\\([2-9][0-9]{2}\\)[ ]?|[2-9][0-9]{2}([ .-]))[2-9][0-9]{2}([ .-])[0-9]{4}(?![0-9A-Za-z_]|[.-][0-9])'
);
const NATIONAL = rx(
  '(?<![0-9A-Za-z_+.:/-])0[1-9][0-9]{1,3}([ -])[0-9]{3,4}\\1?[0-9]{3,4}(?![0-9A-Za-z_]|[.:/-][0-9])'
);
const LABELLED = rx(
  '\\b(?:phone|tel|telephone|mobile|cell|fax|whatsapp|sms)\\b\\.?(?:\\s{0,3}(?:no|number|nr|#)\\.?)?\\s{0,3}[:=#]?\\s{0,3}(\\+?[0-9][0-9 ().-]{8,22}[0-9])(?![0-9])',
  'i'
);

const nanp: Detect = (text, out) =>
  eachMatch(NANP, text, (m) => {
    // The exchange separator must match the area separator (`415-555-0132`, not `415-555.0132`).
    if (m[1] !== undefined && m[1] !== m[2]) return;
    if (m[1] === ' ' && !/^\+?1/.test(m[0])) return; // `250 300 4000` is more often three numbers
    push(out, 'phone', 'medium', 'phone number', m.index, m.index + m[0].length);
  });

const national: Detect = (text, out) =>
  eachMatch(NATIONAL, text, (m) => {
    const digits = m[0].replace(/[^0-9]/g, '').length;
    if (digits >= 10 && digits <= 11)
      push(out, 'phone', 'medium', 'phone number', m.index, m.index + m[0].length);
  });

const isPhoneSep = (c: number): boolean => c === 32 || c === 45 || c === 46 || c === 40 || c === 41;

/** `+` followed by 8 to 15 digits, grouped by single spaces, dashes, dots or parentheses. */
const international: Detect = (text, out) => {
  for (let p = text.indexOf('+'); p !== -1; p = text.indexOf('+', p + 1)) {
    if (p > 0 && isAlnum(text.charCodeAt(p - 1))) continue;
    const first = text.charCodeAt(p + 1);
    if (!(first >= 49 && first <= 57)) continue;
    let e = p + 1;
    let digits = 0;
    let seps = 0;
    while (e < text.length && e - p <= 24) {
      const c = text.charCodeAt(e);
      if (isDigit(c)) {
        digits++;
        seps = 0;
      } else if (isPhoneSep(c) && seps < 2) seps++;
      else break;
      e++;
    }
    while (e > p && !isDigit(text.charCodeAt(e - 1)) && text.charCodeAt(e - 1) !== 41) e--;
    if (e < text.length && isAlnum(text.charCodeAt(e))) continue;
    let raw = text.slice(p, e);
    // A `)` that closes a parenthesis opened before the `+`, `(+44 20 7946 0958)`, is not the number's.
    if (raw.endsWith(')') && raw.split('(').length < raw.split(')').length) {
      e--;
      while (e > p && !isDigit(text.charCodeAt(e - 1))) e--;
      raw = text.slice(p, e);
    }
    if (digits < 8 || digits > 15 || raw.split('(').length !== raw.split(')').length) continue;
    push(out, 'phone', 'medium', 'phone number (international format)', p, e);
    p = e - 1;
  }
};

const labelled: Detect = (text, out) =>
  eachMatch(LABELLED, text, (m) => {
    const number = m[1]!;
    const digits = number.replace(/[^0-9]/g, '').length;
    if (digits < 10 || digits > 15) return;
    const start = m.index + m[0].length - number.length;
    push(out, 'phone', 'medium', 'phone number', start, start + number.length);
  });

// ---------------------------------------------------------------------------------------------
// US social security numbers
// ---------------------------------------------------------------------------------------------

const SSN = rx('(?<![0-9A-Za-z_-])([0-9]{3})-([0-9]{2})-([0-9]{4})(?![0-9A-Za-z_]|-[0-9])');
const SSN_LABELLED = rx(
  '\\b(?:ssn|social security(?: number| no\\.?)?)\\s{0,3}[:#=]?\\s{0,3}([0-9]{3})([ ]?)([0-9]{2})\\2([0-9]{4})(?![0-9])',
  'i'
);

/** Area 000, 666 and 900-999, group 00 and serial 0000 are never issued. */
export function ssnValid(area: string, group: string, serial: string): boolean {
  const a = Number(area);
  return a !== 0 && a !== 666 && a < 900 && group !== '00' && serial !== '0000';
}

const ssn: Detect = (text, out) => {
  eachMatch(SSN, text, (m) => {
    if (ssnValid(m[1]!, m[2]!, m[3]!)) {
      push(out, 'us-ssn', 'high', 'US social security number', m.index, m.index + m[0].length);
    }
  });
  eachMatch(SSN_LABELLED, text, (m) => {
    if (!ssnValid(m[1]!, m[3]!, m[4]!)) return;
    const len = m[1]!.length + m[2]!.length * 2 + 6;
    const start = m.index + m[0].length - len;
    push(out, 'us-ssn', 'high', 'US social security number', start, start + len);
  });
};

// ---------------------------------------------------------------------------------------------
// IBAN
// ---------------------------------------------------------------------------------------------

const IBAN = rx(
  '(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)(?![A-Za-z0-9])'
);

/** IBAN lengths by country (ISO 13616 registry). */
const IBAN_LENGTH: Record<string, number> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, BY: 28, CH: 21,
  CR: 22, CY: 28, CZ: 24, DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27,
  GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26,
  IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20, LV: 21, MC: 27, MD: 24,
  ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29,
  RO: 24, RS: 22, SA: 24, SC: 31, SE: 24, SI: 19, SK: 24, SM: 27, ST: 25, SV: 28, TL: 23, TN: 24,
  TR: 26, UA: 29, VA: 22, VG: 24, XK: 20
}; // prettier-ignore

export function ibanValid(compact: string): boolean {
  const len = IBAN_LENGTH[compact.slice(0, 2)];
  return len === compact.length && ibanMod97Valid(compact);
}

const iban: Detect = (text, out) =>
  eachMatch(IBAN, text, (m) => {
    if (ibanValid(m[0].replace(/ /g, ''))) {
      push(out, 'iban', 'high', 'IBAN (checksum verified)', m.index, m.index + m[0].length);
    }
  });

export const PII_DETECTORS: readonly Detect[] = [
  email,
  paymentCard,
  nanp,
  national,
  international,
  labelled,
  ssn,
  iban
];

/** The detectors that can find something in text without an ASCII digit: only email needs none. */
const WITHOUT_DIGITS: readonly Detect[] = [email];
const DIGIT = /[0-9]/;

// Every pattern here searches the whole text.
compileAhead([DIGIT, CARD, NANP, NATIONAL, LABELLED, SSN, SSN_LABELLED, IBAN]);

export function scanPii(text: string, out: Finding[] = []): Finding[] {
  // Every detector but email matches digits it cannot do without: cards, phone numbers (the
  // international one wants a digit after its `+`), SSNs and IBANs. Most text has none.
  for (const detect of DIGIT.test(text) ? PII_DETECTORS : WITHOUT_DIGITS) detect(text, out);
  return out;
}
