import { describe, expect, it } from 'vitest';
import { capabilitiesOf } from './capabilities.js';
import { openSchema } from './index.js';

const caps = (
  name: string,
  properties: Record<string, unknown> = {},
  annotations?: Record<string, unknown>
) =>
  capabilitiesOf({ name, inputSchema: { type: 'object', properties }, annotations }).map((c) => c.capability);

describe('capabilitiesOf', () => {
  it('finds commands, environment, file writes and the network from names, parameters and annotations', () => {
    expect(caps('run_shell_command', { command: {} })).toEqual(['runs-commands']);
    expect(caps('execute', {})).toEqual(['runs-commands']);
    expect(caps('start_job', { cmd: {} })).toEqual(['runs-commands']);
    expect(caps('printEnv')).toEqual(['reads-environment']);
    expect(caps('write_file', { path: {}, content: {} })).toEqual(['writes-files']);
    expect(caps('save', { filename: {} })).toEqual(['writes-files']);
    expect(caps('fetch', { url: {} })).toEqual(['reaches-network']);
    expect(caps('lookup', { endpoint: {} })).toEqual(['reaches-network']);
    expect(caps('summarise', {}, { openWorldHint: true })).toEqual(['reaches-network']);
  });

  it('reports nothing for plain tools, and never reads the description', () => {
    expect(caps('run_report', { month: {} })).toEqual([]);
    expect(caps('trigger-long-running-operation', { duration: {} })).toEqual([]);
    expect(caps('read_file', { path: {} }, { readOnlyHint: true })).toEqual([]);
    expect(caps('delete_entities', { entityNames: {} })).toEqual([]);
    // A read-only tool that names a file is not a writer, whatever its verb.
    expect(caps('create_file_preview', { path: {} }, { readOnlyHint: true })).toEqual([]);
    expect(
      capabilitiesOf({ name: 'get_sum', inputSchema: { properties: { a: {} } }, annotations: {} }).length
    ).toBe(0);
  });
});

describe('openSchema', () => {
  it('flags schemas that let any argument through, not tools that take no parameters', () => {
    expect(openSchema(undefined)).toMatch(/no input schema/);
    expect(openSchema({ type: 'object' })).toMatch(/accepts any arguments/);
    expect(openSchema({ type: 'object', properties: {}, additionalProperties: true })).toMatch(/any others/);
    expect(openSchema({ type: 'object', properties: {} })).toBeUndefined();
    expect(openSchema({ type: 'object', additionalProperties: false })).toBeUndefined();
    expect(openSchema({ type: 'object', properties: { a: { type: 'string' } } })).toBeUndefined();
  });
});
