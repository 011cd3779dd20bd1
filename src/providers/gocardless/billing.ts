import type { BillingApi, BillingSubscriptionStatus, RetryOutcome } from '../../core/billing';
import { requiredId, withoutEmpty } from '../billing-support';
import type { createGoCardlessActivities } from './api';

const subscriptionStatuses: Record<string, BillingSubscriptionStatus> = {
  pending_customer_approval: 'pending',
  customer_approval_denied: 'cancelled',
  active: 'active',
  paused: 'paused',
  finished: 'expired',
  cancelled: 'cancelled',
};

const usableMandateStatuses = new Set(['pending_customer_approval', 'pending_submission', 'submitted', 'active']);

function paymentOutcome(status: string): RetryOutcome {
  if (status === 'confirmed' || status === 'paid_out') return 'paid';
  if (status === 'pending_customer_approval' || status === 'pending_submission' || status === 'submitted') return 'pending';
  return 'failed';
}

/** GoCardless: payments are retried one by one, and a mandate is what can be charged. */
export function goCardlessBilling(api: ReturnType<typeof createGoCardlessActivities>): BillingApi {
  return {
    async getSubscription(subscriptionId) {
      const subscription = await api.getGoCardlessSubscription(subscriptionId);
      const mandate = await api.getGoCardlessMandate(subscription.mandateId);
      return {
        id: subscription.id,
        status: subscriptionStatuses[subscription.status] ?? 'unknown',
        customerId: mandate.customerId,
        ...(subscription.nextChargeDate ? { currentPeriodEnd: `${subscription.nextChargeDate}T00:00:00.000Z` } : {}),
        cancelAtPeriodEnd: false,
        providerStatus: subscription.status,
      };
    },

    async retryPayment(input) {
      const paymentId = requiredId(input.paymentId, 'paymentId', 'gocardless');
      const current = await api.getGoCardlessPayment(paymentId);
      // Only a failed payment can be retried; any other status means the retry (ours or
      // GoCardless's own) already happened.
      const payment = current.status === 'failed' ? await api.retryGoCardlessPayment({ paymentId, idempotencyKey: input.idempotencyKey }) : current;
      return { provider: 'gocardless', id: payment.id, outcome: paymentOutcome(payment.status), providerStatus: payment.status };
    },

    // GoCardless has one way to cancel: future payments stop; `atPeriodEnd` does not apply.
    async cancelSubscription({ subscriptionId, idempotencyKey }) {
      await api.cancelGoCardlessSubscription({ subscriptionId, idempotencyKey });
    },

    async getPaymentStatus(input) {
      const payment = await api.getGoCardlessPayment(requiredId(input.paymentId, 'paymentId', 'gocardless'));
      return { paid: paymentOutcome(payment.status) === 'paid', providerStatus: payment.status };
    },

    async resolvePaymentSubject(input) {
      const payment = await api.getGoCardlessPayment(requiredId(input.paymentId, 'paymentId', 'gocardless'));
      const mandate = await api.getGoCardlessMandate(payment.mandateId);
      return withoutEmpty({ subscriptionId: payment.subscriptionId, mandateId: payment.mandateId, customerId: mandate.customerId });
    },

    async getMandateStatus(mandateId) {
      const mandate = await api.getGoCardlessMandate(requiredId(mandateId, 'mandateId', 'gocardless'));
      return { id: mandate.id, status: mandate.status, customerId: mandate.customerId, usable: usableMandateStatuses.has(mandate.status) };
    },
  };
}
