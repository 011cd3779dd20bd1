import { randomUUID } from 'node:crypto';
import { devWebhookSecret } from '../../../testing/dev-secrets';
import { digitsId, hexId } from '../../../testing/webhooks/ids';
import type { SandboxControl, TriggerReferences, WebhookTemplate } from '../../../testing/webhooks/types';
import { recurly } from '../webhook';
import { invoiceNotificationXml, isXmlNotification, jsonInvoiceStates, xmlInvoiceStates } from './invoice-notifications';

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
  ...Object.keys(jsonInvoiceStates),
  'account.closed',
  // Legacy XML endpoints (HTTP Basic: `--secret user:password`, by default billflow:<the JSON secret>).
  ...Object.keys(xmlInvoiceStates),
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

/** The invoice's state at Recurly once the event has happened, for events about an invoice or a payment of one. */
function invoiceStateOf(event: string): string | undefined {
  if (event in transactionStatuses) return event === 'payment.succeeded' ? 'paid' : 'past_due';
  return jsonInvoiceStates[event] ?? xmlInvoiceStates[event]?.api;
}

/**
 * Seeds what the API answers for the event's ids, named as Recurly names them: the subscription by
 * its uuid (the sandbox gives it a Recurly id of its own), the invoice by its number, listing the
 * subscription by that id, and a payment's transaction by its uuid, an attempt at that invoice —
 * so that the resolver finds them as it would at Recurly.
 */
/** Events of a closed account: billflow ends access only once Recurly shows the account `inactive`. */
const closedAccountEvents = new Set(['account.closed', 'canceled_account_notification']);

async function seed(event: string, { customer, subscription, payment, invoice }: TriggerReferences, sandbox: SandboxControl): Promise<string[]> {
  if (closedAccountEvents.has(event) && customer) {
    await sandbox.post('/recurly/accounts', { code: customer, state: 'inactive' });
    return [`account code-${customer} (inactive)`];
  }
  const transactionStatus = transactionStatuses[event];
  const invoiceState = invoiceStateOf(event);
  const state = subscriptionStates[event] ?? (transactionStatus || invoiceState ? 'active' : undefined);
  if (!state || !customer || !subscription) return [];
  // Keyed by its uuid: triggering again for it updates the same record.
  await sandbox.post('/recurly/subscriptions', { uuid: subscription, accountCode: customer, state });
  const seeded = [`subscription uuid-${subscription} (${state}, account ${customer})`];
  let invoiceId: string | undefined;
  if (invoiceState && invoice) {
    const subscriptionId = (await sandbox.get<{ id: string; uuid: string }[]>('/recurly/subscriptions')).find((record) => record.uuid === subscription)?.id;
    // Keyed by its number: the same invoice again (a failure, then its payment) updates its record.
    invoiceId = (await sandbox.get<{ id: string; number: string }[]>('/recurly/invoices')).find((record) => record.number === invoice)?.id;
    await sandbox.post('/recurly/invoices', { ...(invoiceId ? { id: invoiceId } : {}), number: invoice, accountCode: customer, subscriptionId, state: invoiceState });
    invoiceId ??= (await sandbox.get<{ id: string; number: string }[]>('/recurly/invoices')).find((record) => record.number === invoice)?.id;
    seeded.push(`invoice number-${invoice} (${invoiceState}, subscription uuid-${subscription})`);
  }
  if (transactionStatus && payment) {
    await sandbox.post('/recurly/transactions', { uuid: payment, accountCode: customer, subscriptionUuid: subscription, invoiceId, status: transactionStatus });
    seeded.push(`transaction uuid-${payment} (${transactionStatus}, subscription uuid-${subscription}${invoice ? `, invoice number-${invoice}` : ''})`);
  }
  return seeded;
}

export const recurlyWebhooks: WebhookTemplate = {
  provider: 'recurly',
  events,
  example: 'subscription.canceled',
  signing: 'secret',
  // The XML notifications it builds come with HTTP Basic credentials derived from the same secret,
  // and Recurly's XML endpoints also trust only their source addresses: here, this machine's.
  receiverEnvironment: (secret) => ({ RECURLY_WEBHOOK_SECRET: secret, RECURLY_WEBHOOK_BASIC_AUTH: basicCredentials(secret), RECURLY_ALLOWED_IPS: '127.0.0.1,::1' }),
  defaultSecret: (settings) => settings.webhookSecrets?.[0] ?? devWebhookSecret,
  complete: (event, references) => ({
    ...references,
    customer: references.customer ?? `account-${hexId(8)}`,
    // A payment belongs to a subscription here, as most do: the resolver finds it through the transaction.
    subscription: references.subscription ?? (event.startsWith('subscription.') || invoiceStateOf(event) ? hexId(32) : undefined),
    payment: references.payment ?? (event.startsWith('payment.') ? hexId(32) : undefined),
    // Recurly numbers invoices: a payment's attempt is at one, and the invoice events name it.
    invoice: references.invoice ?? (invoiceStateOf(event) ? digitsId(5) : undefined),
  }),
  build(event, references, secret, now) {
    if (isXmlNotification(event)) {
      const xml = invoiceNotificationXml(event, references, now);
      return { body: xml, headers: { 'content-type': 'application/xml; charset=utf-8', ...recurly.sign(xml, basicCredentials(secret), { now, contentType: 'application/xml' }) } };
    }
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
        ...(event in jsonInvoiceStates && references.invoice ? { invoice_number: Number(references.invoice) } : {}),
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

/** The Basic credentials of the XML endpoints for a secret: `user:password` as given, or billflow:<secret>. */
function basicCredentials(secret: string): string {
  return secret.includes(':') ? secret : `billflow:${secret}`;
}
