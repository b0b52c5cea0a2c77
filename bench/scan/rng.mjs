// A small seeded PRNG (mulberry32) and helpers, so every generated evaluation file is the same on
// every run.
export function createRng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min, max) => min + Math.floor(next() * (max - min + 1));
  const pick = (arr) => arr[Math.floor(next() * arr.length)];
  const chars = (alphabet, n) => {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(next() * alphabet.length)];
    return s;
  };
  const shuffle = (arr) => {
    const a2 = [...arr];
    for (let i = a2.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [a2[i], a2[j]] = [a2[j], a2[i]];
    }
    return a2;
  };
  const bytes = (n) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256)));
  return { next, int, pick, chars, shuffle, bytes, chance: (p) => next() < p };
}

export const DIGITS = '0123456789';
export const HEX = '0123456789abcdef';
export const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
export const LOWER = 'abcdefghijklmnopqrstuvwxyz';
export const BASE62 = DIGITS + UPPER + LOWER;
export const BASE64 = UPPER + LOWER + DIGITS + '+/';
export const BASE64URL = UPPER + LOWER + DIGITS + '-_';

export function uuid(rng) {
  const h = rng.chars(HEX, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[rng.int(0, 3)]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function isoTime(rng, year = 2025) {
  const d = new Date(
    Date.UTC(
      year,
      rng.int(0, 11),
      rng.int(1, 28),
      rng.int(0, 23),
      rng.int(0, 59),
      rng.int(0, 59),
      rng.int(0, 999)
    )
  );
  return d.toISOString();
}
