/**
 * Sessions: who is connected, how, how much they called, their risk and per-rule counts; a session
 * can be ended here, and the token behind it revoked, each after a confirmation.
 */
import { h, replace, announce } from '../dom.js';
import { pageHeader, emptyState, errorBox, chips, loading, confirmAction } from '../ui.js';
import { ago, dateTime, duration, num, parseTime, sessionLabel } from '../format.js';

export function sessionsPage(root, ctx) {
  const { api, bus } = ctx;
  let disposed = false;
  let sessions = [];
  let timer;
  const wrap = h('div', { class: 'table-wrap' }, loading());
  const count = h('span', { class: 'section-count', role: 'status' });
  const error = h('div');
  const notice = h('div', { role: 'status' });

  replace(
    root,
    pageHeader('Sessions', 'Open agent sessions, with what per-session policy counts for each.'),
    error,
    notice,
    h(
      'section',
      { class: 'section', 'aria-label': 'Sessions' },
      h('div', { class: 'section-head' }, h('h2', null, 'Open sessions'), count),
      wrap
    )
  );

  async function load() {
    try {
      const data = await api('/sessions');
      if (disposed) return;
      sessions = (data.sessions ?? []).sort((a, b) => parseTime(b.lastSeen) - parseTime(a.lastSeen));
      replace(error);
      render();
    } catch (err) {
      if (disposed || err.status === 401) return;
      replace(error, errorBox(`Could not load sessions: ${err.message}`));
    }
  }

  function render() {
    count.textContent = `${num(sessions.length)} open`;
    if (sessions.length === 0) {
      replace(
        wrap,
        emptyState('No open sessions.', 'A session opens when an agent connects to the gateway.')
      );
      return;
    }
    const now = Date.now();
    replace(
      wrap,
      h(
        'table',
        { class: 'table', id: 'sessions-table' },
        h('caption', { class: 'visually-hidden' }, 'Open sessions'),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', { scope: 'col' }, 'Identity'),
            h('th', { scope: 'col' }, 'Session'),
            h('th', { scope: 'col' }, 'Transport'),
            h('th', { scope: 'col', class: 'right' }, 'Calls'),
            h('th', { scope: 'col', class: 'right' }, 'Risk'),
            h('th', { scope: 'col', class: 'right' }, 'Age'),
            h('th', { scope: 'col', class: 'right' }, 'Last seen'),
            h('th', { scope: 'col' }, 'Per-rule counts'),
            h('th', { scope: 'col', class: 'right' }, h('span', { class: 'visually-hidden' }, 'Actions'))
          )
        ),
        h(
          'tbody',
          null,
          sessions.map((ss) =>
            h(
              'tr',
              { dataset: { sessionId: ss.id } },
              h(
                'td',
                null,
                h(
                  'div',
                  { class: 'identity-cell' },
                  h('strong', null, ss.identity ?? '—'),
                  chips(ss.roles ?? [], 'chips-sm')
                )
              ),
              h('td', { class: 'mono', title: ss.id }, sessionLabel(ss.id)),
              h('td', null, h('span', { class: 'tag' }, ss.transport ?? '—')),
              h('td', { class: 'num right' }, num(ss.calls ?? 0)),
              h('td', { class: 'num right' }, riskCell(ss.risk)),
              h(
                'td',
                { class: 'num right nowrap', title: dateTime(ss.createdAt) },
                duration(now - parseTime(ss.createdAt))
              ),
              h('td', { class: 'num right nowrap', title: dateTime(ss.lastSeen) }, ago(ss.lastSeen, now)),
              h('td', null, counts(ss.counts)),
              h('td', null, actions(ss))
            )
          )
        )
      )
    );
  }

  function actions(ss) {
    const who = ss.identity ?? 'this session';
    const act = (action) => async () => {
      const ending = action === 'end';
      const answer = await confirmAction({
        title: ending ? `End ${who}'s session?` : `Revoke ${who}'s token?`,
        detail: ending
          ? `Closes session ${sessionLabel(ss.id)}: its next request is refused, and the agent has to connect again.`
          : `Revokes token ${ss.token}: every request made with it is refused from now on, in this session and any other.`,
        confirm: ending ? 'End session' : 'Revoke token',
        danger: true,
        note: true
      });
      if (!answer) return;
      try {
        const body = answer.note ? { note: answer.note } : {};
        const data = await api(`/sessions/${encodeURIComponent(ss.id)}/${action}`, { method: 'POST', body });
        const text = ending
          ? `Session ${sessionLabel(ss.id)} of ${who} ended by ${data.by}.`
          : `Token ${data.token} of ${who} revoked by ${data.by}.`;
        replace(notice, h('div', { class: 'alert alert-info', dataset: { result: action } }, text));
        announce(text);
      } catch (err) {
        if (err.status === 401) return;
        replace(notice, errorBox(`${err.status ? `${err.status}: ` : ''}${err.message}`));
      }
      await load();
    };
    return h(
      'div',
      { class: 'row-actions' },
      ss.endable
        ? h('button', { type: 'button', class: 'btn btn-sm btn-deny', onclick: act('end') }, 'End session')
        : null,
      ss.token && ss.revocable
        ? h(
            'button',
            { type: 'button', class: 'btn btn-sm btn-deny', onclick: act('revoke') },
            'Revoke token'
          )
        : null
    );
  }

  function riskCell(risk) {
    const n = Number(risk ?? 0);
    return h(
      'span',
      { class: n > 0 ? 'risk risk-on' : 'risk' },
      Number.isFinite(n) ? num(Math.round(n * 10) / 10) : String(risk)
    );
  }

  function counts(c) {
    const entries = c && typeof c === 'object' ? (Array.isArray(c) ? c : Object.entries(c)) : [];
    if (entries.length === 0) return h('span', { class: 'muted' }, 'none');
    return h(
      'span',
      { class: 'chips chips-mono' },
      entries.map(([rule, n]) =>
        h(
          'span',
          { class: 'chip chip-count' },
          h('span', null, rule),
          h('span', { class: 'chip-n num' }, String(n))
        )
      )
    );
  }

  const offAudit = bus.on('audit', (r) => {
    if (!r || !['session/open', 'session/close', 'tools/call'].includes(r.event)) return;
    clearTimeout(timer);
    timer = setTimeout(load, 400);
  });
  const every = setInterval(load, 5000);
  load();
  return {
    poll: load,
    unmount() {
      disposed = true;
      offAudit();
      clearInterval(every);
      clearTimeout(timer);
    }
  };
}
