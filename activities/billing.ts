import { ApplicationFailure } from '@temporalio/common';
import type { ProviderName } from '../src/core/events';
import type { createBillForwardActivities } from '../src/providers/billforward/api';
import type { createCCBillActivities } from '../src/providers/ccbill/api';
import type { createGoCardlessActivities } from '../src/providers/gocardless/api';
import { PAYMENT_DECLINED } from '../src/providers/http/failures';
import { invalidInput } from '../src/providers/http/request';
import type { createRecurlyActivities } from '../src/providers/recurly/api';
import type { createStripeActivities } from '../src/providers/stripe/api';

/*
 * The provider-agnostic calls workflows make: one name per business step, dispatched on
 * `provider`. Every action first reads the state at the provider and acts only when the state
 * still calls for it, then sends the caller's idempotency key where the provider takes one — so
 * a retried activity, or a workflow replaying a step after the key expired, never acts twice.
 */

export interface RetryPaymentInput {
  provider: ProviderName;
  /** GoCardless: the failed payment. */
  paymentId?: string;
  /** Recurly, Stripe, BillForward: the unpaid invoice. */
  invoiceId?: string;
  /** Workflow id + step: the same on every attempt of this activity. */
  idempotencyKey: string;
}

/**
 * `paid`: collected now. `pending`: submitted, the outcome arrives later as a webhook (GoCardless
 * always, card payments needing the bank). `failed`: the provider refused the payment now.
 */
export type RetryOutcome = 'paid' | 'pending' | 'failed';

export interface RetryPaymentResult {
  provider: ProviderName;
  /** The payment (GoCardless) or invoice retried. */
  id: string;
  outcome: RetryOutcome;
  /** The provider's own status of the payment or invoice after the attempt. */
  providerStatus: string;
  /** When `failed` by a decline: the provider's code and explanation. */
  declineCode?: string;
  declineMessage?: string;
}

export interface GetPaymentStatusInput {
  provider: ProviderName;
  /** GoCardless: the payment. */
  paymentId?: string;
  /** Recurly, Stripe, BillForward: the invoice. */
  invoiceId?: string;
}

export interface BillingPaymentStatus {
  /** Whether the money has been collected; absent where the provider cannot be asked (CCBill). */
  paid?: boolean;
  /** The provider's own status of the payment or invoice. */
  providerStatus: string;
}

export interface CancelSubscriptionInput {
  provider: ProviderName;
  subscriptionId: string;
  /** Workflow id + step: the same on every attempt of this activity. */
  idempotencyKey: string;
  /**
   * Let the subscription run to the end of the period already paid instead of ending it now.
   * GoCardless and CCBill have one way each: GoCardless stops future payments (ignoring this),
   * CCBill always runs to the expiration date.
   */
  atPeriodEnd?: boolean;
}

export interface GetSubscriptionInput {
  provider: ProviderName;
  subscriptionId: string;
}

/** One vocabulary for every provider's subscription states. */
export type BillingSubscriptionStatus = 'pending' | 'trialing' | 'active' | 'past_due' | 'paused' | 'cancelled' | 'expired' | 'unknown';

export interface BillingSubscription {
  id: string;
  status: BillingSubscriptionStatus;
  /**
   * The customer as the account store keys it: GoCardless customer, Recurly account code, Stripe
   * customer, BillForward account; CCBill's DataLink names none, so there it is the subscription id.
   */
  customerId: string;
  /** ISO time the paid period ends (GoCardless: the next charge date), when the provider says. */
  currentPeriodEnd?: string;
  /** True when the subscription will end at `currentPeriodEnd` instead of renewing. */
  cancelAtPeriodEnd: boolean;
  /** The provider's own state, for logs and for workflows that need the finer distinction. */
  providerStatus: string;
}

export interface ResolvePaymentSubjectInput {
  provider: ProviderName;
  /** GoCardless payment id, or Recurly transaction id (`uuid-…` works too). */
  paymentId?: string;
  /** Recurly, Stripe or BillForward invoice id (Recurly also `number-…`). */
  invoiceId?: string;
}

/** The entities a payment belongs to; what the provider does not link is absent. */
export interface PaymentSubject {
  subscriptionId?: string;
  mandateId?: string;
  customerId?: string;
}

export interface GetMandateStatusInput {
  provider: ProviderName;
  mandateId: string;
}

export interface BillingMandate {
  id: string;
  /** The provider's own status, e.g. GoCardless `active`, `cancelled`. */
  status: string;
  customerId: string;
  /** Whether the customer can still be charged through it. */
  usable: boolean;
}

export interface BillingClients {
  gocardless: ReturnType<typeof createGoCardlessActivities>;
  recurly: ReturnType<typeof createRecurlyActivities>;
  stripe: ReturnType<typeof createStripeActivities>;
  billforward: ReturnType<typeof createBillForwardActivities>;
  ccbill: ReturnType<typeof createCCBillActivities>;
}

const usableMandateStatuses = new Set(['pending_customer_approval', 'pending_submission', 'submitted', 'active']);

export function createBillingActivities(clients: BillingClients) {
  const { gocardless, recurly, stripe, billforward, ccbill } = clients;

  async function getSubscription({ provider, subscriptionId }: GetSubscriptionInput): Promise<BillingSubscription> {
    if (!subscriptionId) throw invalidInput('subscriptionId is required');
    switch (provider) {
      case 'gocardless': {
        const subscription = await gocardless.getGoCardlessSubscription(subscriptionId);
        const mandate = await gocardless.getGoCardlessMandate(subscription.mandateId);
        return {
          id: subscription.id,
          status: goCardlessStatuses[subscription.status] ?? 'unknown',
          customerId: mandate.customerId,
          ...(subscription.nextChargeDate ? { currentPeriodEnd: `${subscription.nextChargeDate}T00:00:00.000Z` } : {}),
          cancelAtPeriodEnd: false,
          providerStatus: subscription.status,
        };
      }
      case 'recurly': {
        const subscription = await recurly.getRecurlySubscription(subscriptionId);
        return {
          id: subscription.id,
          // Recurly's `canceled` subscription is still usable until its term ends; then `expired`.
          status: subscription.state === 'canceled' ? 'active' : (recurlyStatuses[subscription.state] ?? 'unknown'),
          customerId: subscription.accountCode,
          ...(subscription.currentPeriodEndsAt ? { currentPeriodEnd: subscription.currentPeriodEndsAt } : {}),
          cancelAtPeriodEnd: subscription.state === 'canceled',
          providerStatus: subscription.state,
        };
      }
      case 'stripe': {
        const subscription = await stripe.getStripeSubscription(subscriptionId);
        return {
          id: subscription.id,
          status: stripeStatuses[subscription.status] ?? 'unknown',
          customerId: subscription.customerId,
          ...(subscription.currentPeriodEnd ? { currentPeriodEnd: subscription.currentPeriodEnd } : {}),
          cancelAtPeriodEnd: subscription.cancelAtPeriodEnd,
          providerStatus: subscription.status,
        };
      }
      case 'billforward': {
        const subscription = await billforward.getBillForwardSubscription(subscriptionId);
        return {
          id: subscription.id,
          status: subscription.frozen ? 'paused' : (billForwardStatuses[subscription.state] ?? 'unknown'),
          customerId: subscription.accountId,
          ...(subscription.currentPeriodEnd ? { currentPeriodEnd: subscription.currentPeriodEnd } : {}),
          cancelAtPeriodEnd: false,
          providerStatus: subscription.frozen ? `${subscription.state} (frozen)` : subscription.state,
        };
      }
      case 'ccbill': {
        const subscription = await ccbill.viewCCBillSubscriptionStatus(subscriptionId);
        const periodEnd = subscription.nextRenewalDate ?? subscription.expirationDate;
        return {
          id: subscription.subscriptionId,
          status: subscription.status === 'inactive' ? 'expired' : 'active',
          customerId: subscription.subscriptionId,
          ...(periodEnd ? { currentPeriodEnd: periodEnd } : {}),
          cancelAtPeriodEnd: subscription.status === 'cancelled',
          providerStatus: subscription.status,
        };
      }
      default:
        throw unknownProvider(provider);
    }
  }

  async function retryPayment(input: RetryPaymentInput): Promise<RetryPaymentResult> {
    const { provider, idempotencyKey } = input;
    if (!idempotencyKey) throw invalidInput('idempotencyKey is required');
    switch (provider) {
      case 'gocardless': {
        const paymentId = requiredId(input.paymentId, 'paymentId', provider);
        const current = await gocardless.getGoCardlessPayment(paymentId);
        // Only a failed payment can be retried; any other status means the retry (ours or
        // GoCardless's own) already happened.
        const payment = current.status === 'failed' ? await gocardless.retryGoCardlessPayment({ paymentId, idempotencyKey }) : current;
        return { provider, id: payment.id, outcome: goCardlessPaymentOutcome(payment.status), providerStatus: payment.status };
      }
      case 'recurly': {
        const invoiceId = requiredId(input.invoiceId, 'invoiceId', provider);
        const current = await recurly.getRecurlyInvoice(invoiceId);
        if (current.state === 'voided') throw nothingToCollect(provider, invoiceId, current.state);
        if (current.state === 'paid' || current.state === 'processing') {
          return { provider, id: current.id, outcome: current.state === 'paid' ? 'paid' : 'pending', providerStatus: current.state };
        }
        return declinedAsFailed(provider, current.id, async () => {
          const invoice = await recurly.collectRecurlyInvoice({ invoiceId, idempotencyKey });
          const outcome: RetryOutcome = invoice.state === 'paid' ? 'paid' : invoice.state === 'processing' ? 'pending' : 'failed';
          return { provider, id: invoice.id, outcome, providerStatus: invoice.state };
        });
      }
      case 'stripe': {
        const invoiceId = requiredId(input.invoiceId, 'invoiceId', provider);
        const current = await stripe.getStripeInvoice(invoiceId);
        if (current.status === 'void') throw nothingToCollect(provider, invoiceId, current.status);
        if (current.status === 'paid') return { provider, id: current.id, outcome: 'paid', providerStatus: current.status };
        return declinedAsFailed(provider, current.id, async () => {
          const invoice = await stripe.payStripeInvoice({ invoiceId, idempotencyKey });
          // Not paid without an error: the payment needs the customer or the bank, and settles later.
          return { provider, id: invoice.id, outcome: invoice.status === 'paid' ? 'paid' : 'pending', providerStatus: invoice.status };
        });
      }
      case 'billforward': {
        const invoiceId = requiredId(input.invoiceId, 'invoiceId', provider);
        const invoice = await billforward.executeBillForwardInvoice({ invoiceId });
        const outcome: RetryOutcome = invoice.state === 'Paid' ? 'paid' : invoice.state === 'Pending' ? 'pending' : 'failed';
        return { provider, id: invoice.id, outcome, providerStatus: invoice.state };
      }
      case 'ccbill':
        throw ApplicationFailure.nonRetryable(
          'CCBill retries failed rebills itself (see the event\'s nextRetryDate) and has no API to retry one',
          'provider_retries_itself',
        );
      default:
        throw unknownProvider(provider);
    }
  }

  async function cancelSubscription(input: CancelSubscriptionInput): Promise<BillingSubscription> {
    const { provider, subscriptionId, idempotencyKey } = input;
    const atPeriodEnd = input.atPeriodEnd ?? false;
    if (!idempotencyKey) throw invalidInput('idempotencyKey is required');
    // Confirm first: an ended subscription needs nothing, and one already set to end at period
    // end needs nothing more when that is what was asked.
    const current = await getSubscription({ provider, subscriptionId });
    if (current.status === 'cancelled' || current.status === 'expired') return current;
    if (current.cancelAtPeriodEnd && (atPeriodEnd || provider === 'ccbill')) return current;

    switch (provider) {
      case 'gocardless':
        await gocardless.cancelGoCardlessSubscription({ subscriptionId, idempotencyKey });
        break;
      case 'recurly':
        if (atPeriodEnd) await recurly.cancelRecurlySubscription({ subscriptionId, idempotencyKey });
        else await recurly.terminateRecurlySubscription({ subscriptionId, idempotencyKey });
        break;
      case 'stripe':
        await stripe.cancelStripeSubscription({ subscriptionId, idempotencyKey, atPeriodEnd });
        break;
      case 'billforward':
        await billforward.cancelBillForwardSubscription({ subscriptionId, atPeriodEnd });
        break;
      case 'ccbill':
        await ccbill.cancelCCBillSubscription({ subscriptionId });
        break;
      default:
        throw unknownProvider(provider);
    }
    return getSubscription({ provider, subscriptionId });
  }

  async function resolvePaymentSubject(input: ResolvePaymentSubjectInput): Promise<PaymentSubject> {
    const { provider } = input;
    switch (provider) {
      case 'gocardless': {
        const payment = await gocardless.getGoCardlessPayment(requiredId(input.paymentId, 'paymentId', provider));
        const mandate = await gocardless.getGoCardlessMandate(payment.mandateId);
        return withoutEmpty({ subscriptionId: payment.subscriptionId, mandateId: payment.mandateId, customerId: mandate.customerId });
      }
      case 'recurly': {
        if (input.invoiceId) {
          const invoice = await recurly.getRecurlyInvoice(input.invoiceId);
          return withoutEmpty({ subscriptionId: invoice.subscriptionIds[0], customerId: invoice.accountCode });
        }
        const transaction = await recurly.getRecurlyTransaction(requiredId(input.paymentId, 'invoiceId or paymentId', provider));
        return withoutEmpty({ subscriptionId: transaction.subscriptionIds[0], customerId: transaction.accountCode });
      }
      case 'stripe': {
        const invoice = await stripe.getStripeInvoice(requiredId(input.invoiceId, 'invoiceId', provider));
        return withoutEmpty({ subscriptionId: invoice.subscriptionId, customerId: invoice.customerId });
      }
      case 'billforward': {
        const invoice = await billforward.getBillForwardInvoice(requiredId(input.invoiceId, 'invoiceId', provider));
        return withoutEmpty({ subscriptionId: invoice.subscriptionId, customerId: invoice.accountId });
      }
      case 'ccbill':
        throw ApplicationFailure.nonRetryable(
          'CCBill events carry their subscription id; DataLink has no call from a transaction to it',
          'unsupported',
        );
      default:
        throw unknownProvider(provider);
    }
  }

  /** Reads whether a payment (GoCardless) or invoice has been paid, e.g. before suspending for it. */
  async function getPaymentStatus(input: GetPaymentStatusInput): Promise<BillingPaymentStatus> {
    const { provider } = input;
    switch (provider) {
      case 'gocardless': {
        const payment = await gocardless.getGoCardlessPayment(requiredId(input.paymentId, 'paymentId', provider));
        return { paid: goCardlessPaymentOutcome(payment.status) === 'paid', providerStatus: payment.status };
      }
      case 'recurly': {
        const invoice = await recurly.getRecurlyInvoice(requiredId(input.invoiceId, 'invoiceId', provider));
        return { paid: invoice.state === 'paid', providerStatus: invoice.state };
      }
      case 'stripe': {
        const invoice = await stripe.getStripeInvoice(requiredId(input.invoiceId, 'invoiceId', provider));
        return { paid: invoice.status === 'paid', providerStatus: invoice.status };
      }
      case 'billforward': {
        const invoice = await billforward.getBillForwardInvoice(requiredId(input.invoiceId, 'invoiceId', provider));
        return { paid: invoice.state === 'Paid', providerStatus: invoice.state };
      }
      case 'ccbill':
        // DataLink reports subscriptions, not single rebills.
        return { providerStatus: 'unknown' };
      default:
        throw unknownProvider(provider);
    }
  }

  async function getMandateStatus({ provider, mandateId }: GetMandateStatusInput): Promise<BillingMandate> {
    if (provider !== 'gocardless') {
      throw ApplicationFailure.nonRetryable(`${provider} has no mandates: only GoCardless does`, 'unsupported');
    }
    const mandate = await gocardless.getGoCardlessMandate(requiredId(mandateId, 'mandateId', provider));
    return { id: mandate.id, status: mandate.status, customerId: mandate.customerId, usable: usableMandateStatuses.has(mandate.status) };
  }

  return { retryPayment, cancelSubscription, getSubscription, getPaymentStatus, resolvePaymentSubject, getMandateStatus };
}

const goCardlessStatuses: Record<string, BillingSubscriptionStatus> = {
  pending_customer_approval: 'pending',
  customer_approval_denied: 'cancelled',
  active: 'active',
  paused: 'paused',
  finished: 'expired',
  cancelled: 'cancelled',
};

const recurlyStatuses: Record<string, BillingSubscriptionStatus> = {
  future: 'pending',
  active: 'active',
  paused: 'paused',
  expired: 'expired',
  // Its first payment failed for good: it never started.
  failed: 'expired',
};

const stripeStatuses: Record<string, BillingSubscriptionStatus> = {
  incomplete: 'pending',
  incomplete_expired: 'expired',
  trialing: 'trialing',
  active: 'active',
  past_due: 'past_due',
  unpaid: 'past_due',
  paused: 'paused',
  canceled: 'cancelled',
};

const billForwardStatuses: Record<string, BillingSubscriptionStatus> = {
  Trial: 'trialing',
  Provisioned: 'pending',
  Paid: 'active',
  AwaitingPayment: 'past_due',
  Cancelled: 'cancelled',
  Expired: 'expired',
  Failed: 'expired',
};

function goCardlessPaymentOutcome(status: string): RetryOutcome {
  if (status === 'confirmed' || status === 'paid_out') return 'paid';
  if (status === 'pending_customer_approval' || status === 'pending_submission' || status === 'submitted') return 'pending';
  return 'failed';
}

/** A refused payment is the answer to "retry the payment", not an error of the activity. */
async function declinedAsFailed(provider: ProviderName, id: string, attempt: () => Promise<RetryPaymentResult>): Promise<RetryPaymentResult> {
  try {
    return await attempt();
  } catch (error) {
    if (!(error instanceof ApplicationFailure) || error.type !== PAYMENT_DECLINED) throw error;
    const detail = (error.details?.[0] ?? {}) as { declineCode?: string; declineMessage?: string | null };
    return {
      provider,
      id,
      outcome: 'failed',
      providerStatus: 'declined',
      ...(detail.declineCode ? { declineCode: detail.declineCode } : {}),
      ...(detail.declineMessage ? { declineMessage: detail.declineMessage } : {}),
    };
  }
}

function requiredId(value: string | undefined, name: string, provider: ProviderName): string {
  if (!value) throw invalidInput(`${name} is required for ${provider}`);
  return value;
}

function nothingToCollect(provider: ProviderName, invoiceId: string, state: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`${provider} invoice ${invoiceId} is ${state}: nothing to collect`, 'invoice_voided');
}

function unknownProvider(provider: never): ApplicationFailure {
  return invalidInput(`unknown provider "${String(provider)}"`);
}

function withoutEmpty(subject: { subscriptionId?: string | null; mandateId?: string | null; customerId?: string | null }): PaymentSubject {
  return Object.fromEntries(Object.entries(subject).filter(([, value]) => typeof value === 'string' && value !== '')) as PaymentSubject;
}
