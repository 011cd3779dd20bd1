import { devWebhookSecret } from '../../../testing/dev-secrets';
import { mixedId } from '../../../testing/webhooks/ids';
import { sandboxHas, type SandboxControl, type TriggerReferences, type WebhookTemplate } from '../../../testing/webhooks/types';
import { stripe } from '../webhook';

const day = 86_400;
type StripeObject = Record<string, unknown>;

function invoice(references: TriggerReferences, now: number, paid: boolean, nextAttempt: number | null = paid ? null : now + 3 * day): StripeObject {
  return {
    id: references.invoice,
    object: 'invoice',
    customer: references.customer,
    amount_due: 2000,
    amount_paid: paid ? 2000 : 0,
    amount_remaining: paid ? 0 : 2000,
    currency: 'usd',
    attempt_count: 1,
    attempted: true,
    billing_reason: 'subscription_cycle',
    collection_method: 'charge_automatically',
    status: paid ? 'paid' : 'open',
    next_payment_attempt: nextAttempt,
    period_start: now - 30 * day,
    period_end: now,
    // API 2025-03-31 and later name the subscription here rather than in `subscription`.
    parent: { type: 'subscription_details', subscription_details: { subscription: references.subscription, metadata: {} } },
    created: now,
    livemode: false,
  };
}

function subscription(references: TriggerReferences, now: number, fields: StripeObject): StripeObject {
  return {
    id: references.subscription,
    object: 'subscription',
    customer: references.customer,
    status: 'active',
    cancel_at_period_end: false,
    cancel_at: null,
    canceled_at: null,
    ended_at: null,
    collection_method: 'charge_automatically',
    currency: 'usd',
    latest_invoice: references.invoice,
    items: {
      object: 'list',
      data: [{ id: mixedId('si_'), object: 'subscription_item', current_period_start: now, current_period_end: now + 30 * day, quantity: 1 }],
    },
    created: now - 90 * day,
    livemode: false,
    ...fields,
  };
}

/** The dispute, charge and payment intent of a triggered dispute: the same for every event about one `--payment`. */
function disputeIds(references: TriggerReferences): { dispute: string; charge: string; paymentIntent: string } {
  const charge = references.payment ?? '';
  const suffix = charge.slice(charge.indexOf('_') + 1);
  return { dispute: `du_${suffix}`, charge, paymentIntent: `pi_${suffix}` };
}

function dispute(references: TriggerReferences, now: number, status: string): StripeObject {
  const ids = disputeIds(references);
  return {
    id: ids.dispute,
    object: 'dispute',
    amount: 2000,
    balance_transactions: [],
    charge: ids.charge,
    currency: 'usd',
    is_charge_refundable: false,
    payment_intent: ids.paymentIntent,
    reason: 'fraudulent',
    status,
    created: now - 60,
    livemode: false,
  };
}

/** `data.object` (and `previous_attributes`) of each event, shaped as Stripe's API version 2025-03-31 sends them. */
const objects: Record<string, (references: TriggerReferences, now: number) => { object: StripeObject; previous?: StripeObject }> = {
  'invoice.payment_failed': (references, now) => ({ object: invoice(references, now, false) }),
  // Authentication needed (SCA): Stripe plans no attempt of its own, only the customer can pay it.
  'invoice.payment_action_required': (references, now) => ({ object: invoice(references, now, false, null) }),
  'invoice.paid': (references, now) => ({ object: invoice(references, now, true) }),
  'invoice.payment_succeeded': (references, now) => ({ object: invoice(references, now, true) }),
  'invoice.voided': (references, now) => ({ object: { ...invoice(references, now, false), status: 'void', next_payment_attempt: null } }),
  'invoice.marked_uncollectible': (references, now) => ({ object: { ...invoice(references, now, false), status: 'uncollectible', next_payment_attempt: null } }),
  'customer.subscription.created': (references, now) => ({ object: subscription(references, now, { status: 'incomplete' }) }),
  'customer.subscription.updated': (references, now) => ({
    object: subscription(references, now, { cancel_at_period_end: true, cancel_at: now + 30 * day, canceled_at: now }),
    previous: { cancel_at_period_end: false, cancel_at: null, canceled_at: null },
  }),
  // Status moves inside an update, sent as `customer.subscription.updated`: `trigger stripe customer.subscription.updated:unpaid`.
  'customer.subscription.updated:past_due': (references, now) => ({ object: subscription(references, now, { status: 'past_due' }), previous: { status: 'active' } }),
  'customer.subscription.updated:unpaid': (references, now) => ({ object: subscription(references, now, { status: 'unpaid' }), previous: { status: 'past_due' } }),
  'customer.subscription.updated:incomplete_expired': (references, now) => ({
    object: subscription(references, now, { status: 'incomplete_expired', ended_at: now }),
    previous: { status: 'incomplete' },
  }),
  'customer.subscription.deleted': (references, now) => ({ object: subscription(references, now, { status: 'canceled', canceled_at: now, ended_at: now }) }),
  'customer.subscription.paused': (references, now) => ({ object: subscription(references, now, { status: 'paused' }) }),
  'customer.subscription.resumed': (references, now) => ({ object: subscription(references, now, { status: 'active' }) }),
  'customer.deleted': (references, now) => ({ object: { id: references.customer, object: 'customer', email: 'jenny.rosen@example.com', created: now - 90 * day, livemode: false } }),
  'charge.refunded': (references, now) => ({
    object: { id: references.payment, object: 'charge', customer: references.customer, invoice: references.invoice, amount: 2000, amount_refunded: 2000, refunded: true, currency: 'usd', status: 'succeeded', created: now - day },
  }),
  // A dispute of the charge `--payment` names, paid through its payment intent; `:lost` / `:won` is trigger's name for its close.
  'charge.dispute.created': (references, now) => ({ object: dispute(references, now, 'needs_response') }),
  'charge.dispute.funds_withdrawn': (references, now) => ({ object: dispute(references, now, 'needs_response') }),
  'charge.dispute.funds_reinstated': (references, now) => ({ object: dispute(references, now, 'won') }),
  'charge.dispute.closed': (references, now) => ({ object: dispute(references, now, 'won') }),
  'charge.dispute.closed:lost': (references, now) => ({ object: dispute(references, now, 'lost') }),
};

/** The sandbox's subscription (and invoice) as they stand once the event has happened. */
const sandboxStates: Record<string, { subscription?: { status: string; cancelAtPeriodEnd?: boolean }; invoice?: string }> = {
  'invoice.payment_failed': { subscription: { status: 'past_due' }, invoice: 'open' },
  'invoice.payment_action_required': { subscription: { status: 'past_due' }, invoice: 'open' },
  'invoice.paid': { subscription: { status: 'active' }, invoice: 'paid' },
  'invoice.payment_succeeded': { subscription: { status: 'active' }, invoice: 'paid' },
  'invoice.voided': { subscription: { status: 'active' }, invoice: 'void' },
  'invoice.marked_uncollectible': { subscription: { status: 'active' }, invoice: 'uncollectible' },
  'customer.subscription.created': { subscription: { status: 'active' } },
  'customer.subscription.updated': { subscription: { status: 'active', cancelAtPeriodEnd: true } },
  'customer.subscription.updated:past_due': { subscription: { status: 'past_due' }, invoice: 'open' },
  'customer.subscription.updated:unpaid': { subscription: { status: 'unpaid' }, invoice: 'open' },
  'customer.subscription.updated:incomplete_expired': { subscription: { status: 'incomplete_expired' } },
  'customer.subscription.deleted': { subscription: { status: 'canceled' } },
  'customer.subscription.paused': { subscription: { status: 'paused' } },
  'customer.subscription.resumed': { subscription: { status: 'active' } },
};

/** The dispute's status at Stripe once the event has happened. */
const disputeStates: Record<string, string> = {
  'charge.dispute.created': 'needs_response',
  'charge.dispute.funds_withdrawn': 'needs_response',
  'charge.dispute.funds_reinstated': 'won',
  'charge.dispute.closed': 'won',
  'charge.dispute.closed:lost': 'lost',
};

/**
 * A disputed charge of a paid invoice of the subscription, and the dispute; a later event about
 * the same charge (its close) only moves the dispute's status.
 */
async function seedDispute(status: string, references: TriggerReferences, sandbox: SandboxControl): Promise<string[]> {
  const { customer, subscription, invoice } = references;
  const ids = disputeIds(references);
  const seeded: string[] = [];
  if (!(await sandboxHas(sandbox, '/stripe/charges', ids.charge))) {
    await sandbox.post('/stripe/subscriptions', { id: subscription, customerId: customer, status: 'active' });
    await sandbox.post('/stripe/invoices', { id: invoice, customerId: customer, subscriptionId: subscription, status: 'paid', amountDue: 2000 });
    await sandbox.post('/stripe/charges', { id: ids.charge, customerId: customer, paymentIntentId: ids.paymentIntent, invoiceId: invoice, amount: 2000 });
    seeded.push(`subscription ${subscription} (active, customer ${customer})`, `invoice ${invoice} (paid)`, `charge ${ids.charge} (payment intent ${ids.paymentIntent}, paid invoice ${invoice})`);
  }
  await sandbox.post('/stripe/disputes', { id: ids.dispute, chargeId: ids.charge, status });
  seeded.push(`dispute ${ids.dispute} (${status}, charge ${ids.charge})`);
  return seeded;
}

async function seed(event: string, references: TriggerReferences, sandbox: SandboxControl): Promise<string[]> {
  const { customer, subscription, invoice } = references;
  // billflow ends access only once Stripe shows the customer deleted.
  if (event === 'customer.deleted' && customer) {
    await sandbox.post('/stripe/customers', { id: customer, deleted: true });
    return [`customer ${customer} (deleted)`];
  }
  const disputeStatus = disputeStates[event];
  if (disputeStatus && customer && subscription && invoice && references.payment) return seedDispute(disputeStatus, references, sandbox);
  const state = sandboxStates[event];
  if (!state || !customer || !subscription) return [];
  const seeded: string[] = [];
  if (state.subscription) {
    await sandbox.post('/stripe/subscriptions', { id: subscription, customerId: customer, ...state.subscription });
    seeded.push(`subscription ${subscription} (${state.subscription.status}${state.subscription.cancelAtPeriodEnd ? ', cancels at period end' : ''}, customer ${customer})`);
  }
  if (state.invoice && invoice && (state.invoice !== 'open' || !(await sandboxHas(sandbox, '/stripe/invoices', invoice)))) {
    await sandbox.post('/stripe/invoices', { id: invoice, customerId: customer, subscriptionId: subscription, status: state.invoice, amountDue: 2000 });
    seeded.push(`invoice ${invoice} (${state.invoice}, subscription ${subscription})`);
  }
  return seeded;
}

export const stripeWebhooks: WebhookTemplate = {
  provider: 'stripe',
  events: Object.keys(objects),
  example: 'invoice.payment_failed',
  signing: 'secret',
  receiverEnvironment: (secret) => ({ STRIPE_WEBHOOK_SECRET: secret }),
  defaultSecret: (settings) => settings.webhookSecrets?.[0] ?? devWebhookSecret,
  complete: (_event, references) => ({
    ...references,
    customer: references.customer ?? mixedId('cus_'),
    subscription: references.subscription ?? mixedId('sub_', 24),
    invoice: references.invoice ?? mixedId('in_', 24),
    payment: references.payment ?? mixedId('ch_', 24),
  }),
  build(event, references, secret, now) {
    const created = Math.floor(now.getTime() / 1000);
    const built = objects[event]?.(references, created) ?? { object: {} };
    const id = mixedId('evt_', 24);
    const body = JSON.stringify(
      {
        id,
        object: 'event',
        api_version: '2025-03-31.basil',
        created,
        data: { object: built.object, ...(built.previous ? { previous_attributes: built.previous } : {}) },
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        // `customer.subscription.updated:unpaid` is trigger's name for an update to that status.
        type: event.split(':')[0],
      },
      null,
      2,
    );
    return {
      body,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        ...stripe.sign(body, secret, { now }),
      },
    };
  },
  seed,
};
