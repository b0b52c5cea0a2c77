/**
 * The starter portcullis.yaml (`portcullis init`, and the file `wrap` creates when there is none):
 * a commented, deny-by-default policy with an `admin` and an `analyst` role, a stdio identity,
 * approval for destructive tools, a read rule with a path constraint, rules for prompts and
 * resources, and the audit file.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SetupError } from './errors.js';
import { writeFileAtomic } from './files.js';
import { addServers, type ServerEntry } from './portcullis-yaml.js';
import { LOCAL_ROLE, type SuggestedPolicy } from './policy.js';

/** Where the package's JSON Schema is, from a folder where portcullis is installed with npm. */
export const LOCAL_SCHEMA_PATH = './node_modules/portcullis/schema/portcullis.schema.json';

const TEMPLATE = `# yaml-language-server: $schema=${LOCAL_SCHEMA_PATH}
#
# Portcullis gateway configuration. The schema above gives editors completion and checks. It is the
# file the portcullis package ships, found from this file's folder when portcullis is installed
# there (npm install portcullis); from elsewhere, or from a clone, put the path of the package's
# schema/portcullis.schema.json after $schema= instead.
#
# The policy is DENY BY DEFAULT: a tool that no rule below allows is neither listed to the agent
# nor callable, and a prompt or resource no rule allows is neither listed nor read, got, subscribed
# to or completed. A rule names a \`tool\`, \`prompt\` or \`resource\` glob, or a list of them; every
# rule with a glob (and \`server\` glob, if it has one) that matches a call applies to it; a deny or
# a failing parameter constraint wins over any allow, and \`require_approval\` outranks allow.
#   portcullis policy check portcullis.yaml
#   portcullis policy explain --config portcullis.yaml --role analyst --tool <server>__read_file

# The MCP servers behind the gateway; agents see their tools as <server>__<tool>. A stdio server
# has \`command\`, \`args\` and \`env\` (its whole environment besides PATH); an HTTP server has \`url\`,
# \`transport\` (streamable-http or sse) and \`headers\`. Write secrets as \${NAME}: the value is
# read from the gateway's environment when it starts, so it never sits in this file.
#   files:
#     command: npx
#     args: [-y, '@modelcontextprotocol/server-filesystem', /srv/data]
servers: {}

auth:
  # The agent on stdio (Claude Desktop, Cursor, VS Code, Claude Code) is this identity with these
  # roles. The rules below use two roles: \`analyst\` may read; \`admin\` may also change things,
  # each time with a person's approval.
  stdio:
    identity: local
    roles: [analyst]

# One JSON line per call, allowed or refused (a relative path is relative to this file).
audit:
  path: ./portcullis-audit.jsonl

rules:
  # Destructive tools: only \`admin\` may call them, and only once a person with an approver role
  # says yes (in the console or with \`portcullis approvals\`) while the agent waits. No decision
  # in time refuses the call; it is never silently allowed. Every other role is denied outright.
  # A list of globs matches a tool any one of them matches.
  - id: approve-destructive
    tool: ['delete_*', 'drop_*', 'write_*']
    allowed_roles: [admin]
    require_approval: true

  # Reads: \`analyst\` and \`admin\` may read files, but only under this folder (change it to
  # yours). A constraint binds every caller of the tool: a path outside the folder, or no path
  # at all, is denied whatever the role. Paths are normalised first, so
  # /srv/data/public/../secret does not get out.
  - id: read-public-files
    tool: read_file
    allowed_roles: [analyst, admin]
    parameter_constraints:
      path: { prefix: /srv/data/public/ }

  # Prompts: \`analyst\` and \`admin\` may use every server's prompts (\`prompt\` globs the server's
  # own prompt name; add \`server:\` to narrow it). Completing a prompt's arguments follows its rule.
  - id: prompts
    prompt: '*'
    allowed_roles: [analyst, admin]

  # Resources: the same folder as the reads above, as the filesystem server names its files
  # (\`resource\` globs the server's own URI: \`*\` stays within one path segment, \`**\` crosses
  # them). A server you trust with everything it offers: \`- { server: docs, resource: '**', ... }\`.
  - id: read-public-resources
    resource: 'file:///srv/data/public/**'
    allowed_roles: [analyst, admin]
`;

const GENERATED = `# yaml-language-server: $schema=${LOCAL_SCHEMA_PATH}
#
# Portcullis gateway configuration, written by \`portcullis wrap\` from the tools each server listed
# when it was wrapped. The policy is DENY BY DEFAULT: a tool that no rule below allows is neither
# listed to the agent nor callable (a tool a server adds later is denied until a rule allows it).
# Every rule whose \`tool\` glob and \`server\` glob match a call applies to it; a deny wins over any
# allow, and \`require_approval\` outranks allow.
#   portcullis policy check portcullis.yaml
#   portcullis policy explain --config portcullis.yaml --role ${LOCAL_ROLE} --tool <server>__<tool>

# The MCP servers behind the gateway; agents see their tools as <server>__<tool>. Write secrets as
# \${NAME}: the value is read from the gateway's environment when it starts.
servers: {}

auth:
  # The agent on stdio (the client that starts \`portcullis stdio\`) is this identity with this role;
  # the rules below allow the role.
  stdio:
    identity: local
    roles: [${LOCAL_ROLE}]

# One JSON line per call, allowed or refused (a relative path is relative to this file).
audit:
  path: ./portcullis-audit.jsonl

# Calls that need approval wait for a person. Under \`portcullis stdio\` that is you, at the client:
# it shows the held call (tool, arguments, why) and you accept or decline it (ask_client_roles; a
# client without MCP elicitation cannot ask). Otherwise a person with one of approver_roles decides
# in the console or with \`portcullis approvals\`, through a gateway run with \`portcullis serve\` or
# sharing its state; the agent's own identity never approves its calls. Undecided calls are refused
# after timeout_s, never silently allowed.
approvals:
  timeout_s: 300
  approver_roles: [admin]
  ask_client_roles: [${LOCAL_ROLE}]

`;

export interface StarterOptions {
  /** Servers to put under \`servers:\`. */
  servers?: Record<string, ServerEntry>;
  /** Rules written from the servers' tools (\`suggestPolicy\`), instead of the generic examples. */
  policy?: SuggestedPolicy;
}

/** The text of a commented starter portcullis.yaml. */
export function starterConfig(options: StarterOptions = {}): string {
  const text = options.policy ? GENERATED + options.policy.rules : TEMPLATE;
  return addServers(text, options.servers ?? {}, 'portcullis.yaml');
}

/**
 * Write the starter config to `path` (mode 0600: it may come to hold credentials). Refuses to
 * replace an existing file unless `force`. Returns the absolute path written.
 */
export function writeStarterConfig(path: string, options: StarterOptions & { force?: boolean } = {}): string {
  const file = resolve(path);
  const text = starterConfig(options);
  if (options.force) {
    writeFileAtomic(file, text, 0o600);
    return file;
  }
  if (existsSync(file)) {
    throw new SetupError(`${file} already exists; use --force to replace it`, file);
  }
  try {
    writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    throw new SetupError(`cannot write ${file}: ${(e as Error).message}`, file);
  }
  return file;
}
