/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance, every server scenario)
 * against a reference upstream directly, and against a real `portcullis serve` process with that
 * upstream behind it: the gateway may fail no scenario the upstream passes. The baseline and the
 * reasons for any difference are in docs/conformance.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  failures,
  listScenarios,
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
  if (process.env.CONFORMANCE_REPORT) {
    for (const name of scenarios) {
      const d = direct.get(name);
      const g = gateway.get(name);
      process.stderr.write(
        `${name.padEnd(32)} direct ${d?.passed ? 'pass' : 'FAIL'}  gateway ${g?.passed ? 'pass' : 'FAIL'}  ${failures(g).join(' | ')}\n`
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
