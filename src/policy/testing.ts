/**
 * Policy tests: YAML files of cases (who calls which tool with which arguments, after which
 * earlier calls, at what time, with how much session risk) and the decision each must get.
 * `portcullis policy test` runs them, so a policy change is checked like code. With a `config` that
 * lists servers, a case (or an earlier call) naming a server or tool the config does not know fails.
 *
 * ```yaml
 * config: ./portcullis.yaml          # or rules: [...] (and policy: {...}) inline
 * tests:
 *   - name: analysts read public files
 *     roles: [analyst]
 *     tool: files__read_file
 *     args: { path: /data/public/report.csv }
 *     expect: allow
 *     rule: read-public               # optional: this rule must be among the deciding ones
 *   - name: no network after reading a secret
 *     roles: [analyst]
 *     tool: web__fetch
 *     history: [vault__read_secret]    # earlier calls, oldest first; { tool, ago: 5m } for timing
 *     time: 2026-03-30T07:30:00Z
 *     expect: deny
 *     code: policy_denied              # optional
 *   - name: analysts get the summary prompt
 *     roles: [analyst]
 *     prompt: docs__summarise           # a prompt instead of a tool: <server>__<prompt>
 *     args: { length: short }
 *     expect: allow
 *   - name: nobody reads the secrets folder
 *     roles: [analyst]
 *     server: docs
 *     resource: file:///srv/docs/secrets/keys.txt   # the server's own URI (or portcullis://docs/...)
 *     expect: deny
 * ```
 */
import { dirname, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { loadConfig } from '../config/index.js';
import { readYaml, schemaIssues, issueAt } from '../config/source.js';
import type { PolicySettings, RuleConfig } from '../config/types.js';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { durationMs, type CallRecordView } from './conditions.js';
import { compilePolicy, DEFAULT_SETTINGS, pathsOf, ruleIssues, type Decision, type Policy } from './index.js';
import { knownNames, resolveCall, type KnownNames } from './names.js';

const stringList = { type: 'array', items: { type: 'string' } } as const;

const testCase = {
  type: 'object',
  additionalProperties: false,
  required: ['expect'],
  // Exactly one of tool, prompt and resource.
  oneOf: [{ required: ['tool'] }, { required: ['prompt'] }, { required: ['resource'] }],
  properties: {
    name: { type: 'string' },
    roles: stringList,
    identity: {
      type: 'object',
      additionalProperties: false,
      properties: {
        id: { type: 'string' },
        roles: stringList,
        agent: { type: 'string' },
        auth: { enum: ['stdio', 'token', 'oauth'] },
        claims: { type: 'object' }
      }
    },
    server: { type: 'string' },
    tool: { type: 'string' },
    prompt: { type: 'string' },
    resource: { type: 'string' },
    args: { type: 'object' },
    history: {
      type: 'array',
      items: {
        anyOf: [
          { type: 'string' },
          {
            type: 'object',
            additionalProperties: false,
            required: ['tool'],
            properties: { tool: { type: 'string' }, ago: { type: 'string' } }
          }
        ]
      }
    },
    time: { type: 'string' },
    risk: { type: 'number', minimum: 0 },
    session_counts: { type: 'object', additionalProperties: { type: 'integer', minimum: 0 } },
    expect: { enum: ['allow', 'deny', 'approval'] },
    code: { type: 'string' },
    rule: { type: 'string' },
    observed: { enum: ['allow', 'deny', 'approval'] }
  }
} as const;

export const policyTestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['tests'],
  properties: {
    config: { type: 'string' },
    rules: { type: 'array' },
    policy: { type: 'object' },
    tests: { type: 'array', items: testCase }
  }
} as const;

const ajv = new Ajv({ allErrors: true, verbose: true, strict: false });
const validate = ajv.compile(policyTestSchema);

interface TestCase {
  name?: string;
  roles?: string[];
  identity?: {
    id?: string;
    roles?: string[];
    agent?: string;
    auth?: 'stdio' | 'token' | 'oauth';
    claims?: Record<string, unknown>;
  };
  server?: string;
  tool?: string;
  prompt?: string;
  resource?: string;
  args?: Record<string, unknown>;
  history?: Array<string | { tool: string; ago?: string }>;
  time?: string;
  risk?: number;
  session_counts?: Record<string, number>;
  expect: 'allow' | 'deny' | 'approval';
  code?: string;
  rule?: string;
  observed?: 'allow' | 'deny' | 'approval';
}

export interface CaseResult {
  name: string;
  file: string;
  line: number;
  passed: boolean;
  decision: Decision;
  problems: string[];
}

/** Run every case in a policy test file. Throws ConfigError if the file itself is invalid. */
export function runPolicyTestFile(file: string): CaseResult[] {
  const path = resolve(file);
  const src = readYaml(path);
  if (src.issues.length > 0) throw new ConfigError(src.issues);
  if (!validate(src.value)) throw new ConfigError(schemaIssues(src, validate.errors ?? []));
  const body = src.value as {
    config?: string;
    rules?: RuleConfig[];
    policy?: Partial<PolicySettings>;
    tests: TestCase[];
  };

  let policy: Policy;
  // With a config that lists servers, a case naming a server or tool it lacks fails.
  let known: KnownNames | undefined;
  if (body.config !== undefined) {
    const config = loadConfig(resolve(dirname(path), body.config));
    policy = compilePolicy(config.rules, config.policy, pathsOf(config.servers));
    known = knownNames(config);
  } else {
    const rules = body.rules ?? [];
    const issues: ConfigIssue[] = ruleIssues(rules, [], false).map((i) =>
      issueAt(src, ['rules', i.index, ...i.path], i.message)
    );
    if (issues.length > 0) throw new ConfigError(issues);
    policy = compilePolicy(rules, { ...DEFAULT_SETTINGS, ...body.policy } as PolicySettings);
  }

  return body.tests.map((t, i) => {
    const pos = issueAt(src, ['tests', i], '');
    const now = t.time !== undefined ? Date.parse(t.time) : Date.now();
    const problems: string[] = [];
    if (t.time !== undefined && Number.isNaN(now)) problems.push(`time "${t.time}" is not an ISO date-time`);
    const kind = t.tool !== undefined ? 'tool' : t.prompt !== undefined ? 'prompt' : 'resource';
    const named = t.tool ?? t.prompt ?? t.resource ?? '';
    const { server, tool, problem } = resolveCall(known, named, t.server, kind);
    if (problem) problems.push(problem);
    const history: CallRecordView[] = (t.history ?? []).map((h, k, all) => {
      const entry = typeof h === 'string' ? { tool: h } : h;
      const { problem: earlier, ...call } = resolveCall(known, entry.tool);
      if (earlier) problems.push(`history[${k}]: ${earlier}`);
      const ago = entry.ago !== undefined ? durationMs(entry.ago) : undefined;
      if (entry.ago !== undefined && ago === undefined) problems.push(`history[${k}].ago is not a duration`);
      // Without `ago`, earlier calls are a second apart, ending just before this one.
      return { ...call, at: now - (ago ?? (all.length - k) * 1000) };
    });
    const counts = t.session_counts ?? {};
    const decision = policy.decide({
      roles: t.identity?.roles ?? t.roles ?? [],
      server,
      tool,
      kind,
      args: t.args ?? {},
      identity: {
        id: t.identity?.id ?? 'test',
        ...(t.identity?.agent ? { agent: t.identity.agent } : {}),
        method: t.identity?.auth ?? 'token',
        ...(t.identity?.claims ? { claims: t.identity.claims } : {})
      },
      now,
      history,
      risk: t.risk ?? 0,
      sessionCount: (key) => counts[key] ?? 0
    });
    if (decision.effect !== t.expect) problems.push(`expected ${t.expect}, got ${decision.effect}`);
    if (t.code !== undefined && decision.code !== t.code)
      problems.push(`expected code ${t.code}, got ${decision.code ?? 'none'}`);
    if (t.rule !== undefined && !decision.rules.includes(t.rule)) {
      problems.push(`expected rule ${t.rule} to decide, got ${decision.rules.join(', ') || 'none'}`);
    }
    if (t.observed !== undefined && decision.observed?.effect !== t.observed) {
      problems.push(`expected observed ${t.observed}, got ${decision.observed?.effect ?? 'none'}`);
    }
    return {
      name: t.name ?? `${named} ${JSON.stringify(t.args ?? {})}`,
      file: path,
      line: pos.line,
      passed: problems.length === 0,
      decision,
      problems
    };
  });
}
