/**
 * A starter policy written from what the servers say about their own tools: read-only tools
 * (`readOnlyHint`) are allowed to the local identity, destructive ones (`destructiveHint`, or a
 * name such as `delete_*`) wait for a person's approval, and the rest are allowed in observe mode:
 * each call runs and its audit record says it would have needed approval, so the policy can be
 * tightened later by deleting one line. Each server gets one rule per treatment, its tools named
 * in a list of globs; every rule is scoped to its server and carries a comment saying why it is
 * there. `wrap` writes it into a new portcullis.yaml; `scan --suggest-rules` prints it.
 */

import { capabilitiesOf } from '../survey/capabilities.js';

/** What a server told us, or why it could not. */
export type Discovered = { tools: DiscoveredTool[] } | { error: string };

export interface DiscoveredTool {
  name: string;
  inputSchema?: unknown;
  annotations?: Record<string, unknown> | undefined;
}

export type ToolClass = 'read' | 'destructive' | 'other';

export interface PolicyOptions {
  /** The role the local (stdio) identity has; every rule allows it. */
  role?: string;
  /** Deny by default: every rule is written commented out. */
  strict?: boolean;
  /** Tools (`server__tool`) to give no rule, with why (a scan found them poisoned). */
  withhold?: Record<string, string>;
}

export interface SuggestedPolicy {
  /** The `rules:` block, rules and comments, ready to put at the end of a portcullis.yaml. */
  rules: string;
  /** For each server, the tools the agent will see (as `server__tool`) and how each is treated. */
  visible: Array<{ name: string; treatment: 'allowed' | 'approval' | 'observe' }>;
}

export const LOCAL_ROLE = 'local';

/** A name that says the tool removes or overwrites something. */
export const DESTRUCTIVE_NAME =
  /(^|[_-])(delete|drop|remove|destroy|wipe|purge|truncate|kill|erase|reset|overwrite)([_-]|$)/i;

/**
 * How the starter policy treats a tool, from its annotations, its name and its parameters. What a
 * name or parameter says it does (delete, run a command, read the environment) outranks a
 * `readOnlyHint`: the server's own annotations are not trusted to make it harmless.
 */
export function classifyTool(tool: DiscoveredTool): { class: ToolClass; why: string } {
  const a = tool.annotations ?? {};
  if (a.destructiveHint === true) return { class: 'destructive', why: 'destructiveHint' };
  if (DESTRUCTIVE_NAME.test(tool.name)) return { class: 'destructive', why: 'a destructive name' };
  const capabilities = capabilitiesOf(tool);
  if (capabilities.some((c) => c.capability === 'runs-commands')) {
    return { class: 'destructive', why: 'runs commands' };
  }
  // A server's environment holds its credentials: reading it is not made harmless by readOnlyHint.
  if (capabilities.some((c) => c.capability === 'reads-environment')) {
    return { class: 'destructive', why: 'reads the environment' };
  }
  if (a.readOnlyHint === true) return { class: 'read', why: 'readOnlyHint' };
  return { class: 'other', why: 'neither read-only nor destructive' };
}

/** A tool name a glob would misread (`*`, `?`), or that does not fit on one YAML line. */
function unsafeName(name: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[*?\u0000-\u001f\u007f]/.test(name) || name.length === 0;
}

function quote(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** A plain YAML scalar when it reads back as the same string, else quoted. */
function plain(s: string): string {
  return /^[A-Za-z][A-Za-z0-9_-]*$/.test(s) && !/^(true|false|yes|no|on|off|null)$/i.test(s) ? s : quote(s);
}

/** The first line of an error, bounded: it goes into a comment. */
function shortError(error: string): string {
  const line = error.split('\n')[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

/**
 * Globs covering exactly `group` among `all`: `*` when the group is every tool, `prefix_*` for two
 * or more of the group sharing a prefix no other tool has, else the names themselves.
 */
export function globsFor(group: string[], all: string[]): string[] {
  if (group.length === all.length && group.length > 1) return ['*'];
  const others = all.filter((n) => !group.includes(n));
  const byPrefix = new Map<string, string[]>();
  const singles: string[] = [];
  for (const name of group) {
    const m = /^([A-Za-z0-9]+[_-])./.exec(name);
    if (!m) singles.push(name);
    else byPrefix.set(m[1]!, [...(byPrefix.get(m[1]!) ?? []), name]);
  }
  const out: string[] = [];
  for (const [prefix, names] of byPrefix) {
    if (names.length > 1 && !others.some((n) => n.startsWith(prefix))) out.push(`${prefix}*`);
    else singles.push(...names);
  }
  return [...out, ...singles.sort()];
}

const TREATMENT: Record<ToolClass, { suffix: string; why: (names: string[]) => string; extra: string[] }> = {
  read: {
    suffix: 'read',
    why: (n) => `read-only by the server's own readOnlyHint: ${n.join(', ')}.`,
    extra: []
  },
  destructive: {
    suffix: 'approve',
    why: (n) =>
      `destructive, able to run commands, or reading the server's environment (destructiveHint, ` +
      `the name, or a command parameter): ` +
      `${n.join(', ')}. A person decides each call while the agent waits: you at the client ` +
      '(approvals.ask_client_roles), or an approver in the console or with `portcullis approvals`; ' +
      'no decision within approvals.timeout_s refuses it.',
    extra: ['require_approval: true']
  },
  other: {
    suffix: 'observe',
    why: (n) =>
      `neither read-only nor destructive by their annotations: ${n.join(', ')}. Allowed in observe ` +
      'mode: each call runs and its audit record (`observed`) says it would have needed approval. ' +
      'Delete `mode: observe` to hold them for approval, or narrow the rule.',
    extra: ['require_approval: true', 'mode: observe']
  }
};

/** Wrap text at about 96 columns into `# ` comment lines, indented. */
function comment(text: string, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  // eslint-disable-next-line no-control-regex
  for (const word of text.replace(/[\u0000-\u001f\u007f]/g, ' ').split(' ')) {
    if (line && line.length + word.length + 1 > 96) {
      lines.push(`${indent}# ${line}`);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(`${indent}# ${line}`);
  return lines;
}

/**
 * `tool:` for one glob or a list of them: a list on one line while it fits, else one glob a line.
 */
function toolLines(globs: string[]): string[] {
  if (globs.length === 1) return [`  tool: ${quote(globs[0]!)}`];
  const flow = `  tool: [${globs.map(quote).join(', ')}]`;
  return flow.length <= 96 ? [flow] : ['  tool:', ...globs.map((g) => `    - ${quote(g)}`)];
}

/** A rule line (indented two spaces) commented out, keeping its indentation after the `# `. */
function commentedOut(line: string): string {
  return `  # ${line.slice(2)}`;
}

function ruleLines(id: string, server: string, globs: string[], role: string, extra: string[]): string[] {
  return [
    `- id: ${plain(id)}`,
    `  server: ${plain(server)}`,
    ...toolLines(globs),
    `  allowed_roles: [${role}]`,
    ...extra.map((e) => `  ${e}`)
  ];
}

/** The rules for these servers, with a comment per rule, and the tools the agent will see. */
export function suggestPolicy(
  servers: Record<string, Discovered>,
  options: PolicyOptions = {}
): SuggestedPolicy {
  const role = options.role ?? LOCAL_ROLE;
  const strict = options.strict === true;
  const body: string[] = [];
  const visible: SuggestedPolicy['visible'] = [];
  let active = 0;
  const ids = new Set<string>();
  const idFor = (base: string) => {
    let id = base;
    for (let i = 2; ids.has(id); i++) id = `${base}-${i}`;
    ids.add(id);
    return id;
  };
  for (const server of Object.keys(servers).sort()) {
    const found = servers[server]!;
    body.push('');
    if ('error' in found) {
      body.push(
        ...comment(
          `${server}: not reached (${shortError(found.error)}), so its tools are denied until a rule ` +
            'allows them. To allow them all, audited, once it answers:',
          '  '
        ),
        ...ruleLines(idFor(`${server}-all`), server, ['*'], role, TREATMENT.other.extra).map(
          (l) => `  # ${l}`
        )
      );
      continue;
    }
    const withheld = found.tools.filter((t) => options.withhold?.[`${server}__${t.name}`] !== undefined);
    for (const t of withheld) {
      body.push(
        ...comment(`${server}: no rule for ${t.name}: ${options.withhold![`${server}__${t.name}`]}.`, '  ')
      );
    }
    const tools = found.tools.filter((t) => !unsafeName(t.name) && !withheld.includes(t));
    const skipped = found.tools.filter((t) => unsafeName(t.name)).map((t) => JSON.stringify(t.name));
    if (skipped.length > 0) {
      body.push(
        ...comment(`${server}: no rule for ${skipped.join(', ')}: a name with * or ? would be a glob.`, '  ')
      );
    }
    // Prompts and resources are read, not acted on: allowed to the local identity, every request
    // audited, as they were before rules covered them. Narrow a glob to restrict them.
    body.push(
      ...comment(
        `${server}: its prompts and resources are allowed and audited; narrow the globs to restrict them.`,
        '  '
      )
    );
    for (const [kind, glob] of [
      ['prompt', '*'],
      ['resource', '**']
    ] as const) {
      const lines = [
        `- id: ${plain(idFor(`${server}-${kind}s`))}`,
        `  server: ${plain(server)}`,
        `  ${kind}: ${quote(glob)}`,
        `  allowed_roles: [${role}]`
      ].map((l) => `  ${l}`);
      body.push(...(strict ? lines.map(commentedOut) : lines));
      if (!strict) active++;
    }
    if (tools.length === 0) {
      body.push(...comment(`${server}: lists no tools.`, '  '));
      continue;
    }
    // Globs are checked against every tool listed, withheld ones included, so none covers those.
    const all = found.tools.map((t) => t.name);
    for (const cls of ['read', 'destructive', 'other'] as const) {
      const group = tools.filter((t) => classifyTool(t).class === cls).map((t) => t.name);
      if (group.length === 0) continue;
      const t = TREATMENT[cls];
      body.push(...comment(`${server}: ${t.why(group.slice().sort())}`, '  '));
      // One rule for the group, its globs in a list: the comment above says why for all of them.
      const lines = ruleLines(
        idFor(`${server}-${t.suffix}`),
        server,
        globsFor(group, all),
        role,
        t.extra
      ).map((l) => `  ${l}`);
      body.push(...(strict ? lines.map(commentedOut) : lines));
      if (!strict) active++;
      if (!strict) {
        const treatment = cls === 'read' ? 'allowed' : cls === 'destructive' ? 'approval' : 'observe';
        for (const name of group.slice().sort()) visible.push({ name: `${server}__${name}`, treatment });
      }
    }
  }
  const head = strict
    ? [
        'rules: []',
        ...comment(
          'Deny by default (wrap --strict): every rule below is commented out, so the agent sees no ' +
            'tool until you uncomment the ones you want.',
          '  '
        )
      ]
    : [active > 0 ? 'rules:' : 'rules: []'];
  return { rules: [...head, ...body].join('\n') + '\n', visible };
}

/** The tools an agent will see, one line per server, for people. */
export function describeVisible(visible: SuggestedPolicy['visible']): string[] {
  const label = { allowed: 'allowed', approval: 'each call held for approval', observe: 'allowed, observed' };
  const out: string[] = [];
  for (const kind of ['allowed', 'approval', 'observe'] as const) {
    const names = visible.filter((v) => v.treatment === kind).map((v) => v.name);
    if (names.length > 0) out.push(`  ${label[kind]}: ${names.join(', ')}`);
  }
  return out;
}
