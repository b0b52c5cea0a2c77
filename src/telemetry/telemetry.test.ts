import { describe, expect, it } from 'vitest';
import { tracesUrl } from './index.js';

const none = { telemetry: {} };
const configured = { telemetry: { otlp: { endpoint: 'http://collector:4318/', headers: {} } } };

describe('where traces go', () => {
  it('nowhere when neither the config nor the environment names an endpoint', () => {
    expect(tracesUrl(none, {})).toBeUndefined();
    expect(tracesUrl(none, { OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toBeUndefined();
  });

  it('to <endpoint>/v1/traces for the general variable, and to the per-signal one as it is', () => {
    expect(tracesUrl(none, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBe('http://c:4318/v1/traces');
    expect(
      tracesUrl(none, {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:4318/custom'
      })
    ).toBe('http://t:4318/custom');
  });

  it('to telemetry.otlp.endpoint over the environment', () => {
    expect(tracesUrl(configured, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBe(
      'http://collector:4318/v1/traces'
    );
  });

  it('nowhere when OTEL_SDK_DISABLED is true, whatever names an endpoint', () => {
    expect(tracesUrl(configured, { OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
  });
});
