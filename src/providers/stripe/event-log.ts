import Stripe from 'stripe';
import type { LoggedEvent, ProviderEventLog } from '../provider';
import { STRIPE_API_VERSION, failureFromStripeError, stripeEndpoint, type StripeOptions } from './api';
import { stripeHandledEventTypes } from './webhook';

/** Stripe's largest page of `GET /v1/events`. */
const pageSize = 100;

/**
 * Stripe's `GET /v1/events` (kept 30 days), for catch-up: it lists newest first and pages back in
 * time with `starting_after`, so every page since the cursor is read before any is handed on, oldest
 * first. Each event is the same object its webhook carries (the API renders an event in the version
 * it was created with, as the webhook does), so the webhook parser reads it with the same id and kind.
 */
export function stripeEventLog({ apiUrl, apiKey, timeoutMs = 10_000 }: StripeOptions): ProviderEventLog {
  const client = new Stripe(apiKey, { ...stripeEndpoint(apiUrl), apiVersion: STRIPE_API_VERSION, timeout: timeoutMs, maxNetworkRetries: 0, telemetry: false, appInfo: { name: 'billflow' } });
  return {
    async since(since: Date): Promise<LoggedEvent[]> {
      const newestFirst: Stripe.Event[] = [];
      let startingAfter: string | undefined;
      for (;;) {
        const params: Stripe.EventListParams = {
          created: { gte: Math.floor(since.getTime() / 1000) },
          limit: pageSize,
          types: [...stripeHandledEventTypes],
          ...(startingAfter ? { starting_after: startingAfter } : {}),
        };
        const page = await client.events.list(params).catch((error: unknown) => {
          throw failureFromStripeError('GET /v1/events', error, timeoutMs);
        });
        newestFirst.push(...page.data);
        startingAfter = page.data.at(-1)?.id;
        if (!page.has_more || !startingAfter) break;
      }
      return newestFirst.reverse().map((event) => ({ id: event.id, createdAtMs: event.created * 1000, body: JSON.stringify(event) }));
    },
  };
}
