import type { BillingApi, BillingSubscriptionStatus, RetryOutcome } from '../../core/billing';
import { declinedAsFailed, nothingToCollect, requiredId, withoutEmpty } from '../billing-support';
import type { createRecurlyActivities } from './api';

const subscriptionStatuses: Record<string, BillingSubscriptionStatus> = {
  future: 'pending',
  active: 'active',
  paused: 'paused',
  expired: 'expired',
  // Its first payment failed for good: it never started.
  failed: 'expired',
};

/** Invoice states Recurly still collects by itself (its dunning runs until the invoice is paid or failed). */
const collecting = new Set(['pending', 'processing', 'past_due']);

/**
 * Recurly: invoices are collected again; a `canceled` subscription runs to the end of its term.
 * billflow names Recurly's records as its webhooks do — a subscription by its uuid, an invoice by its
 * number, a payment by its transaction's uuid — so a subscription's workflow is the same whichever
 * event reached it; `api.ts` prefixes them as Recurly's paths take them.
 */
export function recurlyBilling(api: ReturnType<typeof createRecurlyActivities>): BillingApi {
  /** Invoices and transactions list their subscriptions by Recurly id: the uuid is the subscription's own. */
  async function subscriptionUuid(subscriptionIds: readonly string[]): Promise<string | undefined> {
    const [first] = subscriptionIds;
    return first === undefined ? undefined : (await api.getRecurlySubscription(first)).uuid;
  }

  return {
    /** By its code, as webhooks name accounts: Recurly's closed account is `inactive` (it reopens as `active`). */
    async getAccountStatus(accountId) {
      const account = await api.getRecurlyAccount(accountId);
      return { id: account.code, closed: account.state === 'inactive', providerStatus: account.state };
    },

    async getSubscription(subscriptionId) {
      const subscription = await api.getRecurlySubscription(subscriptionId);
      return {
        id: subscription.uuid,
        // Recurly's `canceled` subscription is still usable until its term ends; then `expired`.
        status: subscription.state === 'canceled' ? 'active' : (subscriptionStatuses[subscription.state] ?? 'unknown'),
        customerId: subscription.accountCode,
        ...(subscription.currentPeriodEndsAt ? { currentPeriodEnd: subscription.currentPeriodEndsAt } : {}),
        cancelAtPeriodEnd: subscription.state === 'canceled',
        providerStatus: subscription.state,
      };
    },

    async retryPayment(input) {
      const invoiceId = requiredId(input.invoiceId, 'invoiceId', 'recurly');
      const current = await api.getRecurlyInvoice(invoiceId);
      if (current.state === 'voided') throw nothingToCollect('recurly', invoiceId, current.state);
      if (current.state === 'paid' || current.state === 'processing') {
        return { provider: 'recurly', id: current.number, outcome: current.state === 'paid' ? 'paid' : 'pending', providerStatus: current.state };
      }
      return declinedAsFailed('recurly', current.number, async () => {
        const invoice = await api.collectRecurlyInvoice({ invoiceId, idempotencyKey: input.idempotencyKey });
        const outcome: RetryOutcome = invoice.state === 'paid' ? 'paid' : invoice.state === 'processing' ? 'pending' : 'failed';
        return { provider: 'recurly', id: invoice.number, outcome, providerStatus: invoice.state };
      });
    },

    async cancelSubscription({ subscriptionId, idempotencyKey, atPeriodEnd }) {
      if (atPeriodEnd) await api.cancelRecurlySubscription({ subscriptionId, idempotencyKey });
      else await api.terminateRecurlySubscription({ subscriptionId, idempotencyKey });
    },

    async getPaymentStatus(input) {
      const invoice = await api.getRecurlyInvoice(requiredId(input.invoiceId, 'invoiceId', 'recurly'));
      if (invoice.state === 'paid') return { paid: true, writtenOff: false, providerStatus: invoice.state };
      // Past due, its dunning still runs; `failed` (its dunning over) and `voided` are closed for good.
      return { paid: false, writtenOff: invoice.state === 'voided', providerStatus: invoice.state, providerWillRetry: collecting.has(invoice.state) };
    },

    async resolvePaymentSubject(input) {
      if (input.invoiceId) {
        const invoice = await api.getRecurlyInvoice(input.invoiceId);
        return withoutEmpty({ subscriptionId: await subscriptionUuid(invoice.subscriptionIds), customerId: invoice.accountCode });
      }
      const transaction = await api.getRecurlyTransaction(requiredId(input.paymentId, 'invoiceId or paymentId', 'recurly'));
      return withoutEmpty({
        subscriptionId: await subscriptionUuid(transaction.subscriptionIds),
        invoiceId: transaction.invoiceNumber,
        customerId: transaction.accountCode,
      });
    },
  };
}
