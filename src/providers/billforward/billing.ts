import type { BillingApi, BillingSubscriptionStatus, RetryOutcome } from '../../core/billing';
import { requiredId, withoutEmpty } from '../billing-support';
import type { createBillForwardActivities } from './api';

const subscriptionStatuses: Record<string, BillingSubscriptionStatus> = {
  Trial: 'trialing',
  Provisioned: 'pending',
  Paid: 'active',
  AwaitingPayment: 'past_due',
  Cancelled: 'cancelled',
  Expired: 'expired',
  Failed: 'expired',
};

/** BillForward: invoices are executed again; a frozen subscription is paused. */
export function billForwardBilling(api: ReturnType<typeof createBillForwardActivities>): BillingApi {
  return {
    /** BillForward's closed account is a deleted one (`Account.Deleted`). */
    async getAccountStatus(accountId) {
      const account = await api.getBillForwardAccount(accountId);
      return { id: account.id, closed: account.deleted, providerStatus: account.deleted ? 'deleted' : 'active' };
    },

    async getSubscription(subscriptionId) {
      const subscription = await api.getBillForwardSubscription(subscriptionId);
      return {
        id: subscription.id,
        status: subscription.frozen ? 'paused' : (subscriptionStatuses[subscription.state] ?? 'unknown'),
        customerId: subscription.accountId,
        ...(subscription.currentPeriodEnd ? { currentPeriodEnd: subscription.currentPeriodEnd } : {}),
        cancelAtPeriodEnd: false,
        providerStatus: subscription.frozen ? `${subscription.state} (frozen)` : subscription.state,
      };
    },

    async retryPayment(input) {
      const invoiceId = requiredId(input.invoiceId, 'invoiceId', 'billforward');
      const invoice = await api.executeBillForwardInvoice({ invoiceId });
      const outcome: RetryOutcome = invoice.state === 'Paid' ? 'paid' : invoice.state === 'Pending' ? 'pending' : 'failed';
      return { provider: 'billforward', id: invoice.id, outcome, providerStatus: invoice.state };
    },

    async cancelSubscription({ subscriptionId, atPeriodEnd }) {
      await api.cancelBillForwardSubscription({ subscriptionId, atPeriodEnd: atPeriodEnd ?? false });
    },

    async getPaymentStatus(input) {
      const invoice = await api.getBillForwardInvoice(requiredId(input.invoiceId, 'invoiceId', 'billforward'));
      return { paid: invoice.state === 'Paid', writtenOff: invoice.state === 'Voided', providerStatus: invoice.state };
    },

    async resolvePaymentSubject(input) {
      const invoice = await api.getBillForwardInvoice(requiredId(input.invoiceId, 'invoiceId', 'billforward'));
      return withoutEmpty({ subscriptionId: invoice.subscriptionId, customerId: invoice.accountId });
    },
  };
}
