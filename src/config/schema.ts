/**
 * The JSON Schema of portcullis.yaml. It is the single source of truth for the shape of the file
 * and for its defaults: the loader validates against it with ajv, which fills in every `default`
 * (a section's `default: {}` lets the defaults inside it apply when the section is left out), and
 * `npm run build` writes it to schema/portcullis.schema.json for editors. What a schema cannot say
 * (references between fields, paths resolved against the file, hashed tokens) is done by `build()`
 * in index.ts; the types in types.ts are checked against this schema at compile time
 * (schema-types.ts).
 */

const stringList = { type: 'array', items: { type: 'string' } } as const;
/** One glob, or a non-empty list of them (a rule's `tool`, `prompt` or `resource`). */
const globs = { type: ['string', 'array'], items: { type: 'string' }, minItems: 1 } as const;
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
      description:
        "Normalise path-like strings before checking, as the server's path_style reads them (default true)."
    },
    realpath: {
      type: 'boolean',
      description:
        "Also check the path with its symlinks resolved on the gateway's host (stdio servers); a path that cannot be resolved is refused (default false)."
    }
  }
} as const;

const scanAction = { enum: ['off', 'flag', 'redact', 'block'] } as const;
/** Actions of an override: what it leaves out comes from the section it overrides. */
const scanActions = {
  type: 'object',
  additionalProperties: false,
  properties: { injection: scanAction, secrets: scanAction, pii: scanAction }
} as const;
const responseActions = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'What a finding in a tool result does.',
  properties: {
    injection: { ...scanAction, default: 'flag' },
    secrets: { ...scanAction, default: 'redact' },
    pii: { ...scanAction, default: 'flag' }
  }
} as const;
const argumentActions = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: "What a finding in a call's arguments does.",
  properties: {
    injection: { ...scanAction, default: 'off' },
    secrets: { ...scanAction, default: 'block' },
    pii: { ...scanAction, default: 'flag' }
  }
} as const;

const rule = {
  type: 'object',
  additionalProperties: false,
  description: 'Names exactly one of `tool`, `prompt` or `resource`.',
  properties: {
    id: { type: 'string', description: 'A name for the rule, shown in audit records and explanations.' },
    description: { type: 'string' },
    tool: {
      ...globs,
      description:
        "Glob over the upstream tool's own name (`*` and `?`), or a list of them (any one matches)."
    },
    prompt: {
      ...globs,
      description:
        "Glob over the upstream prompt's own name (`*` and `?`), or a list of them (any one matches)."
    },
    resource: {
      ...globs,
      description:
        "Glob over the upstream resource's own URI or URI template: `*` and `?` stop at `/`, `**` crosses it. Or a list of them (any one matches)."
    },
    server: { type: 'string', description: 'Narrows the rule to one upstream server (glob).' },
    allowed_roles: { ...stringList, description: 'Roles this rule allows; "*" is any role.' },
    deny: { type: 'boolean', description: 'Deny matching calls outright (deny wins).' },
    require_approval: { type: 'boolean', description: 'A person must approve matching calls.' },
    read_only: { type: 'boolean', description: 'Marks the matched tools read-only for read-scoped tokens.' },
    max_calls_per_session: { type: 'integer', minimum: 0, description: 'Calls allowed per session.' },
    max_calls: {
      type: 'object',
      additionalProperties: false,
      required: ['count', 'per', 'within'],
      description: 'Calls allowed per identity, across all its sessions, in any window of `within`.',
      properties: {
        count: { type: 'integer', minimum: 0 },
        per: { enum: ['identity'], description: 'Who shares the cap: every session of one identity.' },
        within: { type: 'string', description: 'A duration such as 1h.' }
      }
    },
    parameter_constraints: { type: 'object', additionalProperties: constraint },
    mode: {
      enum: ['enforce', 'observe'],
      description: 'observe: record what would be refused, allow the call.'
    },
    time: {
      type: 'object',
      additionalProperties: false,
      description: 'The rule applies only inside this window, in its time zone.',
      properties: {
        days: { ...stringList, description: 'mon, tue, wed, thu, fri, sat, sun' },
        hours: { type: 'string', description: 'HH:MM-HH:MM; may wrap midnight.' },
        timezone: { type: 'string', description: 'IANA zone, e.g. Europe/Berlin (default UTC).' },
        from: { type: 'string', description: 'First day, YYYY-MM-DD.' },
        until: { type: 'string', description: 'Last day, YYYY-MM-DD.' }
      }
    },
    after: {
      type: 'object',
      additionalProperties: false,
      required: ['tools'],
      description: 'The rule applies only if this session (or identity) already called a matching tool.',
      properties: {
        tools: { ...stringList, description: 'Globs over tool names, or server__tool.' },
        within_calls: { type: 'integer', minimum: 1 },
        within: { type: 'string', description: 'A duration such as 30m.' },
        min_count: { type: 'integer', minimum: 1 },
        scope: {
          enum: ['session', 'identity'],
          description: "Whose calls count: this session's (default) or every session's of the identity."
        }
      }
    },
    principal: {
      type: 'object',
      additionalProperties: false,
      description: 'The rule applies only to callers with these attributes.',
      properties: {
        users: stringList,
        agents: stringList,
        auth: { type: 'array', items: { enum: ['stdio', 'token', 'oauth'] } },
        claims: { type: 'object', additionalProperties: stringList }
      }
    },
    where: {
      type: 'array',
      description: 'Argument comparisons; the rule applies only when all hold.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['arg', 'op'],
        properties: {
          arg: { type: 'string', description: 'Argument name; dots reach into objects.' },
          op: { enum: ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'in', 'not_in'] },
          value: {},
          arg2: { type: 'string', description: 'Compare with this argument instead of a value.' }
        }
      }
    },
    when: { type: 'string', description: 'A CEL expression; the rule applies only when it is true.' },
    risk: { type: 'number', minimum: 0, description: 'Risk each matching call adds to the session.' },
    rate_limit: {
      type: 'string',
      pattern: '^[0-9]+/(s|sec|second|m|min|minute|h|hour)$',
      description: 'Calls per window under this rule, e.g. 10/min.'
    },
    rate_scope: {
      enum: ['identity', 'session', 'global'],
      description: 'Who shares the rate (default identity).'
    }
  }
} as const;

const server = {
  type: 'object',
  additionalProperties: false,
  description: 'An upstream MCP server: either `command` (stdio child) or `url` (HTTP).',
  properties: {
    command: { type: 'string', description: 'Program to spawn (no shell).' },
    args: { ...stringList, description: 'Arguments of `command`.' },
    env: { ...stringMap, description: 'The whole environment of the child, besides PATH.' },
    env_passthrough: { ...stringList, description: "Names of the gateway's variables passed through." },
    cwd: { type: 'string' },
    url: { type: 'string', description: 'Streamable HTTP or SSE endpoint of the upstream.' },
    transport: { enum: ['streamable-http', 'sse'], description: 'How to speak to `url`.' },
    headers: { ...stringMap, description: "The upstream's own credentials; ${ENV} is substituted." },
    timeout_ms: {
      type: 'integer',
      minimum: 1,
      maximum: 2147483647,
      default: 60000,
      description: 'Per-call timeout: every request to the server once it is connected.'
    },
    connect_timeout_ms: {
      type: 'integer',
      minimum: 1,
      maximum: 2147483647,
      default: 10000,
      description:
        'How long starting or reaching the server and the MCP handshake may take. A server that is not ready in time is left out of listings until it connects, and is retried with backoff.'
    },
    sandbox: {
      type: 'object',
      additionalProperties: false,
      description: 'Least privilege for a stdio server (Linux): no network, another user, resource limits.',
      properties: {
        network: {
          type: 'boolean',
          description: 'false: a fresh network namespace with no interfaces but loopback.'
        },
        user: { type: 'string', description: 'Run as this user (name or uid); the gateway must be root.' },
        group: { type: 'string', description: 'Run with this group (name or gid).' },
        memory_mb: { type: 'integer', minimum: 16, description: 'Address-space limit.' },
        cpu_seconds: { type: 'integer', minimum: 1, description: 'CPU-time limit.' },
        open_files: { type: 'integer', minimum: 16, description: 'Open-file limit.' }
      }
    },
    trust_annotations: {
      type: 'boolean',
      default: false,
      description: "Let this server's readOnlyHint mark tools read-only (false: annotations only narrow)."
    },
    namespace: {
      type: 'boolean',
      default: true,
      description:
        "false: expose this server's tools, prompts and resources under their own names instead of <server>__<name> (only when it is the only server)."
    },
    path_style: {
      enum: ['posix', 'windows'],
      description:
        "How the server reads paths in arguments, for parameter constraints (default: as the gateway's host does)."
    },
    isolation: {
      enum: ['shared', 'session'],
      description:
        "stdio: 'shared' (default) runs one process for every session; 'session' gives each agent session its own process, started on its first use and stopped when the session ends or idles out."
    },
    idle_timeout: {
      type: 'string',
      description:
        "With isolation: session, a session's process that has had no request for this long is stopped (a duration such as 90s, 15m; default 15m); the session's next use starts a new one."
    },
    enabled: { type: 'boolean', default: true, description: 'false: leave this server out.' }
  },
  // The defaults that belong to one kind of server only.
  if: { required: ['command'] },
  then: {
    properties: {
      args: { default: [] },
      env: { default: {} },
      env_passthrough: { default: [] },
      isolation: { default: 'shared' },
      idle_timeout: { default: '15m' }
    }
  },
  else: { properties: { transport: { default: 'streamable-http' }, headers: { default: {} } } }
} as const;

const timestamp = { type: 'string', description: 'An ISO 8601 date-time.' } as const;

const tokenEntry = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'roles'],
  properties: {
    id: { type: 'string' },
    identity: { type: 'string', description: 'Name of the caller (defaults to id).' },
    description: { type: 'string' },
    roles: stringList,
    scopes: { ...stringList, description: 'Scopes the token carries (default: all).' },
    sha256: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the token, hex.' },
    token: { type: 'string', description: 'The token itself, normally from ${ENV}.' },
    created: timestamp,
    expires: { ...timestamp, description: 'The token is refused from this time on.' },
    revoked: { ...timestamp, description: 'Revoked at this time; refused from then on.' },
    rotated_to: { type: 'string', description: 'Id of the successor, set by `portcullis token rotate`.' }
  }
} as const;

const oauth = {
  type: 'object',
  additionalProperties: false,
  required: ['issuer', 'audience'],
  properties: {
    issuer: { type: 'string', description: 'Exact `iss` of accepted tokens.' },
    audience: {
      description: "The gateway's own resource URL (RFC 8707); `aud` must contain it.",
      anyOf: [{ type: 'string' }, stringList]
    },
    jwks_uri: { type: 'string' },
    algorithms: { ...stringList, description: 'Signature algorithms accepted (never none or HS*).' },
    clock_skew_s: { type: 'integer', minimum: 0, maximum: 300 },
    required_claims: stringList,
    roles_claim: { type: 'string', description: 'Dotted path of the roles claim (default roles).' },
    scopes_claim: { type: 'string', description: 'Claim holding scopes (default scope).' },
    jwks_cooldown_s: { type: 'integer', minimum: 1 },
    jwks_cache_s: { type: 'integer', minimum: 1 },
    authorization_servers: { ...stringList, description: 'Advertised in the PRM (default [issuer]).' },
    introspection: {
      type: 'object',
      additionalProperties: false,
      required: ['url', 'client_id', 'client_secret'],
      properties: {
        url: { type: 'string' },
        client_id: { type: 'string' },
        client_secret: { type: 'string' },
        cache_s: { type: 'integer', minimum: 0 },
        accept_missing_audience: {
          type: 'boolean',
          description:
            'Accept active tokens whose introspection answer names no audience (no aud, no resource) from this issuer. Default false: refused. A named audience must still be this gateway.'
        }
      }
    }
  }
} as const;

export const configSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  // A name, not an address: editors find the file by path (schema/portcullis.schema.json in the package).
  $id: 'urn:portcullis:config',
  title: 'Portcullis gateway configuration',
  type: 'object',
  additionalProperties: false,
  properties: {
    // No default: a file without `servers` (a policy file) cannot have its server names checked.
    servers: { type: 'object', additionalProperties: server },
    limits: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Bounds that keep one client from exhausting the gateway.',
      properties: {
        max_sessions: {
          type: 'integer',
          minimum: 1,
          default: 10000,
          description: 'Open HTTP/SSE sessions in all.'
        },
        max_sessions_per_identity: { type: 'integer', minimum: 1, default: 256, description: 'Per caller.' },
        max_upstream_processes: {
          type: 'integer',
          minimum: 1,
          default: 100,
          description:
            "Upstream processes running at once, every stdio server's counted; a session that needs a new process of an isolation: session server past it is refused."
        },
        max_requests_per_identity: {
          type: 'integer',
          minimum: 1,
          default: 64,
          description:
            'HTTP requests open at once per caller; a response the client has not read yet stays open.'
        },
        shutdown_grace_s: {
          type: 'integer',
          minimum: 0,
          default: 10,
          description: 'On SIGTERM, wait this long for calls in flight.'
        }
      }
    },
    state: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description:
        'Where shared state lives: sessions, call counts, history, risk, rate-limit windows, held approvals and revocations.',
      properties: {
        store: {
          enum: ['memory', 'redis'],
          default: 'memory',
          description: 'memory: this process only; redis: shared by every replica.'
        },
        url: {
          type: 'string',
          pattern: '^rediss?://',
          description: 'redis://[user:password@]host:port[/db] or rediss:// for TLS (required for redis).'
        },
        prefix: {
          type: 'string',
          default: 'portcullis:',
          description: 'Key prefix, so several gateways can share one Redis.'
        },
        timeout_ms: {
          type: 'integer',
          minimum: 10,
          default: 1000,
          description: 'How long a call waits for the store before it is refused.'
        },
        session_ttl: {
          type: 'string',
          default: '24h',
          description: 'Idle time after which a session and its counts are forgotten.'
        },
        on_unavailable: {
          enum: ['deny', 'local'],
          default: 'deny',
          description:
            'deny: calls that need shared state are refused while the store is unreachable; local: fall back to per-replica state (limits then hold per replica only).'
        }
      }
    },
    security: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        check_permissions: {
          type: 'boolean',
          default: true,
          description: 'Refuse to start when the config or token file is writable by others.'
        }
      }
    },
    auth: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        tokens: {
          description: 'A YAML file of tokens, or a list of them inline.',
          anyOf: [{ type: 'string' }, { type: 'array', items: tokenEntry }]
        },
        stdio: {
          type: 'object',
          additionalProperties: false,
          description:
            'Who the stdio agent is: a fixed identity, the OS user, or a token from the environment.',
          properties: {
            identity: { type: 'string' },
            roles: { ...stringList, default: [] },
            scopes: stringList,
            os_users: {
              type: 'object',
              description: 'Map of OS user name to roles; the identity is the user who started the gateway.',
              additionalProperties: stringList
            },
            token_env: {
              type: 'string',
              description: 'Environment variable holding a token from auth.tokens.'
            }
          }
        },
        oauth,
        scopes: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'Scope names: `read` reaches read-only tools, `call` reaches every tool.',
          properties: {
            read: { type: 'string', default: 'tools:read' },
            call: { type: 'string', default: 'tools:call' }
          }
        },
        lockout: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'Lock out a source address after repeated authentication failures.',
          properties: {
            failures: {
              type: 'integer',
              minimum: 1,
              default: 10,
              description: 'Failures within window_s that lock the address out.'
            },
            window_s: { type: 'integer', minimum: 1, default: 60 },
            duration_s: {
              type: 'integer',
              minimum: 1,
              default: 300,
              description: 'How long a lockout lasts.'
            }
          }
        },
        rate_limit: {
          type: 'string',
          pattern: '^[0-9]+/(s|sec|second|m|min|minute|h|hour)$',
          description: 'Requests per authenticated identity, e.g. 600/min.'
        }
      }
    },
    audit: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        path: {
          type: 'string',
          description:
            'JSONL audit file, relative to this file, or "stderr" / "stdout" for container logs. Not with postgres.'
        },
        postgres: {
          type: 'object',
          additionalProperties: false,
          required: ['url'],
          description:
            'Write the audit chain to PostgreSQL instead of a file, for several replicas: each transaction locks the chain head, so replicas extend one chain and never fork it. Tables are created on first use. While the database is unreachable, calls are refused with audit_unavailable.',
          properties: {
            url: {
              type: 'string',
              description:
                'postgres://user:password@host:5432/database, normally "${PG_URL}"; PG* environment variables (PGPASSWORD, ...) fill what it leaves out.'
            },
            table: {
              type: 'string',
              pattern: '^[a-z_][a-z0-9_]{0,47}(\\.[a-z_][a-z0-9_]{0,47})?$',
              default: 'portcullis_audit',
              description:
                'Table for the records, optionally schema.table; <table>_head and <table>_checkpoints go beside it.'
            },
            queue_records: {
              type: 'integer',
              minimum: 1,
              default: 10000,
              description: 'Records that may wait in memory for the database; past it, calls are refused.'
            },
            commit_timeout_s: {
              type: 'integer',
              minimum: 1,
              default: 10,
              description:
                'flush: every: how long a reply waits for its record to be committed before the call fails with audit_unavailable (the record stays queued).'
            },
            connect_timeout_s: {
              type: 'integer',
              minimum: 1,
              default: 5,
              description: 'Give up a connection attempt after this long; the gateway keeps retrying.'
            }
          }
        },
        enabled: { type: 'boolean', default: true, description: 'Turning audit off must be said.' },
        flush: {
          enum: ['every', 'batch', 'os'],
          description:
            'File: every: fsync each record; batch: fsync every batch_records or batch_ms; os (the default for a file): one write per record, no fsync. PostgreSQL: every (the default for postgres): each reply waits for the commit of its record; batch: commit every batch_records or batch_ms, replies do not wait.'
        },
        batch_records: { type: 'integer', minimum: 1 },
        batch_ms: { type: 'integer', minimum: 1 },
        rotate_bytes: { type: 'integer', minimum: 4096, description: 'Start a new file past this size.' },
        rotate_s: { type: 'integer', minimum: 1, description: 'Start a new file after this many seconds.' },
        checkpoint_every: {
          type: 'integer',
          minimum: 0,
          default: 1000,
          description: 'Records between checkpoints (0: off).'
        },
        signing_key: {
          type: 'string',
          description: 'Ed25519 private key (PEM file) that signs checkpoints.'
        },
        arguments: {
          enum: ['full', 'hash', 'omit'],
          default: 'full',
          description: 'How arguments are recorded (secrets are always masked).'
        },
        overrides: {
          type: 'array',
          default: [],
          description: 'How arguments are recorded for some servers or tools; the last match wins.',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['arguments'],
            properties: {
              server: { type: 'string', description: 'Glob over server names.' },
              tool: { type: 'string', description: "Glob over the upstream tool's own name." },
              arguments: { enum: ['full', 'hash', 'omit'] }
            }
          }
        }
      },
      // The defaults that belong to one kind of audit sink only.
      if: { required: ['postgres'] },
      then: { properties: { flush: { default: 'every' } } },
      else: { properties: { path: { default: './portcullis-audit.jsonl' }, flush: { default: 'os' } } }
    },
    listen: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        host: { type: 'string', default: '127.0.0.1', description: 'The default is loopback only.' },
        port: { type: 'integer', minimum: 0, maximum: 65535, default: 8080 },
        public_url: {
          type: 'string',
          description: 'The URL agents use to reach /mcp; the OAuth resource and PRM are built from it.'
        },
        allowed_hosts: { ...stringList, description: 'Host header values accepted (DNS rebinding guard).' },
        allowed_origins: { ...stringList, description: 'Browser Origin hostnames accepted.' },
        max_body_bytes: {
          type: 'integer',
          minimum: 1024,
          default: 4194304,
          description: 'Largest request body accepted.'
        },
        tls: {
          type: 'object',
          additionalProperties: false,
          required: ['cert', 'key'],
          properties: { cert: { type: 'string' }, key: { type: 'string' } }
        }
      }
    },
    scanning: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Content scanning of tool definitions, responses and arguments. Everything starts on.',
      properties: {
        descriptions: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            enabled: { type: 'boolean', default: true },
            block_at: {
              enum: ['low', 'medium', 'high', 'critical'],
              default: 'medium',
              description: 'Withhold tools with findings this severe.'
            },
            max_bytes: {
              type: 'integer',
              minimum: 256,
              default: 4096,
              description: 'Longest description accepted.'
            }
          }
        },
        pins: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            enabled: { type: 'boolean', default: true },
            path: {
              type: 'string',
              default: './portcullis-pins.json',
              description: 'Pin file, relative to this file.'
            },
            trust_on_first_use: {
              type: 'boolean',
              default: true,
              description: 'Pin a server the first time it is seen.'
            },
            on_change: {
              enum: ['block', 'alert'],
              default: 'block',
              description: 'A changed tool set: withhold it until approved, or only alert.'
            }
          }
        },
        responses: responseActions,
        arguments: argumentActions,
        overrides: {
          type: 'array',
          default: [],
          description: 'Actions for some servers or tools; the last match wins.',
          items: {
            type: 'object',
            additionalProperties: false,
            properties: {
              server: { type: 'string' },
              tool: { type: 'string' },
              responses: scanActions,
              arguments: scanActions
            }
          }
        },
        risk: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'Session risk a flagged finding adds.',
          properties: {
            injection: { type: 'number', minimum: 0, default: 25 },
            secret: { type: 'number', minimum: 0, default: 10 },
            pii: { type: 'number', minimum: 0, default: 0 }
          }
        }
      }
    },
    approvals: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'How calls that need approval wait and who may decide.',
      properties: {
        timeout_s: {
          type: 'integer',
          minimum: 1,
          default: 300,
          description: 'Refuse the call after this long.'
        },
        approvers: { type: 'integer', minimum: 1, default: 1, description: 'Distinct approvals needed.' },
        approver_roles: { ...stringList, default: ['admin'], description: 'Roles that may decide.' },
        progress_interval_s: {
          type: 'integer',
          minimum: 1,
          default: 5,
          description: 'Progress notifications while waiting.'
        },
        ask_client_roles: {
          ...stringList,
          default: [],
          description:
            "Callers with one of these roles are also asked at their own client (MCP elicitation) whether their held call may run: accepting counts as one approval by `<identity>@client`, declining denies. For a client whose person may approve their agent's calls, as a desktop client under `portcullis stdio`; an elicitation is shown to the client's user, not its model."
        },
        webhook: {
          type: 'object',
          additionalProperties: false,
          required: ['url'],
          description: 'POSTed a JSON announcement of each new held call.',
          properties: { url: { type: 'string' }, headers: { ...stringMap, default: {} } }
        }
      }
    },
    admin: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'The admin API (/admin/api) and console (/admin).',
      properties: {
        enabled: { type: 'boolean', default: true },
        token: { type: 'string', description: 'An admin token, normally ${ENV}; at least 16 characters.' },
        identity: { type: 'string', default: 'admin', description: 'Who the admin token is.' },
        roles: {
          ...stringList,
          default: ['admin'],
          description: 'Roles whose gateway tokens may use the admin API.'
        }
      }
    },
    metrics: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: '/metrics: its own bearer token, or a gateway token with one of `roles`.',
      properties: {
        enabled: { type: 'boolean', default: true },
        token: { type: 'string', description: 'A scrape token, normally ${ENV}; at least 16 characters.' },
        roles: { ...stringList, default: ['admin'], description: 'Roles whose gateway tokens may scrape.' }
      }
    },
    telemetry: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Traces: each tool call is one span, exported over OTLP/HTTP when an endpoint is set.',
      properties: {
        otlp: {
          type: 'object',
          additionalProperties: false,
          required: ['endpoint'],
          description:
            'Where spans go. Without it, the standard OTEL_EXPORTER_OTLP_ENDPOINT (or ' +
            'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) decides; with neither, no span leaves the gateway.',
          properties: {
            endpoint: {
              type: 'string',
              pattern: '^https?://',
              description:
                "The collector's OTLP/HTTP base URL (spans go to <endpoint>/v1/traces), e.g. http://localhost:4318."
            },
            headers: { ...stringMap, default: {}, description: 'Sent with every export, e.g. an API key.' }
          }
        }
      }
    },
    validation: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        arguments: {
          type: 'boolean',
          default: true,
          description: "Validate arguments against the tool's inputSchema."
        }
      }
    },
    policy: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        mode: {
          enum: ['enforce', 'observe'],
          default: 'enforce',
          description: 'Default mode of every rule.'
        },
        risk: {
          type: 'object',
          additionalProperties: false,
          properties: {
            budget: { type: 'number', minimum: 0 },
            approval_at: { type: 'number', minimum: 0 },
            half_life: { type: 'string' },
            reset_after: { type: 'string' },
            scope: {
              enum: ['session', 'identity'],
              description: 'One risk score per session (default) or per identity, across its sessions.'
            }
          }
        },
        tool_risk: {
          type: 'object',
          additionalProperties: { type: 'number', minimum: 0 },
          default: {},
          description: 'Risk per tool, by glob over <server>__<tool> (or the bare tool name).'
        }
      }
    },
    rules: { type: 'array', items: rule, default: [] }
  }
} as const;

/** Schema of a tokens file referenced by `auth.tokens`. */
export const tokensFileSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    tokens: { type: 'array', items: tokenEntry },
    revocations: {
      type: 'array',
      description:
        'Credentials revoked that are not tokens of this file (OAuth `jti`s), written by `portcullis token revoke --jti`.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'revoked'],
        properties: {
          id: { type: 'string', minLength: 1, description: 'The credential id (an OAuth `jti`).' },
          revoked: { ...timestamp, description: 'When it was revoked.' }
        }
      }
    }
  }
} as const;

/**
 * Durations end up in Node timers, which hold at most 2^31-1 ms: bound every `*_ms` and `*_s`
 * integer in the schema so a config cannot ask for a timer Node would silently shorten.
 */
function boundDurations(node: unknown): void {
  if (!node || typeof node !== 'object') return;
  const props = (node as { properties?: Record<string, Record<string, unknown>> }).properties;
  for (const [name, schema] of Object.entries(props ?? {})) {
    if (schema.type === 'integer' && schema.maximum === undefined) {
      if (name.endsWith('_ms')) schema.maximum = 2_147_483_647;
      else if (name.endsWith('_s')) schema.maximum = 2_147_483;
    }
  }
  for (const value of Object.values(node)) {
    if (Array.isArray(value)) value.forEach(boundDurations);
    else boundDurations(value);
  }
}
boundDurations(configSchema);
