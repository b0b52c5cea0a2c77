/**
 * Sign-in: paste the admin token or a gateway token with an admin role. The token is checked with
 * GET /admin/api/whoami and kept in sessionStorage only.
 */
import { h, nextId } from '../dom.js';
import { mark } from '../ui.js';

const { location, queueMicrotask } = globalThis;

export function signInPage({ message, signIn }) {
  const inputId = nextId('token');
  const hintId = nextId('hint');
  const errorId = nextId('error');
  const input = h('input', {
    id: inputId,
    name: 'token',
    type: 'password',
    class: 'input input-mono',
    autocomplete: 'off',
    autocapitalize: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': `${hintId} ${errorId}`,
    placeholder: 'Paste a token'
  });
  const error = h('div', { id: errorId, class: 'signin-error', role: 'alert' });
  const notice = message ? h('div', { class: 'alert alert-info', role: 'status' }, message) : null;
  const button = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Sign in');
  const reveal = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-ghost btn-sm input-addon',
      'aria-pressed': 'false',
      'aria-controls': inputId,
      onclick: () => {
        const show = input.type === 'password';
        input.type = show ? 'text' : 'password';
        reveal.setAttribute('aria-pressed', String(show));
        reveal.textContent = show ? 'Hide' : 'Show';
      }
    },
    'Show'
  );

  const form = h(
    'form',
    {
      class: 'signin-form',
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        const token = input.value.trim();
        error.textContent = '';
        input.removeAttribute('aria-invalid');
        if (!token) {
          error.textContent = 'Paste a token to sign in.';
          input.setAttribute('aria-invalid', 'true');
          input.focus();
          return;
        }
        button.disabled = true;
        button.textContent = 'Checking…';
        try {
          await signIn(token);
        } catch (err) {
          const status = err && err.status;
          error.textContent =
            status === 401
              ? 'That token was not accepted. Use the admin token or a gateway token with an admin role.'
              : status === 403
                ? `That token may not use the console: ${err.message}`
                : (err && err.message) || 'Sign-in failed.';
          input.setAttribute('aria-invalid', 'true');
          input.select();
          input.focus();
        } finally {
          button.disabled = false;
          button.textContent = 'Sign in';
        }
      }
    },
    h('label', { for: inputId, class: 'label' }, 'Token'),
    h('div', { class: 'input-group' }, input, reveal),
    h(
      'p',
      { id: hintId, class: 'hint' },
      'The admin token, or a gateway token whose roles include an admin role. It is kept in this tab only and sent as a bearer token.'
    ),
    error,
    button
  );

  const page = h(
    'div',
    { class: 'signin' },
    h(
      'section',
      { class: 'signin-card', 'aria-labelledby': 'signin-title' },
      h('div', { class: 'signin-brand' }, mark(36), h('span', null, 'Portcullis')),
      h('h1', { id: 'signin-title' }, 'Sign in to the console'),
      h('p', { class: 'subtitle' }, 'Review held calls, watch the audit feed and explain policy decisions.'),
      notice,
      form
    ),
    h('p', { class: 'signin-foot' }, location.host)
  );
  queueMicrotask(() => input.focus());
  return page;
}
