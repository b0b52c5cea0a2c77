/**
 * Policy: the active version, mode and rules, and "Explain this call": POST /admin/api/explain with
 * roles, tool, arguments, user and time, showing the decision and the trace of every rule. Opened
 * from a feed record (`#/policy?explain=<record>&tool=…`), the form is filled with that call and
 * explained at once, with a note when the policy changed since the call was decided.
 */
import { h, replace, nextId } from '../dom.js';
import { pageHeader, errorBox, decisionBadge, chips, code, facts, loading, emptyState } from '../ui.js';
import { pretty, yamlish, dateTime } from '../format.js';

const { URLSearchParams } = globalThis;

export function policyPage(root, ctx) {
  const { api, bus } = ctx;
  let disposed = false;
  let policy = null;
  let view = 'rules';

  const summary = h('div', { class: 'policy-summary' });
  const sourceLine = h('p', { class: 'rules-source' });
  const rulesBox = h('div', { class: 'rules' }, loading());
  const error = h('div');
  const viewRules = h(
    'button',
    { type: 'button', class: 'seg', 'aria-pressed': 'true', onclick: () => setView('rules') },
    'Rules'
  );
  const viewJson = h(
    'button',
    { type: 'button', class: 'seg', 'aria-pressed': 'false', onclick: () => setView('json') },
    'JSON'
  );
  const explain = explainForm();
  const fromRecord = new URLSearchParams(globalThis.location.hash.split('?')[1] ?? '');

  replace(
    root,
    pageHeader('Policy', 'The rules in force, and why a call would be allowed, denied or held.', summary),
    error,
    h(
      'div',
      { class: 'policy-grid' },
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'rules-title' },
        h(
          'div',
          { class: 'card-head' },
          h('div', { class: 'card-head-text' }, h('h2', { id: 'rules-title' }, 'Rules'), sourceLine),
          h('div', { class: 'segmented', role: 'group', 'aria-label': 'Show rules as' }, viewRules, viewJson)
        ),
        rulesBox
      ),
      explain.el
    )
  );

  function setView(v) {
    view = v;
    viewRules.setAttribute('aria-pressed', String(v === 'rules'));
    viewJson.setAttribute('aria-pressed', String(v === 'json'));
    renderRules();
  }

  async function load() {
    try {
      const p = await api('/policy');
      if (disposed) return;
      policy = p;
      replace(error);
      render();
    } catch (err) {
      if (disposed || err.status === 401) return;
      replace(error, errorBox(`Could not load the policy: ${err.message}`));
    }
  }

  function render() {
    const settings = policy.settings ?? {};
    const otherSettings = Object.fromEntries(
      Object.entries(settings).filter(
        ([k, v]) =>
          k !== 'mode' && v !== undefined && !(v && typeof v === 'object' && Object.keys(v).length === 0)
      )
    );
    const mode = policy.mode ?? settings.mode ?? 'enforce';
    replace(
      summary,
      facts(
        [
          ['Version', h('span', { class: 'mono', id: 'policy-page-version' }, policy.version ?? '—')],
          ['Mode', h('span', { class: `mode mode-${mode}` }, mode)],
          ['Rules', h('span', { class: 'num' }, String((policy.rules ?? []).length))]
        ],
        'facts-row facts-summary'
      )
    );
    replace(
      sourceLine,
      h('span', { class: 'mono source', title: sourceText(policy.source) }, sourceText(policy.source)),
      Object.keys(otherSettings).length
        ? h('span', { class: 'mono settings' }, ` · ${compactSettings(otherSettings)}`)
        : null
    );
    renderRules();
  }

  function sourceText(src) {
    if (src === undefined || src === null) return '—';
    if (typeof src === 'string') return src;
    return (
      [src.path ?? src.file, src.loadedAt ? `loaded ${dateTime(src.loadedAt)}` : null]
        .filter(Boolean)
        .join(' · ') || JSON.stringify(src)
    );
  }

  function compactSettings(o) {
    return yamlish(o).replace(/\n\s*/g, '; ');
  }

  function renderRules() {
    if (!policy) return;
    const rules = policy.rules ?? [];
    if (view === 'json') {
      replace(rulesBox, code(pretty(rules), 'code-rules'));
      return;
    }
    if (rules.length === 0) {
      replace(rulesBox, emptyState('No rules.', 'With no rules, every call is denied (default deny).'));
      return;
    }
    replace(
      rulesBox,
      h(
        'ol',
        { class: 'rule-list' },
        rules.map((rule, i) => {
          const id = rule.id ?? `rules[${i}]`;
          const { id: _omit, ...rest } = rule;
          void _omit;
          const effect = rule.deny
            ? 'deny'
            : rule.require_approval
              ? 'approval'
              : rule.allowed_roles
                ? 'allow'
                : null;
          return h(
            'li',
            { class: 'rule', dataset: { rule: id } },
            h(
              'div',
              { class: 'rule-head' },
              h('span', { class: 'rule-id mono' }, id),
              effect ? decisionBadge(effect) : null,
              rule.mode === 'observe' ? h('span', { class: 'badge badge-info' }, 'Observe') : null,
              h('span', { class: 'rule-target mono' }, ruleTarget(rule))
            ),
            code(yamlish(rest), 'code-rule')
          );
        })
      )
    );
  }

  function explainForm() {
    const ids = {
      roles: nextId('roles'),
      tool: nextId('tool'),
      args: nextId('args'),
      user: nextId('user'),
      time: nextId('time'),
      list: nextId('tools')
    };
    const roles = h('input', {
      id: ids.roles,
      class: 'input',
      type: 'text',
      value: 'analyst',
      autocomplete: 'off',
      spellcheck: 'false',
      required: true,
      'aria-describedby': `${ids.roles}-hint`
    });
    const toolList = h('datalist', { id: ids.list });
    const tool = h('input', {
      id: ids.tool,
      class: 'input input-mono',
      type: 'text',
      placeholder: 'server__tool',
      list: ids.list,
      autocomplete: 'off',
      spellcheck: 'false',
      required: true
    });
    const args = h(
      'textarea',
      {
        id: ids.args,
        class: 'input input-mono textarea',
        rows: '2',
        spellcheck: 'false',
        'aria-describedby': `${ids.args}-error`
      },
      '{}'
    );
    const argsError = h('p', { id: `${ids.args}-error`, class: 'field-error', role: 'alert' });
    const user = h('input', {
      id: ids.user,
      class: 'input',
      type: 'text',
      placeholder: 'principal user id',
      autocomplete: 'off',
      spellcheck: 'false'
    });
    const time = h('input', { id: ids.time, class: 'input', type: 'datetime-local', step: '1' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Explain');
    const result = h('div', { class: 'explain-result', 'aria-live': 'polite' });

    const field = (id, label, control, extra, cls = '') =>
      h('div', { class: `field ${cls}` }, h('label', { class: 'label', for: id }, label), control, extra);

    const form = h(
      'form',
      {
        class: 'explain-form',
        novalidate: true,
        onsubmit: async (e) => {
          e.preventDefault();
          argsError.textContent = '';
          args.removeAttribute('aria-invalid');
          let parsed = {};
          const text = args.value.trim();
          if (text) {
            try {
              parsed = JSON.parse(text);
            } catch (err) {
              argsError.textContent = `Arguments are not JSON: ${err.message}`;
              args.setAttribute('aria-invalid', 'true');
              args.focus();
              return;
            }
            if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
              argsError.textContent = 'Arguments must be a JSON object.';
              args.setAttribute('aria-invalid', 'true');
              args.focus();
              return;
            }
          }
          const roleList = roles.value.split(/[\s,]+/).filter(Boolean);
          if (!tool.value.trim()) {
            replace(result, errorBox('Name the tool as server__tool.'));
            tool.focus();
            return;
          }
          const body = { roles: roleList, tool: tool.value.trim(), args: parsed };
          if (user.value.trim()) body.user = user.value.trim();
          if (time.value) {
            const t = new Date(time.value);
            if (!Number.isNaN(t.getTime())) body.time = t.toISOString();
          }
          submit.disabled = true;
          replace(result, loading('Explaining…'));
          try {
            const data = await api('/explain', { method: 'POST', body });
            if (disposed) return;
            replace(result, explanation(data));
          } catch (err) {
            if (err.status === 401) return;
            replace(result, errorBox(`Could not explain (${err.status || 'network'}): ${err.message}`));
          } finally {
            submit.disabled = false;
          }
        }
      },
      h(
        'div',
        { class: 'form-grid' },
        field(
          ids.roles,
          ['Roles ', h('span', { id: `${ids.roles}-hint`, class: 'optional' }, '(comma-separated)')],
          roles,
          null,
          'col-3'
        ),
        field(ids.tool, 'Tool', tool, toolList, 'col-3'),
        field(ids.args, 'Arguments (JSON)', args, argsError, 'col-6'),
        h(
          'div',
          { class: 'form-row col-6' },
          field(
            ids.user,
            ['User ', h('span', { class: 'optional' }, '(optional)')],
            user,
            null,
            'field-user'
          ),
          field(
            ids.time,
            ['Time ', h('span', { class: 'optional' }, '(optional)')],
            time,
            null,
            'field-time'
          ),
          h('div', { class: 'form-actions' }, submit)
        )
      )
    );

    (async () => {
      try {
        const data = await api('/tools');
        const names = [
          ...new Set((data.tools ?? []).map((t) => t.exposed ?? `${t.server}__${t.name}`))
        ].sort();
        replace(
          toolList,
          names.map((n) => h('option', { value: n }))
        );
      } catch {
        /* free text still works */
      }
    })();

    const el = h(
      'section',
      { class: 'card explain', 'aria-labelledby': 'explain-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'explain-title' }, 'Explain this call')),
      form,
      result
    );
    /** Fill the form with a recorded call and explain it. */
    const prefill = (q, current) => {
      roles.value = q.get('roles') ?? '';
      tool.value = q.get('tool') ?? '';
      args.value = q.get('args') ?? '{}';
      user.value = q.get('user') ?? '';
      const at = q.get('time') ? new Date(q.get('time')) : undefined;
      // datetime-local is local time without a zone.
      if (at && !Number.isNaN(at.getTime())) {
        const local = new Date(at.getTime() - at.getTimezoneOffset() * 60_000);
        time.value = local.toISOString().slice(0, 19);
      }
      const was = q.get('version');
      const note = h(
        'p',
        { class: 'explain-origin', id: 'explain-origin', dataset: { record: q.get('explain') ?? '' } },
        `Explaining the recorded call ${q.get('explain') ?? ''}`,
        was && current && was !== current
          ? ` — the policy changed since (decided under ${was}, now ${current}): this is how the policy in force decides it.`
          : '.'
      );
      form.before(note);
      form.requestSubmit();
    };

    return { el, prefill };
  }

  function explanation(data) {
    const d = data.decision ?? data;
    const trace = data.trace ?? [];
    const effect = String(d.effect ?? 'unknown').toLowerCase();
    return h(
      'div',
      { class: `verdict verdict-${effect}`, id: 'explain-verdict', dataset: { effect } },
      h(
        'div',
        { class: 'verdict-head' },
        h('span', { class: `verdict-word verdict-word-${effect}` }, effect.toUpperCase()),
        d.code ? h('span', { class: 'mono verdict-code' }, d.code) : null
      ),
      h('p', { class: 'verdict-reason' }, d.reason ?? ''),
      facts(
        [
          [
            'Call',
            h('span', { class: 'mono' }, data.server && data.tool ? `${data.server}__${data.tool}` : '—')
          ],
          ['Decided by', chips(d.rules ?? [], 'chips-mono')],
          d.risk ? ['Risk', h('span', { class: 'num' }, String(d.risk))] : null,
          d.observed ? ['Observe mode', `would ${d.observed.effect}: ${d.observed.reason}`] : null
        ],
        'facts-row facts-compact'
      ),
      trace.length
        ? h(
            'div',
            { class: 'trace' },
            h('h3', null, 'Trace'),
            h(
              'ol',
              { class: 'trace-list' },
              trace.map((t) =>
                h(
                  'li',
                  { class: t.matched ? 'trace-item matched' : 'trace-item' },
                  h(
                    'div',
                    { class: 'trace-head' },
                    h('span', { class: 'trace-mark', 'aria-hidden': 'true' }),
                    h('span', { class: 'mono trace-rule' }, t.rule),
                    h('span', { class: 'trace-state' }, t.matched ? 'applies' : 'not applicable')
                  ),
                  t.notes?.length
                    ? h(
                        'ul',
                        { class: 'trace-notes' },
                        t.notes.map((n) => h('li', null, n))
                      )
                    : null
                )
              )
            )
          )
        : null
    );
  }

  const offAudit = bus.on('audit', (r) => {
    if (r && r.event === 'config/reload') load();
  });
  load().then(() => {
    if (fromRecord.has('explain') && !disposed) explain.prefill(fromRecord, policy?.version);
  });
  return {
    poll: load,
    unmount() {
      disposed = true;
      offAudit();
    }
  };
}

/**
 * What a rule is about, as the agent names it: a tool or prompt `server__name`, a resource's URI.
 * A rule naming a list of globs shows each of them, comma-separated.
 */
function ruleTarget(rule) {
  const each = (globs, before) =>
    [globs]
      .flat()
      .map((g) => `${before}${g}`)
      .join(', ');
  const prefix = rule.server ? `${rule.server}__` : '';
  if (rule.prompt !== undefined) return `prompt ${each(rule.prompt, prefix)}`;
  if (rule.resource !== undefined)
    return `resource ${each(rule.resource, rule.server ? `portcullis://${rule.server}/` : '')}`;
  return each(rule.tool ?? '*', prefix);
}
