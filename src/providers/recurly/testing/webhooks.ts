import { randomUUID } from 'node:crypto';
import { devWebhookSecret } from '../../../testing/dev-secrets';
import { hexId } from '../../../testing/webhooks/ids';
import type { SandboxControl, TriggerReferences, WebhookTemplate } from '../../../testing/webhooks/types';
import { recurly } from '../webhook';

/** Recurly's JSON notifications (v3): ids only, the details are fetched through the API. */
const events = [
  'subscription.created',
  'subscription.renewed',
  'subscription.updated',
  'subscription.canceled',
  'subscription.expired',
  'subscription.reactivated',
  'subscription.paused',
  'subscription.resumed',
  'payment.failed',
  'payment.succeeded',
  'payment.voided',
  'payment.refunded',
  'account.closed',
];

const siteId = 'qc326l1hl8k9';
const recurlyId = () => `r${hexId(11).replace(/[0-9]/g, (digit) => 'abcdefghij'[Number(digit)] ?? digit)}`;

/** The subscription's state at Recurly once the event has happened. */
const subscriptionStates: Record<string, string> = {
  'subscription.created': 'active',
  'subscription.renewed': 'active',
  'subscription.updated': 'active',
  'subscription.canceled': 'canceled',
  'subscription.expired': 'expired',
  'subscription.reactivated': 'active',
  'subscription.paused': 'paused',
  'subscription.resumed': 'active',
};

/** The transaction's status at Recurly once the payment event has happened. */
const transactionStatuses: Record<string, string> = {
  'payment.failed': 'declined',
  'payment.succeeded': 'success',
  // Money back concerns a payment that was collected.
  'payment.voided': 'success',
  'payment.refunded': 'success',
};

/**
 * Seeds what the API answers for the event's ids, named as Recurly names them: the subscription by
 * its uuid (the sandbox gives it a Recurly id of its own), a payment's transaction by its uuid,
 * linked to the subscription, so that the resolver finds it as it would at Recurly.
 */
async function seed(event: string, { customer, subscription, payment }: TriggerReferences, sandbox: SandboxControl): Promise<string[]> {
  const transactionStatus = transactionStatuses[event];
  const state = subscriptionStates[event] ?? (transactionStatus ? 'active' : undefined);
  if (!state || !customer || !subscription) return [];
  // Keyed by its uuid: triggering again for it updates the same record.
  await sandbox.post('/recurly/subscriptions', { uuid: subscription, accountCode: customer, state });
  const seeded = [`subscription uuid-${subscription} (${state}, account ${customer})`];
  if (transactionStatus && payment) {
    await sandbox.post('/recurly/transactions', { uuid: payment, accountCode: customer, subscriptionUuid: subscription, status: transactionStatus });
    seeded.push(`transaction uuid-${payment} (${transactionStatus}, subscription uuid-${subscription})`);
  }
  return seeded;
}

export const recurlyWebhooks: WebhookTemplate = {
  provider: 'recurly',
  events,
  example: 'subscription.canceled',
  signing: 'secret',
  receiverEnvironment: (secret) => ({ RECURLY_WEBHOOK_SECRET: secret }),
  defaultSecret: (settings) => settings.webhookSecrets?.[0] ?? devWebhookSecret,
  complete: (event, references) => ({
    ...references,
    customer: references.customer ?? `account-${hexId(8)}`,
    // A payment belongs to a subscription here, as most do: the resolver finds it through the transaction.
    subscription: references.subscription ?? (event.startsWith('subscription.') || event in transactionStatuses ? hexId(32) : undefined),
    payment: references.payment ?? (event.startsWith('payment.') ? hexId(32) : undefined),
  }),
  build(event, references, secret, now) {
    const [objectType = '', eventType = ''] = event.split('.');
    const uuid = objectType === 'subscription' ? references.subscription : objectType === 'payment' ? references.payment : undefined;

    const body = JSON.stringify(
      {
        id: recurlyId(),
        object_type: objectType,
        site_id: siteId,
        event_type: eventType,
        event_time: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        ...(uuid ? { uuid } : {}),
        ...(objectType === 'account' ? { account_code: references.customer } : {}),
      },
      null,
      2,
    );
    const notificationId = randomUUID();
    return {
      body,
      headers: {
        'content-type': 'application/json',
        ...recurly.sign(body, secret, { now }),
        'recurly-notification-id': notificationId,
      },
    };
  },
  seed,
};
