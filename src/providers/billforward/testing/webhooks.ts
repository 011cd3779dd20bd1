import { createHash, randomUUID } from 'node:crypto';
import { devWebhookSecret } from '../../../testing/dev-secrets';
import { sandboxHas, type SandboxControl, type TriggerReferences, type WebhookTemplate } from '../../../testing/webhooks/types';
import { billforward } from '../webhook';

const organizationId = '958C9C72-FDB6-4BDB-9C23-4894B4201D6E';
const bfId = () => randomUUID().toUpperCase();

/**
 * The id of the invoice's version a notification is about: BillForward versions invoices, and an
 * invoice notification's entityID is the version's id, not the invoice's. Derived from the invoice
 * id, so that the template and the sandbox it seeds agree on it.
 */
export function invoiceVersionId(invoiceId: string): string {
  const hex = createHash('sha256').update(`version:${invoiceId}`).digest('hex').toUpperCase();
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20, 32)].join('-');
}

interface Shape {
  domain: 'Invoice' | 'Subscription' | 'Account' | 'Receipt' | 'Refund';
  entity(references: TriggerReferences, now: string): Record<string, unknown>;
  changes?: { attributeName: string; previousValue: unknown; newValue: unknown }[];
}

const subscription = (state: string) => (references: TriggerReferences, now: string) => ({
  '@type': 'subscription',
  id: references.subscription,
  accountID: references.customer,
  organizationID: organizationId,
  state,
  type: 'Subscription',
  currentPeriodStart: now,
  currentPeriodEnd: new Date(Date.parse(now) + 30 * 86_400_000).toISOString(),
  // Where a cancelled, expired or failed subscription's access ends.
  ...(state === 'Failed' || state === 'Cancelled' ? { subscriptionEnd: new Date(Date.parse(now) + 86_400_000).toISOString() } : {}),
  updated: now,
});
const invoice = (state: string) => (references: TriggerReferences, now: string) => ({
  '@type': 'invoice',
  id: references.invoice,
  versionID: references.invoice && invoiceVersionId(references.invoice),
  versionNumber: 1,
  accountID: references.customer,
  subscriptionID: references.subscription,
  organizationID: organizationId,
  state,
  periodStart: now,
  periodEnd: new Date(Date.parse(now) + 30 * 86_400_000).toISOString(),
  totalExecutionAttempts: state === 'Paid' ? 1 : 2,
  nextExecutionAttempt: state !== 'Unpaid' ? undefined : new Date(Date.parse(now) + 3 * 86_400_000).toISOString(),
  invoiceCost: 20,
  currency: 'USD',
  updated: now,
});

/** One attempt at the gateway to pay the invoice: BillForward's receipt, named by its own id. */
const receipt = (status: string) => (references: TriggerReferences, now: string) => ({
  '@type': 'receipt',
  id: references.payment,
  invoiceID: references.invoice,
  accountID: references.customer,
  subscriptionID: references.subscription,
  organizationID: organizationId,
  status,
  gateway: 'Stripe',
  updated: now,
});

const shapes: Record<string, Shape> = {
  'Invoice.Paid': { domain: 'Invoice', entity: invoice('Paid') },
  'Invoice.Unpaid': { domain: 'Invoice', entity: invoice('Unpaid') },
  'Invoice.PaymentFailed': { domain: 'Invoice', entity: invoice('Unpaid') },
  'Receipt.Reject': { domain: 'Receipt', entity: receipt('Reject') },
  'Receipt.Accept': { domain: 'Receipt', entity: receipt('Accept') },
  'Invoice.Voided': { domain: 'Invoice', entity: invoice('Voided') },
  'Refund.Refunded': {
    domain: 'Refund',
    entity: (references, now) => ({ '@type': 'refund', id: `REF-${bfId()}`, accountID: references.customer, invoiceID: references.invoice, organizationID: organizationId, state: 'Refunded', refundCost: 20, currency: 'USD', updated: now }),
  },
  'Subscription.Provisioned': { domain: 'Subscription', entity: subscription('Provisioned') },
  'Subscription.Updated': { domain: 'Subscription', entity: subscription('AwaitingPayment'), changes: [{ attributeName: 'state', previousValue: 'Paid', newValue: 'AwaitingPayment' }] },
  'Subscription.Cancelled': { domain: 'Subscription', entity: subscription('Cancelled'), changes: [{ attributeName: 'state', previousValue: 'Paid', newValue: 'Cancelled' }] },
  'Subscription.Expired': { domain: 'Subscription', entity: subscription('Expired') },
  'Subscription.Failed': { domain: 'Subscription', entity: subscription('Failed'), changes: [{ attributeName: 'state', previousValue: 'AwaitingPayment', newValue: 'Failed' }] },
  'Subscription.Paused': { domain: 'Subscription', entity: subscription('Paused') },
  'Subscription.Resumed': { domain: 'Subscription', entity: subscription('Paid') },
  'Account.Deleted': { domain: 'Account', entity: (references, now) => ({ '@type': 'account', id: references.customer, organizationID: organizationId, deleted: true, updated: now }) },
};

/** The subscription (and invoice) at BillForward once the event has happened. */
const sandboxStates: Record<string, { subscription?: string; frozen?: boolean; invoice?: string }> = {
  'Invoice.Paid': { invoice: 'Paid' },
  'Invoice.Unpaid': { subscription: 'AwaitingPayment', invoice: 'Unpaid' },
  'Invoice.PaymentFailed': { subscription: 'AwaitingPayment', invoice: 'Unpaid' },
  'Receipt.Reject': { subscription: 'AwaitingPayment', invoice: 'Unpaid' },
  'Receipt.Accept': { invoice: 'Paid' },
  'Invoice.Voided': { invoice: 'Voided' },
  'Refund.Refunded': { invoice: 'Paid' },
  'Subscription.Provisioned': { subscription: 'Provisioned' },
  'Subscription.Updated': { subscription: 'AwaitingPayment' },
  'Subscription.Cancelled': { subscription: 'Cancelled' },
  'Subscription.Expired': { subscription: 'Expired' },
  'Subscription.Failed': { subscription: 'Failed' },
  'Subscription.Paused': { subscription: 'Paid', frozen: true },
  'Subscription.Resumed': { subscription: 'Paid', frozen: false },
};

async function seed(event: string, { customer, subscription, invoice }: TriggerReferences, sandbox: SandboxControl): Promise<string[]> {
  // billflow ends access only once BillForward shows the account deleted.
  if (event === 'Account.Deleted' && customer) {
    await sandbox.post('/billforward/accounts', { id: customer, deleted: true });
    return [`account ${customer} (deleted)`];
  }
  const state = sandboxStates[event];
  if (!state || !customer || !subscription) return [];
  const seeded: string[] = [];
  if (state.subscription || !(await sandboxHas(sandbox, '/billforward/subscriptions', subscription))) {
    const subscriptionState = state.subscription ?? 'Paid';
    await sandbox.post('/billforward/subscriptions', { id: subscription, accountId: customer, state: subscriptionState, frozen: state.frozen ?? false });
    seeded.push(`subscription ${subscription} (${subscriptionState}${state.frozen ? ', frozen' : ''}, account ${customer})`);
  }
  if (state.invoice && invoice) {
    await sandbox.post('/billforward/invoices', { id: invoice, versionId: invoiceVersionId(invoice), accountId: customer, subscriptionId: subscription, state: state.invoice, cost: 20 });
    seeded.push(`invoice ${invoice} (${state.invoice}, subscription ${subscription})`);
  }
  return seeded;
}

export const billforwardWebhooks: WebhookTemplate = {
  provider: 'billforward',
  events: Object.keys(shapes),
  example: 'Subscription.Cancelled',
  signing: 'basic',
  receiverEnvironment: (credentials) => ({ BILLFORWARD_WEBHOOK_BASIC_AUTH: credentials }),
  defaultSecret: (settings) => {
    const [first] = settings.basicAuth ?? [];
    return first ? `${first.user}:${first.password}` : `billflow:${devWebhookSecret}`;
  },
  complete: (_event, references) => ({
    ...references,
    customer: references.customer ?? `ACC-${bfId()}`,
    subscription: references.subscription ?? `SUB-${bfId()}`,
    invoice: references.invoice ?? `INV-${bfId()}`,
    payment: references.payment ?? `RCP-${bfId()}`,
  }),
  build(event, references, credentials, now) {
    const shape: Shape = shapes[event] ?? { domain: 'Subscription', entity: subscription('Paid') };
    const created = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const entity = shape.entity(references, created);
    const id = `NOT-${bfId()}`;
    // BillForward encodes `entity` and `changes` as JSON strings inside the JSON.
    const body = JSON.stringify(
      {
        type: 'notification',
        created,
        id,
        domain: shape.domain,
        action: event.slice(event.indexOf('.') + 1),
        organizationID: organizationId,
        // An invoice's notification names its version; any other entity's, the entity.
        entityID: shape.domain === 'Invoice' ? entity.versionID : entity.id,
        entity: JSON.stringify(entity),
        ...(shape.changes ? { changes: JSON.stringify({ auditFieldChanges: shape.changes }) } : {}),
      },
      null,
      3,
    );
    return {
      body,
      // BillForward signs nothing: the credentials ride in the URL it is given (user:password@host).
      headers: { 'content-type': 'application/json', ...billforward.sign(body, credentials) },
    };
  },
  seed,
};
