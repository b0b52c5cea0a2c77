/**
 * Approvals: calls held for a person's decision, live. Each pending call is a card that is updated
 * in place (so a half-written note survives updates); decided calls move to the table below.
 */
import { h, replace, nextId } from '../dom.js';
import { pageHeader, emptyState, errorBox, statusBadge, chips, loading } from '../ui.js';
import {
  clock,
  countdown,
  dateTime,
  parseTime,
  pretty,
  compact,
  shortHash,
  sessionLabel,
  ago
} from '../format.js';

const DECIDED_LIMIT = 50;

export function approvalsPage(root, ctx) {
  const { api, bus, state } = ctx;
  const cards = new Map(); // id -> { call, el, refs }
  const outcomes = new Map(); // approval id -> the audit record of the call that was held
  let decided = [];
  let disposed = false;
  let refreshTimer;

  const pendingCount = h('span', { class: 'section-count', 'aria-live': 'polite' });
  const pendingList = h('div', { class: 'approval-list', 'aria-live': 'off' }, loading());
  const decidedBody = h('div', { class: 'table-wrap' }, loading());
  const pageError = h('div');

  replace(
    root,
    pageHeader(
      'Approvals',
      'Calls held until a person decides. The agent keeps waiting on its call until then.'
    ),
    pageError,
    h(
      'section',
      { class: 'section', 'aria-labelledby': 'pending-title' },
      h('div', { class: 'section-head' }, h('h2', { id: 'pending-title' }, 'Pending'), pendingCount),
      pendingList
    ),
    h(
      'section',
      { class: 'section', 'aria-labelledby': 'decided-title' },
      h('div', { class: 'section-head' }, h('h2', { id: 'decided-title' }, 'Recently decided')),
      decidedBody
    )
  );

  // ---- data ------------------------------------------------------------------------------------

  async function load() {
    try {
      const [p, d, a] = await Promise.all([
        api('/approvals?status=pending'),
        api('/approvals?status=decided'),
        api('/audit?event=tools/call&q=apr_&limit=500').catch(() => ({ records: [] }))
      ]);
      if (disposed) return;
      for (const r of [...(a.records ?? [])].reverse()) noteOutcome(r);
      replace(pageError);
      syncPending((p.approvals ?? []).filter((c) => c.status === 'pending'));
      decided = sortDecided(d.approvals ?? []).slice(0, DECIDED_LIMIT);
      renderDecided();
    } catch (err) {
      if (disposed || err.status === 401) return;
      replace(pageError, errorBox(`Could not load approvals: ${err.message}`));
    }
  }

  function scheduleLoad(ms = 300) {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(load, ms);
  }

  function syncPending(calls) {
    const seen = new Set();
    for (const call of calls) {
      seen.add(call.id);
      upsertCard(call);
    }
    for (const id of [...cards.keys()]) if (!seen.has(id)) removeCard(id);
    orderCards();
    renderPendingState();
  }

  function onApprovalEvent(call) {
    if (!call || !call.id) return;
    if (call.status === 'pending') {
      upsertCard(call);
      orderCards();
    } else {
      removeCard(call.id);
      addDecided(call);
    }
    renderPendingState();
  }

  /** The audit record of a held call names its approval (or mentions its id in the reason). */
  function approvalIdOf(record) {
    if (!record || record.event !== 'tools/call') return undefined;
    if (record.approval && record.approval.id) return record.approval.id;
    return /\bapr_[0-9a-f]+\b/.exec(record.reason ?? '')?.[0];
  }

  function noteOutcome(record) {
    const id = approvalIdOf(record);
    if (!id) return false;
    outcomes.set(id, record);
    return true;
  }

  function onAuditEvent(record) {
    if (noteOutcome(record) && decided.some((c) => c.id === approvalIdOf(record))) renderDecided();
  }

  function addDecided(call) {
    decided = sortDecided([call, ...decided.filter((c) => c.id !== call.id)]).slice(0, DECIDED_LIMIT);
    renderDecided();
  }

  // ---- pending cards ---------------------------------------------------------------------------

  function upsertCard(call) {
    const existing = cards.get(call.id);
    if (existing) {
      existing.call = call;
      updateCard(existing);
      return;
    }
    const entry = buildCard(call);
    cards.set(call.id, entry);
    updateCard(entry);
  }

  function removeCard(id) {
    const entry = cards.get(id);
    if (!entry) return;
    entry.el.remove();
    cards.delete(id);
  }

  function orderCards() {
    // Newest first, like the API.
    const sorted = [...cards.values()].sort(
      (a, b) => parseTime(b.call.createdAt) - parseTime(a.call.createdAt)
    );
    const list = sorted.map((e) => e.el);
    const current = [...pendingList.children];
    if (list.length !== current.length || list.some((el, i) => current[i] !== el)) replace(pendingList, list);
  }

  function renderPendingState() {
    const n = cards.size;
    pendingCount.textContent = n === 0 ? '' : `${n} waiting`;
    ctx.setPendingCount(n);
    if (n === 0) {
      replace(
        pendingList,
        emptyState(
          'No calls are waiting for a decision.',
          'A call that matches a rule with require_approval appears here the moment an agent makes it.'
        )
      );
    } else if (pendingList.querySelector('.empty, .loading')) {
      orderCards();
    }
  }

  function buildCard(call) {
    const noteId = nextId('note');
    const refs = {
      waiting: h('span', { class: 'num' }),
      expires: h('span', { class: 'num' }),
      timing: null,
      args: h('code'),
      facts: h('dl', { class: 'facts facts-grid' }),
      decisions: h('div', { class: 'decisions' }),
      own: h(
        'p',
        { class: 'own-call', hidden: true },
        'This is your own call. Another approver has to decide it; the gateway refuses self-approval.'
      ),
      error: h('div', { class: 'card-error', role: 'alert' }),
      note: h('input', {
        id: noteId,
        class: 'input',
        type: 'text',
        maxlength: '500',
        autocomplete: 'off',
        placeholder: 'Why? (recorded in the audit log)'
      }),
      approve: null,
      deny: null,
      title: h('h3', { class: 'card-title mono' })
    };
    refs.approve = h(
      'button',
      { type: 'button', class: 'btn btn-approve', onclick: () => decide('approve') },
      'Approve'
    );
    refs.deny = h('button', { type: 'button', class: 'btn btn-deny', onclick: () => decide('deny') }, 'Deny');
    refs.timing = h(
      'div',
      { class: 'timing' },
      h('span', { class: 'timing-item' }, h('span', { class: 'timing-label' }, 'Waiting'), refs.waiting),
      h(
        'span',
        { class: 'timing-item timing-expires' },
        h('span', { class: 'timing-label' }, 'Expires in'),
        refs.expires
      )
    );
    const el = h(
      'article',
      {
        class: 'approval-card',
        dataset: { approvalId: call.id },
        'aria-label': `Held call ${call.name ?? call.tool} by ${call.identity}`
      },
      h(
        'header',
        { class: 'card-head' },
        h('div', { class: 'card-head-main' }, statusBadge('pending', 'Pending'), refs.title),
        refs.timing
      ),
      h(
        'div',
        { class: 'card-body' },
        refs.facts,
        h(
          'div',
          { class: 'args' },
          h('div', { class: 'args-label' }, 'Arguments'),
          h('pre', { class: 'code code-args' }, refs.args)
        )
      ),
      refs.decisions,
      refs.own,
      h(
        'div',
        { class: 'card-actions' },
        h(
          'label',
          { class: 'label label-inline', for: noteId },
          'Note',
          h('span', { class: 'optional' }, ' (optional)')
        ),
        refs.note,
        h('div', { class: 'action-buttons' }, refs.deny, refs.approve)
      ),
      refs.error
    );
    const entry = { call, el, refs, busy: false };

    async function decide(action) {
      if (entry.busy) return;
      entry.busy = true;
      refs.error.textContent = '';
      refs.error.classList.remove('visible');
      // Not `disabled`: that would drop keyboard focus. `busy` already refuses a second click.
      for (const b of [refs.approve, refs.deny]) b.setAttribute('aria-disabled', 'true');
      entry.el.setAttribute('aria-busy', 'true');
      const note = refs.note.value.trim();
      try {
        const result = await api(`/approvals/${encodeURIComponent(entry.call.id)}/${action}`, {
          method: 'POST',
          body: note ? { note } : {}
        });
        if (result && result.id) {
          onApprovalEvent(result);
          const verb = action === 'approve' ? 'Approval' : 'Denial';
          ctx.announce(
            result.status === 'pending'
              ? `${verb} recorded; more approvals are needed.`
              : `Call ${result.status}.`
          );
          if (result.status === 'pending') refs.note.value = '';
        } else scheduleLoad(0);
      } catch (err) {
        if (err.status === 401) return;
        showError(entry, action, err);
        if (err.status === 409 || err.status === 404) scheduleLoad(4000);
      } finally {
        entry.busy = false;
        for (const b of [refs.approve, refs.deny]) b.removeAttribute('aria-disabled');
        entry.el.removeAttribute('aria-busy');
      }
    }
    return entry;
  }

  function showError(entry, action, err) {
    const verb = action === 'approve' ? 'approve' : 'deny';
    let text;
    if (err.status === 403) text = `Refused (403): ${err.message}`;
    else if (err.status === 409) text = `Already decided (409): ${err.message}`;
    else if (err.status === 404) text = `Not found (404): this call no longer exists.`;
    else text = `Could not ${verb} (${err.status || 'network'}): ${err.message}`;
    entry.refs.error.textContent = text;
    entry.refs.error.classList.add('visible');
  }

  function updateCard(entry) {
    const { call, refs } = entry;
    refs.title.textContent = call.name ?? `${call.server}__${call.tool}`;
    refs.args.textContent = pretty(call.arguments ?? {});
    const approvals = (call.decisions ?? []).filter((d) => d.decision === 'approve').length;
    const required = call.required ?? 1;
    replace(
      refs.facts,
      fact(
        'Identity',
        h(
          'span',
          { class: 'identity' },
          h('strong', { dataset: { field: 'identity' } }, call.identity ?? '—'),
          call.roles?.length ? chips(call.roles, 'chips-sm') : null
        )
      ),
      fact('Approvals', [
        h('span', { class: 'num', dataset: { field: 'progress' } }, `${approvals} of ${required}`),
        call.approverRoles?.length
          ? h('span', { class: 'muted' }, ` from ${call.approverRoles.join(', ')}`)
          : null
      ]),
      fact('Risk', h('span', { class: 'num' }, String(call.risk ?? 0))),
      fact('Rules', chips(call.rules ?? [], 'chips-mono')),
      fact('Session', h('span', { class: 'mono', title: call.session ?? '' }, sessionLabel(call.session))),
      fact(
        'Policy',
        h('span', { class: 'mono', title: call.policyVersion ?? '' }, shortHash(call.policyVersion))
      ),
      fact('Reason', call.reason ?? '—', 'fact-wide')
    );
    refs.timing.title = `Held at ${dateTime(call.createdAt)}; expires at ${dateTime(call.expiresAt)}`;
    const decisions = call.decisions ?? [];
    if (decisions.length === 0) replace(refs.decisions);
    else
      replace(
        refs.decisions,
        h('h4', { class: 'decisions-title' }, 'Decisions so far'),
        h(
          'ul',
          { class: 'decision-list' },
          decisions.map((d) =>
            h(
              'li',
              null,
              statusBadge(
                d.decision === 'approve' ? 'approved' : 'denied',
                d.decision === 'approve' ? 'Approved' : 'Denied'
              ),
              h('span', null, ' by '),
              h('strong', null, d.by),
              h('span', { class: 'muted num' }, ` at ${clock(d.at)}`),
              d.note ? h('span', { class: 'decision-note' }, ` — ${d.note}`) : null
            )
          )
        )
      );
    refs.own.hidden = !(state.me && call.identity === state.me.identity);
    tickCard(entry, Date.now());
  }

  function tickCard(entry, now) {
    const { call, refs } = entry;
    refs.waiting.textContent = countdown(now - parseTime(call.createdAt));
    const left = parseTime(call.expiresAt) - now;
    refs.expires.textContent = Number.isNaN(left) ? '—' : left > 0 ? countdown(left) : 'expiring';
    refs.timing.classList.toggle('urgent', left < 30_000);
    if (left < -1500 && !entry.expiryChecked) {
      entry.expiryChecked = true;
      scheduleLoad(0);
    }
  }

  // ---- decided table -----------------------------------------------------------------------------

  function renderDecided() {
    if (decided.length === 0) {
      replace(
        decidedBody,
        emptyState('Nothing decided yet.', 'Approved, denied and expired calls are listed here.')
      );
      return;
    }
    replace(
      decidedBody,
      h(
        'table',
        { class: 'table', id: 'decided-table' },
        h('caption', { class: 'visually-hidden' }, 'Recently decided held calls'),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ['Status', 'Tool', 'Identity', 'Arguments', 'Outcome', 'Held', 'Decided'].map((t) =>
              h('th', { scope: 'col' }, t)
            )
          )
        ),
        h(
          'tbody',
          null,
          decided.map((c) =>
            h(
              'tr',
              { dataset: { approvalId: c.id, status: c.status } },
              h('td', null, statusBadge(c.status)),
              h('td', { class: 'mono' }, c.name ?? `${c.server}__${c.tool}`),
              h('td', null, c.identity ?? '—'),
              h(
                'td',
                { class: 'mono cell-args', title: compact(c.arguments, 2000) },
                compact(c.arguments, 48)
              ),
              h('td', { class: 'cell-outcome' }, outcomeOf(c)),
              h('td', { class: 'num nowrap', title: dateTime(c.createdAt) }, clock(c.createdAt)),
              h('td', { class: 'num nowrap', title: dateTime(decidedAt(c)) }, ago(decidedAt(c)))
            )
          )
        )
      )
    );
  }

  function outcomeOf(c) {
    const ds = c.decisions ?? [];
    const by = (kind) =>
      ds
        .filter((d) => d.decision === kind)
        .map((d) => d.by)
        .join(', ');
    const notes = ds.filter((d) => d.note).map((d) => `${d.by}: “${d.note}”`);
    let text;
    if (c.status === 'approved') text = `Approved by ${by('approve') || '—'}`;
    else if (c.status === 'denied') text = by('deny') ? `Denied by ${by('deny')}` : 'Denied';
    else if (c.status === 'expired') text = 'Nobody decided in time';
    else if (c.status === 'cancelled') text = 'The agent went away';
    else text = c.status;
    // What then happened to the call: an approved call is decided again against the current policy.
    const record = outcomes.get(c.id);
    let result = null;
    if (record && c.status === 'approved') {
      if (record.outcome === 'ok')
        result = h('span', { class: 'cell-sub result result-ok' }, 'The call ran.');
      else if (record.outcome === 'tool_error')
        result = h(
          'span',
          { class: 'cell-sub result result-warn' },
          'The call ran; the tool reported an error.'
        );
      else
        result = h(
          'span',
          { class: 'cell-sub result result-deny', dataset: { field: 'refusal' } },
          `The call was refused: ${refusal(record)}`
        );
    }
    return [
      h('span', null, text),
      result,
      notes.length ? h('span', { class: 'cell-sub' }, notes.join('; ')) : null
    ];
  }

  function decidedAt(c) {
    const ds = c.decisions ?? [];
    return (
      c.decidedAt ??
      c.updatedAt ??
      (ds.length ? ds[ds.length - 1].at : c.status === 'expired' ? c.expiresAt : c.createdAt)
    );
  }

  function sortDecided(list) {
    return [...list].sort((a, b) => parseTime(decidedAt(b)) - parseTime(decidedAt(a)));
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  const offApproval = bus.on('approval', onApprovalEvent);
  const offAudit = bus.on('audit', onAuditEvent);
  const offStream = bus.on('stream', (s) => {
    if (s === 'live') scheduleLoad(0);
  });
  let ticks = 0;
  const ticker = setInterval(() => {
    const now = Date.now();
    for (const entry of cards.values()) tickCard(entry, now);
    ticks += 1;
    if (ticks % 15 === 0 && decided.length) renderDecided();
  }, 1000);
  const slowRefresh = setInterval(() => scheduleLoad(0), 30_000);
  load();

  return {
    poll: load,
    unmount() {
      disposed = true;
      offApproval();
      offAudit();
      offStream();
      clearInterval(ticker);
      clearInterval(slowRefresh);
      clearTimeout(refreshTimer);
    }
  };
}

/** The audit reason without the approval id it starts with (the row already is that call). */
function refusal(record) {
  const reason = record.reason ?? record.code ?? record.outcome ?? '';
  return String(reason).replace(/^apr_[0-9a-f]+\s+approved, but\s+/, '');
}

function fact(label, value, cls = '') {
  return h('div', { class: `fact ${cls}` }, h('dt', null, label), h('dd', null, value));
}
