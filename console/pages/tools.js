/**
 * Tools: every upstream tool with its exposed name, pin status and scanner findings; below them the
 * servers' prompts, resources and resource templates, pinned and vetted the same way. What changed
 * since it was pinned shows its reason, findings and a pinned-vs-now diff, and each server with
 * changes to review can be approved (re-pinned) or rejected (left blocked) here.
 */
import { h, replace, announce } from '../dom.js';
import {
  pageHeader,
  emptyState,
  errorBox,
  statusBadge,
  code,
  loading,
  confirmAction,
  diffView
} from '../ui.js';
import { dateTime, num, pretty, shortHash } from '../format.js';

const { document } = globalThis;

const STATUS_HELP = {
  pinned: 'The definition matches the pinned hash.',
  new: 'First seen; not pinned yet.',
  changed: 'The definition changed since it was pinned.',
  blocked: 'Blocked: agents cannot see or call it.',
  unavailable: 'The upstream server could not be reached.',
  removed: 'Pinned, and no longer offered by the server.'
};

/** Statuses an administrator has to decide on. */
const REVIEW = new Set(['changed', 'blocked', 'new', 'removed']);

const KIND_LABEL = { prompt: 'Prompt', resource: 'Resource', resourceTemplate: 'Resource template' };

export function toolsPage(root, ctx) {
  const { api } = ctx;
  let disposed = false;
  let tools = [];
  let definitions = [];
  const open = new Set();
  // Items under review show their details unless closed.
  const closed = new Set();
  let onlyReview = false;
  const results = new Map();
  const reviewList = h('div', { class: 'review-list', id: 'tools-review' });
  const onlyBox = h('input', {
    type: 'checkbox',
    id: 'tools-only-review',
    onchange: () => {
      onlyReview = onlyBox.checked;
      render();
    }
  });
  const filter = h(
    'label',
    { class: 'filter-toggle', for: 'tools-only-review' },
    onlyBox,
    'Changed or blocked only'
  );
  const wrap = h('div', { class: 'table-wrap' }, loading());
  const count = h('span', { class: 'section-count', role: 'status' });
  const definitionsWrap = h('div', { class: 'table-wrap' }, loading());
  const definitionsCount = h('span', { class: 'section-count', role: 'status' });
  const summary = h('div', { class: 'summary-row' });
  const error = h('div');
  const refresh = h(
    'button',
    { type: 'button', class: 'btn btn-secondary btn-sm', onclick: () => load() },
    'Refresh'
  );

  replace(
    root,
    pageHeader(
      'Tools',
      'Every tool the upstream servers offer, as agents see it, with its pin status.',
      filter,
      refresh
    ),
    error,
    summary,
    reviewList,
    h(
      'section',
      { class: 'section', 'aria-label': 'Tools' },
      h('div', { class: 'section-head' }, h('h2', null, 'Upstream tools'), count),
      wrap
    ),
    h(
      'section',
      { class: 'section', 'aria-label': 'Prompts and resources' },
      h('div', { class: 'section-head' }, h('h2', null, 'Prompts and resources'), definitionsCount),
      definitionsWrap
    )
  );

  async function load() {
    try {
      const data = await api('/tools');
      if (disposed) return;
      tools = (data.tools ?? []).sort(
        (a, b) => a.server.localeCompare(b.server) || a.name.localeCompare(b.name)
      );
      definitions = (data.definitions ?? []).sort(
        (a, b) =>
          a.server.localeCompare(b.server) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name)
      );
      replace(error);
      render();
    } catch (err) {
      if (disposed || err.status === 401) return;
      replace(error, errorBox(`Could not load tools: ${err.message}`));
    }
  }

  function findingsOf(t) {
    const f = t.findings;
    if (Array.isArray(f)) return f;
    if (typeof f === 'number') return new Array(f).fill(null);
    return [];
  }

  const shown = (list) => (onlyReview ? list.filter((t) => REVIEW.has(t.status)) : list);

  function render() {
    renderReview();
    renderDefinitions();
    count.textContent = `${num(tools.length)} tool${tools.length === 1 ? '' : 's'}`;
    const byStatus = {};
    for (const t of tools) byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
    replace(
      summary,
      ['pinned', 'new', 'changed', 'blocked', 'unavailable']
        .filter((st) => byStatus[st])
        .map((st) =>
          h(
            'div',
            { class: 'stat' },
            statusBadge(st),
            h('span', { class: 'stat-n num' }, String(byStatus[st]))
          )
        )
    );
    if (tools.length === 0) {
      replace(
        wrap,
        emptyState('No tools.', 'The gateway lists tools once it has reached its upstream servers.')
      );
      return;
    }
    replace(
      wrap,
      h(
        'table',
        { class: 'table', id: 'tools-table' },
        h('caption', { class: 'visually-hidden' }, 'Upstream tools'),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', { scope: 'col' }, 'Server'),
            h('th', { scope: 'col' }, 'Tool'),
            h('th', { scope: 'col' }, 'Exposed as'),
            h('th', { scope: 'col' }, 'Status'),
            h('th', { scope: 'col', class: 'right' }, 'Findings'),
            h('th', { scope: 'col' }, 'Pinned')
          )
        ),
        h('tbody', null, shown(tools).flatMap(rows))
      )
    );
  }

  function renderDefinitions() {
    definitionsCount.textContent = `${num(definitions.length)} item${definitions.length === 1 ? '' : 's'}`;
    if (definitions.length === 0) {
      replace(
        definitionsWrap,
        emptyState('No prompts or resources.', 'None of the upstream servers lists any.')
      );
      return;
    }
    replace(
      definitionsWrap,
      h(
        'table',
        { class: 'table', id: 'definitions-table' },
        h('caption', { class: 'visually-hidden' }, 'Prompts, resources and resource templates'),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', { scope: 'col' }, 'Server'),
            h('th', { scope: 'col' }, 'Name'),
            h('th', { scope: 'col' }, 'Exposed as'),
            h('th', { scope: 'col' }, 'Status'),
            h('th', { scope: 'col', class: 'right' }, 'Findings'),
            h('th', { scope: 'col' }, 'Pinned')
          )
        ),
        h('tbody', null, shown(definitions).flatMap(rows))
      )
    );
  }

  function rows(t) {
    const key = `${t.kind ?? 'tool'}\u0000${t.server}\u0000${t.name}`;
    const findings = findingsOf(t);
    const review = REVIEW.has(t.status);
    const isOpen = review ? !closed.has(key) : open.has(key);
    const detailsId = `${t.kind ?? 'tool'}-${t.server}-${t.name}`.replace(/[^\w-]/g, '_');
    const toggle = () => {
      const set = review ? closed : open;
      if (set.has(key)) set.delete(key);
      else set.add(key);
      render();
      document.getElementById(`${detailsId}-btn`)?.focus();
    };
    const findingsCell =
      findings.length === 0 && !review
        ? h('span', { class: 'muted num' }, '0')
        : h(
            'button',
            {
              type: 'button',
              id: `${detailsId}-btn`,
              class: `btn btn-sm findings-btn ${findings.length ? 'has-findings' : ''}`,
              'aria-expanded': String(isOpen),
              'aria-controls': detailsId,
              onclick: toggle
            },
            h('span', { class: 'num' }, String(findings.length)),
            h(
              'span',
              { class: 'visually-hidden' },
              ` finding${findings.length === 1 ? '' : 's'} and changes for ${t.exposed ?? t.name}; `
            ),
            isOpen ? ' Hide' : ' Show'
          );
    const main = h(
      'tr',
      {
        dataset: t.kind
          ? { definition: t.exposed ?? t.name, kind: t.kind, status: t.status }
          : { tool: t.exposed ?? `${t.server}__${t.name}`, status: t.status }
      },
      h('td', null, t.server),
      h(
        'td',
        null,
        h(
          'div',
          { class: 'tool-cell' },
          h('span', { class: 'mono' }, t.name),
          t.kind ? h('span', { class: 'cell-sub' }, KIND_LABEL[t.kind] ?? t.kind) : null,
          t.description ? h('span', { class: 'cell-sub' }, t.description) : null,
          t.reason
            ? h('span', { class: 'cell-sub cell-reason', dataset: { field: 'reason' } }, t.reason)
            : null,
          t.error ? h('span', { class: 'cell-sub cell-error' }, t.error) : null
        )
      ),
      h('td', { class: 'mono' }, t.exposed ?? '—'),
      h('td', { title: STATUS_HELP[t.status] ?? '' }, statusBadge(t.status)),
      h('td', { class: 'right' }, findingsCell),
      h(
        'td',
        { class: 'num nowrap', title: t.hash ? `hash ${t.hash}` : '' },
        t.pinnedAt ? dateTime(t.pinnedAt) : h('span', { class: 'muted' }, '—'),
        t.hash ? h('span', { class: 'cell-sub mono' }, shortHash(t.hash, 16)) : null
      )
    );
    if (!isOpen) return [main];
    return [
      main,
      h(
        'tr',
        { class: 'details-row', id: detailsId },
        h('td', { colspan: '6' }, h('div', { class: 'change-details' }, changeDetails(t, findings)))
      )
    ];
  }

  /** Why it is held back, what changed since the pin, and what the scanner found. */
  function changeDetails(t, findings) {
    const diff = t.diff ?? {};
    return [
      t.reason
        ? h(
            'p',
            { class: 'change-reason' },
            h('strong', null, 'Reason: '),
            h('span', { dataset: { field: 'detail-reason' } }, t.reason)
          )
        : null,
      diff.description ? diffView(diff.description, 'Description: pinned → now') : null,
      diff.inputSchema ? diffView(diff.inputSchema, 'Input schema: pinned → now') : null,
      t.status === 'removed' && t.pinnedDescription !== undefined
        ? h('p', { class: 'cell-sub' }, `Pinned as: ${t.pinnedDescription || '(no description)'}`)
        : null,
      findings.length
        ? h(
            'ul',
            { class: 'findings' },
            findings.map((f) => h('li', { class: 'finding' }, findingView(f, t)))
          )
        : h('p', { class: 'muted' }, 'No scanner findings.')
    ];
  }

  /** One card per server with changes to decide on: Approve re-pins it, Reject leaves it blocked. */
  function renderReview() {
    const byServer = new Map();
    for (const t of [...tools, ...definitions]) {
      if (!REVIEW.has(t.status)) continue;
      byServer.set(t.server, (byServer.get(t.server) ?? 0) + 1);
    }
    for (const server of results.keys()) if (!byServer.has(server)) byServer.set(server, 0);
    replace(
      reviewList,
      [...byServer.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([server, n]) => reviewCard(server, n))
    );
  }

  function reviewCard(server, n) {
    const result = results.get(server);
    const act = (action) => async () => {
      const approving = action === 'approve';
      const answer = await confirmAction({
        title: approving ? `Approve the changes of ${server}?` : `Reject the changes of ${server}?`,
        detail: approving
          ? `Pins what ${server} offers now: its changed tools, prompts and resources become visible and callable to agents again.`
          : `Leaves the pins as they are: what changed on ${server} stays blocked. The rejection is audited.`,
        confirm: approving ? 'Approve' : 'Reject',
        danger: !approving,
        note: true
      });
      if (!answer) return;
      try {
        const body = answer.note ? { note: answer.note } : {};
        const data = await api(`/tools/${encodeURIComponent(server)}/${action}`, { method: 'POST', body });
        const text = approving
          ? `Approved by ${data.by}: ${data.pinned} tool${data.pinned === 1 ? '' : 's'} pinned.`
          : `Rejected by ${data.by}: ${data.rejected.length} change${data.rejected.length === 1 ? '' : 's'} stay blocked.`;
        results.set(server, { ok: true, text });
        announce(text);
      } catch (err) {
        if (err.status === 401) return;
        results.set(server, { ok: false, text: `${err.status ? `${err.status}: ` : ''}${err.message}` });
      }
      await load();
    };
    return h(
      'div',
      { class: 'review-card', dataset: { server } },
      h(
        'div',
        null,
        h(
          'p',
          null,
          h('strong', { class: 'mono' }, server),
          n ? ` · ${n} change${n === 1 ? '' : 's'} to review` : ' · nothing left to review'
        ),
        result
          ? h(
              'p',
              { class: `review-result ${result.ok ? 'result-ok' : 'card-error'}`, role: 'status' },
              result.text
            )
          : null
      ),
      n
        ? h(
            'div',
            { class: 'review-actions' },
            h('button', { type: 'button', class: 'btn btn-sm btn-deny', onclick: act('reject') }, 'Reject'),
            h(
              'button',
              { type: 'button', class: 'btn btn-sm btn-approve', onclick: act('approve') },
              'Approve'
            )
          )
        : null
    );
  }

  function findingView(f, tool) {
    if (f === null || f === undefined) return h('span', { class: 'muted' }, 'No details.');
    if (typeof f === 'string') return h('span', null, f);
    const severity = f.severity ?? f.level;
    const kind = f.kind ?? f.code;
    const known = typeof f.message === 'string' || typeof kind === 'string';
    const where = [
      f.rule ? ['rule', f.rule] : null,
      f.field ? ['in', f.field] : null,
      Number.isInteger(f.start)
        ? ['at', Number.isInteger(f.end) ? `${f.start}–${f.end}` : String(f.start)]
        : null
    ].filter(Boolean);
    const excerpt = excerptOf(f, tool);
    return h(
      'div',
      { class: 'finding-body' },
      h(
        'div',
        { class: 'finding-head' },
        severity ? h('span', { class: `badge badge-${severityKind(severity)}` }, String(severity)) : null,
        kind ? h('span', { class: 'mono finding-kind' }, String(kind).replace(/_/g, ' ')) : null,
        f.message ? h('span', null, f.message) : null
      ),
      where.length
        ? h(
            'p',
            { class: 'finding-where' },
            where.map(([k, v], i) => [
              i ? ' · ' : '',
              h('span', { class: 'muted' }, `${k} `),
              h('span', { class: 'mono' }, v)
            ])
          )
        : null,
      excerpt,
      known ? null : code(pretty(f), 'code-sm')
    );
  }

  /** The matched text in context, when the finding points into the tool's description. */
  function excerptOf(f, tool) {
    const text = f.field === 'description' || f.field === undefined ? tool.description : undefined;
    if (
      typeof text !== 'string' ||
      !Number.isInteger(f.start) ||
      !Number.isInteger(f.end) ||
      f.end <= f.start
    )
      return null;
    if (f.end > text.length) return null;
    const from = Math.max(0, f.start - 60);
    const to = Math.min(text.length, f.end + 60);
    return h(
      'p',
      { class: 'finding-excerpt mono' },
      from > 0 ? '…' : '',
      text.slice(from, f.start),
      h('mark', null, text.slice(f.start, f.end)),
      text.slice(f.end, to),
      to < text.length ? '…' : ''
    );
  }

  function severityKind(sev) {
    const s = String(sev).toLowerCase();
    if (['high', 'critical', 'error'].includes(s)) return 'deny';
    if (['medium', 'warning', 'warn'].includes(s)) return 'approval';
    return 'neutral';
  }

  load();
  return { poll: load, unmount: () => (disposed = true) };
}
