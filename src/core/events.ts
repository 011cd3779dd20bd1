/**
 * The normalised billing event: what every provider's webhook becomes, and what every entity
 * workflow receives. Plain JSON only — it travels through Temporal's payload converter.
 */
export const billingEventKinds = [
  'payment.failed',
  'payment.succeeded',
  'payment.created',
  'payment.cancelled',
  /** The payer took the money back through their bank or card issuer (a chargeback, a dispute opened, an ACH return). */
  'payment.charged_back',
  /** A chargeback undone: the dispute won, or the chargeback cancelled. */
  'payment.chargeback_reversed',
  /** A chargeback final: the dispute lost, or the chargeback settled. */
  'payment.chargeback_lost',
  /** A collected or authorised payment voided: the money goes back to the payer. */
  'payment.voided',
  /** An invoice the provider will no longer collect: voided, or marked uncollectible. */
  'invoice.voided',
  'invoice.uncollectible',
  'subscription.created',
  /** A change that is neither a renewal nor an end: plan, quantity, billing details, … */
  'subscription.updated',
  'subscription.renewed',
  'subscription.cancelled',
  'subscription.expired',
  'subscription.reactivated',
  'subscription.paused',
  'subscription.resumed',
  /** The provider says the subscription's payment is overdue: its own dunning is under way. */
  'subscription.past_due',
  /** The provider's own dunning ended without a payment; the subscription is left unpaid. */
  'subscription.unpaid',
  /** The provider closed an invoice for good: collected, or failed after its dunning (`facts.invoicePaid` when the event says which). */
  'invoice.closed',
  'mandate.created',
  'mandate.active',
  'mandate.cancelled',
  'mandate.failed',
  'mandate.expired',
  'mandate.reinstated',
  'mandate.replaced',
  'account.closed',
  'refund.created',
  'refund.paid',
  'refund.failed',
  'unknown',
] as const;

export type BillingEventKind = (typeof billingEventKinds)[number];

export type ProviderName = 'gocardless' | 'recurly' | 'stripe' | 'ccbill' | 'billforward';

/** Ids the payload carries; each is the provider's own id, absent when the payload lacks it. */
export interface BillingReferences {
  customer?: string;
  account?: string;
  subscription?: string;
  mandate?: string;
  invoice?: string;
  payment?: string;
  refund?: string;
  /** The dispute (Stripe `dp_…`) of a chargeback event. */
  dispute?: string;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * What an event says that billflow's workflows decide on, in billflow's words: each provider's
 * parser fills in what its payload tells, and workflows read these, never a provider's field.
 */
export interface BillingFacts {
  /** Start of the billing period the event concerns (a renewal's new period): ISO-8601 time or date. */
  periodStart?: string;
  /** End of the period already paid for, when access runs out if nothing renews it: ISO-8601 time or date. */
  periodEnd?: string;
  /**
   * After a failed payment: true when the provider will retry it by itself, false when it says it
   * will not; absent when it does not say.
   */
  providerWillRetry?: boolean;
  /** When the provider's own next attempt is due, if it says: ISO-8601 time or date. */
  nextRetryAt?: string;
  /** The mandate that replaces this one (a `mandate.replaced` event). */
  replacementMandate?: string;
  /**
   * A renewal whose payment was collected (CCBill `RenewalSuccess`): it pays what the subscription's
   * earlier failed renewals left unpaid, though it names none of them.
   */
  renewalPaid?: boolean;
  /**
   * A failed payment the customer must complete themselves (Stripe: authentication, SCA): a retry
   * made by billflow cannot pass it.
   */
  customerActionRequired?: boolean;
  /** An `invoice.closed`: true when it closed paid, false when it closed unpaid; absent when the event does not say. */
  invoicePaid?: boolean;
}

export interface BillingEvent {
  provider: ProviderName;
  /** The provider's event id, or a stable id derived from the payload where it has none. */
  id: string;
  /** The provider's own name for the event, e.g. `mandates.cancelled`. */
  type: string;
  kind: BillingEventKind;
  /** ISO-8601 time the provider says the event happened. */
  occurredAt: string;
  references: BillingReferences;
  /** What billflow's workflows decide on, provider-neutral. */
  facts: BillingFacts;
  /** The provider's own fields worth knowing beside the ids (e.g. GoCardless `cause`, Stripe `status`), as it names them. */
  details: Record<string, JsonValue>;
  /** The provider's event as parsed from the request, for users' own workflows. */
  payload: JsonValue;
}

/**
 * An event of a verified delivery that could not be made into a `BillingEvent` (a malformed entry
 * of a batch): kept with its reason where an operator sees it, while the rest of the batch goes on.
 */
export interface UnusableEvent {
  provider: ProviderName;
  /** Its position in the delivery, from 0. */
  index: number;
  /** The provider's event id, when the entry has a readable one. */
  id?: string;
  /** What was wrong with it: short, and never a secret. */
  reason: string;
  /** The delivery's id where the provider gives one (GoCardless `meta.webhook_id`). */
  deliveryId?: string;
  /** ISO-8601 time billflow received it. */
  receivedAt: string;
}
