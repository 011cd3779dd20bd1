import { patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { RetryPaymentResult } from '../../src/core/billing';
import type { BillingEvent } from '../../src/core/events';
import { activityOptions } from '../activity-options';
import { failureMessage, isFinalFailure, isSpentKeyFailure } from '../failures';
import type { SubscriptionAtProvider } from './at-provider';
import { dunningSuspensionReasonFor, paymentKey } from './dunning-state';
import { customerActionRequired, invoicePaidOf, nextRetryAtOf, providerWillRetry, providerWontRetry, renewalWasPaid, timeOf } from './facts';
import type { DunningCase } from './snapshot';
import type { SubscriptionState } from './state';
import { isBefore } from './time';
import { endDunningCase } from './case-end';
import { WrittenOff } from './written-off';

const { retryPayment, cancelSubscription, suspendAccount } = proxyActivities<Activities>(activityOptions);

/**
 * Dunning: a failed payment is retried on the policy's schedule (or left to the provider that
 * retries by itself), an exhausted schedule suspends the account, and a payment ends it all and
 * brings the account back. Each method returns what it did, for the state's last event or step.
 */
export class Dunning {
  private readonly writtenOff: WrittenOff;

  constructor(
    private readonly subscription: SubscriptionState,
    private readonly atProvider: SubscriptionAtProvider,
  ) {
    this.writtenOff = new WrittenOff(subscription, atProvider);
  }

  private get provider() {
    return this.subscription.provider;
  }

  private get steps(): number {
    return this.subscription.policy.dunningScheduleMs.length;
  }

  paymentFailed(event: BillingEvent): string {
    const { dunning } = this.subscription;
    const found = this.caseFor(event);
    if (typeof found === 'string') return found;
    const { key, open } = found;
    // The customer must authenticate (SCA): whatever stage the case is at, billflow's retries stop.
    const actionRequired = customerActionRequired(event);
    if (open && actionRequired) dunning.needsCustomerAction(open);
    const customerPart = actionRequired ? `; the customer must complete ${key}: billflow makes no retries for it` : '';
    switch (open?.stage) {
      case 'exhausted':
        return `ignored: dunning for ${key} is already exhausted${customerPart}`;
      case 'retry_scheduled':
      case 'suspension_scheduled':
        return `ignored: the next step for ${key} is already scheduled${customerPart}`;
    }
    const failing = open ?? dunning.open(event);
    if (actionRequired) dunning.needsCustomerAction(failing);
    if (providerWillRetry(event)) {
      return `${this.provider} retries ${key} itself: waiting for the outcome${this.waitForProvider(failing, event)}${customerPart}`;
    }
    if (this.subscription.policy.providerManagedDunning) {
      // The provider's own dunning ends in a payment, in its own cancellation/expiry events, or in
      // its word that it will not retry: then only the suspension is left. Histories recorded
      // before this last case kept waiting, and replay so.
      if (providerWontRetry(event) && patched('provider-gave-up-suspends')) {
        dunning.providerGaveUp(failing, event, Date.now());
        return `${this.provider} will not retry ${key}: suspension scheduled at ${new Date(failing.dueAt ?? Date.now()).toISOString()}`;
      }
      return `dunning is managed by ${this.provider}: waiting for the outcome of ${key}${this.waitForProvider(failing, event)}`;
    }
    dunning.failed(failing, event, Date.now());
    return `${describeSchedule(failing, this.steps)}${customerPart}`;
  }

  /** The provider says the subscription is past due (Stripe `past_due`): its dunning is under way. */
  providerDunningUnderWay(event: BillingEvent): string {
    const found = this.caseFor(event);
    if (typeof found === 'string') return found;
    const { key, open } = found;
    if (open) return `recorded: dunning for ${key} is under way (${open.stage.replace(/_/g, ' ')})`;
    // No failure of it reached billflow: wait for the provider's own retries, but not for ever.
    const opened = this.subscription.dunning.open(event);
    return `${this.provider} says ${key} is past due: waiting for the outcome of its own retries${this.waitForProvider(opened, event)}`;
  }

  /**
   * The provider's own dunning ended unpaid (Stripe's subscription `unpaid`): the suspension
   * follows whoever ran the retries; it confirms the invoice is still unpaid first.
   */
  providerDunningEnded(event: BillingEvent): string {
    const { dunning } = this.subscription;
    const found = this.caseFor(event);
    if (typeof found === 'string') return found;
    const { key, open } = found;
    if (open?.stage === 'exhausted') return `ignored: dunning for ${key} is already exhausted`;
    if (open?.stage === 'suspension_scheduled') return `ignored: the suspension for ${key} is already scheduled`;
    const ended = open ?? dunning.open(event);
    dunning.providerGaveUp(ended, event, Date.now());
    return `${this.provider}'s own dunning of ${key} ended unpaid: suspension scheduled at ${new Date(ended.dueAt ?? Date.now()).toISOString()}`;
  }

  /**
   * The provider closed the invoice for good (Recurly's authoritative outcome): paid ends its case;
   * unpaid means the provider will not collect it again — a suspension when the provider runs the
   * dunning, one more failure of billflow's schedule when billflow does. When the event does not
   * say which (Recurly's JSON carries ids only), the provider is asked.
   */
  async invoiceClosed(event: BillingEvent): Promise<string> {
    const key = paymentKey(event);
    if (key === undefined) return 'ignored: names no invoice or payment';
    let paid = invoicePaidOf(event);
    if (paid === undefined) {
      const status = await this.atProvider.paymentStatus({ key, invoiceId: event.references.invoice, paymentId: event.references.payment });
      // Closed by a void: nothing is owed, nothing to suspend for.
      if (status?.writtenOff === true) return this.writtenOff.invoiceWrittenOff(event);
      if (status?.paid === undefined) return `ignored: ${this.provider} does not say whether ${key} closed paid`;
      paid = status.paid;
    }
    if (paid) return this.paymentSucceeded(event);
    return `closed unpaid: ${this.paymentFailed({ ...event, facts: { ...event.facts, providerWillRetry: false } })}`;
  }

  /** The provider promised its own retry and no outcome came in time: ask it how the payment stands, and act on it. */
  async checkProvider(open: DunningCase): Promise<string> {
    const { dunning, policy } = this.subscription;
    const late = `no outcome of ${this.provider}'s own retry of ${open.key}`;
    const status = await this.atProvider.paymentStatus(open);
    const now = Date.now();
    if (status?.paid === true) {
      const settled = await this.settle(open.key, { at: new Date(now).toISOString(), eventId: `${workflowInfo().workflowId}:dunning:${open.key}:paid-at-provider` });
      return `${late}: ${this.provider} says it is paid (${status.providerStatus}); ${settled}`;
    }
    if (status?.writtenOff === true) {
      const closed = await this.writtenOff.refusedRetry(open, `${workflowInfo().workflowId}:dunning:${open.key}:written-off-at-provider`);
      if (closed) return `${late}: ${closed}`;
    }
    if (status?.providerWillRetry === true) {
      dunning.providerRetrying(open, undefined, { now, nextRetryAt: timeOf(status.nextRetryAt) });
      return `${late}: ${this.provider} still collects it (${status.providerStatus}); asking again at ${new Date(open.dueAt ?? now).toISOString()}`;
    }
    const said = status?.providerWillRetry === false ? `${this.provider} will not retry it (${status.providerStatus})` : `${this.provider} cannot say how it stands`;
    if (policy.providerManagedDunning) {
      dunning.providerGaveUp(open, undefined, now);
      return `${late}: ${said}; suspension scheduled at ${new Date(open.dueAt ?? now).toISOString()}`;
    }
    dunning.failed(open, undefined, now);
    return `${late}: ${said}; billflow's schedule takes over: ${describeSchedule(open, this.steps)}`;
  }

  /** The event's invoice (or payment) and its open case, or why the event changes nothing. */
  private caseFor(event: BillingEvent): { key: string; open?: DunningCase } | string {
    const { dunning } = this.subscription;
    const key = paymentKey(event);
    if (key === undefined) return 'ignored: names no invoice or payment';
    if (this.subscription.access.ended) return 'ignored: access has ended';
    const open = dunning.caseOf(event);
    if (dunning.isStaleFailure(event, open)) return `ignored: older than the current state of ${key}`;
    return { key, open };
  }

  /**
   * Waits for the provider's own retry; since billflow bounds that wait, until its promised time
   * plus the margin, then asks. Histories recorded before then waited for ever, and replay so.
   * Returns what to add to the outcome.
   */
  private waitForProvider(open: DunningCase, event: BillingEvent): string {
    const bounded = patched('bounded-provider-wait');
    this.subscription.dunning.providerRetrying(open, event, bounded ? { now: Date.now(), nextRetryAt: nextRetryAtOf(event) } : undefined);
    return open.dueAt === undefined ? '' : ` (billflow asks ${this.provider} at ${new Date(open.dueAt).toISOString()} if none has come)`;
  }

  async paymentSucceeded(event: BillingEvent): Promise<string> {
    const key = paymentKey(event);
    const open = this.subscription.dunning.caseOf(event);
    if (open && isBefore(event.occurredAt, open.lastFailedAt)) {
      return `ignored: older than the last failure of ${open.key}`;
    }
    if (key === undefined) return 'ignored: names no invoice or payment';
    if (!open) {
      this.subscription.dunning.paid({ key, at: event.occurredAt });
      return `recorded: ${key} paid, no dunning open for it`;
    }
    return this.settle(open.key, { at: event.occurredAt, eventId: event.id });
  }

  /**
   * A renewal the provider collected (CCBill's RenewalSuccess names a new transaction, not the
   * failed one): it pays every case whose failure came before it. Undefined when it settles none.
   * Histories recorded before this replay without it.
   */
  async renewalPaid(event: BillingEvent): Promise<string | undefined> {
    if (!renewalWasPaid(event)) return undefined;
    const paid = this.subscription.dunning.openCasesUntil(event.occurredAt);
    if (paid.length === 0 || !patched('paid-renewal-settles-dunning')) return undefined;
    const outcomes: string[] = [];
    for (const open of paid) outcomes.push(await this.settle(open.key, { at: event.occurredAt, eventId: event.id }));
    return outcomes.join('; ');
  }

  /** The scheduled retry is due. */
  async retry(open: DunningCase): Promise<string> {
    const { dunning } = this.subscription;
    const step = open.retriesMade + 1;
    const retry = `retry ${step} of ${this.steps} for ${open.key}`;
    if (open.customerActionRequired) {
      // A retry billflow makes cannot authenticate for the customer: the schedule's time passes
      // without it, and the case ends in a payment (the customer's, the provider's retry) or its end.
      dunning.retried(open);
      dunning.failed(open, undefined, Date.now());
      return `${retry} not made: the customer must complete the payment at ${this.provider}; ${describeSchedule(open, this.steps)}`;
    }
    // One key per attempt: Temporal's retries of the activity keep it, so a retry never pays
    // twice; a new attempt of the same step (its first key spent) gets the next one.
    const attempt = (open.reattempts ?? 0) + 1;
    const idempotencyKey = `${workflowInfo().workflowId}:dunning:${open.key}:${step}${attempt > 1 ? `:attempt-${attempt}` : ''}`;
    let result: RetryPaymentResult;
    try {
      result = await retryPayment({ provider: this.provider, paymentId: open.paymentId, invoiceId: open.invoiceId, idempotencyKey });
    } catch (error) {
      // The key is spent, not the step: make the step again later under the next attempt's key. Behind
      // patched(): this failure did not exist before, so no history recorded earlier comes here.
      if (isSpentKeyFailure(error) && patched('new-key-after-replayed-server-error')) {
        dunning.reattempt(open, Date.now());
        const at = open.dueAt === undefined ? '' : ` at ${new Date(open.dueAt).toISOString()}`;
        return `${retry}: ${this.provider} replays the server error its key first got (${failureMessage(error)}); attempt ${attempt + 1} under a new key scheduled${at}`;
      }
      if (!isFinalFailure(error)) throw error;
      // Refused because the invoice was voided (or marked uncollectible): its dunning is over. Behind
      // patched(): histories recorded before counted it as a failed retry, and replay so.
      if (patched('written-off-closes-dunning')) {
        const closed = await this.writtenOff.refusedRetry(open, idempotencyKey);
        if (closed !== undefined) return `${retry} refused (${failureMessage(error)}); ${closed}`;
      }
      // Refused otherwise: counts as a failed retry, and no outcome will come.
      dunning.retried(open);
      dunning.failed(open, undefined, Date.now());
      return `${retry} refused (${failureMessage(error)}); ${describeSchedule(open, this.steps)}`;
    }
    dunning.retried(open);
    switch (result.outcome) {
      case 'pending':
        return `${retry} sent: ${result.providerStatus}, waiting for the outcome`;
      case 'paid':
        return `${retry}: paid; ${await this.settle(open.key, { at: new Date(Date.now()).toISOString(), eventId: idempotencyKey })}`;
      case 'failed':
        dunning.failed(open, undefined, Date.now());
        return `${retry} declined (${result.declineCode ?? result.providerStatus}); ${describeSchedule(open, this.steps)}`;
    }
  }

  /** The schedule ran out and its grace period is over: suspends (and cancels, if the policy says so). */
  async suspend(open: DunningCase): Promise<string> {
    const { dunning, policy } = this.subscription;
    // Suspending is destructive and a payment's webhook can be lost: ask the provider first.
    // Workflows that scheduled a suspension before this check replay without it.
    if (patched('confirm-unpaid-before-suspension')) {
      const status = await this.atProvider.paymentStatus(open);
      if (status?.paid === true || status?.writtenOff === true) {
        dunning.paid({ key: open.key, at: new Date(Date.now()).toISOString() });
        const said = status.paid === true ? `paid (${status.providerStatus})` : `${status.providerStatus}: no longer collected`;
        return `dunning for ${open.key} ended: ${this.provider} says it is ${said}, account not suspended`;
      }
    }
    const customerId = await this.atProvider.customer();
    const keyBase = `${workflowInfo().workflowId}:dunning:${open.key}`;
    if (customerId === undefined) {
      dunning.exhausted(open);
      return `dunning for ${open.key} exhausted, but the customer is unknown: account not suspended`;
    }
    await suspendAccount({ provider: this.provider, customerId, reason: dunningSuspensionReasonFor(open.key), eventId: `${keyBase}:suspend` });
    dunning.exhausted(open);
    if (!policy.cancelAtProviderWhenExhausted) return `dunning for ${open.key} exhausted: account suspended`;
    await cancelSubscription({ provider: this.provider, subscriptionId: this.subscription.subscriptionId, idempotencyKey: `${keyBase}:cancel` });
    return `dunning for ${open.key} exhausted: account suspended, subscription cancelled at ${this.provider}`;
  }

  /** The invoice is paid: its dunning ends, and the account comes back if its suspension was for it. */
  private settle(key: string, payment: { at: string; eventId: string }): Promise<string> {
    return endDunningCase(this.subscription, this.atProvider, { key, ...payment, reason: `payment received for ${key}`, ended: 'ended: paid', nothingToLift: `dunning for ${key} ended: paid` });
  }
}

function describeSchedule(open: DunningCase, steps: number): string {
  const at = open.dueAt === undefined ? '' : ` at ${new Date(open.dueAt).toISOString()}`;
  if (open.stage === 'retry_scheduled') return `retry ${open.retriesMade + 1} of ${steps} for ${open.key} scheduled${at}`;
  return `dunning schedule for ${open.key} exhausted: suspension scheduled${at}`;
}
