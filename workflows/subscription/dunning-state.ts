import type { BillingEvent } from '../../src/core/events';
import { defaultProviderRetryMarginMs, defaultProviderRetryWaitMs, defaultReattemptDelayMs, type SubscriptionPolicy } from './policy';
import type { DunningCase, SubscriptionSnapshot } from './snapshot';
import { isAfter, isBefore, laterOf } from './time';

const keptSettled = 100;

/** What an exhausted schedule suspends for (`dunning exhausted for <invoice>`): a payment lifts only a suspension with this reason. */
export const dunningSuspensionReason = 'dunning exhausted';

export function dunningSuspensionReasonFor(key: string): string {
  return `${dunningSuspensionReason} for ${key}`;
}
const maxReattemptDelayMs = 60 * 60 * 1000;

/**
 * Dunning's part of the subscription's state: a case per unpaid invoice, from its first failure
 * to its payment or its exhaustion, and the invoices known paid. Pure: no activity calls.
 */
export class DunningState {
  constructor(
    private readonly state: SubscriptionSnapshot,
    private readonly policy: SubscriptionPolicy,
  ) {}

  get cases(): readonly DunningCase[] {
    return this.state.dunning;
  }

  /** The account is suspended because a schedule ran out and no payment has brought it back. */
  get suspendedForNonPayment(): boolean {
    return this.state.suspendedForNonPayment;
  }

  /** An exhausted case, whose suspension stands while it is unpaid. */
  get exhaustedCase(): DunningCase | undefined {
    return this.state.suspendedForNonPayment ? this.state.dunning.find((open) => open.stage === 'exhausted') : undefined;
  }

  /** The open case an event's invoice or payment belongs to. */
  caseOf(event: BillingEvent): DunningCase | undefined {
    const { invoice, payment } = event.references;
    return this.state.dunning.find(
      (open) => (invoice !== undefined && open.invoiceId === invoice) || (payment !== undefined && open.paymentId === payment),
    );
  }

  /** A failure that happened before its invoice was paid (or before a newer failure) changes nothing. */
  isStaleFailure(event: BillingEvent, open: DunningCase | undefined): boolean {
    const key = paymentKey(event);
    const paid = this.state.settled.find((entry) => entry.key === key);
    if (paid && !isAfter(event.occurredAt, paid.at)) return true;
    return open !== undefined && isBefore(event.occurredAt, open.lastFailedAt);
  }

  /** The cases still open whose last failure is no later than `at`: what a paid renewal at `at` pays. */
  openCasesUntil(at: string): DunningCase[] {
    return this.state.dunning.filter((open) => !isAfter(open.lastFailedAt, at));
  }

  /** Opens a case for the failed invoice (or payment) of `event`, which must name one. */
  open(event: BillingEvent): DunningCase {
    const key = paymentKey(event) as string;
    const opened: DunningCase = {
      key,
      ...(event.references.invoice ? { invoiceId: event.references.invoice } : {}),
      ...(event.references.payment ? { paymentId: event.references.payment } : {}),
      stage: 'awaiting_outcome',
      retriesMade: 0,
      firstFailedAt: event.occurredAt,
      lastFailedAt: event.occurredAt,
    };
    this.state.dunning.push(opened);
    return opened;
  }

  /** A failure of the payment (first or after a retry): schedules the next retry, or the suspension. */
  failed(open: DunningCase, event: BillingEvent | undefined, now: number): void {
    if (event) {
      open.lastFailedAt = laterOf(open.lastFailedAt, event.occurredAt);
      if (!open.paymentId && event.references.payment) open.paymentId = event.references.payment;
    }
    const delay = this.policy.dunningScheduleMs[open.retriesMade];
    if (delay === undefined) this.scheduleSuspension(open, now);
    else {
      open.stage = 'retry_scheduled';
      open.dueAt = now + delay;
    }
  }

  /**
   * The provider retries by itself. With `check`, billflow asks the provider how the payment stands
   * if no outcome has come by its promised time (`check.nextRetryAt`, else the policy's wait) plus
   * the policy's margin; without it, it waits for the outcome as long as it takes.
   */
  providerRetrying(open: DunningCase, event: BillingEvent | undefined, check?: { now: number; nextRetryAt?: number }): void {
    if (event) open.lastFailedAt = laterOf(open.lastFailedAt, event.occurredAt);
    open.stage = 'provider_retrying';
    delete open.dueAt;
    if (check) open.dueAt = this.providerCheckAt(check.now, check.nextRetryAt);
  }

  /** When to ask the provider about a payment it promised to retry: its promised time (or the policy's wait) plus the margin. */
  providerCheckAt(now: number, nextRetryAt?: number): number {
    const promised = nextRetryAt ?? now + (this.policy.providerRetryWaitMs ?? defaultProviderRetryWaitMs);
    return Math.max(promised, now) + (this.policy.providerRetryMarginMs ?? defaultProviderRetryMarginMs);
  }

  /** The customer must complete the payment themselves: billflow makes none of its retries for it. */
  needsCustomerAction(open: DunningCase): void {
    open.customerActionRequired = true;
  }

  /** The provider gave up retrying by itself: nothing left but the suspension. */
  providerGaveUp(open: DunningCase, event: BillingEvent | undefined, now: number): void {
    if (event) open.lastFailedAt = laterOf(open.lastFailedAt, event.occurredAt);
    this.scheduleSuspension(open, now);
  }

  /**
   * The retry's key was spent before the retry was made (the provider replays the server error
   * its first request got): the same retry is scheduled again, to be made under a new key.
   */
  reattempt(open: DunningCase, now: number): void {
    const reattempts = (open.reattempts ?? 0) + 1;
    open.reattempts = reattempts;
    open.stage = 'retry_scheduled';
    const base = this.policy.reattemptDelayMs ?? defaultReattemptDelayMs;
    open.dueAt = now + Math.min(base * 2 ** (reattempts - 1), Math.max(base, maxReattemptDelayMs));
  }

  retried(open: DunningCase): void {
    delete open.reattempts;
    open.retriesMade += 1;
    open.stage = 'awaiting_outcome';
    delete open.dueAt;
  }

  exhausted(open: DunningCase): void {
    open.stage = 'exhausted';
    delete open.dueAt;
    this.state.suspendedForNonPayment = true;
  }

  /** The invoice (or payment) `key` was paid at `at`: its case closes. `reinstate` when the account may come back. */
  paid(payment: { key: string; at: string }): { closed?: DunningCase; reinstate: boolean } {
    const closed = this.state.dunning.find((open) => open.key === payment.key);
    if (closed) this.state.dunning = this.state.dunning.filter((open) => open !== closed);
    this.state.settled = this.state.settled.filter((entry) => entry.key !== payment.key);
    this.state.settled.push({ key: payment.key, at: payment.at });
    this.state.settled.splice(0, Math.max(0, this.state.settled.length - keptSettled));
    const stillExhausted = this.state.dunning.some((open) => open.stage === 'exhausted');
    const reinstate = closed?.stage === 'exhausted' && this.state.suspendedForNonPayment && !stillExhausted && !this.state.accessEnded;
    if (reinstate) this.state.suspendedForNonPayment = false;
    return { closed, reinstate };
  }

  /** Access is over: nothing is retried or suspended any more; exhausted cases stay on record. */
  closeOpenCases(): void {
    this.state.dunning = this.state.dunning.filter((open) => open.stage === 'exhausted');
  }

  private scheduleSuspension(open: DunningCase, now: number): void {
    open.stage = 'suspension_scheduled';
    open.dueAt = now + this.policy.suspensionGraceMs;
  }
}

/** The invoice a payment event concerns, else the payment itself. */
export function paymentKey(event: BillingEvent): string | undefined {
  return event.references.invoice ?? event.references.payment;
}
