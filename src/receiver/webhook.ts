import type { RouterMiddleware } from '@koa/router';
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { BillingEvent } from '../core/events';
import type { ReceiverMetrics } from '../metrics';
import { findProvider } from './providers';
import { PartlyMalformedBatchError, VerificationError, type WebhookRequest } from '../providers/types';
import type { UnusableEvent } from '../core/events';
import type { RegisteredProvider } from './providers';
import { routeEvents } from '../routing';
import type { WorkflowRouteEntry } from '../workflow-routes';
import { deliverEvents, type Delivery } from '../temporal/deliver';
import { keepDeadLetter, keepVerificationFailure, recordedDelivery, type ReceiverDeadLetters } from './dead-letters';
import { ReceiverError, type ReceiverState } from './errors';
import { readRawBody } from './raw-body';

/**
 * `POST /webhooks/:provider`: raw body → verify → parse → route → signal. Answers 200 only once
 * Temporal holds every routed event, 204 (200 where the provider wants it) when none of them
 * concerns a workflow; every failure is
 * thrown and answered by `handleErrors`.
 */
export function receiveWebhook({
  config,
  client,
  metrics,
  routes = [],
  deadLetters,
}: {
  config: Config;
  client: Client;
  metrics?: ReceiverMetrics;
  /** Where this receiver keeps dead letters itself; without it they are handed to Temporal's `deadLetterWorkflow`. */
  deadLetters?: ReceiverDeadLetters;
  /** The user's workflow routes, signalled in addition to billflow's own workflow. */
  routes?: readonly WorkflowRouteEntry[];
}): RouterMiddleware<ReceiverState> {
  return async (ctx) => {
    const provider = findProvider(ctx.params.provider ?? '');
    if (provider === undefined) throw new ReceiverError(404, 'unknown provider');
    const fields = ctx.state.logFields;
    fields.provider = provider.name;
    if (config.insecureAllowUnverified.includes(provider.name)) fields.unverified = true;

    const request: WebhookRequest = {
      rawBody: await readRawBody(ctx.req, config.receiver.bodyLimitBytes),
      headers: ctx.req.headers,
      query: ctx.query,
      ip: ctx.ip,
    };
    try {
      provider.verify(request, config);
    } catch (error) {
      if (error instanceof VerificationError) {
        metrics?.verificationFailed(provider.name, error.reason);
        await keepVerificationFailure(provider.name, request, error, { deadLetters, log: ctx.state.log });
      }
      throw error;
    }
    const { events, unusable } = parseUsable(provider, request);
    if (events.length > 0) fields.eventIds = events.map((event) => event.id);

    const deliveries: Delivery[] = [];
    const ignored: Pick<BillingEvent, 'id' | 'type' | 'kind'>[] = [];
    for (const event of events) {
      // billflow's own workflow and, in addition, every user workflow routed by the routes given.
      const targets = routeEvents(event, { settings: config.workflows, userRoutes: routes });
      metrics?.eventParsed(event, targets.length > 0);
      for (const route of targets) deliveries.push({ event, route });
      if (targets.length === 0) ignored.push({ id: event.id, type: event.type, kind: event.kind });
    }
    if (ignored.length > 0) ctx.state.log.info({ ...fields, ignored, count: ignored.length }, 'events with no workflow: ignored');
    if (unusable.length > 0) {
      // Kept (logged, counted, and stored as a dead letter) before the delivery is answered: never dropped unseen.
      fields.unusable = unusable.map(({ index, id, reason }) => ({ index, id, reason }));
      for (const record of unusable) metrics?.eventUnusable(record.provider);
      ctx.state.log.warn({ ...fields, count: unusable.length }, 'unusable entries of a verified delivery: kept as dead letters, the rest goes on');
      const reason = unusable.map(({ index, id, reason }) => `events[${index}]${id ? ` (${id})` : ''}: ${reason}`).join('; ');
      const eventIds = unusable.flatMap(({ id }) => (id ? [id] : []));
      await keepDeadLetter({ provider: provider.name, kind: 'unusable_entries', reason, delivery: recordedDelivery(request), eventIds }, { config, client, deadLetters });
    }
    if (deliveries.length === 0) {
      if (unusable.length > 0) {
        ctx.body = { accepted: 0, unusable: unusable.length };
        return;
      }
      ctx.status = provider.unroutedStatus;
      if (provider.unroutedStatus === 200) ctx.body = { accepted: 0 };
      return;
    }

    fields.workflowIds = [...new Set(deliveries.map(({ route }) => route.workflowId))];
    const signalled = metrics?.signalStarted(provider.name);
    const omitted = new Map<string, string>();
    try {
      await deliverEvents(client, deliveries, {
        taskQueue: config.temporal.taskQueue,
        deadlineMs: config.receiver.signalDeadlineMs,
        onProviderCopyOmitted: (event, reason) => {
          omitted.set(event.id, reason);
          ctx.state.log.warn({ ...fields, eventId: event.id, eventType: event.type }, `event sent without the provider's copy: it ${reason}`);
        },
      });
    } catch (error) {
      signalled?.('unavailable');
      throw error;
    }
    signalled?.('durable');
    if (omitted.size > 0) {
      // The events went on without their provider copies: the delivery itself is kept whole, to look at and replay.
      const reason = [...omitted].map(([id, why]) => `${id}: sent without its provider copy, it ${why}`).join('; ');
      await keepDeadLetter({ provider: provider.name, kind: 'unencodable_payload', reason, delivery: recordedDelivery(request), eventIds: [...omitted.keys()] }, { config, client, deadLetters });
    }
    // Logged by handleErrors' "request done" line, the one line of a successful delivery.
    fields.accepted = events.length - ignored.length;
    ctx.body = { accepted: events.length - ignored.length, ...(unusable.length > 0 ? { unusable: unusable.length } : {}) };
  };
}

/** The delivery's events, and the entries of a batch that could not be made into events. */
function parseUsable(provider: RegisteredProvider, request: WebhookRequest): { events: BillingEvent[]; unusable: UnusableEvent[] } {
  try {
    return { events: provider.parse(request), unusable: [] };
  } catch (error) {
    if (!(error instanceof PartlyMalformedBatchError)) throw error;
    const receivedAt = new Date().toISOString();
    return { events: error.usable, unusable: error.unusable.map((entry) => ({ ...entry, receivedAt })) };
  }
}
