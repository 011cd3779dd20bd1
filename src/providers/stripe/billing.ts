import type { BillingApi, BillingSubscriptionStatus } from '../../core/billing';
import { declinedAsFailed, nothingToCollect, requiredId, withoutEmpty } from '../billing-support';
import type { createStripeActivities } from './api';

const subscriptionStatuses: Record<string, BillingSubscriptionStatus> = {
  incomplete: 'pending',
  incomplete_expired: 'expired',
  trialing: 'trialing',
  active: 'active',
  past_due: 'past_due',
  unpaid: 'past_due',
  paused: 'paused',
  canceled: 'cancelled',
};

/**
 * A dispute's status as a chargeback: the money is taken while Stripe's card network case is open
 * or lost; an inquiry (`warning_*`) takes none, and a won, prevented or inquiry-closed one gave it back.
 */
const disputeChargedBack: Record<string, boolean> = {
  warning_needs_response: false,
  warning_under_review: false,
  warning_closed: false,
  needs_response: true,
  under_review: true,
  appeal_needs_response: true,
  appeal_under_review: true,
  lost: true,
  won: false,
  prevented: false,
};

/** Stripe: invoices are paid again through `/pay`; cancellation now or at period end. */
export function stripeBilling(api: ReturnType<typeof createStripeActivities>): BillingApi {
  return {
    async getSubscription(subscriptionId) {
      const subscription = await api.getStripeSubscription(subscriptionId);
      return {
        id: subscription.id,
        status: subscriptionStatuses[subscription.status] ?? 'unknown',
        customerId: subscription.customerId,
        ...(subscription.currentPeriodEnd ? { currentPeriodEnd: subscription.currentPeriodEnd } : {}),
        cancelAtPeriodEnd: subscription.cancelAtPeriodEnd,
        providerStatus: subscription.status,
      };
    },

    async retryPayment(input) {
      const invoiceId = requiredId(input.invoiceId, 'invoiceId', 'stripe');
      const current = await api.getStripeInvoice(invoiceId);
      if (current.status === 'void') throw nothingToCollect('stripe', invoiceId, current.status);
      if (current.status === 'paid') return { provider: 'stripe', id: current.id, outcome: 'paid', providerStatus: current.status };
      return declinedAsFailed('stripe', current.id, async () => {
        const invoice = await api.payStripeInvoice({ invoiceId, idempotencyKey: input.idempotencyKey });
        // Not paid without an error: the payment needs the customer or the bank, and settles later.
        return { provider: 'stripe', id: invoice.id, outcome: invoice.status === 'paid' ? 'paid' : 'pending', providerStatus: invoice.status };
      });
    },

    async cancelSubscription({ subscriptionId, idempotencyKey, atPeriodEnd }) {
      await api.cancelStripeSubscription({ subscriptionId, idempotencyKey, atPeriodEnd: atPeriodEnd ?? false });
    },

    async getPaymentStatus(input) {
      if (input.disputeId) {
        const dispute = await api.getStripeDispute(input.disputeId);
        const chargedBack = disputeChargedBack[dispute.status];
        return { providerStatus: `dispute ${dispute.status}`, ...(chargedBack === undefined ? {} : { chargedBack }) };
      }
      const invoice = await api.getStripeInvoice(requiredId(input.invoiceId, 'invoiceId', 'stripe'));
      if (invoice.status === 'paid') return { paid: true, writtenOff: false, providerStatus: invoice.status };
      // An open invoice is retried by Stripe while it names a next attempt; void and uncollectible ones never are.
      if (invoice.status === 'open') {
        const next = invoice.nextPaymentAttempt;
        return { paid: false, writtenOff: false, providerStatus: invoice.status, providerWillRetry: next !== null, ...(next ? { nextRetryAt: next } : {}) };
      }
      const writtenOff = invoice.status === 'void' || invoice.status === 'uncollectible';
      return { paid: false, writtenOff, providerStatus: invoice.status, ...(invoice.status === 'draft' ? {} : { providerWillRetry: false }) };
    },

    /** A deleted customer still answers, marked deleted: that is Stripe's closed account. */
    async getAccountStatus(accountId) {
      const customer = await api.getStripeCustomer(accountId);
      return { id: customer.id, closed: customer.deleted, providerStatus: customer.deleted ? 'deleted' : 'live' };
    },

    /**
     * By invoice; or by payment (a dispute names its charge and payment intent): the payment
     * intent's invoice payment names the invoice, and the invoice its subscription. A charge
     * without an invoice (a one-off payment) has its customer only.
     */
    async resolvePaymentSubject(input) {
      let invoiceId = input.invoiceId;
      let customerId: string | null = null;
      if (!invoiceId) {
        let paymentIntentId: string | null = requiredId(input.paymentId, 'paymentId or invoiceId', 'stripe');
        if (!paymentIntentId.startsWith('pi_')) {
          const charge = await api.getStripeCharge(paymentIntentId);
          ({ customerId, paymentIntentId } = charge);
        }
        invoiceId = (paymentIntentId && (await api.findStripeInvoiceOfPayment(paymentIntentId))) ?? undefined;
        if (!invoiceId) return withoutEmpty({ customerId });
      }
      const invoice = await api.getStripeInvoice(invoiceId);
      return withoutEmpty({ subscriptionId: invoice.subscriptionId, customerId: invoice.customerId ?? customerId, ...(input.invoiceId ? {} : { invoiceId: invoice.id }) });
    },
  };
}
