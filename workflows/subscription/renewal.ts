import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { BillingEvent } from '../../src/core/events';
import { activityOptions } from '../activity-options';
import type { SubscriptionAtProvider } from './at-provider';
import { billingPeriodOf } from './facts';
import type { SubscriptionState } from './state';

const { resetAccountUsage } = proxyActivities<Activities>(activityOptions);

/** Renewal: usage is reset once per billing period, however often or late the renewal arrives. */
export class Renewal {
  constructor(
    private readonly subscription: SubscriptionState,
    private readonly atProvider: SubscriptionAtProvider,
  ) {}

  async renewed(event: BillingEvent): Promise<string> {
    const period = billingPeriodOf(event);
    const refusal = this.subscription.renewal.refusal(period);
    if (refusal) return `ignored: ${refusal}`;
    const customerId = await this.atProvider.customer();
    if (customerId === undefined) return 'ignored: the customer is unknown';
    const periodKey = `${this.subscription.subscriptionId}:${period}`;
    await resetAccountUsage({ provider: this.subscription.provider, customerId, reason: event.type, eventId: event.id, periodKey });
    this.subscription.renewal.usageReset(period);
    return `usage reset for period ${period}`;
  }
}
