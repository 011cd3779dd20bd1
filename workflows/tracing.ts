/**
 * Workflow interceptors for OpenTelemetry, bundled with every worker's workflow code (billflow's
 * prebuilt bundle and a `workflowsPath` alike) and inert unless a trace comes in.
 *
 * `@temporalio/interceptors-opentelemetry`'s own interceptors trace every workflow they run in: a
 * workflow started without a trace context gets a root span of its own, each exported through the
 * worker's `exporter` sink. A bundle is built once, before anyone knows whether its worker traces,
 * so billflow's interceptors hand a call to them only when there is a trace to continue — the
 * start, signal, update or query carries a trace context in its headers (the client that sent it
 * traces), or the workflow code runs inside a span already. Otherwise each call goes straight on:
 * no span, no sink call, and the OpenTelemetry module is not even loaded in the workflow's context
 * (loading it patches the sandbox's globals). Headers of the commands are the only thing tracing
 * changes; commands themselves stay the same, so histories replay with tracing on or off.
 */
import { trace } from '@opentelemetry/api';
import type * as OpenTelemetryWorkflow from '@temporalio/interceptors-opentelemetry/lib/workflow';
import type {
  Headers,
  WorkflowInboundCallsInterceptor,
  WorkflowInterceptors,
  WorkflowInternalsInterceptor,
  WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';

/** The header the package's client and workflow interceptors carry the trace context in (its `TRACE_HEADER`). */
const traceHeader = '_tracer-data';

interface Delegates {
  inbound: WorkflowInboundCallsInterceptor;
  outbound: WorkflowOutboundCallsInterceptor;
  internals: WorkflowInternalsInterceptor;
}

type Inbound = Required<Pick<WorkflowInboundCallsInterceptor, 'execute' | 'handleSignal' | 'handleUpdate' | 'validateUpdate' | 'handleQuery'>>;
type Outbound = Required<
  Pick<
    WorkflowOutboundCallsInterceptor,
    'scheduleActivity' | 'scheduleLocalActivity' | 'startChildWorkflowExecution' | 'continueAsNew' | 'signalWorkflow' | 'startNexusOperation' | 'getLogAttributes'
  >
>;

const carriesTrace = (input: { headers: Headers }): boolean => traceHeader in input.headers;
const insideSpan = (): boolean => trace.getActiveSpan() !== undefined;

/** The factory the worker calls for each workflow run. */
export const interceptors = (): WorkflowInterceptors => {
  let delegates: Delegates | undefined;
  const otel = (): Delegates => {
    if (!delegates) {
      // Loaded on the first traced call only: see the top of this file.
      // eslint-disable-next-line no-restricted-globals, @typescript-eslint/no-require-imports
      const module = require('@temporalio/interceptors-opentelemetry/lib/workflow') as typeof OpenTelemetryWorkflow;
      delegates = {
        inbound: new module.OpenTelemetryInboundInterceptor(),
        outbound: new module.OpenTelemetryOutboundInterceptor(),
        internals: new module.OpenTelemetryInternalsInterceptor(),
      };
    }
    return delegates;
  };
  /** The package's interceptor's method when the call carries a trace context (or runs inside a span), else the next interceptor itself. */
  function inboundCall<K extends keyof Inbound>(method: K): Inbound[K] {
    return ((input: { headers: Headers }, next: (input: unknown) => unknown) => {
      if (!carriesTrace(input)) return next(input);
      const delegate = otel().inbound[method] as (input: unknown, next: unknown) => unknown;
      return delegate.call(otel().inbound, input, next);
    }) as Inbound[K];
  }
  function outboundCall<K extends keyof Outbound>(method: K): Outbound[K] {
    return ((input: unknown, next: (input: unknown) => unknown) => {
      if (!insideSpan()) return next(input);
      const delegate = otel().outbound[method] as (input: unknown, next: unknown) => unknown;
      return delegate.call(otel().outbound, input, next);
    }) as Outbound[K];
  }
  const inbound: Inbound = {
    execute: inboundCall('execute'),
    handleSignal: inboundCall('handleSignal'),
    handleUpdate: inboundCall('handleUpdate'),
    validateUpdate: inboundCall('validateUpdate'),
    handleQuery: inboundCall('handleQuery'),
  };
  const outbound: Outbound = {
    scheduleActivity: outboundCall('scheduleActivity'),
    scheduleLocalActivity: outboundCall('scheduleLocalActivity'),
    startChildWorkflowExecution: outboundCall('startChildWorkflowExecution'),
    continueAsNew: outboundCall('continueAsNew'),
    signalWorkflow: outboundCall('signalWorkflow'),
    startNexusOperation: outboundCall('startNexusOperation'),
    getLogAttributes: outboundCall('getLogAttributes'),
  };
  const internals: WorkflowInternalsInterceptor = {
    // Releases the package's context manager, when this run loaded it.
    dispose: (input, next) => (delegates?.internals.dispose ? delegates.internals.dispose(input, next) : next(input)),
  };
  return { inbound: [inbound], outbound: [outbound], internals: [internals] };
};
