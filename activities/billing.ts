import { ApplicationFailure } from '@temporalio/common';
import type {
  BillingAccount,
  BillingApi,
  BillingMandate,
  BillingPaymentStatus,
  BillingSubscription,
  CancelSubscriptionInput,
  GetAccountStatusInput,
  GetMandateStatusInput,
  GetPaymentStatusInput,
  GetSubscriptionInput,
  PaymentSubject,
  ResolvePaymentSubjectInput,
  RetryPaymentInput,
  RetryPaymentResult,
} from '../src/core/billing';
import type { ProviderName } from '../src/core/events';
import { failureTypes } from '../src/core/failures';
import { invalidInput } from '../src/providers/http/request';

export type * from '../src/core/billing';

/*
 * The provider-agnostic calls workflows make: one name per business step, each handed to the
 * provider's own `BillingApi` (src/providers/<name>/billing.ts).
 */
export function createBillingActivities(billing: Readonly<Record<ProviderName, BillingApi>>) {
  function billingOf(provider: ProviderName): BillingApi {
    const api = Object.hasOwn(billing, provider) ? billing[provider] : undefined;
    if (!api) throw invalidInput(`unknown provider "${String(provider)}"`);
    return api;
  }

  async function getSubscription({ provider, subscriptionId }: GetSubscriptionInput): Promise<BillingSubscription> {
    if (!subscriptionId) throw invalidInput('subscriptionId is required');
    return billingOf(provider).getSubscription(subscriptionId);
  }

  async function retryPayment({ provider, ...input }: RetryPaymentInput): Promise<RetryPaymentResult> {
    const api = billingOf(provider);
    if (!input.idempotencyKey) throw invalidInput('idempotencyKey is required');
    return api.retryPayment(input);
  }

  async function cancelSubscription({ provider, ...input }: CancelSubscriptionInput): Promise<BillingSubscription> {
    const api = billingOf(provider);
    if (!input.idempotencyKey) throw invalidInput('idempotencyKey is required');
    // Confirm first: an ended subscription needs nothing, and one already set to end at period
    // end needs nothing more when that is what was asked (or all the provider can do).
    const current = await getSubscription({ provider, subscriptionId: input.subscriptionId });
    if (current.status === 'cancelled' || current.status === 'expired') return current;
    if (current.cancelAtPeriodEnd && (input.atPeriodEnd || api.cancelsOnlyAtPeriodEnd)) return current;
    await api.cancelSubscription({ ...input, atPeriodEnd: input.atPeriodEnd ?? false }, current);
    return getSubscription({ provider, subscriptionId: input.subscriptionId });
  }

  async function resolvePaymentSubject({ provider, ...input }: ResolvePaymentSubjectInput): Promise<PaymentSubject> {
    return billingOf(provider).resolvePaymentSubject(input);
  }

  /** Reads whether a payment (GoCardless) or invoice has been paid, e.g. before suspending for it. */
  async function getPaymentStatus({ provider, ...input }: GetPaymentStatusInput): Promise<BillingPaymentStatus> {
    return billingOf(provider).getPaymentStatus(input);
  }

  async function getMandateStatus({ provider, mandateId }: GetMandateStatusInput): Promise<BillingMandate> {
    const api = billingOf(provider);
    if (!api.getMandateStatus) throw ApplicationFailure.nonRetryable(`${provider} has no mandates: only GoCardless does`, failureTypes.unsupported);
    return api.getMandateStatus(mandateId);
  }

  /** Whether the provider shows an account closed: asked before access ends for good on `account.closed`. */
  async function getAccountStatus({ provider, accountId }: GetAccountStatusInput): Promise<BillingAccount> {
    if (!accountId) throw invalidInput('accountId is required');
    const api = billingOf(provider);
    if (!api.getAccountStatus) throw ApplicationFailure.nonRetryable(`${provider}'s account state cannot be read`, failureTypes.unsupported);
    return api.getAccountStatus(accountId);
  }

  return { retryPayment, cancelSubscription, getSubscription, getPaymentStatus, resolvePaymentSubject, getMandateStatus, getAccountStatus };
}
