import type { ProviderName } from '../../src/core/events';

/**
 * Where one unpaid invoice (or payment, where the provider has no invoices) stands:
 * `retry_scheduled` → (retry) → `awaiting_outcome` → (failed again) → `retry_scheduled` … →
 * `suspension_scheduled` → `exhausted`; `provider_retrying` while the provider retries by itself
 * (with `dueAt`, when billflow asks the provider how it stands if no outcome has come by then).
 */
export type DunningStage = 'retry_scheduled' | 'awaiting_outcome' | 'provider_retrying' | 'suspension_scheduled' | 'exhausted';

export interface DunningCase {
  /** The invoice id, else the payment id: names the case in idempotency keys. */
  key: string;
  invoiceId?: string;
  paymentId?: string;
  stage: DunningStage;
  retriesMade: number;
  /**
   * New attempts of the next retry under a new key, because the key of the one before was spent
   * (its first answer a server error the provider replays); absent while there were none.
   */
  reattempts?: number;
  /** Epoch ms of the scheduled retry, suspension or status check: absolute, so it survives continue-as-new. */
  dueAt?: number;
  /** The customer must complete the payment themselves (authentication): billflow's retries are not made. */
  customerActionRequired?: boolean;
  firstFailedAt: string;
  lastFailedAt: string;
}

/** A charged-back payment (or invoice): `open` until the provider reverses it or it is lost. */
export interface ChargebackCase {
  /** The invoice id, else the payment id. */
  key: string;
  stage: 'open' | 'reversed' | 'lost';
  /** This chargeback suspended the account (the store changed it): its reversal reinstates it. */
  suspended: boolean;
  /** occurredAt of the event that last moved the case. */
  changedAt: string;
}

export type SubscriptionStatus = 'active' | 'past_due' | 'suspended' | 'paused' | 'cancelling' | 'ended';

/** The subscription's whole state: what the query answers and what continue-as-new carries. Plain JSON. */
export interface SubscriptionSnapshot {
  provider: ProviderName;
  subscriptionId: string;
  customerId?: string;
  status: SubscriptionStatus;
  dunning: DunningCase[];
  /** Invoices/payments known paid, with when: a late failure older than that is stale. */
  settled: { key: string; at: string }[];
  /** This workflow suspended the account because a dunning schedule ran out. */
  suspendedForNonPayment: boolean;
  /** Epoch ms at which access ends (a cancellation waiting for its period end). */
  accessEndsAt?: number;
  /** ISO time of the next renewal, when the provider moved it (CCBill BillingDateChange). */
  renewsAt?: string;
  accessEnded: boolean;
  /** Chargebacks seen, newest last (bounded); absent until the first. */
  chargebacks?: ChargebackCase[];
  /** The subscription is paused at the provider (and the account with it); absent when it is not. */
  paused?: boolean;
  /** occurredAt of the pause or resumption that set `paused`: older ones never undo it. */
  pauseChangedAt?: string;
  /** occurredAt of the cancellation/reactivation/expiry that set the lifecycle: older ones never undo it. */
  lifecycleChangedAt?: string;
  /** Billing periods whose usage was reset, newest last (bounded). */
  usagePeriods: string[];
  lastEvent?: { id: string; type: string; occurredAt: string; outcome: string };
  /** The last step taken on a timer (a retry, a suspension, an end of access). */
  lastAction?: { action: string; at: string };
  eventsApplied: number;
  duplicatesDropped: number;
  /** 1 for the first run, +1 at every continue-as-new. */
  run: number;
}
