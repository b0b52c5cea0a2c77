/**
 * Live feed: audit records as they are written, newest first, with search and filters, under a
 * per-minute chart of calls and denials. Clicking a record shows its full JSON; a tool call's
 * record links to the Policy page's explanation of how the policy in force decides it.
 */
import { h, replace, nextId } from '../dom.js';
import { pageHeader, emptyState, errorBox, decisionBadge, outcomeText, code, loading } from '../ui.js';
import { clock, dateTime, num, pretty } from '../format.js';
import { query } from '../api.js';
import { drawChart, chartLegend, normalizeBuckets } from '../chart.js';

const { ResizeObserver, Element, URLSearchParams } = globalThis;

const MAX_ROWS = 500;

export function feedPage(root, ctx) {
  const { api, bus } = ctx;
  let disposed = false;
  let records = [];
  let slots = normalizeBuckets([]);
  let loadSeq = 0;
  let searchTimer;
  let statsTimer;
  const identities = new Set();

  // ---- controls --------------------------------------------------------------------------------
  const ids = {
    q: nextId('q'),
    decision: nextId('decision'),
    identity: nextId('identity'),
    tool: nextId('tool'),
    events: nextId('events'),
    list: nextId('ids')
  };
  const q = h('input', {
    id: ids.q,
    type: 'search',
    class: 'input',
    placeholder: 'Search records',
    autocomplete: 'off',
    spellcheck: 'false'
  });
  const decision = h(
    'select',
    { id: ids.decision, class: 'select' },
    h('option', { value: '' }, 'Any decision'),
    h('option', { value: 'allow' }, 'Allow'),
    h('option', { value: 'deny' }, 'Deny'),
    h('option', { value: 'approval' }, 'Approval')
  );
  const identityList = h('datalist', { id: ids.list });
  const identity = h('input', {
    id: ids.identity,
    type: 'text',
    class: 'input',
    placeholder: 'Any identity',
    list: ids.list,
    autocomplete: 'off',
    spellcheck: 'false'
  });
  const tool = h('select', { id: ids.tool, class: 'select' }, h('option', { value: '' }, 'Any tool'));
  const events = h(
    'select',
    { id: ids.events, class: 'select' },
    h('option', { value: 'calls' }, 'Tool calls'),
    h('option', { value: 'all' }, 'All events')
  );
  const clear = h(
    'button',
    { type: 'button', class: 'btn btn-ghost btn-sm', onclick: clearFilters },
    'Clear'
  );
  const field = (id, label, control, cls = '') =>
    h('div', { class: `field ${cls}` }, h('label', { class: 'label', for: id }, label), control);

  const filters = h(
    'form',
    {
      class: 'filters',
      role: 'search',
      'aria-label': 'Filter the feed',
      onsubmit: (e) => e.preventDefault()
    },
    field(ids.q, 'Search', q, 'field-grow'),
    field(ids.decision, 'Decision', decision),
    field(ids.identity, 'Identity', identity),
    identityList,
    field(ids.tool, 'Tool or server', tool, 'field-tool'),
    field(ids.events, 'Show', events, 'field-show'),
    h('div', { class: 'field field-end' }, clear)
  );

  const chartBox = h('div', { class: 'chart-canvas', id: 'calls-chart' });
  const chartSummary = h('p', { class: 'chart-summary num' });
  const count = h('span', { class: 'section-count', role: 'status' });
  const tableWrap = h('div', { class: 'table-wrap feed-wrap' }, loading());
  const error = h('div');
  const dialog = buildDialog();

  replace(
    root,
    pageHeader('Live feed', 'Every audit record as the gateway writes it.'),
    h(
      'section',
      { class: 'card chart-card', 'aria-labelledby': 'chart-title' },
      h(
        'div',
        { class: 'card-head' },
        h('div', null, h('h2', { id: 'chart-title' }, 'Calls per minute, last 60 minutes'), chartSummary),
        chartLegend()
      ),
      h('div', { class: 'chart' }, chartBox)
    ),
    filters,
    error,
    h(
      'section',
      { class: 'section', 'aria-label': 'Audit records' },
      h('div', { class: 'section-head' }, h('h2', null, 'Records'), count),
      tableWrap
    ),
    dialog.el
  );

  // ---- filters -----------------------------------------------------------------------------------
  function params() {
    const p = { limit: 200, q: q.value.trim(), decision: decision.value, identity: identity.value.trim() };
    if (events.value === 'calls') p.event = 'tools/call';
    const t = tool.value;
    if (t.startsWith('server:')) p.server = t.slice(7);
    else if (t.startsWith('tool:')) {
      const [server, name] = t.slice(5).split('\u0000');
      p.server = server;
      p.tool = name;
    }
    return p;
  }

  function matches(r) {
    const p = params();
    if (p.event && r.event !== p.event) return false;
    if (p.decision && r.decision !== p.decision) return false;
    if (p.identity && r.identity !== p.identity) return false;
    if (p.server && r.server !== p.server) return false;
    if (p.tool && r.tool !== p.tool && r.name !== p.tool) return false;
    if (p.q && !JSON.stringify(r).toLowerCase().includes(p.q.toLowerCase())) return false;
    return true;
  }

  function clearFilters() {
    q.value = '';
    decision.value = '';
    identity.value = '';
    tool.value = '';
    events.value = 'calls';
    load();
  }

  q.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(load, 250);
  });
  identity.addEventListener('change', load);
  identity.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(load, 400);
  });
  for (const el of [decision, tool, events]) el.addEventListener('change', load);

  // ---- data --------------------------------------------------------------------------------------
  async function load() {
    const seq = ++loadSeq;
    const p = params();
    try {
      const data = await api(`/audit${query(p)}`);
      if (disposed || seq !== loadSeq) return;
      records = (data.records ?? []).filter(matches).slice(0, MAX_ROWS);
      for (const r of data.records ?? []) noteIdentity(r.identity);
      replace(error);
      renderTable();
    } catch (err) {
      if (disposed || err.status === 401) return;
      replace(error, errorBox(`Could not load the audit feed: ${err.message}`));
    }
  }

  async function loadTools() {
    try {
      const data = await api('/tools');
      if (disposed) return;
      const byServer = new Map();
      for (const t of data.tools ?? []) {
        if (!byServer.has(t.server)) byServer.set(t.server, []);
        byServer.get(t.server).push(t);
      }
      const selected = tool.value;
      replace(
        tool,
        h('option', { value: '' }, 'Any tool'),
        [...byServer.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([server, list]) =>
            h(
              'optgroup',
              { label: server },
              h('option', { value: `server:${server}` }, `${server} (all tools)`),
              list
                .sort((a, b) => a.name.localeCompare(b.name))
                .map((t) =>
                  h(
                    'option',
                    { value: `tool:${t.server}\u0000${t.name}` },
                    t.exposed ?? `${t.server}__${t.name}`
                  )
                )
            )
          )
      );
      tool.value = selected;
    } catch {
      /* the filter keeps "Any tool" */
    }
  }

  async function loadStats() {
    try {
      const data = await api('/stats?minutes=60');
      if (disposed) return;
      slots = normalizeBuckets(data.buckets ?? []);
      renderChart();
    } catch (err) {
      if (disposed || err.status === 401) return;
      replace(chartBox, errorBox(`Could not load statistics: ${err.message}`));
    }
  }

  function scheduleStats(ms = 1500) {
    if (statsTimer) return;
    statsTimer = setTimeout(() => {
      statsTimer = undefined;
      loadStats();
    }, ms);
  }

  function noteIdentity(name) {
    if (!name || identities.has(name)) return;
    identities.add(name);
    replace(
      identityList,
      [...identities].sort().map((i) => h('option', { value: i }))
    );
  }

  function onAudit(record) {
    if (!record || typeof record !== 'object') return;
    noteIdentity(record.identity);
    if (record.event === 'tools/call') scheduleStats();
    if (!matches(record) || records.some((r) => r.id === record.id)) return;
    records = [record, ...records].slice(0, MAX_ROWS);
    const tbody = tableWrap.querySelector('tbody');
    if (!tbody) {
      renderTable();
      return;
    }
    const tr = row(record);
    tr.classList.add('fresh');
    tbody.prepend(tr);
    while (tbody.children.length > MAX_ROWS) tbody.lastElementChild.remove();
    renderCount();
  }

  // ---- rendering ---------------------------------------------------------------------------------
  function renderChart() {
    const totals = drawChart(chartBox, slots);
    chartSummary.textContent = `${num(totals.calls)} calls · ${num(totals.denials)} denied · ${num(totals.approvals)} held for approval`;
  }

  function renderCount() {
    count.textContent = `${num(records.length)} record${records.length === 1 ? '' : 's'}${records.length >= MAX_ROWS ? ' (most recent)' : ''}`;
  }

  function renderTable() {
    renderCount();
    if (records.length === 0) {
      const filtered = q.value || decision.value || identity.value || tool.value;
      replace(
        tableWrap,
        filtered
          ? emptyState(
              'No records match these filters.',
              'Clear the filters, or wait: new records appear here as they are written.'
            )
          : emptyState(
              'No audit records yet.',
              'Records appear here the moment an agent lists or calls a tool through the gateway.'
            )
      );
      return;
    }
    replace(
      tableWrap,
      h(
        'table',
        { class: 'table table-feed', id: 'feed-table' },
        h(
          'caption',
          { class: 'visually-hidden' },
          'Audit records, newest first. Choose a record to see its full JSON.'
        ),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', { scope: 'col' }, 'Time'),
            h('th', { scope: 'col' }, 'Decision'),
            h('th', { scope: 'col' }, 'Identity'),
            h('th', { scope: 'col' }, 'Tool'),
            h('th', { scope: 'col', class: 'right' }, 'Latency'),
            h('th', { scope: 'col' }, 'Outcome'),
            h('th', { scope: 'col' }, 'Findings'),
            h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Explain')),
            h('th', { scope: 'col' }, 'Reason')
          )
        ),
        h('tbody', null, records.map(row))
      )
    );
  }

  function row(r) {
    const label = r.name ?? r.uri ?? (r.tool ? `${r.server}__${r.tool}` : r.event);
    const open = () => dialog.show(r);
    return h(
      'tr',
      {
        class: 'clickable',
        dataset: { recordId: r.id, decision: r.decision ?? '' },
        onclick: (e) => {
          if (!(e.target instanceof Element && e.target.closest('button'))) open();
        }
      },
      h(
        'td',
        { class: 'num nowrap' },
        h(
          'button',
          {
            type: 'button',
            class: 'link-btn num',
            title: dateTime(r.time),
            'aria-label': `Show record: ${clock(r.time)} ${label}`,
            onclick: open
          },
          clock(r.time)
        )
      ),
      h('td', null, r.decision ? decisionBadge(r.decision) : h('span', { class: 'event-tag' }, r.event)),
      h('td', { class: 'nowrap' }, r.identity ?? h('span', { class: 'muted' }, '—')),
      h(
        'td',
        { class: 'mono cell-tool' },
        r.event === 'tools/call' || r.name ? label : h('span', { class: 'muted' }, label)
      ),
      h(
        'td',
        { class: 'num right nowrap' },
        r.latency_ms === undefined ? h('span', { class: 'muted' }, '—') : `${num(r.latency_ms)} ms`
      ),
      h('td', null, outcomeText(r.outcome)),
      h('td', { class: 'cell-findings' }, findingsCell(r.findings)),
      h(
        'td',
        { class: 'nowrap' },
        r.event === 'tools/call' && r.name && r.decision
          ? h(
              'a',
              {
                class: 'explain-link',
                href: explainHref(r),
                'aria-label': `Explain ${clock(r.time)} ${label}`,
                title: 'Explain this decision against the policy in force'
              },
              'Explain'
            )
          : null
      ),
      h('td', { class: 'cell-reason', title: r.reason ?? '' }, r.reason ?? r.error ?? '')
    );
  }

  /** Scanner findings as chips: kind (or rule) and severity; never the matched text (not recorded). */
  function findingsCell(findings) {
    if (!Array.isArray(findings) || findings.length === 0) return h('span', { class: 'muted' }, '—');
    return h(
      'span',
      { class: 'chips chips-mono', title: `${findings.length} finding${findings.length === 1 ? '' : 's'}` },
      findings
        .slice(0, 3)
        .map((f) =>
          h(
            'span',
            { class: `chip chip-finding severity-${String(f.severity ?? 'info').toLowerCase()}` },
            String(f.kind ?? f.rule ?? 'finding').replace(/_/g, ' '),
            f.severity ? h('span', { class: 'chip-n' }, String(f.severity)) : null
          )
        ),
      findings.length > 3 ? h('span', { class: 'chip' }, `+${findings.length - 3}`) : null
    );
  }

  /** The Policy page's explain form, filled with this call: who, what, the arguments, when. */
  function explainHref(r) {
    const p = new URLSearchParams({ explain: r.id, tool: r.name, roles: (r.roles ?? []).join(',') });
    if (r.identity) p.set('user', r.identity);
    if (r.time) p.set('time', r.time);
    if (r.arguments && typeof r.arguments === 'object') {
      const args = JSON.stringify(r.arguments);
      if (args.length <= 4000) p.set('args', args);
    }
    if (r.policy_version) p.set('version', r.policy_version);
    return `#/policy?${p}`;
  }

  function buildDialog() {
    const title = h('h2', { id: 'record-title' }, 'Audit record');
    const meta = h('p', { class: 'subtitle num' });
    const body = h('div', { class: 'dialog-body' });
    const close = h(
      'button',
      { type: 'button', class: 'btn btn-ghost btn-sm', onclick: () => el.close() },
      'Close'
    );
    const el = h(
      'dialog',
      { class: 'drawer', 'aria-labelledby': 'record-title' },
      h('header', { class: 'drawer-head' }, h('div', null, title, meta), close),
      body
    );
    el.addEventListener('click', (e) => {
      if (e.target === el) el.close(); // a click on the backdrop
    });
    let opener = null;
    el.addEventListener('close', () => opener?.focus?.());
    return {
      el,
      show(r) {
        opener = el.ownerDocument.activeElement;
        title.textContent = r.name ?? r.event ?? 'Audit record';
        meta.textContent = `${dateTime(r.time)} · ${r.identity ?? 'no identity'} · ${r.id}`;
        replace(
          body,
          r.decision ? h('p', null, decisionBadge(r.decision), ' ', r.reason ?? '') : null,
          code(pretty(r), 'code-record')
        );
        el.showModal();
        close.focus();
      }
    };
  }

  // ---- lifecycle ---------------------------------------------------------------------------------
  const resize = new ResizeObserver(() => renderChart());
  resize.observe(chartBox);
  const offAudit = bus.on('audit', onAudit);
  const offStream = bus.on('stream', (s) => {
    if (s === 'live') load();
  });
  const statsEvery = setInterval(loadStats, 20_000);
  renderChart();
  load();
  loadStats();
  loadTools();

  return {
    poll() {
      load();
      loadStats();
    },
    unmount() {
      disposed = true;
      resize.disconnect();
      offAudit();
      offStream();
      clearInterval(statsEvery);
      clearTimeout(searchTimer);
      clearTimeout(statsTimer);
      if (dialog.el.open) dialog.el.close();
    }
  };
}
