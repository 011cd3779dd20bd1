import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { BillingPaymentStatus, BillingSubscription } from '../../src/core/billing';
import { activityOptions } from '../activity-options';
import { isFinalFailure } from '../failures';
import type { SubscriptionState } from './state';

const { getSubscription, getPaymentStatus } = proxyActivities<Activities>(activityOptions);

/** Statuses (billflow's vocabulary for every provider) of a subscription that has not ended. */
const liveStatuses = new Set<BillingSubscription['status']>(['pending', 'trialing', 'active', 'past_due', 'paused']);

/** The subscription as the provider sees it now: asked before a destructive step, and for the customer. */
export class SubscriptionAtProvider {
  constructor(private readonly subscription: SubscriptionState) {}

  /** The customer, from the events seen so far or else from the provider. */
  async customer(): Promise<string | undefined> {
    if (this.subscription.customerId === undefined) await this.current();
    return this.subscription.customerId;
  }

  /** The provider's subscription (its customer learnt on the way); undefined when the provider refuses for good. */
  async current(): Promise<BillingSubscription | undefined> {
    const subscriptionId = this.subscription.subscriptionId;
    try {
      const current = await getSubscription({ provider: this.subscription.provider, subscriptionId });
      this.subscription.learnCustomer(current.customerId);
      return current;
    } catch (error) {
      if (!isFinalFailure(error)) throw error;
      log.warn('Subscription could not be read from the provider', { subscriptionId, error: String(error) });
      return undefined;
    }
  }

  /**
   * How the provider says a payment or invoice stands; undefined when it cannot tell (it cannot be
   * asked, as CCBill, or does not know the id): then the caller's verified event stands.
   */
  async paymentStatus(subject: { paymentId?: string; invoiceId?: string; disputeId?: string; key: string }): Promise<BillingPaymentStatus | undefined> {
    const { paymentId, invoiceId, disputeId, key } = subject;
    try {
      return await getPaymentStatus({ provider: this.subscription.provider, paymentId, invoiceId, ...(disputeId ? { disputeId } : {}) });
    } catch (error) {
      if (!isFinalFailure(error)) throw error;
      log.warn('Payment status could not be read from the provider', { key, error: String(error) });
      return undefined;
    }
  }
}

/** The end of the provider's current period (epoch ms) when the subscription has not ended and runs beyond `after`. */
export function runsUntilAfter(current: BillingSubscription | undefined, after: number): number | undefined {
  const runsUntil = periodEndOf(current);
  return current && liveStatuses.has(current.status) && runsUntil !== undefined && runsUntil > after ? runsUntil : undefined;
}

/** The provider's current period end, epoch ms. */
export function periodEndOf(current: BillingSubscription | undefined): number | undefined {
  return timeOf(current?.currentPeriodEnd);
}

function timeOf(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const at = typeof value === 'number' ? (value < 1e12 ? value * 1000 : value) : Date.parse(value);
  return Number.isNaN(at) ? undefined : at;
}
