/**
 * Interim canonical text: invisible characters removed, NFKC, whitespace collapsed.
 */
export interface HiddenRun {
  cls: string;
  start: number;
  end: number;
  count: number;
}
export interface DecodedSpan {
  kind: string;
  start: number;
  end: number;
}
export interface Canonical {
  text: string;
  hidden: HiddenRun[];
  decoded: DecodedSpan[];
  changed: boolean;
}
const INVISIBLE = /[\p{Cf}\u034F\u115F\u1160\u3164\uFFA0\uFE00-\uFE0F]|\uDB40[\uDD00-\uDDEF]/gu;
export function canonicalize(text: string): Canonical {
  const hidden: HiddenRun[] = [];
  let t = text.replace(INVISIBLE, (m, off: number) => {
    hidden.push({ cls: 'invisible', start: off, end: off + m.length, count: 1 });
    return '';
  });
  t = t.normalize('NFKC').replace(/[ \t\u00A0]+/g, ' ');
  return { text: t, hidden, decoded: [], changed: t !== text };
}
