import { devWebhookSecret } from '../../../testing/dev-secrets';
import { upperId } from '../../../testing/webhooks/ids';
import { gocardless } from '../webhook';
import { sandboxHas, type SandboxControl, type TriggerReferences, type WebhookTemplate } from '../../../testing/webhooks/types';

interface EventShape {
  details: Record<string, string | boolean>;
  /** Sandbox state the workflow confirms before it acts. */
  mandateStatus?: string;
  paymentStatus?: string;
  subscriptionStatus?: string;
  /** A payment of the subscription collected today: what a cancelled subscription's paid period runs from. */
  collectedToday?: boolean;
}

// Details as GoCardless documents them for each event (origin, cause, scheme, reason code).
const shapes: Record<string, EventShape> = {
  'mandates.created': { details: { origin: 'api', cause: 'mandate_created', description: 'Mandate created via the API.' }, mandateStatus: 'pending_submission' },
  'mandates.active': { details: { origin: 'gocardless', cause: 'mandate_activated', description: 'The time window after submission for the banks to refuse a mandate has ended without any errors being received, so this mandate is now active.' }, mandateStatus: 'active' },
  'mandates.cancelled': { details: { origin: 'bank', cause: 'bank_account_closed', scheme: 'bacs', reason_code: 'ADDACS-B', description: "The customer's bank account was closed." }, mandateStatus: 'cancelled' },
  'mandates.failed': { details: { origin: 'bank', cause: 'invalid_bank_details', scheme: 'bacs', reason_code: 'AUDDIS-5', description: 'The specified bank account does not exist or was closed.' }, mandateStatus: 'failed' },
  'mandates.blocked': { details: { origin: 'gocardless', cause: 'mandate_blocked', description: 'The mandate has been blocked, as the customer or their bank is on a blocklist.' }, mandateStatus: 'blocked' },
  'mandates.suspended_by_payer': { details: { origin: 'payer', cause: 'mandate_suspended_by_payer', description: 'The payer suspended the mandate: no payment can be collected until they resume it.' }, mandateStatus: 'suspended_by_payer' },
  'mandates.expired': { details: { origin: 'gocardless', cause: 'mandate_expired', description: 'The mandate expired after no payment was collected against it for 13 months.' }, mandateStatus: 'expired' },
  'mandates.reinstated': { details: { origin: 'bank', cause: 'mandate_reinstated', scheme: 'bacs', reason_code: 'ADDACS-R', description: 'The mandate was reinstated by the customer.' }, mandateStatus: 'active' },
  'payments.created': { details: { origin: 'api', cause: 'payment_created', description: 'Payment created via the API.' }, paymentStatus: 'pending_submission' },
  'payments.failed': { details: { origin: 'bank', cause: 'insufficient_funds', scheme: 'bacs', reason_code: 'ARUDD-0', description: "The customer's account had insufficient funds to make this payment.", will_attempt_retry: false }, paymentStatus: 'failed' },
  'payments.confirmed': { details: { origin: 'gocardless', cause: 'payment_confirmed', scheme: 'bacs', description: 'Enough time has passed since the payment was submitted for the banks to return an error, so this payment is now confirmed.' }, paymentStatus: 'confirmed' },
  'payments.paid_out': { details: { origin: 'gocardless', cause: 'payment_paid_out', description: 'The payment has been paid out by GoCardless.' }, paymentStatus: 'paid_out' },
  'payments.cancelled': { details: { origin: 'api', cause: 'payment_cancelled', description: 'The payment was cancelled.' }, paymentStatus: 'cancelled' },
  'payments.late_failure_settled': { details: { origin: 'bank', cause: 'late_failure_settled', scheme: 'bacs', reason_code: 'ARUDD-0', description: 'The payment was a late failure which had already been paid out, and has been debited from a payout.', will_attempt_retry: false }, paymentStatus: 'failed' },
  'payments.charged_back': { details: { origin: 'bank', cause: 'payment_charged_back', scheme: 'bacs', reason_code: 'DDICA-1', description: 'The customer asked their bank to refund the payment.' }, paymentStatus: 'charged_back' },
  'payments.chargeback_cancelled': { details: { origin: 'bank', cause: 'chargeback_cancelled', scheme: 'bacs', description: "The customer's bank has cancelled the chargeback request." }, paymentStatus: 'paid_out' },
  'payments.chargeback_settled': { details: { origin: 'gocardless', cause: 'payment_chargeback_settled', description: 'The chargeback for this payment has been settled.' }, paymentStatus: 'charged_back' },
  'refunds.created': { details: { origin: 'api', cause: 'payment_refunded', description: 'The refund has been created, and will be submitted in the next batch.' }, paymentStatus: 'paid_out' },
  'refunds.paid': { details: { origin: 'gocardless', cause: 'refund_paid', description: 'The refund has been paid to your customer.' }, paymentStatus: 'paid_out' },
  'refunds.failed': { details: { origin: 'gocardless', cause: 'refund_failed', description: 'The refund did not reach your customer.' }, paymentStatus: 'paid_out' },
  'subscriptions.created': { details: { origin: 'api', cause: 'subscription_created', description: 'Subscription created via the API.' }, subscriptionStatus: 'active' },
  'subscriptions.payment_created': { details: { origin: 'gocardless', cause: 'payment_created', description: 'Payment created by a subscription.' }, paymentStatus: 'pending_submission', subscriptionStatus: 'active' },
  'subscriptions.cancelled': { details: { origin: 'api', cause: 'subscription_cancelled', description: 'The subscription was cancelled.' }, subscriptionStatus: 'cancelled', collectedToday: true },
  'subscriptions.finished': { details: { origin: 'gocardless', cause: 'subscription_finished', description: 'The subscription has finished.' }, subscriptionStatus: 'finished' },
  'subscriptions.paused': { details: { origin: 'api', cause: 'subscription_paused', description: 'The subscription was paused.' }, subscriptionStatus: 'paused' },
  'subscriptions.resumed': { details: { origin: 'api', cause: 'subscription_resumed', description: 'The subscription was resumed.' }, subscriptionStatus: 'active' },
};

const resourceOf = (event: string): string => event.slice(0, event.indexOf('.'));
const actionOf = (event: string): string => event.slice(event.indexOf('.') + 1);

/** What GoCardless links: the resource itself only (a payment event does not name its mandate). */
function links(event: string, { mandate, payment, subscription }: TriggerReferences): Record<string, string | undefined> {
  switch (resourceOf(event)) {
    case 'mandates':
      return { mandate };
    case 'payments':
      return { payment };
    // A refund's events name it and the payment it returns.
    case 'refunds':
      return { refund: upperId('RF'), payment };
    default:
      return { subscription, ...(event === 'subscriptions.payment_created' ? { payment } : {}) };
  }
}

async function seed(event: string, references: TriggerReferences, sandbox: SandboxControl): Promise<string[]> {
  const shape = shapes[event];
  const { customer, mandate, payment, subscription } = references;
  if (!shape || !customer || !mandate) return [];
  const seeded: string[] = [];
  // The resource the event is about gets the state it announces; what it hangs off is created once.
  if (shape.mandateStatus || !(await sandboxHas(sandbox, '/gocardless/mandates', mandate))) {
    const status = shape.mandateStatus ?? 'active';
    await sandbox.post('/gocardless/mandates', { id: mandate, customerId: customer, status });
    seeded.push(`mandate ${mandate} (${status}, customer ${customer})`);
  }
  if (subscription && (shape.subscriptionStatus || !(await sandboxHas(sandbox, '/gocardless/subscriptions', subscription)))) {
    const status = shape.subscriptionStatus ?? 'active';
    await sandbox.post('/gocardless/subscriptions', { id: subscription, mandateId: mandate, status });
    seeded.push(`subscription ${subscription} (${status}, mandate ${mandate})`);
  }
  if (shape.collectedToday && subscription) {
    const chargeDate = new Date().toISOString().slice(0, 10);
    const collected = upperId('PM');
    await sandbox.post('/gocardless/payments', { id: collected, mandateId: mandate, subscriptionId: subscription, status: 'paid_out', chargeDate });
    seeded.push(`payment ${collected} (paid_out on ${chargeDate}, subscription ${subscription})`);
  }
  if (shape.paymentStatus && payment) {
    await sandbox.post('/gocardless/payments', { id: payment, mandateId: mandate, subscriptionId: subscription, status: shape.paymentStatus });
    seeded.push(`payment ${payment} (${shape.paymentStatus}${subscription ? `, subscription ${subscription}` : `, mandate ${mandate}`})`);
  }
  return seeded;
}

export const gocardlessWebhooks: WebhookTemplate = {
  provider: 'gocardless',
  events: Object.keys(shapes),
  example: 'mandates.cancelled',
  signing: 'secret',
  receiverEnvironment: (secret) => ({ GOCARDLESS_WEBHOOK_SECRET: secret }),
  defaultSecret: (settings) => settings.webhookSecrets?.[0] ?? devWebhookSecret,
  complete: (event, references) => ({
    ...references,
    customer: references.customer ?? upperId('CU'),
    mandate: references.mandate ?? upperId('MD'),
    payment: references.payment ?? (resourceOf(event) === 'payments' || resourceOf(event) === 'refunds' || event === 'subscriptions.payment_created' ? upperId('PM') : undefined),
    // Payments belong to a subscription here, as most do: the resolver finds it through the payment.
    subscription: references.subscription ?? (resourceOf(event) === 'mandates' ? undefined : upperId('SB')),
  }),
  build(event, references, secret, now) {

    const body = JSON.stringify({
      events: [
        {
          id: upperId('EV'),
          created_at: now.toISOString(),
          resource_type: resourceOf(event),
          action: actionOf(event),
          links: links(event, references),
          details: shapes[event]?.details ?? { origin: 'api', cause: actionOf(event) },
          metadata: {},
          resource_metadata: {},
        },
      ],
      meta: { webhook_id: upperId('WB') },
    });
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'gocardless-webhook-service/1.1',
        ...gocardless.sign(body, secret),
      },
    };
  },
  seed,
};
