/**
 * The JSON Schema of portcullis.yaml. It is the single source of truth for the shape of the file:
 * the loader validates against it (ajv), `npm run build` writes it to schema/portcullis.schema.json
 * for editors, and checks that need more than shape (RE2 patterns, server references, names) live
 * in validate.ts beside it.
 */

const stringList = { type: 'array', items: { type: 'string' } } as const;
const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;

const constraint = {
  type: 'object',
  description: 'Checks one argument. Every listed check must pass; an absent argument fails unless optional.',
  additionalProperties: false,
  properties: {
    pattern: { type: 'string', description: 'RE2 regular expression the (normalised) string must match.' },
    prefix: { type: 'string', description: 'The (normalised) string must start with this.' },
    enum: { type: 'array', description: 'The value must equal one of these.' },
    min: { type: 'number', description: 'Smallest allowed number.' },
    max: { type: 'number', description: 'Largest allowed number.' },
    maxLength: { type: 'integer', minimum: 0, description: 'Longest allowed string, in characters.' },
    optional: {
      type: 'boolean',
      description: 'Allow the argument to be absent (default false: absent is a denial).'
    },
    normalize_path: {
      type: 'boolean',
      description: 'Normalise path-like strings before checking (default true).'
    }
  }
} as const;

const rule = {
  type: 'object',
  additionalProperties: false,
  required: ['tool'],
  properties: {
    id: { type: 'string', description: 'A name for the rule, shown in audit records and explanations.' },
    description: { type: 'string' },
    tool: { type: 'string', description: "Glob over the upstream tool's own name (`*` and `?`)." },
    server: { type: 'string', description: 'Narrows the rule to one upstream server (glob).' },
    allowed_roles: { ...stringList, description: 'Roles this rule allows; "*" is any role.' },
    deny: { type: 'boolean', description: 'Deny matching calls outright (deny wins).' },
    require_approval: { type: 'boolean', description: 'A person must approve matching calls.' },
    max_calls_per_session: { type: 'integer', minimum: 0, description: 'Calls allowed per session.' },
    parameter_constraints: { type: 'object', additionalProperties: constraint }
  }
} as const;

const server = {
  type: 'object',
  additionalProperties: false,
  description: 'An upstream MCP server: either `command` (stdio child) or `url` (HTTP).',
  properties: {
    command: { type: 'string', description: 'Program to spawn (no shell).' },
    args: stringList,
    env: { ...stringMap, description: 'The whole environment of the child, besides PATH.' },
    env_passthrough: { ...stringList, description: "Names of the gateway's variables passed through." },
    cwd: { type: 'string' },
    url: { type: 'string', description: 'Streamable HTTP or SSE endpoint of the upstream.' },
    transport: { enum: ['streamable-http', 'sse'], description: 'For `url`: default streamable-http.' },
    headers: { ...stringMap, description: "The upstream's own credentials; ${ENV} is substituted." },
    timeout_ms: { type: 'integer', minimum: 1, description: 'Per-call timeout (default 60000).' },
    enabled: { type: 'boolean' }
  }
} as const;

const tokenEntry = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'roles'],
  properties: {
    id: { type: 'string' },
    identity: { type: 'string', description: 'Name of the caller (defaults to id).' },
    roles: stringList,
    sha256: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the token, hex.' },
    token: { type: 'string', description: 'The token itself, normally from ${ENV}.' }
  }
} as const;

export const configSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://portcullis.dev/schema/portcullis.schema.json',
  title: 'Portcullis gateway configuration',
  type: 'object',
  additionalProperties: false,
  properties: {
    servers: { type: 'object', additionalProperties: server },
    auth: {
      type: 'object',
      additionalProperties: false,
      properties: {
        tokens: {
          description: 'A YAML file of tokens, or a list of them inline.',
          anyOf: [{ type: 'string' }, { type: 'array', items: tokenEntry }]
        },
        stdio: {
          type: 'object',
          additionalProperties: false,
          required: ['identity'],
          properties: { identity: { type: 'string' }, roles: stringList }
        }
      }
    },
    audit: {
      type: 'object',
      additionalProperties: false,
      properties: {
        path: { type: 'string', description: 'JSONL audit file (default ./portcullis-audit.jsonl).' },
        enabled: { type: 'boolean', description: 'Turning audit off must be said (default true).' }
      }
    },
    listen: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', description: 'Default 127.0.0.1 (loopback only).' },
        port: { type: 'integer', minimum: 0, maximum: 65535 }
      }
    },
    validation: {
      type: 'object',
      additionalProperties: false,
      properties: {
        arguments: { type: 'boolean', description: "Validate arguments against the tool's inputSchema." }
      }
    },
    rules: { type: 'array', items: rule }
  }
} as const;

/** Schema of a tokens file referenced by `auth.tokens`. */
export const tokensFileSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { tokens: { type: 'array', items: tokenEntry } }
} as const;
