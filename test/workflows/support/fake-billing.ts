import type { BillingAccount, BillingPaymentStatus, BillingSubscription, CancelSubscriptionInput, GetAccountStatusInput, GetPaymentStatusInput, GetSubscriptionInput, PaymentSubject, ResolvePaymentSubjectInput, RetryOutcome, RetryPaymentInput, RetryPaymentResult } from '../../../activities/billing';
import { ApplicationFailure } from '@temporalio/common';

/**
 * Stands in for `activities/billing.ts` in workflow tests: answers from tables the test fills and
 * records every call, so a test can say exactly what the workflow asked the provider.
 */
export class FakeBilling {
  readonly calls: { name: string; input: unknown }[] = [];
  readonly subscriptions = new Map<string, Partial<BillingSubscription>>();
  readonly subjects = new Map<string, PaymentSubject>();
  /** Accounts the provider would say are open (reopened); any other reads closed. */
  readonly openAccounts = new Set<string>();
  /** Payments and invoices the provider would say are paid. */
  readonly paid = new Set<string>();
  retryOutcome: (input: RetryPaymentInput) => RetryOutcome = () => 'pending';

  retries(): RetryPaymentInput[] {
    return this.calls.filter((call) => call.name === 'retryPayment').map((call) => call.input as RetryPaymentInput);
  }

  callsOf(name: string): unknown[] {
    return this.calls.filter((call) => call.name === name).map((call) => call.input);
  }

  activities() {
    return {
      retryPayment: async (input: RetryPaymentInput): Promise<RetryPaymentResult> => {
        this.calls.push({ name: 'retryPayment', input });
        const outcome = this.retryOutcome(input);
        return { provider: input.provider, id: input.invoiceId ?? input.paymentId ?? '', outcome, providerStatus: outcome === 'failed' ? 'declined' : outcome };
      },
      cancelSubscription: async (input: CancelSubscriptionInput): Promise<BillingSubscription> => {
        this.calls.push({ name: 'cancelSubscription', input });
        return this.subscription(input);
      },
      getSubscription: async (input: GetSubscriptionInput): Promise<BillingSubscription> => {
        this.calls.push({ name: 'getSubscription', input });
        return this.subscription(input);
      },
      getPaymentStatus: async (input: GetPaymentStatusInput): Promise<BillingPaymentStatus> => {
        this.calls.push({ name: 'getPaymentStatus', input });
        const paid = this.paid.has(input.invoiceId ?? input.paymentId ?? '');
        return { paid, providerStatus: paid ? 'paid' : 'open' };
      },
      getAccountStatus: async (input: GetAccountStatusInput): Promise<BillingAccount> => {
        this.calls.push({ name: 'getAccountStatus', input });
        const open = this.openAccounts.has(input.accountId);
        return { id: input.accountId, closed: !open, providerStatus: open ? 'active' : 'inactive' };
      },
      resolvePaymentSubject: async (input: ResolvePaymentSubjectInput): Promise<PaymentSubject> => {
        this.calls.push({ name: 'resolvePaymentSubject', input });
        const subject = this.subjects.get(input.paymentId ?? input.invoiceId ?? '');
        if (!subject) throw ApplicationFailure.nonRetryable('no such payment', 'resource_not_found');
        return subject;
      },
    };
  }

  private subscription({ subscriptionId }: { subscriptionId: string }): BillingSubscription {
    const known = this.subscriptions.get(subscriptionId);
    if (!known) throw ApplicationFailure.nonRetryable(`no subscription ${subscriptionId}`, 'resource_not_found');
    return { id: subscriptionId, status: 'active', customerId: '', cancelAtPeriodEnd: false, providerStatus: known.status ?? 'active', ...known };
  }
}
