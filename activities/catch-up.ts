import { activityInfo, getClient, heartbeat, log, metricMeter } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { failureTypes } from '../src/core/failures';
import { sweepProviderEvents, type CatchUpCounts, type CatchUpCursor } from '../src/catch-up/sweep';
import type { Config } from '../src/config';
import type { ProviderName } from '../src/core/events';
import { providers, type ProviderSettings } from '../src/providers/registry';
import type { ProviderEventLog } from '../src/providers/provider';
import type { WorkflowRoute } from '../src/core/routes';
import type { BillingEvent } from '../src/core/events';

/** Time allowed for one signal-with-start or query; a slower Temporal fails the attempt and Temporal retries it. */
const temporalDeadlineMs = 10_000;

export interface CatchUpInput {
  provider: ProviderName;
  cursor: CatchUpCursor;
}

export interface CatchUpResult {
  cursor: CatchUpCursor;
  counts: CatchUpCounts;
}

/**
 * The catch-up workflow's one activity: a sweep of a provider's event list since the cursor
 * (src/catch-up/sweep.ts), through the worker's own Temporal client. Each event it hands on is
 * counted as `billflow_reconciled_events_total{provider,outcome}` on the worker's metrics endpoint;
 * a recovered one (its webhook never came) is logged as a warning: what an operator alerts on.
 */
export function createCatchUpActivities(deps: {
  providers: ProviderSettings | Config;
  apiTimeoutMs?: number;
  /** The workflows an event goes to (`routeEvents` with the worker's settings); catch-up fails without it. */
  route?: (event: BillingEvent) => WorkflowRoute[];
}) {
  const logs = new Map<ProviderName, ProviderEventLog>();
  const eventLogOf = (provider: ProviderName): ProviderEventLog => {
    const known = logs.get(provider);
    if (known) return known;
    const definition = providers[provider] as { eventLog?: { create(settings: unknown, options: { timeoutMs?: number }): ProviderEventLog } };
    if (!definition.eventLog) throw new Error(`${provider} has no event list to catch up from`);
    const created = definition.eventLog.create(deps.providers[provider], deps.apiTimeoutMs ? { timeoutMs: deps.apiTimeoutMs } : {});
    logs.set(provider, created);
    return created;
  };
  let reconciled: ReturnType<typeof metricMeter.createCounter> | undefined;
  return {
    async catchUpProviderEvents({ provider, cursor }: CatchUpInput): Promise<CatchUpResult> {
      const { route } = deps;
      if (!route) throw ApplicationFailure.nonRetryable('catch-up needs the routes of the worker (createActivities({ route }))', failureTypes.missingConfiguration);
      reconciled ??= metricMeter.createCounter('billflow_reconciled_events_total', 'events', 'Events read back from a provider\'s event list by catch-up, by provider and outcome: recovered (its webhook never came), duplicate, ignored, unusable, reconciled (a Recurly state its workflow lacked by that id)');
      return sweepProviderEvents(
        {
          client: getClient(),
          provider,
          eventLog: eventLogOf(provider),
          parse: (request) => providers[provider].webhook.parse(request),
          taskQueue: activityInfo().taskQueue,
          route,
          deadlineMs: temporalDeadlineMs,
          onEvent: (outcome, event, detail) => {
            reconciled?.add(1, { provider, outcome });
            if (outcome === 'recovered') log.warn('Missed webhook recovered by catch-up', { provider, eventId: event.id, eventType: event.type, kind: event.kind, workflowId: detail });
            // Not a warning: most are states the webhook already gave (the workflow applies them as no-ops).
            if (outcome === 'reconciled') log.info('State reconciled by catch-up', { provider, eventId: event.id, eventType: event.type, kind: event.kind, workflowId: detail });
            if (outcome === 'unusable') log.warn('Event from the provider\'s list could not be read', { provider, eventId: event.id, reason: detail });
          },
          onProgress: () => heartbeat(),
          // A loaded Config says how many at once (BILLFLOW_CATCH_UP_CONCURRENCY); plain provider settings take the default.
          ...('catchUp' in deps.providers ? { concurrency: deps.providers.catchUp.concurrency } : {}),
        },
        cursor,
      );
    },
  };
}
