import { context, diag, DiagLogLevel, propagation, trace, type Tracer } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';
import { tracingRequested, type TracingSettings } from './settings';

/** A running OpenTelemetry tracer provider, registered for the whole process. */
export interface Tracing {
  /** billflow's own spans: the receiver's one server span per request. */
  readonly tracer: Tracer;
  /** What every span is about (service name and `OTEL_RESOURCE_ATTRIBUTES`): workflow spans are exported with it too. */
  readonly resource: Resource;
  /** Where finished spans go: the OTLP exporter's batch, or the one given. Workflow spans reach it through the worker's sink. */
  readonly spanProcessor: SpanProcessor;
  /** Flushes what is still batched and unregisters the provider, once every user of this process's tracing has called it. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** `service.name` unless `OTEL_SERVICE_NAME` (or `OTEL_RESOURCE_ATTRIBUTES`) says otherwise: `billflow-receiver`, `billflow-worker`. */
  serviceName: string;
  /** Where spans go instead of the OTLP exporter (a test's in-memory exporter); given, tracing is on whatever the settings say. */
  spanProcessor?: SpanProcessor;
  /** Receives the SDK's own warnings (a collector that cannot be reached). */
  logger?: Logger;
}

/** One provider per process: a receiver and a worker started in the same process (`dev`, tests) share it. */
let shared: { provider: Promise<Tracing>; users: number } | undefined;

/**
 * Starts tracing when the settings ask for it (an OTLP endpoint set) or a span processor is given;
 * otherwise returns undefined, having loaded none of the SDK: with tracing off nothing of
 * OpenTelemetry runs, and callers add no interceptor and no middleware.
 */
export async function startTracing(settings: TracingSettings, options: TracingOptions): Promise<Tracing | undefined> {
  if (!options.spanProcessor && !tracingRequested(settings)) return undefined;
  const record = shared ?? { provider: registerProvider(options), users: 0 };
  shared = record;
  record.users += 1;
  let running: Tracing;
  try {
    running = await record.provider;
  } catch (error) {
    if (shared === record) shared = undefined;
    throw error;
  }
  let closed = false;
  return {
    ...running,
    async shutdown() {
      if (closed) return;
      closed = true;
      record.users -= 1;
      if (record.users > 0) return;
      if (shared === record) shared = undefined;
      await running.shutdown();
    },
  };
}

async function registerProvider(options: TracingOptions): Promise<Tracing> {
  // Loaded only here, so that a process with tracing off never loads the SDK.
  const [{ NodeTracerProvider }, { BatchSpanProcessor }, { Resource, detectResourcesSync, envDetectorSync }, { ATTR_SERVICE_NAME }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/semantic-conventions'),
  ]);
  if (options.logger) routeDiagnostics(options.logger);
  // The SDK's defaults, then billflow's service name, then OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES over both.
  const resource = Resource.default()
    .merge(new Resource({ [ATTR_SERVICE_NAME]: options.serviceName }))
    .merge(detectResourcesSync({ detectors: [envDetectorSync] }));
  let spanProcessor = options.spanProcessor;
  if (!spanProcessor) {
    // OTLP over HTTP/protobuf; the exporter reads OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout,
    // compression) and the batch OTEL_BSP_* itself.
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
    spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter());
  }
  // The sampler comes from OTEL_TRACES_SAMPLER / _ARG, the propagators from OTEL_PROPAGATORS (W3C
  // trace context and baggage by default); register() also installs the AsyncLocalStorage context
  // manager that carries the request's span into the Temporal client's interceptor.
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  return {
    tracer: provider.getTracer('billflow'),
    resource,
    spanProcessor,
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
      diag.disable();
    },
  };
}

/** The SDK reports export failures through its diagnostics channel, silent unless given a logger. */
function routeDiagnostics(logger: Logger): void {
  const log = logger.child({ component: 'opentelemetry' });
  diag.setLogger(
    {
      error: (message, ...args) => log.error({ args }, message),
      warn: (message, ...args) => log.warn({ args }, message),
      info: (message, ...args) => log.info({ args }, message),
      debug: (message, ...args) => log.debug({ args }, message),
      verbose: (message, ...args) => log.trace({ args }, message),
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
}
