import type { BillingEvent } from '../../src/core/events';
import type { ChargebackCase, SubscriptionSnapshot } from './snapshot';
import { isBefore } from './time';

const keptChargebacks = 50;

/** Chargebacks' part of the subscription's state: a case per charged-back payment, from its opening to its reversal or loss. Pure. */
export class ChargebackState {
  constructor(private readonly state: SubscriptionSnapshot) {}

  get cases(): readonly ChargebackCase[] {
    return this.state.chargebacks ?? [];
  }

  /** An account suspension made by a chargeback still stands. */
  get suspendedForChargeback(): boolean {
    return this.cases.some((open) => open.suspended && open.stage !== 'reversed');
  }

  caseOf(key: string): ChargebackCase | undefined {
    return this.cases.find((open) => open.key === key);
  }

  /** An event older than the case's last change cannot undo it. */
  isStale(event: BillingEvent, open: ChargebackCase | undefined): boolean {
    return open !== undefined && isBefore(event.occurredAt, open.changedAt);
  }

  opened(key: string, event: BillingEvent, suspended: boolean): ChargebackCase {
    const open: ChargebackCase = { key, stage: 'open', suspended, changedAt: event.occurredAt };
    this.state.chargebacks = [...this.cases.filter((other) => other.key !== key), open].slice(-keptChargebacks);
    return open;
  }

  moved(open: ChargebackCase, stage: ChargebackCase['stage'], at: string): void {
    open.stage = stage;
    open.changedAt = at;
  }
}
