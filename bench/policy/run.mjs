// Policy decision benchmark: Portcullis vs Cedar (cedar-wasm, stateful API) vs CEL (cel-js).
//
//   npm run build && node bench/policy/run.mjs
//
// Same generated rules and the same fixed request list for every engine. Before timing, every
// engine must agree with Portcullis on every request, or the run aborts with exit code 1.
// Optional env: BENCH_MS (timed budget per engine per rule count, default 2000),
//               BENCH_SIZES (comma list of rule counts, default 10,100,1000),
//               BENCH_DUMP (a directory: write the rules, Cedar policies, CEL sources, requests).
import os from 'node:os';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compilePolicy, ruleIssues } from '../../dist/policy/index.js';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { Environment } from '@marcbachmann/cel-js';

// cel-js does not export its package.json; read it from the project's node_modules.
const celVersion = JSON.parse(
  readFileSync(new URL('../../node_modules/@marcbachmann/cel-js/package.json', import.meta.url), 'utf8')
).version;

const SIZES = (process.env.BENCH_SIZES ?? '10,100,1000').split(',').map(Number);
const BUDGET_NS = BigInt(Number(process.env.BENCH_MS ?? 2000) * 1e6);
const REQUESTS = 2000;
const WARMUP_WINDOW_NS = 200_000_000n;
const WARMUP_MIN_NS = 600_000_000n;
const WARMUP_MAX_NS = 6_000_000_000n;
const ROUNDS = 4; // timing is interleaved: each engine gets BENCH_MS / ROUNDS per round
const TARGET_BATCH_NS = 50_000; // batch size chosen so one timed batch takes ~50 µs (1..100 calls)

// ---------------------------------------------------------------------------------------------
// Deterministic workload
// ---------------------------------------------------------------------------------------------

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ROLES = ['admin', 'analyst', 'viewer', 'ops'];
const SERVERS = ['files', 'billing', 'crm', 'search', 'deploy'];
// Path prefixes: no regex metacharacters, no Cedar `like` wildcards, already-normal paths.
const PREFIXES = ['/data/public/', '/data/team/', '/srv/shared/', '/home/agent/', '/var/reports/'];
const MAXES = [100, 250, 500, 750];

export function makeWorkload(n, seed) {
  const rng = mulberry32(seed);
  const pick = (arr) => arr[Math.floor(rng() * arr.length)];
  const chance = (p) => rng() < p;
  const toolCount = Math.max(2, Math.round(n / 2));
  const tools = Array.from({ length: toolCount }, (_, i) => ({
    name: `tool_${String(i).padStart(4, '0')}`,
    server: SERVERS[Math.floor(rng() * SERVERS.length)]
  }));
  const someRoles = () => {
    const a = pick(ROLES);
    if (!chance(0.4)) return [a];
    const b = pick(ROLES);
    return a === b ? [a] : [a, b];
  };

  const rules = [];
  for (let i = 0; i < n; i++) {
    // The first toolCount rules cover every tool once; the rest land on random tools.
    const t = i < toolCount ? tools[i] : pick(tools);
    const rule = { id: `r${i}`, tool: t.name };
    if (chance(0.03)) rule.tool = t.name.slice(0, -1) + '*'; // a family glob, e.g. tool_001*
    if (!chance(0.05)) rule.server = t.server; // ~5% apply on every server
    if (chance(0.05)) {
      rule.deny = true; // ~5% deny rules: for everyone, or for one role
      if (chance(0.5)) rule.allowed_roles = [pick(ROLES)];
    } else {
      const pc = {};
      if (chance(0.3)) pc.path = { pattern: '^' + pick(PREFIXES) };
      if (chance(0.2)) pc.amount = { max: pick(MAXES) };
      const r = rng();
      if (r < 0.03) rule.allowed_roles = ['*'];
      else if (r < 0.07) {
        // constraint-only rule (no allowed_roles): binds every caller, grants nobody
        if (!pc.path && !pc.amount) pc.path = { pattern: '^' + pick(PREFIXES) };
      } else rule.allowed_roles = someRoles();
      if (Object.keys(pc).length > 0) rule.parameter_constraints = pc;
      if (chance(0.04)) rule.require_approval = true;
      if (chance(0.03)) rule.max_calls_per_session = 5 + Math.floor(rng() * 20);
    }
    rules.push(rule);
  }

  // Requests. To steer the mix, the generator looks at which rules match (plain JS, not timed).
  const matchesTool = (rule, tool) =>
    rule.tool.endsWith('*') ? tool.startsWith(rule.tool.slice(0, -1)) : rule.tool === tool;
  const applicableTo = (server, tool) =>
    rules.filter((r) => matchesTool(r, tool) && (r.server === undefined || r.server === server));
  const requests = [];
  for (let i = 0; i < REQUESTS; i++) {
    const kind = rng();
    let server;
    let tool;
    if (kind < 0.1) {
      server = pick(SERVERS);
      tool = `ghost_${Math.floor(rng() * 50)}`; // unknown tool: default deny
    } else if (kind < 0.15) {
      server = pick(SERVERS);
      tool = pick(tools).name; // known tool, random (often wrong) server
    } else {
      const t = pick(tools);
      server = t.server;
      tool = t.name;
    }
    const app = applicableTo(server, tool);
    let roles;
    if (chance(0.01)) roles = [];
    else {
      roles = someRoles();
      const granting = app.filter((r) => !r.deny && r.allowed_roles && !r.allowed_roles.includes('*'));
      if (granting.length > 0 && chance(0.6)) {
        const role = pick(pick(granting).allowed_roles);
        if (!roles.includes(role)) roles = [role, ...roles].slice(0, 2);
      }
    }
    const args = {};
    const prefixes = app.flatMap((r) =>
      r.parameter_constraints?.path ? [r.parameter_constraints.path.pattern.slice(1)] : []
    );
    const maxes = app.flatMap((r) =>
      r.parameter_constraints?.amount ? [r.parameter_constraints.amount.max] : []
    );
    if (!chance(0.04)) {
      const prefix = prefixes.length > 0 && chance(0.8) ? pick(prefixes) : pick(PREFIXES);
      args.path = `${prefix}report-${Math.floor(rng() * 1000)}.csv`;
    }
    if (!chance(0.04)) {
      const cap = maxes.length > 0 && chance(0.8) ? Math.min(...maxes) : 1000;
      args.amount = Math.floor(rng() * (cap + 1)); // integers: Cedar numbers are Long
    }
    requests.push({ roles, server, tool, args });
  }
  return { rules, requests, tools };
}

// ---------------------------------------------------------------------------------------------
// Engines. Each exposes prepare(request) -> per-request input object (built once, untimed, for
// every engine alike) and decide(input) -> 'allow' | 'approval' | 'deny' (Cedar: allow | deny).
// ---------------------------------------------------------------------------------------------

const sessionCount = () => 0; // no session has used any rule yet: caps never hit, counters built

function portcullisEngine(rules) {
  const policy = compilePolicy(rules);
  return {
    name: 'portcullis',
    prepare: (q) => ({ roles: q.roles, server: q.server, tool: q.tool, args: q.args, sessionCount }),
    decide: (input) => policy.decide(input).effect,
    full: (input) => policy.decide(input)
  };
}

const q = (s) => JSON.stringify(s); // Cedar and CEL string literals (our strings are plain ASCII)

function toolScope(rule) {
  // literal tool on one server -> resource == Tool::"server/tool" in the scope (Cedar's fast path);
  // otherwise `resource is Tool` plus conditions on the resource's attributes.
  if (!rule.tool.includes('*') && rule.server !== undefined) {
    return { scope: `resource == Tool::${q(`${rule.server}/${rule.tool}`)}`, conds: [] };
  }
  const conds = [
    rule.tool.includes('*') ? `resource.name like ${q(rule.tool)}` : `resource.name == ${q(rule.tool)}`
  ];
  if (rule.server !== undefined) conds.push(`resource.server == ${q(rule.server)}`);
  return { scope: 'resource is Tool', conds };
}

function cedarConstraint(name, c) {
  const parts = [];
  if (c.pattern !== undefined) {
    const prefix = c.pattern.slice(1); // '^/data/public/' -> '/data/public/' (prefix patterns only)
    parts.push(`context has ${name} && context.${name} like ${q(prefix + '*')}`);
  }
  if (c.min !== undefined) parts.push(`context has ${name} && context.${name} >= ${c.min}`);
  if (c.max !== undefined) parts.push(`context has ${name} && context.${name} <= ${c.max}`);
  return parts.map((p) => `(${p})`).join(' && ');
}

function cedarPolicies(rules) {
  const out = [];
  const action = 'action == Action::"call"';
  for (const rule of rules) {
    const { scope, conds } = toolScope(rule);
    const when = conds.length > 0 ? ` when { ${conds.join(' && ')} }` : '';
    // '*' (any role) is the Role::"*" group every caller with at least one role belongs to.
    const principals = (roles) => roles.map((r) => `principal in Role::${q(r)}`);
    if (rule.deny) {
      for (const p of rule.allowed_roles ? principals(rule.allowed_roles) : ['principal']) {
        out.push(`@id(${q(`${rule.id}:deny`)}) forbid(${p}, ${action}, ${scope})${when};`);
      }
      continue;
    }
    for (const p of principals(rule.allowed_roles ?? [])) {
      out.push(`@id(${q(`${rule.id}:grant`)}) permit(${p}, ${action}, ${scope})${when};`);
    }
    const pc = Object.entries(rule.parameter_constraints ?? {});
    if (pc.length > 0) {
      const ok = pc.map(([name, c]) => cedarConstraint(name, c)).join(' && ');
      out.push(
        `@id(${q(`${rule.id}:constraints`)}) forbid(principal, ${action}, ${scope})${when} unless { ${ok} };`
      );
    }
  }
  return out;
}

let cedarSetSeq = 0;
function cedarEngine(rules) {
  const policies = cedarPolicies(rules);
  const text = policies.join('\n');
  const id = `portcullis-bench-${rules.length}-${cedarSetSeq++}`;
  const parsed = cedar.preparsePolicySet(id, { staticPolicies: text });
  if (parsed.type !== 'success') throw new Error(`cedar: ${JSON.stringify(parsed.errors).slice(0, 2000)}`);
  const action = { type: 'Action', id: 'call' };
  let callerSeq = 0;
  return {
    name: 'cedar-wasm',
    policyCount: policies.length,
    policies, // Cedar names them policy0, policy1, ... in text order
    policyText: text,
    prepare: (r) => {
      const principal = { type: 'User', id: `caller-${callerSeq++ % 50}` };
      const resource = { type: 'Tool', id: `${r.server}/${r.tool}` };
      const parents = r.roles.map((role) => ({ type: 'Role', id: role }));
      if (r.roles.length > 0) parents.push({ type: 'Role', id: '*' });
      return {
        principal,
        action,
        resource,
        context: { ...r.args },
        preparsedPolicySetId: id,
        entities: [
          { uid: principal, attrs: {}, parents },
          { uid: resource, attrs: { name: r.tool, server: r.server }, parents: [] }
        ]
      };
    },
    // Raw answer, for the equivalence pass (errors are checked there); decide() is what is timed.
    answer: (call) => cedar.statefulIsAuthorized(call),
    decide: (call) => {
      const a = cedar.statefulIsAuthorized(call);
      return a.type === 'success' && a.response.decision === 'allow' ? 'allow' : 'deny';
    }
  };
}

// CEL: one expression per rule, returning an int code; JS combines the codes.
const NOT_APPLICABLE = 0n;
const APPLIES = 1n; // rule applies, grants nothing
const GRANTS = 2n;
const DENIES = 3n;
const CONSTRAINT_FAILS = 4n;

function celRuleSource(rule) {
  const match = [
    rule.tool.includes('*') ? `tool.startsWith(${q(rule.tool.slice(0, -1))})` : `tool == ${q(rule.tool)}`
  ];
  if (rule.server !== undefined) match.push(`server == ${q(rule.server)}`);
  const m = match.join(' && ');
  const grant = (roles) =>
    roles.includes('*') ? 'size(roles) > 0' : roles.map((r) => `${q(r)} in roles`).join(' || ');
  if (rule.deny) {
    const hit = rule.allowed_roles
      ? `((${grant(rule.allowed_roles)}) ? ${DENIES} : ${APPLIES})`
      : `${DENIES}`;
    return `(${m}) ? ${hit} : ${NOT_APPLICABLE}`;
  }
  const checks = [];
  for (const [name, c] of Object.entries(rule.parameter_constraints ?? {})) {
    if (c.pattern !== undefined)
      checks.push(`has(args.${name}) && args.${name}.startsWith(${q(c.pattern.slice(1))})`);
    if (c.min !== undefined) checks.push(`has(args.${name}) && args.${name} >= ${c.min}`);
    if (c.max !== undefined) checks.push(`has(args.${name}) && args.${name} <= ${c.max}`);
  }
  const g = rule.allowed_roles ? `((${grant(rule.allowed_roles)}) ? ${GRANTS} : ${APPLIES})` : `${APPLIES}`;
  const ok = checks.map((c) => `(${c})`).join(' && ');
  const body = checks.length > 0 ? `(${ok}) ? ${g} : ${CONSTRAINT_FAILS}` : g;
  return `(${m}) ? (${body}) : ${NOT_APPLICABLE}`;
}

function celCombine(compiledRules, ctx) {
  let applies = false;
  let deny = false;
  let grant = false;
  let approval = false;
  for (let i = 0; i < compiledRules.length; i++) {
    const r = compiledRules[i];
    const v = r.fn(ctx);
    if (v === NOT_APPLICABLE) continue;
    applies = true;
    if (r.approval) approval = true;
    if (v === GRANTS) grant = true;
    else if (v !== APPLIES) deny = true; // DENIES or CONSTRAINT_FAILS
  }
  if (!applies || deny || !grant) return 'deny';
  return approval ? 'approval' : 'allow';
}

function celEngines(rules) {
  const env = new Environment()
    .registerVariable('roles', 'list<string>')
    .registerVariable('server', 'string')
    .registerVariable('tool', 'string')
    .registerVariable('args', 'map<string, dyn>');
  const compiled = rules.map((rule) => {
    const source = celRuleSource(rule);
    const fn = env.parse(source); // parse once, evaluate many times
    const checked = fn.check();
    if (!checked.valid) throw new Error(`cel: ${source}: ${checked.error?.message}`);
    const isGlob = rule.tool.includes('*');
    const stem = rule.tool.slice(0, -1);
    return {
      fn,
      source,
      approval: rule.require_approval === true,
      matches: (server, tool) =>
        (isGlob ? tool.startsWith(stem) : tool === rule.tool) &&
        (rule.server === undefined || rule.server === server)
    };
  });
  const prepare = (r) => ({ roles: r.roles, server: r.server, tool: r.tool, args: r.args });
  const all = { name: 'cel-js (all rules)', prepare, decide: (ctx) => celCombine(compiled, ctx) };
  // Indexed variant: the same CEL per rule, but only the rules whose tool/server match, found
  // through a (server, tool) -> rules cache built lazily, as Portcullis does.
  const index = new Map();
  const indexed = {
    name: 'cel-js (indexed by tool)',
    prepare,
    decide: (ctx) => {
      const key = `${ctx.server}\u0000${ctx.tool}`;
      let list = index.get(key);
      if (list === undefined) {
        list = compiled.filter((c) => c.matches(ctx.server, ctx.tool));
        index.set(key, list);
      }
      return celCombine(list, ctx);
    }
  };
  return { all, indexed, sources: compiled.map((c) => c.source) };
}

// ---------------------------------------------------------------------------------------------
// Timing
// ---------------------------------------------------------------------------------------------

const now = process.hrtime.bigint;

function warmUp(engine, inputs) {
  const decide = engine.decide;
  const n = inputs.length;
  const st = { decide, inputs, i: 0, sink: 0, samples: [], decisions: 0, timed: 0n };
  // Warm-up in 200 ms windows until the rate stops improving (JIT, and for cedar-wasm V8's
  // lazy Liftoff -> TurboFan tier-up of the wasm module, which takes seconds), and at least
  // one full pass over the requests. Capped at WARMUP_MAX_NS.
  let count = 0;
  let best = Infinity;
  let stale = 0;
  const w0 = now();
  for (;;) {
    const s0 = now();
    let c = 0;
    do {
      if (decide(inputs[st.i]) !== 'deny') st.sink++;
      if (++st.i === n) st.i = 0;
      c++;
    } while (now() - s0 < WARMUP_WINDOW_NS);
    count += c;
    const per = Number(now() - s0) / c;
    if (per < best * 0.95) {
      best = per;
      stale = 0;
    } else stale++;
    const el = now() - w0;
    if (el >= WARMUP_MAX_NS || (el >= WARMUP_MIN_NS && stale >= 2 && count >= n)) break;
  }
  st.warmupMs = Number(now() - w0) / 1e6;
  st.batch = Math.max(1, Math.min(100, Math.round(TARGET_BATCH_NS / best)));
  return st;
}

/** Time batches for `budget` ns; each sample is one batch's time divided by its size. */
function timeSlice(st, budget) {
  const { decide, inputs, batch, samples } = st;
  const n = inputs.length;
  let i = st.i;
  let sink = 0;
  const end = now() + budget;
  while (now() < end) {
    const t0 = now();
    for (let k = 0; k < batch; k++) {
      if (decide(inputs[i]) !== 'deny') sink++;
      if (++i === n) i = 0;
    }
    const dt = now() - t0;
    st.timed += dt;
    st.decisions += batch;
    samples.push(Number(dt) / batch);
  }
  st.i = i;
  st.sink += sink;
}

function summarise(st) {
  const samples = [...st.samples].sort((a, b) => a - b);
  const at = (p) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))];
  return {
    batch: st.batch,
    warmupMs: st.warmupMs,
    samples: samples.length,
    medianNs: at(0.5),
    p99Ns: at(0.99),
    perSec: (st.decisions / Number(st.timed)) * 1e9,
    sink: st.sink
  };
}

// ---------------------------------------------------------------------------------------------
// Run
// ---------------------------------------------------------------------------------------------

// Run only when executed (node bench/policy/run.mjs), so the workload can be imported elsewhere.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();

function main() {
  const cpus = os.cpus();
  console.log('# Portcullis policy decision benchmark\n');
  console.log(`date:    ${new Date().toISOString()}`);
  console.log(
    `machine: ${cpus[0]?.model ?? 'unknown'} x ${cpus.length} cores, ${os.platform()} ${os.release()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`
  );
  console.log(`node:    ${process.version}`);
  console.log(
    `load:    ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (1/5/15 min load average at start)`
  );
  console.log(
    `engines: cedar-wasm ${cedar.getCedarVersion()} (statefulIsAuthorized on a preparsePolicySet), cel-js ${celVersion} (Environment.parse once per rule)`
  );
  console.log(
    `budget:  ${Number(BUDGET_NS) / 1e6} ms timed per engine per rule count, ${REQUESTS} requests\n`
  );

  const results = [];
  let failed = false;
  for (const n of SIZES) {
    const { rules, requests } = makeWorkload(n, 0xc0ffee + n);
    const issues = ruleIssues(rules, SERVERS, true);
    if (issues.length > 0) {
      console.error(`generated rules have issues: ${JSON.stringify(issues.slice(0, 5))}`);
      process.exit(1);
    }
    const portcullis = portcullisEngine(rules);
    const cedarE = cedarEngine(rules);
    const cel = celEngines(rules);
    if (process.env.BENCH_DUMP) {
      // Write what each engine was given, to check the translations by eye.
      const dir = process.env.BENCH_DUMP;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `rules-${n}.json`), JSON.stringify(rules, null, 2));
      writeFileSync(join(dir, `policies-${n}.cedar`), cedarE.policyText + '\n');
      writeFileSync(join(dir, `rules-${n}.cel`), cel.sources.join('\n') + '\n');
      writeFileSync(join(dir, `requests-${n}.json`), JSON.stringify(requests));
    }
    const engines = [portcullis, cedarE, cel.all, cel.indexed];
    const inputs = new Map(engines.map((e) => [e, requests.map((r) => e.prepare(r))]));

    // Equivalence: every engine must agree with Portcullis on every request.
    const mix = {};
    const agree = { 'cedar-wasm': 0, 'cel-js (all rules)': 0, 'cel-js (indexed by tool)': 0 };
    const disagreements = [];
    for (let k = 0; k < requests.length; k++) {
      const d = portcullis.full(inputs.get(portcullis)[k]);
      mix[d.code ?? d.effect] = (mix[d.code ?? d.effect] ?? 0) + 1;
      const ans = cedarE.answer(inputs.get(cedarE)[k]);
      const cedarEffect =
        ans.type === 'success' ? ans.response.decision : `failure ${JSON.stringify(ans.errors)}`;
      const cedarErrors = ans.type === 'success' ? ans.response.diagnostics.errors : [];
      const expectCedar = d.effect === 'deny' ? 'deny' : 'allow'; // approval counts as allow
      if (cedarEffect === expectCedar && cedarErrors.length === 0) agree['cedar-wasm']++;
      else
        disagreements.push({
          engine: 'cedar-wasm',
          request: requests[k],
          portcullis: d,
          cedar: cedarEffect,
          cedarErrors,
          reasons: ans.response?.diagnostics.reason.map(
            (id) => cedarE.policies[Number(id.replace('policy', ''))] ?? id
          )
        });
      for (const e of [cel.all, cel.indexed]) {
        const got = e.decide(inputs.get(e)[k]);
        if (got === d.effect) agree[e.name]++;
        else disagreements.push({ engine: e.name, request: requests[k], portcullis: d, got });
      }
    }
    const mixText = Object.entries(mix)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    console.log(`## ${n} rules: ${cedarE.policyCount} Cedar policies, ${n} CEL expressions`);
    console.log(`decision mix (Portcullis): ${mixText}`);
    console.log(
      `agreement with Portcullis: ${Object.entries(agree)
        .map(([k, v]) => `${k} ${v}/${requests.length}`)
        .join(', ')}`
    );
    if (disagreements.length > 0) {
      console.error(`\nDISAGREEMENT (${disagreements.length}); first ones:`);
      for (const d of disagreements.slice(0, 5)) console.error(JSON.stringify(d));
      failed = true;
      break;
    }

    // Warm every engine up, then time them in interleaved rounds, so that load changes on the
    // machine during the run hit every engine alike.
    const states = engines.map((e) => warmUp(e, inputs.get(e)));
    for (let round = 0; round < ROUNDS; round++) {
      for (const st of states) timeSlice(st, BUDGET_NS / BigInt(ROUNDS));
    }
    engines.forEach((e, k) => {
      const r = summarise(states[k]);
      results.push({ n, engine: e.name, ...r });
      console.log(
        `  ${e.name.padEnd(26)} median ${(r.medianNs / 1000).toFixed(3)} µs  p99 ${(r.p99Ns / 1000).toFixed(3)} µs  (batch ${r.batch}, ${r.samples} samples, warm-up ${(r.warmupMs / 1000).toFixed(1)} s)`
      );
    });
    console.log('');
  }

  if (failed) {
    console.error('\nEngines disagree: the comparison would be apples to oranges. Aborting.');
    process.exit(1);
  }

  const fmt = (x, d = 2) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
  console.log('| engine | rules | median µs | p99 µs | decisions/s | × slower than Portcullis |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const base = results.find((x) => x.n === r.n && x.engine === 'portcullis');
    const ratio = r.medianNs / base.medianNs;
    console.log(
      `| ${r.engine} | ${r.n} | ${fmt(r.medianNs / 1000, 3)} | ${fmt(r.p99Ns / 1000, 3)} | ${fmt(r.perSec, 0)} | ${r.engine === 'portcullis' ? '1.0 (baseline)' : fmt(ratio, 1)} |`
    );
  }

  console.log(
    `\nload average at end: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`
  );
  const p1000 = results.find((x) => x.n === 1000 && x.engine === 'portcullis');
  const c1000 = results.find((x) => x.n === 1000 && x.engine === 'cedar-wasm');
  console.log('\nTargets (at 1000 rules, on medians):');
  if (p1000 && c1000) {
    const speedup = c1000.medianNs / p1000.medianNs;
    console.log(
      `- Portcullis median < 2 µs: ${p1000.medianNs < 2000 ? 'HOLDS' : 'MISSED'} (${fmt(p1000.medianNs / 1000, 3)} µs)`
    );
    console.log(
      `- Portcullis >= 20x faster than cedar-wasm: ${speedup >= 20 ? 'HOLDS' : 'MISSED'} (${fmt(speedup, 1)}x)`
    );
  } else {
    console.log('- not evaluated (1000 rules not in BENCH_SIZES)');
  }
}
