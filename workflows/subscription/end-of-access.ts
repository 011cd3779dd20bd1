import { patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { BillingEvent } from '../../src/core/events';
import { activityOptions } from '../activity-options';
import { periodEndOf, runsUntilAfter, type SubscriptionAtProvider } from './at-provider';
import { periodEndOf as periodEndInEvent } from './facts';
import { heldStateIsNoOp } from './patches';
import type { SubscriptionState } from './state';

const { endAccountAccess } = proxyActivities<Activities>(activityOptions);

/**
 * End of access: a cancelled subscription keeps access until its period ends (a timer), a
 * reactivation before then cancels the end, an expiry ends access now. Ending access is final,
 * so the provider is asked first.
 */
export class EndOfAccess {
  constructor(
    private readonly subscription: SubscriptionState,
    private readonly atProvider: SubscriptionAtProvider,
  ) {}

  private get provider() {
    return this.subscription.provider;
  }

  async cancelled(event: BillingEvent): Promise<string> {
    const { access } = this.subscription;
    if (access.isStale(event)) return 'ignored: older than the current state';
    if (access.ended) return 'ignored: access has already ended';
    let periodEnd = periodEndInEvent(event);
    // Already ending then (or the event names no end): a cancellation it already has changes nothing.
    const scheduled = access.endsAt;
    if (scheduled !== undefined && (periodEnd === undefined || Math.max(Date.now(), periodEnd) === scheduled) && patched(heldStateIsNoOp)) {
      return `ignored: access already ends at ${new Date(scheduled).toISOString()}`;
    }
    if (periodEnd === undefined || this.subscription.customerId === undefined) {
      const current = await this.atProvider.current();
      periodEnd ??= periodEndOf(current);
    }
    const endsAt = Math.max(Date.now(), periodEnd ?? Date.now());
    access.scheduleEnd(endsAt, event);
    return periodEnd === undefined ? 'access ends now: no period end known' : `access ends at ${new Date(endsAt).toISOString()}`;
  }

  /**
   * The provider moved the billing date (CCBill BillingDateChange): the next renewal is then, and a
   * cancelled subscription's access runs until then. Workflows that had such an event recorded
   * before replay without the move.
   */
  periodMoved(event: BillingEvent): string {
    const periodEnd = periodEndInEvent(event);
    if (periodEnd === undefined) return 'recorded';
    const { access } = this.subscription;
    if (access.isStale(event)) return 'ignored: older than the current state';
    if (access.ended) return 'ignored: access has already ended';
    if (!patched('billing-date-change-moves-period')) return 'recorded';
    const ending = access.endsAt !== undefined;
    const at = ending ? Math.max(Date.now(), periodEnd) : periodEnd;
    access.periodMoved(at);
    const when = new Date(at).toISOString();
    return ending ? `access now ends at ${when}: the billing date moved` : `the next renewal moved to ${when}`;
  }

  reactivated(event: BillingEvent): string {
    const { access } = this.subscription;
    if (access.isStale(event)) return 'ignored: older than the current state';
    if (access.ended) return 'ignored: access has already ended, a closed account is not reopened';
    const wasEnding = access.endsAt !== undefined;
    access.reactivated(event);
    return wasEnding ? 'reactivated: the pending end of access is cancelled' : 'reactivated';
  }

  async expired(event: BillingEvent): Promise<string> {
    const { access } = this.subscription;
    if (access.isStale(event)) return 'ignored: older than the current state';
    if (access.ended) return 'ignored: access has already ended';
    // Ending access is final: ask the provider first (webhooks arrive late and out of order).
    const current = await this.atProvider.current();
    const runsUntil = runsUntilAfter(current, Date.now());
    if (current && runsUntil !== undefined) {
      return `ignored: ${this.provider} says the subscription is ${current.status} until ${new Date(runsUntil).toISOString()}`;
    }
    const customerId = await this.atProvider.customer();
    if (customerId === undefined) return 'ignored: the customer is unknown';
    await endAccountAccess({ provider: this.provider, customerId, reason: event.type, eventId: event.id });
    this.subscription.endAccess(event);
    return 'access ended';
  }

  /** The cancelled subscription's period end, scheduled at `scheduledAt`, has come. */
  async atPeriodEnd(scheduledAt: number): Promise<string> {
    const current = await this.atProvider.current();
    const runsUntil = runsUntilAfter(current, scheduledAt);
    if (current && runsUntil !== undefined && !current.cancelAtPeriodEnd) {
      // Renewed or reactivated at the provider without billflow hearing of it (yet).
      this.subscription.access.cancelEnd();
      return `end of access dropped: ${this.provider} says the subscription is ${current.status} until ${new Date(runsUntil).toISOString()}`;
    }
    const customerId = await this.atProvider.customer();
    if (customerId === undefined) {
      this.subscription.access.cancelEnd();
      return 'end of access dropped: the customer is unknown';
    }
    const eventId = `${workflowInfo().workflowId}:end-of-access:${new Date(scheduledAt).toISOString()}`;
    await endAccountAccess({ provider: this.provider, customerId, reason: 'subscription cancelled: period ended', eventId });
    this.subscription.endAccess();
    return 'access ended: the cancelled subscription reached its period end';
  }
}
