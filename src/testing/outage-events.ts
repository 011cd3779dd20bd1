import { randomUUID } from 'node:crypto';
import type { ProviderSandbox } from './sandbox/server';
import { upperId } from './webhooks/ids';

/** What happened at the providers in one step of an outage scenario, and the webhook bodies they send for it. */
export interface HappenedAtProviders {
  gocardless: { mandate: string; customer: string; event: string; body: string };
  stripe: { subscription: string; customer: string; event: string; body: string };
}

const stripeId = (prefix: string) => `${prefix}${randomUUID().replace(/-/g, '').slice(0, 14)}`;

/**
 * A GoCardless mandate cancelled by the bank and a Stripe subscription deleted, each with an effect
 * billflow applies once (the account suspended, the account closed): seeded in the sandbox as they
 * stand afterwards and recorded in its event lists, for outage tests and `npm run chaos -- catch-up`.
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
  return {
    gocardless: { mandate, customer: mandateCustomer, event: goCardlessEvent.id, body: JSON.stringify({ events: [goCardlessEvent], meta: { webhook_id: upperId('WB') } }) },
    stripe: { subscription, customer: stripeCustomer, event: stripeEvent.id, body: JSON.stringify(stripeEvent) },
  };
}
