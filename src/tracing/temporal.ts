import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { ClientInterceptors } from '@temporalio/client';
import type { WorkerOptions } from '@temporalio/worker';
import type { Tracing } from './start';

/*
 * `@temporalio/interceptors-opentelemetry` wired for billflow's clients and workers. Loaded only
 * once tracing is on (`await import`), so a process with tracing off never loads the package.
 */

/**
 * The receiver's Temporal client: signal-with-start gets a client span, child of the request's span,
 * and carries its context in the call's headers to the workflow.
 */
export function tracedClientInterceptors(): ClientInterceptors {
  return { workflow: [new OpenTelemetryWorkflowClientInterceptor()] };
}

/**
 * The worker's side: a span per activity run, child of the workflow span that scheduled it; the
 * worker's own client (catch-up's signal-with-starts from an activity) traced like the receiver's;
 * and the sink through which the workflows' spans, made inside the sandbox, leave it for the span
 * processor. The workflow interceptors themselves are in the workflow code (workflows/tracing.ts).
 */
export function tracedWorkerOptions(tracing: Tracing): Required<Pick<WorkerOptions, 'sinks'>> & { interceptors: Pick<NonNullable<WorkerOptions['interceptors']>, 'client' | 'activity'> } {
  return {
    interceptors: {
      client: tracedClientInterceptors(),
      activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
    },
    sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
  };
}
