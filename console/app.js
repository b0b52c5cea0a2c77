/**
 * Portcullis console: a single-page client of the Admin API. Hash routes, one module per page, no
 * framework and no build step. State that several pages share (who is signed in, the policy
 * version, the live event stream) lives here.
 */
import { h, replace, announce } from './dom.js';
import { api, getToken, setToken, onUnauthorized, openEventStream } from './api.js';
import { mark } from './ui.js';
import { shortHash } from './format.js';
import { signInPage } from './pages/signin.js';
import { approvalsPage } from './pages/approvals.js';
import { feedPage } from './pages/feed.js';
import { sessionsPage } from './pages/sessions.js';
import { toolsPage } from './pages/tools.js';
import { policyPage } from './pages/policy.js';

const { window, document, location, history, Element } = globalThis;

const PAGES = [
  { route: 'approvals', label: 'Approvals', page: approvalsPage, icon: 'M4 12l5 5L20 6' },
  { route: 'feed', label: 'Live feed', page: feedPage, icon: 'M3 12h4l3-7 4 14 3-7h4' },
  { route: 'sessions', label: 'Sessions', page: sessionsPage, icon: 'M4 6h16M4 12h16M4 18h10' },
  { route: 'tools', label: 'Tools', page: toolsPage, icon: 'M14 7l3-3 3 3-3 3M4 20l9-9M6 4h5v5' },
  { route: 'policy', label: 'Policy', page: policyPage, icon: 'M12 3l8 3v6c0 5-4 8-8 9-4-1-8-4-8-9V6z' }
];
const DEFAULT_ROUTE = 'approvals';
const POLL_MS = 4000;

/** Tiny event bus: the stream's events, and app state changes. */
function createBus() {
  const handlers = new Map();
  return {
    on(type, fn) {
      if (!handlers.has(type)) handlers.set(type, new Set());
      handlers.get(type).add(fn);
      return () => handlers.get(type)?.delete(fn);
    },
    emit(type, payload) {
      for (const fn of handlers.get(type) ?? []) {
        try {
          fn(payload);
        } catch (err) {
          console.error(err);
        }
      }
    }
  };
}

const bus = createBus();
const state = {
  me: null, // { identity, roles }
  policy: null, // { version, mode }
  stream: 'offline',
  pending: 0,
  signInMessage: '',
  wanted: '' // the page asked for before signing in
};

const root = document.getElementById('app');
let shell = null; // { main, header parts }
let current = null; // { route, instance }
let stream = null;
let pollTimer = null;
let pendingTimer = null;

function routeFromHash() {
  const m = /^#\/([\w-]+)/.exec(location.hash);
  return m ? m[1] : '';
}

export function navigate(route) {
  if (routeFromHash() === route) render();
  else location.hash = `#/${route}`;
}

// ---- sign-in and sign-out ---------------------------------------------------------------------

async function signIn(token) {
  const me = await api('/whoami', { token, quiet401: true });
  setToken(token);
  state.me = me;
  state.signInMessage = '';
  startSession();
  const target = state.wanted || routeFromHash();
  state.wanted = '';
  navigate(PAGES.some((p) => p.route === target) ? target : DEFAULT_ROUTE);
}

function signOut(message = '') {
  setToken('');
  state.me = null;
  state.policy = null;
  state.signInMessage = message;
  stopSession();
  shell = null;
  if (routeFromHash() !== 'signin') location.hash = '#/signin';
  else render();
}

onUnauthorized(() => {
  if (!state.me && !getToken()) return;
  state.wanted = current?.route ?? '';
  signOut('Your token was not accepted (401). Sign in again.');
});

// ---- the live stream, polling fallback, and shared data --------------------------------------

function startSession() {
  stopSession();
  stream = openEventStream({
    onEvent(type, payload) {
      bus.emit(type, payload);
      if (type === 'approval') schedulePendingRefresh();
      if (type === 'audit' && payload && payload.event === 'config/reload') refreshPolicy();
    },
    onState(next) {
      state.stream = next;
      renderStreamState();
      bus.emit('stream', next);
    }
  });
  let ticks = 0;
  pollTimer = setInterval(() => {
    ticks += 1;
    // Without a live stream the page and the pending count are polled, and the policy version
    // now and then; with one, events drive everything and the version is only checked rarely.
    if (state.stream !== 'live') {
      current?.instance?.poll?.();
      refreshPending();
      if (ticks % 4 === 0) refreshPolicy();
    } else if (ticks % 15 === 0) refreshPolicy();
  }, POLL_MS);
  refreshPolicy();
  refreshPending();
}

function stopSession() {
  stream?.stop();
  stream = null;
  clearInterval(pollTimer);
  pollTimer = null;
  state.stream = 'offline';
}

async function refreshPolicy() {
  try {
    const p = await api('/policy');
    state.policy = { version: p.version, mode: p.mode };
  } catch {
    /* shown as unknown */
  }
  renderHeader();
}

function schedulePendingRefresh() {
  clearTimeout(pendingTimer);
  pendingTimer = setTimeout(refreshPending, 150);
}

async function refreshPending() {
  try {
    const { approvals = [] } = await api('/approvals?status=pending');
    setPendingCount(approvals.filter((a) => a.status === 'pending').length);
  } catch {
    /* keep the last count */
  }
}

function setPendingCount(n) {
  state.pending = n;
  const badge = document.getElementById('nav-pending');
  if (!badge) return;
  badge.textContent = n > 0 ? String(n) : '';
  badge.hidden = n === 0;
  badge.setAttribute('aria-label', `${n} pending`);
}

// ---- the shell ---------------------------------------------------------------------------------

function icon(d) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', 'nav-icon');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  path.setAttribute('d', d);
  svg.append(path);
  return svg;
}

function buildShell() {
  const nav = h(
    'nav',
    { class: 'nav', 'aria-label': 'Console' },
    h(
      'ul',
      null,
      PAGES.map((p) =>
        h(
          'li',
          null,
          h(
            'a',
            { href: `#/${p.route}`, class: 'nav-link', dataset: { route: p.route } },
            icon(p.icon),
            h('span', { class: 'nav-label' }, p.label),
            p.route === 'approvals'
              ? h('span', { id: 'nav-pending', class: 'nav-count', hidden: true })
              : null
          )
        )
      )
    )
  );
  const sidebar = h(
    'aside',
    { class: 'sidebar' },
    h(
      'a',
      { class: 'brand', href: `#/${DEFAULT_ROUTE}`, 'aria-label': 'Portcullis console, approvals' },
      mark(26),
      h('span', { class: 'brand-name' }, 'Portcullis')
    ),
    nav,
    h('p', { class: 'sidebar-foot' }, 'Admin console')
  );
  const gateway = h(
    'div',
    { class: 'gw' },
    h('span', { class: 'gw-name' }, 'Portcullis gateway'),
    h('span', { class: 'gw-host' }, location.host)
  );
  const streamState = h('span', { class: 'stream', id: 'stream-state', role: 'status' });
  const policy = h('span', { class: 'hdr-item', id: 'hdr-policy' });
  const who = h('span', { class: 'hdr-item', id: 'hdr-who' });
  const out = h(
    'button',
    { type: 'button', class: 'btn btn-ghost btn-sm', onclick: () => signOut('You signed out.') },
    'Sign out'
  );
  const header = h(
    'header',
    { class: 'topbar' },
    gateway,
    h('div', { class: 'topbar-right' }, streamState, policy, who, out)
  );
  const main = h('main', { id: 'main', class: 'main', tabindex: '-1' });
  replace(root, sidebar, h('div', { class: 'workspace' }, header, main));
  root.classList.remove('signed-out');
  shell = { main };
  renderHeader();
  renderStreamState();
  setPendingCount(state.pending);
}

function renderHeader() {
  const policy = document.getElementById('hdr-policy');
  const who = document.getElementById('hdr-who');
  if (policy) {
    const v = state.policy?.version;
    replace(
      policy,
      h('span', { class: 'hdr-label' }, 'Policy'),
      h('span', { class: 'mono', title: v ?? '', id: 'policy-version' }, v ? shortHash(v) : '—'),
      state.policy?.mode ? h('span', { class: `mode mode-${state.policy.mode}` }, state.policy.mode) : null
    );
  }
  if (who && state.me) {
    replace(
      who,
      h(
        'span',
        { class: 'avatar', 'aria-hidden': 'true' },
        (state.me.identity || '?').slice(0, 1).toUpperCase()
      ),
      h(
        'span',
        { class: 'who' },
        h('span', { class: 'who-name', id: 'whoami' }, state.me.identity),
        h('span', { class: 'who-roles' }, (state.me.roles ?? []).join(', '))
      )
    );
  }
}

function renderStreamState() {
  const el = document.getElementById('stream-state');
  if (!el) return;
  const label = { live: 'Live', connecting: 'Connecting', offline: 'Polling' }[state.stream] ?? state.stream;
  el.className = `stream stream-${state.stream}`;
  el.title =
    state.stream === 'live'
      ? 'Receiving events as they happen'
      : `Event stream unavailable; refreshing every ${POLL_MS / 1000} s`;
  replace(el, h('span', { class: 'dot', 'aria-hidden': 'true' }), label);
}

// ---- routing -----------------------------------------------------------------------------------

async function render() {
  const route = routeFromHash();
  if (!getToken()) {
    current?.instance?.unmount?.();
    current = null;
    shell = null;
    root.classList.add('signed-out');
    replace(root, signInPage({ message: state.signInMessage, signIn }));
    root.removeAttribute('aria-busy');
    if (route !== 'signin') {
      if (PAGES.some((p) => p.route === route)) state.wanted = route;
      history.replaceState(null, '', '#/signin');
    }
    return;
  }
  if (!state.me) {
    // A reload with a token in sessionStorage: check it is still good.
    try {
      state.me = await api('/whoami', { quiet401: true });
      startSession();
    } catch (err) {
      setToken('');
      state.signInMessage =
        err.status === 401 ? 'Your token was not accepted (401). Sign in again.' : err.message;
      render();
      return;
    }
  }
  const entry = PAGES.find((p) => p.route === route);
  if (!entry) {
    history.replaceState(null, '', `#/${DEFAULT_ROUTE}`);
    render();
    return;
  }
  if (!shell) buildShell();
  root.removeAttribute('aria-busy');
  const userNavigated = current !== null;
  current?.instance?.unmount?.();
  for (const link of document.querySelectorAll('.nav-link')) {
    if (link.dataset.route === route) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${entry.label} · Portcullis console`;
  replace(shell.main);
  const instance = entry.page(shell.main, { api, bus, state, navigate, setPendingCount, announce });
  current = { route, instance };
  if (userNavigated) shell.main.querySelector('h1')?.focus({ preventScroll: true });
}

window.addEventListener('hashchange', () => {
  if (location.hash.startsWith('#/')) render();
});

document.addEventListener('click', (event) => {
  const skip = event.target instanceof Element ? event.target.closest('.skip-link') : null;
  if (!skip) return;
  event.preventDefault();
  document.getElementById('main')?.focus();
});

render();
