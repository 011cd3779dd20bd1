import {
  defineQuery,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { BillingSubscription, RetryPaymentResult } from '../activities/billing';
import type { BillingEvent, ProviderName } from '../src/core/events';
import { activityOptions } from './activity-options';
import { continueAsNewWith } from './building-blocks';
import { billingCustomerKey, billingProviderKey, billingStatusKey } from './definitions';
import { EventInbox, type InboxCarry } from './event-inbox';
import { failureMessage, isFinalFailure } from './failures';
import { showDetails, ShownSearchAttributes } from './web-ui';
import {
  billingPeriodOf,
  defaultSubscriptionPolicy,
  isBefore,
  paymentKey,
  periodEndOf,
  providerWillRetry,
  SubscriptionState,
  type DueWork,
  type DunningCase,
  type SubscriptionPolicy,
  type SubscriptionSnapshot,
  type SubscriptionView,
} from './subscription-state';

export interface SubscriptionWorkflowInput {
  provider: ProviderName;
  subscriptionId: string;
  /** Dunning schedule and the rest; billflow's defaults (3, 5, 7 days) when absent. */
  policy?: SubscriptionPolicy;
  /** Set only by continue-as-new: the previous run's state (pending timers included) and inbox. */
  carried?: { subscription: SubscriptionSnapshot; inbox: InboxCarry };
}

export const subscriptionStateQuery = defineQuery<SubscriptionView>('subscriptionState');

const { retryPayment, cancelSubscription, getSubscription, getPaymentStatus, suspendAccount, reinstateAccount, resetAccountUsage, endAccountAccess } =
  proxyActivities<Activities>(activityOptions);

/** Statuses (billflow's vocabulary for every provider) of a subscription that has not ended. */
const liveStatuses = new Set<BillingSubscription['status']>(['pending', 'trialing', 'active', 'past_due', 'paused']);

/**
 * One workflow per subscription, alive as long as the subscription, driven by canonical event
 * kinds so it serves every provider: retries failed payments on a schedule and suspends the
 * account when the schedule runs out (dunning), resets usage once per billing period, and ends
 * access when a cancelled subscription reaches its period end or expires.
 */
export async function subscriptionWorkflow(input: SubscriptionWorkflowInput): Promise<void> {
  const policy = input.policy ?? defaultSubscriptionPolicy;
  const subscription = input.carried
    ? new SubscriptionState(input.carried.subscription, policy)
    : SubscriptionState.fresh(input.provider, input.subscriptionId, policy);
  const inbox = new EventInbox(input.carried?.inbox, { maxSignalsPerRun: policy.maxSignalsPerRun });
  inbox.listen();
  setHandler(subscriptionStateQuery, () => subscription.view(inbox.duplicatesDropped));
  const processes = new SubscriptionProcesses(subscription);
  const shown = new ShownState(input.provider);
  shown.update(subscription);

  while (!inbox.shouldContinueAsNew()) {
    const queued = inbox.take();
    if (queued) {
      await processes.apply(queued);
    } else {
      const due = subscription.nextDue();
      if (due && due.at <= Date.now()) {
        await processes.runDue(due);
      } else {
        const event = await inbox.next(due ? due.at - Date.now() : undefined);
        if (event) await processes.apply(event);
      }
    }
    shown.update(subscription);
  }

  await continueAsNewWith<typeof subscriptionWorkflow>({
    provider: input.provider,
    subscriptionId: input.subscriptionId,
    policy,
    carried: { subscription: subscription.handOver(inbox.duplicatesDropped), inbox: inbox.carry() },
  });
}

/** What the subscription does with each event and each timer; every side effect is an activity. */
class SubscriptionProcesses {
  constructor(private readonly subscription: SubscriptionState) {}

  private get provider(): ProviderName {
    return this.subscription.provider;
  }

  private get steps(): number {
    return this.subscription.policy.dunningScheduleMs.length;
  }

  async apply(event: BillingEvent): Promise<void> {
    this.subscription.learnCustomer(event.references.customer);
    try {
      const outcome = await this.handle(event);
      this.subscription.recordOutcome(event, outcome);
    } catch (error) {
      // Temporal retries retryable failures without end; what reaches here is a refusal no retry can fix.
      if (!isFinalFailure(error)) throw error;
      log.warn('Event could not be applied', { eventId: event.id, error: String(error) });
      this.subscription.recordOutcome(event, `failed: ${failureMessage(error)}`);
    }
  }

  async runDue(due: DueWork): Promise<void> {
    try {
      const action = await this.handleDue(due);
      this.subscription.recordAction(action, Date.now());
    } catch (error) {
      if (!isFinalFailure(error)) throw error;
      log.warn('Scheduled step failed', { kind: due.kind, error: String(error) });
      // Drop the step rather than repeat it for ever; the state says what happened.
      if (due.kind === 'end_access') this.subscription.cancelEndOfAccess();
      else this.subscription.exhausted(due.dunning);
      this.subscription.recordAction(`${due.kind} failed: ${failureMessage(error)}`, Date.now());
    }
  }

  private handle(event: BillingEvent): Promise<string> | string {
    switch (event.kind) {
      case 'payment.failed':
        return this.paymentFailed(event);
      case 'payment.succeeded':
        return this.paymentSucceeded(event);
      case 'subscription.renewed':
        return this.renewed(event);
      case 'subscription.cancelled':
        return this.cancelled(event);
      case 'subscription.expired':
        return this.expired(event);
      case 'subscription.reactivated':
        return this.reactivated(event);
      default:
        return 'recorded';
    }
  }

  private handleDue(due: DueWork): Promise<string> {
    switch (due.kind) {
      case 'retry':
        return this.retry(due.dunning);
      case 'suspend':
        return this.suspend(due.dunning);
      case 'end_access':
        return this.endAccessAtPeriodEnd(due.at);
    }
  }

  // ── dunning ────────────────────────────────────────────────────────────────────────────────

  private paymentFailed(event: BillingEvent): string {
    const key = paymentKey(event);
    if (key === undefined) return 'ignored: names no invoice or payment';
    if (this.subscription.accessEnded) return 'ignored: access has ended';
    const open = this.subscription.dunningFor(event);
    if (this.subscription.isStaleFailure(event, open)) return `ignored: older than the current state of ${key}`;
    switch (open?.stage) {
      case 'exhausted':
        return `ignored: dunning for ${key} is already exhausted`;
      case 'retry_scheduled':
      case 'suspension_scheduled':
        return `ignored: the next step for ${key} is already scheduled`;
    }
    const dunning = open ?? this.subscription.openDunning(event);
    if (providerWillRetry(event)) {
      this.subscription.providerRetrying(dunning, event);
      return `${this.provider} retries ${key} itself: waiting for the outcome`;
    }
    if (this.subscription.policy.providerManagedDunning) {
      // The provider's own dunning ends in a payment or in its own cancellation/expiry events.
      this.subscription.providerRetrying(dunning, event);
      return `dunning is managed by ${this.provider}: waiting for the outcome of ${key}`;
    }
    this.subscription.failed(dunning, event, Date.now());
    return describeSchedule(dunning, this.steps);
  }

  private async retry(dunning: DunningCase): Promise<string> {
    const step = dunning.retriesMade + 1;
    const retry = `retry ${step} of ${this.steps} for ${dunning.key}`;
    const idempotencyKey = `${workflowInfo().workflowId}:dunning:${dunning.key}:${step}`;
    let result: RetryPaymentResult;
    try {
      result = await retryPayment({ provider: this.provider, paymentId: dunning.paymentId, invoiceId: dunning.invoiceId, idempotencyKey });
    } catch (error) {
      if (!isFinalFailure(error)) throw error;
      // Refused (e.g. the invoice was voided): counts as a failed retry, and no outcome will come.
      this.subscription.retried(dunning);
      this.subscription.failed(dunning, undefined, Date.now());
      return `${retry} refused (${failureMessage(error)}); ${describeSchedule(dunning, this.steps)}`;
    }
    this.subscription.retried(dunning);
    switch (result.outcome) {
      case 'pending':
        return `${retry} sent: ${result.providerStatus}, waiting for the outcome`;
      case 'paid':
        return `${retry}: paid; ${await this.settle(dunning.key, { at: new Date(Date.now()).toISOString(), eventId: idempotencyKey })}`;
      case 'failed':
        this.subscription.failed(dunning, undefined, Date.now());
        return `${retry} declined (${result.declineCode ?? result.providerStatus}); ${describeSchedule(dunning, this.steps)}`;
    }
  }

  private async suspend(dunning: DunningCase): Promise<string> {
    // Suspending is destructive and a payment's webhook can be lost: ask the provider first.
    // Workflows that scheduled a suspension before this check replay without it.
    if (patched('confirm-unpaid-before-suspension')) {
      const paidAs = await this.paidAtProvider(dunning);
      if (paidAs !== undefined) {
        this.subscription.paid({ key: dunning.key, at: new Date(Date.now()).toISOString() });
        return `dunning for ${dunning.key} ended: ${this.provider} says it is paid (${paidAs}), account not suspended`;
      }
    }
    const customerId = await this.customer();
    const keyBase = `${workflowInfo().workflowId}:dunning:${dunning.key}`;
    if (customerId === undefined) {
      this.subscription.exhausted(dunning);
      return `dunning for ${dunning.key} exhausted, but the customer is unknown: account not suspended`;
    }
    await suspendAccount({ provider: this.provider, customerId, reason: `dunning exhausted for ${dunning.key}`, eventId: `${keyBase}:suspend` });
    this.subscription.exhausted(dunning);
    if (!this.subscription.policy.cancelAtProviderWhenExhausted) return `dunning for ${dunning.key} exhausted: account suspended`;
    await cancelSubscription({ provider: this.provider, subscriptionId: this.subscription.subscriptionId, idempotencyKey: `${keyBase}:cancel` });
    return `dunning for ${dunning.key} exhausted: account suspended, subscription cancelled at ${this.provider}`;
  }

  private async paymentSucceeded(event: BillingEvent): Promise<string> {
    const key = paymentKey(event);
    const open = this.subscription.dunningFor(event);
    if (open && isBefore(event.occurredAt, open.lastFailedAt)) {
      return `ignored: older than the last failure of ${open.key}`;
    }
    if (key === undefined) return 'ignored: names no invoice or payment';
    if (!open) {
      this.subscription.paid({ key, at: event.occurredAt });
      return `recorded: ${key} paid, no dunning open for it`;
    }
    return this.settle(open.key, { at: event.occurredAt, eventId: event.id });
  }

  /** The invoice is paid: its dunning ends, and the account comes back if its suspension was for it. */
  private async settle(key: string, payment: { at: string; eventId: string }): Promise<string> {
    const { reinstate } = this.subscription.paid({ key, at: payment.at });
    if (!reinstate) return `dunning for ${key} ended: paid`;
    const customerId = await this.customer();
    if (customerId === undefined) return `dunning for ${key} ended: paid; customer unknown, account not reinstated`;
    await reinstateAccount({ provider: this.provider, customerId, reason: `payment received for ${key}`, eventId: payment.eventId });
    return `dunning for ${key} ended: paid; account reinstated`;
  }

  // ── renewal ────────────────────────────────────────────────────────────────────────────────

  private async renewed(event: BillingEvent): Promise<string> {
    const period = billingPeriodOf(event);
    const refusal = this.subscription.renewalRefusal(period);
    if (refusal) return `ignored: ${refusal}`;
    const customerId = await this.customer();
    if (customerId === undefined) return 'ignored: the customer is unknown';
    const periodKey = `${this.subscription.subscriptionId}:${period}`;
    await resetAccountUsage({ provider: this.provider, customerId, reason: event.type, eventId: event.id, periodKey });
    this.subscription.usageReset(period);
    return `usage reset for period ${period}`;
  }

  // ── cancellation, reactivation, expiry ───────────────────────────────────────────────────

  private async cancelled(event: BillingEvent): Promise<string> {
    if (this.subscription.isStaleLifecycle(event)) return 'ignored: older than the current state';
    if (this.subscription.accessEnded) return 'ignored: access has already ended';
    let periodEnd = periodEndOf(event);
    if (periodEnd === undefined || this.subscription.customerId === undefined) {
      const current = await this.lookUp();
      periodEnd ??= timeOf(current?.currentPeriodEnd);
    }
    const endsAt = Math.max(Date.now(), periodEnd ?? Date.now());
    this.subscription.scheduleEndOfAccess(endsAt, event);
    return periodEnd === undefined ? 'access ends now: no period end known' : `access ends at ${new Date(endsAt).toISOString()}`;
  }

  private reactivated(event: BillingEvent): string {
    if (this.subscription.isStaleLifecycle(event)) return 'ignored: older than the current state';
    if (this.subscription.accessEnded) return 'ignored: access has already ended, a closed account is not reopened';
    const wasEnding = this.subscription.accessEndsAt !== undefined;
    this.subscription.reactivated(event);
    return wasEnding ? 'reactivated: the pending end of access is cancelled' : 'reactivated';
  }

  private async expired(event: BillingEvent): Promise<string> {
    if (this.subscription.isStaleLifecycle(event)) return 'ignored: older than the current state';
    if (this.subscription.accessEnded) return 'ignored: access has already ended';
    // Ending access is final: ask the provider first (webhooks arrive late and out of order).
    const current = await this.lookUp();
    const runsUntil = timeOf(current?.currentPeriodEnd);
    if (current && liveStatuses.has(current.status) && runsUntil !== undefined && runsUntil > Date.now()) {
      return `ignored: ${this.provider} says the subscription is ${current.status} until ${new Date(runsUntil).toISOString()}`;
    }
    const customerId = await this.customer();
    if (customerId === undefined) return 'ignored: the customer is unknown';
    await endAccountAccess({ provider: this.provider, customerId, reason: event.type, eventId: event.id });
    this.subscription.accessEndedNow(event);
    return 'access ended';
  }

  private async endAccessAtPeriodEnd(scheduledAt: number): Promise<string> {
    const current = await this.lookUp();
    const runsUntil = timeOf(current?.currentPeriodEnd);
    if (current && liveStatuses.has(current.status) && !current.cancelAtPeriodEnd && runsUntil !== undefined && runsUntil > scheduledAt) {
      // Renewed or reactivated at the provider without billflow hearing of it (yet).
      this.subscription.cancelEndOfAccess();
      return `end of access dropped: ${this.provider} says the subscription is ${current.status} until ${new Date(runsUntil).toISOString()}`;
    }
    const customerId = await this.customer();
    if (customerId === undefined) {
      this.subscription.cancelEndOfAccess();
      return 'end of access dropped: the customer is unknown';
    }
    const eventId = `${workflowInfo().workflowId}:end-of-access:${new Date(scheduledAt).toISOString()}`;
    await endAccountAccess({ provider: this.provider, customerId, reason: 'subscription cancelled: period ended', eventId });
    this.subscription.accessEndedNow();
    return 'access ended: the cancelled subscription reached its period end';
  }

  // ── provider look-ups ──────────────────────────────────────────────────────────────────────

  /** The provider's status of the dunned payment or invoice when it says it is paid; undefined otherwise. */
  private async paidAtProvider(dunning: DunningCase): Promise<string | undefined> {
    try {
      const status = await getPaymentStatus({ provider: this.provider, paymentId: dunning.paymentId, invoiceId: dunning.invoiceId });
      return status.paid === true ? status.providerStatus : undefined;
    } catch (error) {
      if (!isFinalFailure(error)) throw error;
      // The provider cannot tell (unknown id, unsupported): the schedule's verdict stands.
      log.warn('Payment status could not be read before suspending', { key: dunning.key, error: String(error) });
      return undefined;
    }
  }

  /** The customer, from the events seen so far or else from the provider. */
  private async customer(): Promise<string | undefined> {
    if (this.subscription.customerId === undefined) await this.lookUp();
    return this.subscription.customerId;
  }

  private async lookUp(): Promise<BillingSubscription | undefined> {
    const subscriptionId = this.subscription.subscriptionId;
    try {
      const current = await getSubscription({ provider: this.provider, subscriptionId });
      this.subscription.learnCustomer(current.customerId);
      return current;
    } catch (error) {
      if (!isFinalFailure(error)) throw error;
      log.warn('Subscription could not be read from the provider', { subscriptionId, error: String(error) });
      return undefined;
    }
  }
}

/** Keeps the Web UI's search attributes and current details in step with the state. */
class ShownState {
  private readonly attributes = new ShownSearchAttributes();

  constructor(private readonly provider: ProviderName) {}

  update(subscription: SubscriptionState): void {
    const view = subscription.view();
    this.attributes.update([
      { key: billingProviderKey, value: this.provider },
      { key: billingStatusKey, value: view.status },
      ...(view.customerId ? [{ key: billingCustomerKey, value: view.customerId }] : []),
    ]);
    showDetails({
      subject: `${view.provider} subscription ${view.subscriptionId}`,
      standing: `customer ${view.customerId ?? 'not yet known'}, **${view.status}**`,
      items: view.dunning.map((open) => `dunning ${open.key}: ${open.stage.replace(/_/g, ' ')}, ${open.retriesMade} of ${view.dunningSteps} retries made`),
      next: view.nextAction && `${view.nextAction.action}${view.nextAction.at ? ` at ${view.nextAction.at}` : ''}`,
      lastEvent: view.lastEvent,
      lastStep: view.lastAction,
    });
  }
}

function describeSchedule(dunning: DunningCase, steps: number): string {
  const at = dunning.dueAt === undefined ? '' : ` at ${new Date(dunning.dueAt).toISOString()}`;
  if (dunning.stage === 'retry_scheduled') return `retry ${dunning.retriesMade + 1} of ${steps} for ${dunning.key} scheduled${at}`;
  return `dunning schedule for ${dunning.key} exhausted: suspension scheduled${at}`;
}

function timeOf(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const at = typeof value === 'number' ? (value < 1e12 ? value * 1000 : value) : Date.parse(value);
  return Number.isNaN(at) ? undefined : at;
}
