import type { BillingApi, BillingSubscriptionStatus, RetryOutcome } from '../../core/billing';
import { requiredId, withoutEmpty } from '../billing-support';
import type { createGoCardlessActivities, GoCardlessSubscription } from './api';

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

const collectedStatuses = new Set(['confirmed', 'paid_out']);

/** The day (`YYYY-MM-DD`) the period paid by the subscription's last collected payment ends; undefined when none was collected. */
async function paidUntil(api: ReturnType<typeof createGoCardlessActivities>, subscription: GoCardlessSubscription): Promise<string | undefined> {
  const payments = await api.listGoCardlessSubscriptionPayments({ subscriptionId: subscription.id });
  const last = payments.find((payment) => collectedStatuses.has(payment.status) && payment.chargeDate);
  return last?.chargeDate && addInterval(last.chargeDate, subscription.intervalUnit ?? 'monthly', subscription.interval ?? 1);
}

/** `day` plus `count` weeks, months or years; a month too short for the day ends on its last day (31 Jan + 1 month = 28/29 Feb). */
export function addInterval(day: string, unit: string, count: number): string | undefined {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  if (unit === 'weekly') return new Date(Date.UTC(year, month - 1, date + 7 * count)).toISOString().slice(0, 10);
  const months = unit === 'monthly' ? count : unit === 'yearly' ? 12 * count : undefined;
  if (months === undefined) return undefined;
  const lastDay = new Date(Date.UTC(year, month - 1 + months + 1, 0)).getUTCDate();
  return new Date(Date.UTC(year, month - 1 + months, Math.min(date, lastDay))).toISOString().slice(0, 10);
}

/** GoCardless: payments are retried one by one, and a mandate is what can be charged. */
export function goCardlessBilling(api: ReturnType<typeof createGoCardlessActivities>): BillingApi {
  return {
    async getSubscription(subscriptionId) {
      const subscription = await api.getGoCardlessSubscription(subscriptionId);
      const mandate = await api.getGoCardlessMandate(subscription.mandateId);
      // A cancelled subscription has no upcoming payments: what was paid for runs one interval from the last collected payment.
      const periodEnd = subscription.nextChargeDate ?? (await paidUntil(api, subscription));
      return {
        id: subscription.id,
        status: subscriptionStatuses[subscription.status] ?? 'unknown',
        customerId: mandate.customerId,
        ...(periodEnd ? { currentPeriodEnd: `${periodEnd}T00:00:00.000Z` } : {}),
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
      const outcome = paymentOutcome(payment.status);
      // Submitted or about to be, GoCardless collects it by itself; failed (or cancelled, charged back) it does not.
      const retrying = outcome === 'paid' ? {} : { providerWillRetry: outcome === 'pending' };
      return { paid: outcome === 'paid', writtenOff: payment.status === 'cancelled', chargedBack: payment.status === 'charged_back', providerStatus: payment.status, ...retrying };
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
