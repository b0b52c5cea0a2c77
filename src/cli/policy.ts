/** `portcullis policy check|test|explain`: validate configs, run policy tests, explain a decision. */
import { type Command, Option } from 'commander';
import { ConfigError } from '../errors.js';
import { compilePolicy, pathsOf } from '../policy/index.js';
import { knownNames, resolveCall } from '../policy/names.js';
import { load } from './load-config.js';
import { out, UserError } from './output.js';

interface ExplainOptions {
  config: string;
  role: string[];
  tool?: string;
  prompt?: string;
  resource?: string;
  server?: string;
  args: string;
  json?: boolean;
  user?: string;
  agent?: string;
  time?: string;
  history?: string[];
  risk: string;
}

export function register(program: Command): void {
  const policy = program.command('policy').description('check and explain policies');
  policy
    .command('check')
    .description('validate a whole config or a rules-only file')
    .argument('<file>')
    .action((file: string) => {
      const config = load(file);
      out(
        `ok: ${config.source}: ${config.rules.length} rule(s), ${Object.keys(config.servers).length} server(s)`
      );
    });

  policy
    .command('test')
    .description('run policy test files: each case names a call and the decision it must get')
    .argument('<files...>')
    .action(runTests);

  policy
    .command('explain')
    .description('show the decision for one call (or prompt, or resource read) and every rule considered')
    .requiredOption('--config <file>', 'configuration file')
    .requiredOption('--role <role...>', 'role(s) of the caller')
    .option('--tool <tool>', 'tool name: <server>__<tool>, or the bare tool with --server')
    .option(
      '--prompt <prompt>',
      'instead of a tool, a prompt: <server>__<prompt>, or the bare prompt with --server'
    )
    .option(
      '--resource <uri>',
      "instead of a tool, a resource: the server's own URI with --server, or portcullis://<server>/<uri>"
    )
    .option('--server <server>', 'server of the tool, prompt or resource')
    .option('--args <json>', 'arguments (of a tool or prompt) as a JSON object', '{}')
    .option('--user <id>', 'the caller (for principal conditions)')
    .option('--agent <id>', 'the client acting for the user')
    .option('--time <iso>', 'decide as of this time (default now)')
    .option('--history <tools...>', 'earlier calls in the session, oldest first (server__tool)')
    .option('--risk <n>', 'the session risk so far', '0')
    .addOption(new Option('--json', 'print the explanation as JSON'))
    .action(explain);
}

async function runTests(files: string[]): Promise<void> {
  const { runPolicyTestFile } = await import('../policy/testing.js');
  let passed = 0;
  let failed = 0;
  for (const file of files) {
    let results;
    try {
      results = runPolicyTestFile(file);
    } catch (e) {
      if (e instanceof ConfigError) throw new UserError(`invalid policy test file:\n${e.message}`);
      throw e;
    }
    for (const r of results) {
      if (r.passed) {
        passed++;
        out(`ok   ${r.name}`);
      } else {
        failed++;
        out(`FAIL ${r.name} (${r.file}:${r.line})`);
        for (const p of r.problems) out(`       ${p}`);
        out(`       reason: ${r.decision.reason}`);
      }
    }
  }
  out(`${passed} passed, ${failed} failed`);
  if (failed > 0) throw new UserError(`${failed} policy test(s) failed`);
}

function explain(opts: ExplainOptions): void {
  const config = load(opts.config);
  let args: unknown;
  try {
    args = JSON.parse(opts.args);
  } catch (e) {
    throw new UserError(`--args is not JSON: ${(e as Error).message}`);
  }
  if (!args || typeof args !== 'object' || Array.isArray(args))
    throw new UserError('--args must be a JSON object');
  const known = knownNames(config);
  const named = [opts.tool, opts.prompt, opts.resource].filter((n) => n !== undefined);
  if (named.length !== 1) throw new UserError('name exactly one of --tool, --prompt or --resource');
  const kind = opts.tool !== undefined ? 'tool' : opts.prompt !== undefined ? 'prompt' : 'resource';
  const { server, tool, problem } = resolveCall(known, named[0]!, opts.server, kind);
  if (problem) throw new UserError(problem);
  if (server === '')
    throw new UserError(
      kind === 'resource'
        ? 'name the server: --server S, or --resource portcullis://<server>/<uri>'
        : `name the server: --server S, or --${kind} <server>__<${kind}>`
    );
  const now = opts.time !== undefined ? Date.parse(opts.time) : Date.now();
  if (Number.isNaN(now)) throw new UserError(`--time is not an ISO date-time: ${opts.time}`);
  const risk = Number(opts.risk);
  if (!Number.isFinite(risk) || risk < 0) throw new UserError('--risk must be a number >= 0');
  const history = (opts.history ?? []).map((name, i, all) => {
    const earlier = resolveCall(known, name);
    if (earlier.problem) throw new UserError(`--history ${name}: ${earlier.problem}`);
    return { server: earlier.server, tool: earlier.tool, at: now - (all.length - i) * 1000 };
  });
  const { decision, trace } = compilePolicy(config.rules, config.policy, pathsOf(config.servers)).explain({
    roles: opts.role,
    server,
    tool,
    kind,
    args: args as Record<string, unknown>,
    identity: {
      id: opts.user ?? 'explain',
      ...(opts.agent ? { agent: opts.agent } : {}),
      method: 'token'
    },
    now,
    history,
    risk
  });
  if (opts.json) {
    out(JSON.stringify({ server, [kind]: tool, roles: opts.role, decision, trace }, null, 2));
    return;
  }
  out(`decision: ${decision.effect.toUpperCase()}${decision.code ? ` (${decision.code})` : ''}`);
  out(`reason:   ${decision.reason}`);
  out(`rules:    ${decision.rules.join(', ') || '(none)'}`);
  if (decision.risk > 0) out(`risk:     +${decision.risk}`);
  if (decision.observed) {
    const o = decision.observed;
    out(`observed: ${o.effect.toUpperCase()}${o.code ? ` (${o.code})` : ''} in observe mode: ${o.reason}`);
  }
  out('');
  for (const t of trace) {
    out(`${t.matched ? '*' : ' '} ${t.rule}${t.matched ? '' : ' (not applicable)'}`);
    for (const note of t.notes) out(`    - ${note}`);
  }
}
