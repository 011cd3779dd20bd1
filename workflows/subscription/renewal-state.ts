import type { SubscriptionSnapshot } from './snapshot';
import { isBefore } from './time';

const keptPeriods = 24;

/** Renewal's part of the subscription's state: the billing periods whose usage was reset. Pure. */
export class RenewalState {
  constructor(private readonly state: SubscriptionSnapshot) {}

  /** Why a renewal must not reset usage, or undefined when it should. */
  refusal(period: string): string | undefined {
    if (this.state.accessEnded) return 'access has ended';
    if (this.state.usagePeriods.includes(period)) return `usage already reset for period ${period}`;
    const current = this.state.usagePeriods.at(-1);
    if (current !== undefined && isBefore(period, current)) return `period ${period} is older than the current period ${current}`;
    return undefined;
  }

  usageReset(period: string): void {
    this.state.usagePeriods.push(period);
    this.state.usagePeriods.splice(0, Math.max(0, this.state.usagePeriods.length - keptPeriods));
  }
}
