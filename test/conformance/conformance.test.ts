/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance, every server scenario)
 * against a reference upstream directly, and against a real `portcullis serve` process with that
 * upstream behind it: the gateway may fail no scenario the upstream passes. The baseline and the
 * reasons for any difference are in docs/conformance.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLIENT_SCENARIOS,
  failures,
  listScenarios,
  runClientScenario,
  runSuite,
  startCredentialForwarder,
  startPortcullis,
  startReference,
  stop,
  type ScenarioResult
} from './harness.js';

let direct: Map<string, ScenarioResult>;
let gateway: Map<string, ScenarioResult>;
let scenarios: string[];

beforeAll(async () => {
  const upstream = await startReference();
  const portcullis = await startPortcullis(upstream, {
    namespace: process.env.CONFORMANCE_NS === 'on' ? undefined : false
  });
  const through = await startCredentialForwarder(portcullis.url);
  scenarios = await listScenarios();
  // One after the other: both runs share the upstream and two cores.
  direct = await runSuite(upstream);
  gateway = await runSuite(through);
  // CONFORMANCE_REPORT=1 prints the baseline table of docs/conformance.md; CONFORMANCE_NS=on runs
  // the gateway with its default <server>__<name> namespacing instead.
  if (process.env.CONFORMANCE_REPORT) {
    const cell = (r: ScenarioResult | undefined) => {
      const count = (status: string) => r?.checks.filter((c) => c.status === status).length ?? 0;
      return `${r?.passed ? 'pass' : 'FAIL'} ${count('SUCCESS')}/${count('FAILURE')}/${count('WARNING')}`;
    };
    for (const name of scenarios) {
      const g = gateway.get(name);
      process.stderr.write(
        `| ${name} | ${cell(direct.get(name))} | ${cell(g)} | ${failures(g).join('; ').slice(0, 120)} |\n`
      );
    }
  }
}, 150_000);

afterAll(stop);

describe('MCP conformance suite', () => {
  it('ran every server scenario it lists, both ways', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(30);
    expect([...direct.keys()].sort()).toEqual([...scenarios].sort());
    expect([...gateway.keys()].sort()).toEqual([...scenarios].sort());
  });

  it('the reference upstream passes every scenario directly', () => {
    const failed = scenarios.filter((s) => !direct.get(s)?.passed);
    expect(failed.map((s) => `${s}: ${failures(direct.get(s)).join('; ')}`)).toEqual([]);
  });

  it('the gateway fails no scenario the upstream passes', () => {
    const regressions = scenarios
      .filter((s) => direct.get(s)?.passed && !gateway.get(s)?.passed)
      .map((s) => `${s}: ${failures(gateway.get(s)).join('; ')}`);
    expect(regressions).toEqual([]);
  });
});

describe('MCP conformance suite, client scenarios, with the gateway as the client of its upstream', () => {
  it.each(CLIENT_SCENARIOS)(
    '%s',
    async (scenario) => {
      const result = await runClientScenario(scenario);
      expect(failures(result)).toEqual([]);
      expect(result.passed).toBe(true);
    },
    60_000
  );
});
