import { log, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { BillingPaymentStatus, RetryPaymentResult } from '../../src/core/billing';
import type { BillingEvent } from '../../src/core/events';
import { activityOptions } from '../activity-options';
import { failureMessage, isFinalFailure, isSpentKeyFailure } from '../failures';
import type { SubscriptionAtProvider } from './at-provider';
import { paymentKey } from './dunning-state';
import { providerWillRetry, providerWontRetry, renewalWasPaid } from './facts';
import type { DunningCase } from './snapshot';
import type { SubscriptionState } from './state';
import { isBefore } from './time';
import { WrittenOff } from './written-off';

const { retryPayment, cancelSubscription, getPaymentStatus, suspendAccount, reinstateAccount } = proxyActivities<Activities>(activityOptions);

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
    const key = paymentKey(event);
    if (key === undefined) return 'ignored: names no invoice or payment';
    if (this.subscription.access.ended) return 'ignored: access has ended';
    const open = dunning.caseOf(event);
    if (dunning.isStaleFailure(event, open)) return `ignored: older than the current state of ${key}`;
    switch (open?.stage) {
      case 'exhausted':
        return `ignored: dunning for ${key} is already exhausted`;
      case 'retry_scheduled':
      case 'suspension_scheduled':
        return `ignored: the next step for ${key} is already scheduled`;
    }
    const failing = open ?? dunning.open(event);
    if (providerWillRetry(event)) {
      dunning.providerRetrying(failing, event);
      return `${this.provider} retries ${key} itself: waiting for the outcome`;
    }
    if (this.subscription.policy.providerManagedDunning) {
      // The provider's own dunning ends in a payment, in its own cancellation/expiry events, or in
      // its word that it will not retry: then only the suspension is left. Histories recorded
      // before this last case kept waiting, and replay so.
      if (providerWontRetry(event) && patched('provider-gave-up-suspends')) {
        dunning.providerGaveUp(failing, event, Date.now());
        return `${this.provider} will not retry ${key}: suspension scheduled at ${new Date(failing.dueAt ?? Date.now()).toISOString()}`;
      }
      dunning.providerRetrying(failing, event);
      return `dunning is managed by ${this.provider}: waiting for the outcome of ${key}`;
    }
    dunning.failed(failing, event, Date.now());
    return describeSchedule(failing, this.steps);
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
      const status = await this.statusAtProvider(open);
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
    await suspendAccount({ provider: this.provider, customerId, reason: `dunning exhausted for ${open.key}`, eventId: `${keyBase}:suspend` });
    dunning.exhausted(open);
    if (!policy.cancelAtProviderWhenExhausted) return `dunning for ${open.key} exhausted: account suspended`;
    await cancelSubscription({ provider: this.provider, subscriptionId: this.subscription.subscriptionId, idempotencyKey: `${keyBase}:cancel` });
    return `dunning for ${open.key} exhausted: account suspended, subscription cancelled at ${this.provider}`;
  }

  /** The invoice is paid: its dunning ends, and the account comes back if its suspension was for it. */
  private async settle(key: string, payment: { at: string; eventId: string }): Promise<string> {
    const { reinstate } = this.subscription.dunning.paid({ key, at: payment.at });
    if (!reinstate) return `dunning for ${key} ended: paid`;
    const customerId = await this.atProvider.customer();
    if (customerId === undefined) return `dunning for ${key} ended: paid; customer unknown, account not reinstated`;
    await reinstateAccount({ provider: this.provider, customerId, reason: `payment received for ${key}`, eventId: payment.eventId });
    return `dunning for ${key} ended: paid; account reinstated`;
  }

  /** The provider's status of the dunned payment or invoice; undefined when it cannot tell. */
  private async statusAtProvider(open: DunningCase): Promise<BillingPaymentStatus | undefined> {
    try {
      return await getPaymentStatus({ provider: this.provider, paymentId: open.paymentId, invoiceId: open.invoiceId });
    } catch (error) {
      if (!isFinalFailure(error)) throw error;
      // The provider cannot tell (unknown id, unsupported): the schedule's verdict stands.
      log.warn('Payment status could not be read before suspending', { key: open.key, error: String(error) });
      return undefined;
    }
  }
}

function describeSchedule(open: DunningCase, steps: number): string {
  const at = open.dueAt === undefined ? '' : ` at ${new Date(open.dueAt).toISOString()}`;
  if (open.stage === 'retry_scheduled') return `retry ${open.retriesMade + 1} of ${steps} for ${open.key} scheduled${at}`;
  return `dunning schedule for ${open.key} exhausted: suspension scheduled${at}`;
}
