/**
 * Calls per minute as an inline SVG bar chart, drawn with DOM APIs (no library, no inline styles:
 * colours come from classes in style.css). Each bar is the minute's calls, its red foot the calls
 * that were denied; an amber marker shows how many calls were held for approval.
 */
import { h, s, replace } from './dom.js';
import { clock, parseTime } from './format.js';

const MINUTE = 60_000;

/** 60 slots ending at the current minute, filled from the API's buckets (missing minutes are 0). */
export function normalizeBuckets(buckets, minutes = 60, now = Date.now()) {
  const end = Math.floor(now / MINUTE) * MINUTE;
  const byMinute = new Map();
  for (const b of buckets ?? []) {
    const t = parseTime(b.minute);
    if (Number.isNaN(t)) continue;
    const key = Math.floor(t / MINUTE) * MINUTE;
    const prev = byMinute.get(key) ?? { calls: 0, denials: 0, approvals: 0 };
    byMinute.set(key, {
      calls: prev.calls + (Number(b.calls) || 0),
      denials: prev.denials + (Number(b.denials) || 0),
      approvals: prev.approvals + (Number(b.approvals) || 0)
    });
  }
  const slots = [];
  for (let i = minutes - 1; i >= 0; i--) {
    const t = end - i * MINUTE;
    slots.push({ t, ...(byMinute.get(t) ?? { calls: 0, denials: 0, approvals: 0 }) });
  }
  return slots;
}

/** A whole-number tick step giving at most five intervals, and the axis maximum. */
function niceScale(value) {
  const target = Math.max(1, value / 5);
  const exp = 10 ** Math.floor(Math.log10(target));
  let step = 10 * exp;
  for (const m of [1, 2, 5]) {
    if (m * exp >= target) {
      step = m * exp;
      break;
    }
  }
  step = Math.max(1, Math.round(step));
  const max = Math.max(step * 2, Math.ceil(value / step) * step);
  return { step, max };
}

export function chartLegend() {
  const item = (cls, label) =>
    h('li', { class: 'legend-item' }, h('span', { class: `swatch ${cls}`, 'aria-hidden': 'true' }), label);
  return h(
    'ul',
    { class: 'legend', 'aria-label': 'Legend' },
    item('swatch-calls', 'Calls'),
    item('swatch-denials', 'Denied'),
    item('swatch-approvals swatch-dot', 'Held for approval')
  );
}

/** Draw into `container` at its current width. */
export function drawChart(container, slots) {
  const width = Math.max(320, Math.floor(container.clientWidth || 800));
  const height = 180;
  const m = { top: 10, right: 8, bottom: 24, left: 34 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const { step: tickStep, max } = niceScale(
    Math.max(...slots.map((b) => Math.max(b.calls, b.denials + b.approvals)), 0)
  );
  const y = (v) => m.top + ph - (v / max) * ph;
  const step = pw / slots.length;
  const barW = Math.max(2, Math.min(14, step * 0.68));

  const totals = slots.reduce(
    (a, b) => ({
      calls: a.calls + b.calls,
      denials: a.denials + b.denials,
      approvals: a.approvals + b.approvals
    }),
    { calls: 0, denials: 0, approvals: 0 }
  );

  const grid = [];
  for (let v = 0; v <= max; v += tickStep) {
    const i = v;
    const yy = Math.round(y(v)) + 0.5;
    grid.push(
      s('line', {
        x1: m.left,
        x2: width - m.right,
        y1: yy,
        y2: yy,
        class: i === 0 ? 'axis-line' : 'grid-line'
      })
    );
    grid.push(
      s(
        'text',
        { x: m.left - 6, y: yy + 3.5, class: 'axis-label', 'text-anchor': 'end' },
        Number.isInteger(v) ? String(v) : v.toFixed(1)
      )
    );
  }

  const xLabels = [];
  slots.forEach((b, i) => {
    const d = new Date(b.t);
    const last = i === slots.length - 1;
    if (d.getMinutes() % 10 === 0 || last) {
      const x = m.left + step * i + step / 2;
      if (!last && i > slots.length - 6) return; // too close to "now"
      xLabels.push(s('line', { x1: x, x2: x, y1: m.top + ph, y2: m.top + ph + 4, class: 'axis-line' }));
      xLabels.push(
        s(
          'text',
          { x, y: height - 6, class: 'axis-label', 'text-anchor': last ? 'end' : 'middle' },
          last ? 'now' : clock(b.t).slice(0, 5)
        )
      );
    }
  });

  const bars = slots.map((b, i) => {
    const x = m.left + step * i + (step - barW) / 2;
    const parts = [];
    const seg = (from, to, cls) => {
      if (to <= from) return;
      const top = y(to);
      const hgt = Math.max(1, y(from) - top);
      parts.push(
        s('rect', {
          x: x.toFixed(2),
          y: top.toFixed(2),
          width: barW.toFixed(2),
          height: hgt.toFixed(2),
          class: cls,
          rx: Math.min(2, barW / 3)
        })
      );
    };
    // Denials are a subset of calls: a red foot on the bar. Held calls can end either way (approved
    // and run, or refused), so they overlap both: an amber marker at their count, not a segment.
    seg(0, b.calls, 'bar-calls');
    seg(0, Math.min(b.denials, b.calls), 'bar-denials');
    if (b.approvals > 0)
      parts.push(
        s('circle', {
          cx: (x + barW / 2).toFixed(2),
          cy: y(b.approvals).toFixed(2),
          r: 3.5,
          class: 'dot-approvals'
        })
      );
    const total = b.calls;
    const label = `${clock(b.t).slice(0, 5)}: ${b.calls} call${b.calls === 1 ? '' : 's'}, ${b.denials} denied, ${b.approvals} held for approval`;
    return s(
      'g',
      {
        class: total > 0 ? 'bar has-data' : 'bar',
        dataset: { minute: new Date(b.t).toISOString(), calls: b.calls, denials: b.denials }
      },
      s('title', null, label),
      s('rect', {
        x: (m.left + step * i).toFixed(2),
        y: m.top,
        width: step.toFixed(2),
        height: ph,
        class: 'bar-hit'
      }),
      parts
    );
  });

  const svg = s(
    'svg',
    {
      class: 'chart-svg',
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: 'img',
      'aria-label': `Calls per minute over the last ${slots.length} minutes: ${totals.calls} calls, ${totals.denials} denied, ${totals.approvals} held for approval.`
    },
    s('g', { class: 'grid' }, grid),
    s('g', { class: 'bars' }, bars),
    s('g', { class: 'x-axis' }, xLabels)
  );
  replace(container, svg);
  return totals;
}
