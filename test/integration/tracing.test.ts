import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { trace, ProxyTracerProvider, SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pino from 'pino';
import { loadConfig } from '../../src/config';
import { startReceiver } from '../../src/run/receiver';
import { billflowWorkflowsPath } from '../../src/temporal/worker';
import { bundleWorkflows } from '../../src/temporal/workflow-bundle';
import { startTracing, type Tracing } from '../../src/tracing/start';
import { eventually } from '../support/eventually';
import { goCardlessSecret, postStripe, postTriggered, startBillflow, stripeSecret, stripeSubscriptionEvent, type Billflow } from '../workflows/support/e2e';

/*
 * One trace per webhook, read from an in-process exporter given to billflow's tracing: the
 * receiver's server span, the Temporal client's signal-with-start, the workflow's signal handler
 * and the activities the event causes, in one trace, each span the child of the one before. Run
 * once on the prebuilt workflow bundle (as `npm run build` makes it) and once on workflow code
 * bundled at start (`workflowsPath`), since the workflow interceptors reach each differently.
 */

const serverSpanName = 'POST /webhooks/:provider';

/** The spans of one trace, with helpers to find one by name and to check parentage. */
function traceOf(spans: ReadableSpan[], traceId: string) {
  const inTrace = spans.filter((span) => span.spanContext().traceId === traceId);
  const named = (name: string): ReadableSpan[] => inTrace.filter((span) => span.name === name);
  const one = (name: string): ReadableSpan => {
    const found = named(name);
    expect(found.map((span) => span.name), `spans named ${name} in the trace: ${inTrace.map((span) => span.name).join(', ')}`).toEqual([name]);
    return found[0] as ReadableSpan;
  };
  return { spans: inTrace, named, one };
}

const idOf = (span: ReadableSpan): string => span.spanContext().spanId;

function serverSpanFor(exporter: InMemorySpanExporter, workflowId: string): ReadableSpan | undefined {
  return exporter.getFinishedSpans().find((span) => span.name === serverSpanName && (span.attributes['billflow.workflow_ids'] as string[] | undefined)?.includes(workflowId));
}

/** Waits for the server span naming `workflowId`, then for `names` to have ended in its trace. */
async function waitForTrace(exporter: InMemorySpanExporter, workflowId: string, names: string[]) {
  return eventually(async () => {
    const server = serverSpanFor(exporter, workflowId);
    expect(server, `a server span for ${workflowId}`).toBeDefined();
    const found = traceOf(exporter.getFinishedSpans(), (server as ReadableSpan).spanContext().traceId);
    for (const name of names) expect(found.named(name).length, `${name} among ${found.spans.map((span) => span.name).join(', ')}`).toBeGreaterThan(0);
    return { server: server as ReadableSpan, ...found };
  }, 30_000);
}

/** Every span of the trace descends from `root` through spans of the trace that have ended (none hangs from a span not exported). */
function expectAllDescendFrom(spans: ReadableSpan[], root: ReadableSpan): void {
  const byId = new Map(spans.map((span) => [idOf(span), span]));
  for (const span of spans) {
    let at: ReadableSpan | undefined = span;
    while (at && at !== root) at = at.parentSpanId ? byId.get(at.parentSpanId) : undefined;
    expect(at, `${span.name} descends from ${root.name}`).toBe(root);
  }
}

function expectChild(child: ReadableSpan, parent: ReadableSpan): void {
  expect(child.spanContext().traceId).toBe(parent.spanContext().traceId);
  expect(child.parentSpanId, `${child.name} is a child of ${parent.name}`).toBe(idOf(parent));
}

describe.each([
  { code: 'the prebuilt workflow bundle', prebuilt: true },
  { code: 'workflow code bundled at start (workflowsPath)', prebuilt: false },
])('one trace per webhook, on $code', ({ prebuilt }) => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let billflow: Billflow;
  let bundleDir: string | undefined;

  beforeAll(async () => {
    tracing = (await startTracing({ sdkDisabled: false }, { serviceName: 'billflow-test', spanProcessor: new SimpleSpanProcessor(exporter) })) as Tracing;
    let workflowCode = {};
    if (prebuilt) {
      bundleDir = await mkdtemp(path.join(tmpdir(), 'billflow-traced-bundle-'));
      const { outFile } = await bundleWorkflows({ workflowsPath: billflowWorkflowsPath, outFile: path.join(bundleDir, 'workflow-bundle.js') });
      workflowCode = { workflowBundle: { codePath: outFile } };
    }
    billflow = await startBillflow({}, {}, { tracing, ...workflowCode });
  });

  afterAll(async () => {
    await billflow?.close();
    await tracing?.shutdown();
    if (bundleDir) await rm(bundleDir, { recursive: true, force: true });
  });

  it('follows a GoCardless mandate cancellation from the request through signal-with-start into the workflow and its confirmation activity', async () => {
    const { response, references } = await postTriggered(billflow, 'gocardless', 'mandates.cancelled', {}, goCardlessSecret);
    expect(response.status).toBe(200);
    const workflowId = `gocardless:mandate:${references.mandate}`;

    // A workflow's spans leave through the worker's sink after its activation, a little after the activities' own.
    const found = await waitForTrace(exporter, workflowId, ['StartActivity:getMandateStatus', 'RunActivity:getMandateStatus', 'StartActivity:suspendAccount', 'RunActivity:suspendAccount']);
    const { server } = found;
    // The root of its trace: nothing came in with the request.
    expect(server.parentSpanId).toBeUndefined();
    expect(server.kind).toBe(SpanKind.SERVER);
    expect(server.attributes).toMatchObject({
      'billflow.provider': 'gocardless',
      'billflow.workflow_ids': [workflowId],
      'http.request.method': 'POST',
      'http.route': '/webhooks/:provider',
      'http.response.status_code': 200,
    });
    expect(server.attributes['billflow.event_ids']).toEqual([expect.stringMatching(/^EV/)]);

    const signalWithStart = found.one('SignalWithStartWorkflow:mandateWorkflow');
    expectChild(signalWithStart, server);
    expect(signalWithStart.attributes.temporalWorkflowId).toBe(workflowId);
    const handled = found.one('HandleSignal:billingEvent');
    expectChild(handled, signalWithStart);
    // The event's work runs in the trace of the signal that delivered it.
    for (const activity of ['getMandateStatus', 'suspendAccount']) {
      const scheduled = found.one(`StartActivity:${activity}`);
      expectChild(scheduled, handled);
      expectChild(found.one(`RunActivity:${activity}`), scheduled);
    }
    expectAllDescendFrom(found.spans, server);
  });

  it('puts a later webhook to the running workflow in a trace of its own, under the sender\'s traceparent', async () => {
    const { response, references } = await postTriggered(billflow, 'gocardless', 'mandates.cancelled', {}, goCardlessSecret);
    expect(response.status).toBe(200);
    const workflowId = `gocardless:mandate:${references.mandate}`;
    await waitForTrace(exporter, workflowId, ['StartActivity:suspendAccount']);

    // The sender's own trace: the server span continues it.
    const senderTraceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const senderSpanId = '00f067aa0ba902b7';
    const reinstated = await postTriggered(billflow, 'gocardless', 'mandates.reinstated', { mandate: references.mandate, customer: references.customer }, goCardlessSecret, {
      headers: { traceparent: `00-${senderTraceId}-${senderSpanId}-01` },
    });
    expect(reinstated.response.status).toBe(200);
    const found = await eventually(async () => {
      const inSenderTrace = traceOf(exporter.getFinishedSpans(), senderTraceId);
      expect(inSenderTrace.named('StartActivity:reinstateAccount').length).toBeGreaterThan(0);
      expect(inSenderTrace.named('RunActivity:reinstateAccount').length).toBeGreaterThan(0);
      return inSenderTrace;
    }, 30_000);
    const server = found.one(serverSpanName);
    expect(server.parentSpanId).toBe(senderSpanId);
    expect(server.attributes['billflow.workflow_ids']).toEqual([workflowId]);
    const signalWithStart = found.one('SignalWithStartWorkflow:mandateWorkflow');
    expectChild(signalWithStart, server);
    const handled = found.one('HandleSignal:billingEvent');
    expectChild(handled, signalWithStart);
    const scheduled = found.one('StartActivity:reinstateAccount');
    expectChild(scheduled, handled);
    expectChild(found.one('RunActivity:reinstateAccount'), scheduled);
    expectAllDescendFrom(found.spans, server);
  });

  it('follows a Stripe payment failure into its subscription workflow', async () => {
    const { response, references } = await postTriggered(billflow, 'stripe', 'invoice.payment_failed', {}, stripeSecret);
    expect(response.status).toBe(200);
    const workflowId = `stripe:subscription:${references.subscription}`;
    const found = await waitForTrace(exporter, workflowId, ['HandleSignal:billingEvent']);
    expect(found.server.attributes).toMatchObject({ 'billflow.provider': 'stripe', 'billflow.workflow_ids': [workflowId], 'http.response.status_code': 200 });
    const signalWithStart = found.one('SignalWithStartWorkflow:subscriptionWorkflow');
    expectChild(signalWithStart, found.server);
    expectChild(found.one('HandleSignal:billingEvent'), signalWithStart);
    expectAllDescendFrom(found.spans, found.server);
  });

  it('follows a GoCardless payment failure through the resolver workflow into its subscription\'s workflow', async () => {
    const { response, references } = await postTriggered(billflow, 'gocardless', 'payments.failed', {}, goCardlessSecret);
    expect(response.status).toBe(200);
    const resolverId = `gocardless:payment:${references.payment}`;
    // The resolver ends once idle (5 s): then its own span has ended too.
    const found = await eventually(async () => {
      const waited = await waitForTrace(exporter, resolverId, ['RunWorkflow:paymentResolverWorkflow', 'StartActivity:forwardBillingEvent', 'SignalWithStartWorkflow:subscriptionWorkflow']);
      // One signal handled by the resolver, one by the subscription's workflow.
      expect(waited.named('HandleSignal:billingEvent')).toHaveLength(2);
      return waited;
    }, 30_000);
    const toResolver = found.one('SignalWithStartWorkflow:paymentResolverWorkflow');
    expectChild(toResolver, found.server);
    expectChild(found.one('RunWorkflow:paymentResolverWorkflow'), toResolver);
    const [resolverSignal, subscriptionSignal] = ['HandleSignal:billingEvent'].flatMap((name) => found.named(name)).sort((a, b) => (a.parentSpanId === idOf(toResolver) ? -1 : b.parentSpanId === idOf(toResolver) ? 1 : 0));
    expectChild(resolverSignal as ReadableSpan, toResolver);
    const forwarding = found.one('StartActivity:forwardBillingEvent');
    expectChild(forwarding, resolverSignal as ReadableSpan);
    const forwarded = found.one('RunActivity:forwardBillingEvent');
    expectChild(forwarded, forwarding);
    // The activity's signal-with-start, through the worker's own client, carries the trace on.
    const toSubscription = found.one('SignalWithStartWorkflow:subscriptionWorkflow');
    expectChild(toSubscription, forwarded);
    expect(toSubscription.attributes.temporalWorkflowId).toBe(`gocardless:subscription:${references.subscription}`);
    expectChild(subscriptionSignal as ReadableSpan, toSubscription);
    expectAllDescendFrom(found.spans, found.server);
  });
});

describe('exporting over OTLP/HTTP as the standard variables say', () => {
  let collector: Server;
  const received: { path?: string; contentType?: string; body: Buffer }[] = [];

  beforeAll(async () => {
    // A stand-in collector: it keeps what the SDK's exporter posts and answers as a collector does.
    collector = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({ path: request.url, contentType: request.headers['content-type'], body: Buffer.concat(chunks) });
        response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    collector.listen(0, '127.0.0.1');
    await new Promise((resolve) => collector.once('listening', resolve));
  });

  afterAll(async () => {
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    delete process.env.OTEL_SERVICE_NAME;
    await new Promise((resolve) => collector.close(resolve));
  });

  it('sends the receiver\'s spans to the endpoint, under OTEL_SERVICE_NAME, once the receiver closes', async () => {
    const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    // The SDK reads its variables from the process's environment, as in production.
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = endpoint;
    process.env.OTEL_SERVICE_NAME = 'billing-webhooks';
    const config = loadConfig({
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: inject('temporalNamespace'),
      // No worker polls this queue: the workflow is started and signalled, never run.
      TEMPORAL_TASK_QUEUE: `tracing-${randomUUID()}`,
      STRIPE_WEBHOOK_SECRET: stripeSecret,
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      PORT: '0',
      HOST: '127.0.0.1',
    });
    const receiver = await startReceiver(config, pino({ level: 'silent' }));
    const subscription = `sub_${randomUUID().slice(0, 12)}`;
    const response = await postStripe(receiver, stripeSubscriptionEvent('customer.subscription.deleted', { id: subscription, customer: 'cus_tracing', status: 'canceled' }));
    expect(response.status).toBe(200);
    await receiver.close();

    const traces = received.filter((request) => request.path === '/v1/traces');
    expect(traces.length).toBeGreaterThan(0);
    expect(traces.every((request) => request.contentType === 'application/x-protobuf')).toBe(true);
    const body = Buffer.concat(traces.map((request) => request.body)).toString('latin1');
    for (const text of ['billing-webhooks', serverSpanName, 'billflow.workflow_ids', `stripe:subscription:${subscription}`, 'SignalWithStartWorkflow:subscriptionWorkflow']) expect(body).toContain(text);
    expect(body).not.toContain('billflow-receiver');
  });
});

describe('with tracing off', () => {
  let billflow: Billflow;

  beforeAll(async () => {
    billflow = await startBillflow({});
  });

  afterAll(async () => {
    await billflow?.close();
  });

  it('registers no tracer provider and sends no trace context to the workflows', async () => {
    expect(await startTracing({ sdkDisabled: false }, { serviceName: 'billflow-test' })).toBeUndefined();
    const { response, references } = await postTriggered(billflow, 'gocardless', 'mandates.cancelled', {}, goCardlessSecret);
    expect(response.status).toBe(200);
    const handle = billflow.client.workflow.getHandle(`gocardless:mandate:${references.mandate}`);
    const history = await handle.fetchHistory();
    const started = history.events?.find((event) => event.workflowExecutionStartedEventAttributes)?.workflowExecutionStartedEventAttributes;
    const signalled = history.events?.find((event) => event.workflowExecutionSignaledEventAttributes)?.workflowExecutionSignaledEventAttributes;
    expect(started).toBeDefined();
    expect(Object.keys(started?.header?.fields ?? {})).toEqual([]);
    expect(Object.keys(signalled?.header?.fields ?? {})).toEqual([]);
    // The global API has nothing behind it: every tracer is OpenTelemetry's no-op one.
    const provider = trace.getTracerProvider() as ProxyTracerProvider;
    expect(provider.getDelegate().constructor.name).toBe('NoopTracerProvider');
  });
});
