import type { BillingEvent } from '../../src/core/events';
import type { SubscriptionSnapshot } from './snapshot';
import { isBefore, laterOf } from './time';

/**
 * End of access's part of the subscription's state: a cancellation's pending end, its undoing by
 * a reactivation, the end itself, and when the lifecycle last changed (older events never undo it). Pure.
 */
export class AccessState {
  constructor(private readonly state: SubscriptionSnapshot) {}

  get ended(): boolean {
    return this.state.accessEnded;
  }

  /** Epoch ms at which a cancelled subscription's access ends, while that is pending. */
  get endsAt(): number | undefined {
    return this.state.accessEndsAt;
  }

  /** An event older than the last lifecycle change (cancel / reactivate / expire) cannot undo it. */
  isStale(event: BillingEvent): boolean {
    const since = this.state.lifecycleChangedAt;
    return since !== undefined && isBefore(event.occurredAt, since);
  }

  scheduleEnd(at: number, event: BillingEvent): void {
    this.state.accessEndsAt = at;
    this.state.lifecycleChangedAt = event.occurredAt;
  }

  reactivated(event: BillingEvent): void {
    delete this.state.accessEndsAt;
    this.state.lifecycleChangedAt = event.occurredAt;
  }

  /** The provider moved the billing date: the next renewal is at `at` (ISO), and a pending end of access moves there too. */
  periodMoved(at: number): void {
    this.state.renewsAt = new Date(at).toISOString();
    if (this.state.accessEndsAt !== undefined) this.state.accessEndsAt = at;
  }

  cancelEnd(): void {
    delete this.state.accessEndsAt;
  }

  /** Access ended, by `event` (an expiry) or by the pending end's timer. */
  endedNow(event?: BillingEvent): void {
    this.state.accessEnded = true;
    delete this.state.accessEndsAt;
    if (event) this.state.lifecycleChangedAt = laterOf(this.state.lifecycleChangedAt, event.occurredAt);
  }
}
