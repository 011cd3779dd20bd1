import { randomUUID } from 'node:crypto';
import type { ProviderSandbox } from './sandbox/server';
import { upperId } from './webhooks/ids';

/** What happened at the providers in one step of an outage scenario, and the webhook bodies they send for it. */
/** A webhook a provider sends: its body, and the headers it carries beside its signature. */
interface Sent {
  customer: string;
  event: string;
  body: string;
  headers?: Record<string, string>;
}

export interface HappenedAtProviders {
  gocardless: Sent & { mandate: string };
  stripe: Sent & { subscription: string };
  /** Recurly lists no events: what catch-up reads back is the subscription's state. */
  recurly: Sent & { subscription: string; headers: Record<string, string> };
}

const stripeId = (prefix: string) => `${prefix}${randomUUID().replace(/-/g, '').slice(0, 14)}`;

/**
 * A GoCardless mandate cancelled by the bank, a Stripe subscription deleted and a Recurly one expired,
 * each with an effect billflow applies once (the account suspended, its access ended twice): seeded
 * in the sandbox as they stand afterwards and recorded in its event lists (Recurly's list of
 * subscriptions sorted by `updated_at`), for outage tests and `npm run chaos -- catch-up`.
 */
export function cancellationsHappen(sandbox: ProviderSandbox): HappenedAtProviders {
  const mandate = upperId('MD');
  const mandateCustomer = upperId('CU');
  sandbox.seedMandate({ id: mandate, customerId: mandateCustomer, status: 'cancelled' });
  const goCardlessEvent = sandbox.state.gocardless.recordEvent({
    id: upperId('EV'),
    created_at: new Date().toISOString(),
    resource_type: 'mandates',
    action: 'cancelled',
    links: { mandate },
    details: { origin: 'bank', cause: 'bank_account_closed', description: 'The bank account was closed' },
    metadata: {},
  });
  const subscription = stripeId('sub_');
  const stripeCustomer = stripeId('cus_');
  sandbox.state.stripe.seedSubscription({ id: subscription, customerId: stripeCustomer, status: 'canceled' });
  const now = Math.floor(Date.now() / 1000);
  const stripeEvent = sandbox.state.stripe.recordEvent({
    id: stripeId('evt_'),
    object: 'event',
    api_version: '2025-03-31.basil',
    type: 'customer.subscription.deleted',
    created: now,
    livemode: false,
    data: { object: { id: subscription, object: 'subscription', customer: stripeCustomer, status: 'canceled', canceled_at: now, ended_at: now } },
  });
  const recurlyCustomer = `acct-${randomUUID().slice(0, 8)}`;
  const recurly = sandbox.state.recurly.seedSubscription({ accountCode: recurlyCustomer, state: 'expired' });
  const notification = randomUUID();
  const recurlyBody = { id: recurly.id, object_type: 'subscription', event_type: 'expired', event_time: new Date().toISOString(), uuid: recurly.uuid, account_code: recurlyCustomer };
  return {
    recurly: { subscription: recurly.uuid, customer: recurlyCustomer, event: notification, body: JSON.stringify(recurlyBody), headers: { 'recurly-notification-id': notification } },
    gocardless: { mandate, customer: mandateCustomer, event: goCardlessEvent.id, body: JSON.stringify({ events: [goCardlessEvent], meta: { webhook_id: upperId('WB') } }) },
    stripe: { subscription, customer: stripeCustomer, event: stripeEvent.id, body: JSON.stringify(stripeEvent) },
  };
}
