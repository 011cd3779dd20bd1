import type { ProviderName } from './events';

/*
 * The provider-neutral billing vocabulary: what workflows ask of a provider, and what every
 * provider's implementation of `BillingApi` answers, whatever its own API calls things.
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
  /** Stripe: the dispute of a chargeback event; asked instead of the invoice, which a dispute leaves paid. */
  disputeId?: string;
}

export interface BillingPaymentStatus {
  /** Whether the money has been collected; absent where the provider cannot be asked (CCBill). */
  paid?: boolean;
  /**
   * True when the provider ended collection without payment (voided, uncollectible, cancelled):
   * nothing is retried or suspended for it. Absent where the provider cannot tell.
   */
  writtenOff?: boolean;
  /** True when the payment was charged back and stands so; absent where the provider cannot tell. */
  chargedBack?: boolean;
  /** The provider's own status of the payment or invoice. */
  providerStatus: string;
  /**
   * Unpaid: true while the provider still collects it by itself (an attempt planned or in flight),
   * false once it will not any more (retries over, closed unpaid, void); absent when it cannot tell.
   */
  providerWillRetry?: boolean;
  /** When the provider's next attempt is due, if it says: ISO-8601 time. */
  nextRetryAt?: string;
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
  /** GoCardless payment id, Recurly transaction uuid (as its webhooks name it), Stripe payment intent or charge. */
  paymentId?: string;
  /** Stripe or BillForward invoice id, Recurly invoice number. */
  invoiceId?: string;
}

/** The entities a payment belongs to; what the provider does not link is absent. */
export interface PaymentSubject {
  subscriptionId?: string;
  /** The invoice the payment was an attempt at, as the provider's webhooks name it (Recurly: its number). */
  invoiceId?: string;
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

export interface GetAccountStatusInput {
  provider: ProviderName;
  /** The account as the account workflow is keyed: Recurly account code, Stripe customer, BillForward account. */
  accountId: string;
}

export interface BillingAccount {
  id: string;
  /** Whether the provider shows the account closed (Recurly `inactive`, a Stripe customer `deleted`). */
  closed: boolean;
  /** The provider's own state of the account. */
  providerStatus: string;
}

/** The inputs of `BillingApi`, without the provider (the registry picks the implementation). */
type ForProvider<Input> = Omit<Input, 'provider'>;

/**
 * What each provider implements (`src/providers/<name>/billing.ts`). Every action first reads the
 * state at the provider and acts only when the state still calls for it, then sends the caller's
 * idempotency key where the provider takes one — so a retried activity, or a workflow replaying a
 * step after the key expired, never acts twice.
 */
export interface BillingApi {
  getSubscription(subscriptionId: string): Promise<BillingSubscription>;
  /** Collects a failed payment or unpaid invoice again; a decline is an outcome, not an error. */
  retryPayment(input: ForProvider<RetryPaymentInput>): Promise<RetryPaymentResult>;
  /**
   * Ends `current` (just read, neither ended nor already ending as asked) now or at period end;
   * the caller reads the subscription again afterwards.
   */
  cancelSubscription(input: ForProvider<CancelSubscriptionInput>, current: BillingSubscription): Promise<void>;
  getPaymentStatus(input: ForProvider<GetPaymentStatusInput>): Promise<BillingPaymentStatus>;
  resolvePaymentSubject(input: ForProvider<ResolvePaymentSubjectInput>): Promise<PaymentSubject>;
  /** True where a cancellation always runs to the end of the paid period (CCBill). */
  cancelsOnlyAtPeriodEnd?: boolean;
  /** Absent where the provider has no mandates. */
  getMandateStatus?(mandateId: string): Promise<BillingMandate>;
  /** Absent where the provider has no account that closes (GoCardless customers have no closed state, CCBill has no account API). */
  getAccountStatus?(accountId: string): Promise<BillingAccount>;
}
