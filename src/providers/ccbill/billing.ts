import { ApplicationFailure } from '@temporalio/common';
import type { BillingApi } from '../../core/billing';
import { failureTypes } from '../../core/failures';
import { unsupported } from '../billing-support';
import type { createCCBillActivities } from './api';

/**
 * CCBill's DataLink reports and cancels subscriptions only: CCBill retries failed rebills itself,
 * and a cancelled subscription always runs to its expiration date.
 */
export function ccbillBilling(api: ReturnType<typeof createCCBillActivities>): BillingApi {
  return {
    cancelsOnlyAtPeriodEnd: true,

    async getSubscription(subscriptionId) {
      const subscription = await api.viewCCBillSubscriptionStatus(subscriptionId);
      const periodEnd = subscription.nextRenewalDate ?? subscription.expirationDate;
      return {
        id: subscription.subscriptionId,
        status: subscription.status === 'inactive' ? 'expired' : 'active',
        // DataLink names no customer: the account store keys CCBill accounts by subscription.
        customerId: subscription.subscriptionId,
        ...(periodEnd ? { currentPeriodEnd: periodEnd } : {}),
        cancelAtPeriodEnd: subscription.status === 'cancelled',
        providerStatus: subscription.status,
      };
    },

    async retryPayment() {
      throw ApplicationFailure.nonRetryable(
        'CCBill retries failed rebills itself (see the event\'s nextRetryDate) and has no API to retry one',
        failureTypes.providerRetriesItself,
      );
    },

    async cancelSubscription({ subscriptionId }) {
      await api.cancelCCBillSubscription({ subscriptionId });
    },

    // DataLink reports subscriptions, not single rebills.
    async getPaymentStatus() {
      return { providerStatus: 'unknown' };
    },

    async resolvePaymentSubject() {
      throw unsupported('CCBill events carry their subscription id; DataLink has no call from a transaction to it');
    },
  };
}
