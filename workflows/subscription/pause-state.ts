import type { BillingEvent } from '../../src/core/events';
import type { SubscriptionSnapshot } from './snapshot';
import { isBefore } from './time';

/** The pause's part of the subscription's state: whether it is paused, and since which event (older ones never undo it). Pure. */
export class PauseState {
  constructor(private readonly state: SubscriptionSnapshot) {}

  get paused(): boolean {
    return this.state.paused === true;
  }

  isStale(event: BillingEvent): boolean {
    const since = this.state.pauseChangedAt;
    return since !== undefined && isBefore(event.occurredAt, since);
  }

  pausedBy(event: BillingEvent): void {
    this.state.paused = true;
    this.state.pauseChangedAt = event.occurredAt;
  }

  resumedBy(event: BillingEvent): void {
    delete this.state.paused;
    this.state.pauseChangedAt = event.occurredAt;
  }
}
