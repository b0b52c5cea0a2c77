/**
 * Tools: every upstream tool with its exposed name, pin status and scanner findings; below them the
 * servers' prompts, resources and resource templates, pinned and vetted the same way.
 */
import { h, replace } from '../dom.js';
import { pageHeader, emptyState, errorBox, statusBadge, code, loading } from '../ui.js';
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

const KIND_LABEL = { prompt: 'Prompt', resource: 'Resource', resourceTemplate: 'Resource template' };

export function toolsPage(root, ctx) {
  const { api } = ctx;
  let disposed = false;
  let tools = [];
  let definitions = [];
  const open = new Set();
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
      refresh
    ),
    error,
    summary,
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

  function render() {
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
        h('tbody', null, tools.flatMap(rows))
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
        h('tbody', null, definitions.flatMap(rows))
      )
    );
  }

  function rows(t) {
    const key = `${t.kind ?? 'tool'}\u0000${t.server}\u0000${t.name}`;
    const findings = findingsOf(t);
    const isOpen = open.has(key);
    const detailsId = `${t.kind ?? 'tool'}-${t.server}-${t.name}`.replace(/[^\w-]/g, '_');
    const toggle = () => {
      if (open.has(key)) open.delete(key);
      else open.add(key);
      render();
      document.getElementById(`${detailsId}-btn`)?.focus();
    };
    const findingsCell =
      findings.length === 0
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
              ` finding${findings.length === 1 ? '' : 's'} for ${t.exposed ?? t.name}; `
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
          t.pinnedDescription !== undefined
            ? h('span', { class: 'cell-sub' }, `Pinned as: ${t.pinnedDescription || '(no description)'}`)
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
        h(
          'td',
          { colspan: '6' },
          h(
            'ul',
            { class: 'findings' },
            findings.map((f) => h('li', { class: 'finding' }, findingView(f, t)))
          )
        )
      )
    ];
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
