import { context, propagation, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_URL_PATH } from '@opentelemetry/semantic-conventions';
import type { Middleware } from 'koa';
import type { ReceiverState } from './errors';

/**
 * One server span per webhook delivery, the root of its trace — or the child of the sender's span
 * when the request carries a `traceparent`. Installed only when tracing is on. It sits outside
 * `handleErrors`, so it sees the status finally answered, and it reads what the handler learnt
 * (provider, event ids, workflow ids) from the request's log fields once the answer is made.
 * Inside it, the Temporal client's interceptor makes signal-with-start a child span and carries
 * the context to the workflows.
 */
export function traceWebhooks(tracer: Tracer, prefix = ''): Middleware<ReceiverState> {
  const webhooks = `${prefix}/webhooks/`;
  const route = `${prefix}/webhooks/:provider`;
  const name = `POST ${route}`;
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || !ctx.path.startsWith(webhooks)) return next();
    const parent = propagation.extract(context.active(), ctx.req.headers);
    const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: 'POST', [ATTR_HTTP_ROUTE]: route, [ATTR_URL_PATH]: ctx.path } }, parent);
    try {
      await context.with(trace.setSpan(parent, span), next);
    } finally {
      const fields: Partial<Record<string, unknown>> = ctx.state.logFields ?? {};
      if (typeof fields.provider === 'string') span.setAttribute('billflow.provider', fields.provider);
      if (Array.isArray(fields.eventIds)) span.setAttribute('billflow.event_ids', fields.eventIds as string[]);
      if (Array.isArray(fields.workflowIds)) span.setAttribute('billflow.workflow_ids', fields.workflowIds as string[]);
      if (ctx.state.requestId) span.setAttribute('billflow.request_id', ctx.state.requestId);
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, ctx.status);
      // A server span is an error when billflow failed (5xx), not when it refused the sender (4xx).
      if (ctx.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  };
}
