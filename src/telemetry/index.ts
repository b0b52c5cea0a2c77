/**
 * Traces out of the gateway: each tool call is one span (src/core/lifecycle.ts, through
 * `@opentelemetry/api`); here the OpenTelemetry SDK for Node is started to export those spans over
 * OTLP/HTTP, when `telemetry.otlp.endpoint` or the standard OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) names a collector. With neither, nothing is started and
 * no span leaves the process. Only the serving commands call this; a host that embeds the gateway
 * registers its own SDK instead.
 */
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/types.js';

export interface Tracing {
  /** Where spans go. */
  readonly url: string;
  /** Send the spans still buffered, then stop. */
  shutdown(): Promise<void>;
}

/** The URL spans would be sent to, or undefined when tracing is off. */
export function tracesUrl(
  config: Pick<GatewayConfig, 'telemetry'>,
  env: NodeJS.ProcessEnv = process.env
): string | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const configured = config.telemetry.otlp?.endpoint;
  if (configured) return `${configured.replace(/\/+$/, '')}/v1/traces`;
  // The specification's own rules: the per-signal variable is the whole URL, the general one a base.
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (base) return `${base.replace(/\/+$/, '')}/v1/traces`;
  return undefined;
}

/** Start exporting spans when an endpoint is set; undefined (and nothing loaded) when none is. */
export async function startTracing(
  config: Pick<GatewayConfig, 'telemetry'>,
  log: Logger,
  version: string
): Promise<Tracing | undefined> {
  const url = tracesUrl(config);
  if (!url) return undefined;
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources')
    ]);
  const headers = config.telemetry.otlp?.headers;
  const exporter = new OTLPTraceExporter({
    url,
    ...(headers && Object.keys(headers).length > 0 ? { headers } : {})
  });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      'service.name': process.env.OTEL_SERVICE_NAME?.trim() || 'portcullis',
      'service.version': version
    }),
    spanProcessors: [new BatchSpanProcessor(exporter)]
  });
  provider.register();
  log.info({ url }, 'exporting traces over OTLP/HTTP');
  return {
    url,
    async shutdown() {
      await provider.shutdown().catch((e: unknown) => log.warn({ err: String(e) }, 'trace export failed'));
    }
  };
}
