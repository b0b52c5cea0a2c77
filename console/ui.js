/** Shared UI pieces: badges, page headers, empty states, the mark, key-value lists. */
import { h, s } from './dom.js';

const DECISION_LABEL = { allow: 'Allow', deny: 'Deny', approval: 'Approval' };

/** allow green, deny red, approval amber. */
export function decisionBadge(decision) {
  if (!decision) return h('span', { class: 'badge badge-neutral' }, '—');
  const key = String(decision).toLowerCase();
  return h(
    'span',
    { class: `badge badge-${key}`, dataset: { decision: key } },
    DECISION_LABEL[key] ?? decision
  );
}

const STATUS_KIND = {
  pending: 'approval',
  approved: 'allow',
  denied: 'deny',
  expired: 'muted',
  cancelled: 'muted',
  pinned: 'allow',
  new: 'info',
  changed: 'approval',
  blocked: 'deny',
  unavailable: 'muted',
  ok: 'allow',
  denied_outcome: 'deny',
  tool_error: 'approval',
  error: 'deny'
};

export function statusBadge(status, label) {
  const key = String(status ?? 'unknown').toLowerCase();
  const kind = STATUS_KIND[key] ?? 'neutral';
  return h(
    'span',
    { class: `badge badge-${kind}`, dataset: { status: key } },
    label ?? capitalize(key.replace(/_/g, ' '))
  );
}

export function outcomeText(outcome) {
  if (!outcome) return h('span', { class: 'muted' }, '—');
  const kind = { ok: 'ok', denied: 'deny', tool_error: 'warn', error: 'deny' }[outcome] ?? 'muted';
  return h('span', { class: `outcome outcome-${kind}` }, outcome.replace(/_/g, ' '));
}

export function capitalize(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

export function pageHeader(title, subtitle, ...actions) {
  return h(
    'header',
    { class: 'page-header' },
    h(
      'div',
      { class: 'page-title' },
      h('h1', { tabindex: '-1' }, title),
      subtitle ? h('p', { class: 'subtitle' }, subtitle) : null
    ),
    actions.length ? h('div', { class: 'page-actions' }, actions) : null
  );
}

export function emptyState(title, detail) {
  return h(
    'div',
    { class: 'empty' },
    h('p', { class: 'empty-title' }, title),
    detail ? h('p', { class: 'empty-detail' }, detail) : null
  );
}

export function errorBox(message) {
  return h('div', { class: 'alert alert-error', role: 'alert' }, message);
}

export function loading(text = 'Loading…') {
  return h('div', { class: 'loading', role: 'status' }, text);
}

/** A definition list from [label, value] pairs (null values skipped). */
export function facts(pairs, cls = '') {
  return h(
    'dl',
    { class: `facts ${cls}` },
    pairs
      .filter((p) => p && p[1] !== undefined && p[1] !== null)
      .map(([k, v]) => h('div', { class: 'fact' }, h('dt', null, k), h('dd', null, v)))
  );
}

export function chips(items, cls = '') {
  if (!items || items.length === 0) return h('span', { class: 'muted' }, '—');
  return h(
    'span',
    { class: `chips ${cls}` },
    items.map((t) => h('span', { class: 'chip' }, t))
  );
}

export function code(text, cls = '') {
  return h('pre', { class: `code ${cls}` }, h('code', null, text));
}

/** The Portcullis mark: a gate with a lowered grille. */
export function mark(size = 28) {
  const bars = [7, 12, 17, 22].map((x) =>
    s('line', { x1: x + 0.5, y1: 8, x2: x + 0.5, y2: 25, class: 'mark-bar' })
  );
  return s(
    'svg',
    {
      class: 'mark',
      width: size,
      height: size,
      viewBox: '0 0 30 30',
      'aria-hidden': 'true',
      focusable: 'false'
    },
    s('path', { d: 'M3 27V9a12 6 0 0 1 24 0v18', class: 'mark-arch' }),
    s('line', { x1: 4, y1: 14, x2: 26, y2: 14, class: 'mark-bar' }),
    s('line', { x1: 4, y1: 20, x2: 26, y2: 20, class: 'mark-bar' }),
    bars,
    s('line', { x1: 1, y1: 27.5, x2: 29, y2: 27.5, class: 'mark-ground' })
  );
}

/**
 * Ask before an action: a modal dialog with the question, what it does, an optional note, and
 * Cancel / confirm buttons. Resolves with `{ note }` when confirmed, or null. All text goes in as
 * text.
 */
export function confirmAction({ title, detail, confirm, danger = false, note = false }) {
  const doc = globalThis.document;
  return new Promise((resolve) => {
    const noteId = `confirm-note-${Date.now()}`;
    const noteInput = note
      ? h('input', { id: noteId, type: 'text', class: 'input', autocomplete: 'off', maxlength: '500' })
      : null;
    const el = h(
      'dialog',
      { class: 'confirm-dialog', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-detail' },
      h(
        'form',
        { method: 'dialog', class: 'confirm-body' },
        h('h2', { id: 'confirm-title' }, title),
        h('p', { id: 'confirm-detail', class: 'confirm-detail' }, detail),
        noteInput
          ? h(
              'div',
              { class: 'field' },
              h(
                'label',
                { class: 'label', for: noteId },
                'Note ',
                h('span', { class: 'optional' }, '(optional)')
              ),
              noteInput
            )
          : null,
        h(
          'div',
          { class: 'confirm-actions' },
          h(
            'button',
            { type: 'button', class: 'btn btn-secondary', onclick: () => el.close('cancel') },
            'Cancel'
          ),
          h(
            'button',
            { type: 'submit', class: `btn ${danger ? 'btn-danger' : 'btn-primary'}`, value: 'confirm' },
            confirm
          )
        )
      )
    );
    const opener = doc.activeElement;
    el.addEventListener('close', () => {
      el.remove();
      opener?.focus?.();
      resolve(el.returnValue === 'confirm' ? { note: noteInput ? noteInput.value.trim() : '' } : null);
    });
    doc.body.append(el);
    el.showModal();
  });
}

/** A unified diff as lines: additions, removals, hunk headers and context, as text. */
export function diffView(patch, label) {
  const lines = String(patch ?? '')
    .split('\n')
    .filter((l) => l && !/^(={3,}|-{3} |\+{3} |Index: |\\ No newline)/.test(l));
  return h(
    'div',
    { class: 'diff', role: 'group', 'aria-label': label },
    h('div', { class: 'diff-label' }, label),
    h(
      'pre',
      { class: 'diff-lines' },
      lines.map((l) => {
        const kind = l.startsWith('@@') ? 'hunk' : l[0] === '+' ? 'add' : l[0] === '-' ? 'del' : 'ctx';
        return h('span', { class: `diff-line diff-${kind}` }, l, '\n');
      })
    )
  );
}
