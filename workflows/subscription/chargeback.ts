import { patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { BillingEvent } from '../../src/core/events';
import { activityOptions } from '../activity-options';
import type { SubscriptionAtProvider } from './at-provider';
import { dunningSuspensionReasonFor, paymentKey } from './dunning-state';
import type { ChargebackCase } from './snapshot';
import type { SubscriptionState } from './state';

const { suspendAccount, reinstateAccount, recordAccountEvent } = proxyActivities<Activities>(activityOptions);

/** The reason a chargeback suspends with: its reversal reinstates only an account suspended for it. */
export const chargebackReason = 'chargeback';

/**
 * Money that comes back. A chargeback (a dispute opened, an ACH return) is confirmed with the
 * provider, then suspends the account with reason `chargeback` (or is only recorded, as the policy
 * says); its reversal — the dispute won, the chargeback cancelled, the payment collected again —
 * reinstates what it suspended; its loss keeps it suspended. A refund or a voided payment is
 * recorded on the account. Every step lands in the account's history.
 */
export class Chargebacks {
  constructor(
    private readonly subscription: SubscriptionState,
    private readonly atProvider: SubscriptionAtProvider,
  ) {}

  private get provider() {
    return this.subscription.provider;
  }

  async chargedBack(event: BillingEvent): Promise<string> {
    const { chargebacks, policy } = this.subscription;
    const key = paymentKey(event);
    if (key === undefined) return 'ignored: names no invoice or payment';
    const open = chargebacks.caseOf(key);
    if (chargebacks.isStale(event, open)) return `ignored: older than the chargeback state of ${key}`;
    if (open?.stage === 'open' || open?.stage === 'lost') return `ignored: ${key} is already charged back`;
    // Suspending is destructive: a chargeback the provider does not show (reversed since, the webhook late) changes nothing.
    const status = await this.atProvider.paymentStatus(subjectOf(event, key));
    if (status?.chargedBack === false) return `ignored: ${this.provider} says ${key} is ${status.providerStatus}, not charged back`;
    const customerId = await this.atProvider.customer();
    if (customerId === undefined) return 'ignored: the customer is unknown';
    if (policy.chargebackReaction === 'record') {
      await recordAccountEvent({ provider: this.provider, customerId, reason: `chargeback of ${key} (${event.type}), recorded only`, eventId: event.id });
      chargebacks.opened(key, event, false);
      return `chargeback of ${key} recorded; access unchanged`;
    }
    // An account already suspended for non-payment is suspended for the chargeback from now on, so
    // that the invoice's payment leaves it suspended. Histories recorded before left the reason, and replay so.
    const takeOver = patched('chargeback-takes-over-suspension');
    const { changed } = await suspendAccount({ provider: this.provider, customerId, reason: chargebackReason, eventId: event.id, ...(takeOver ? { takeOver } : {}) });
    chargebacks.opened(key, event, changed);
    return changed ? `chargeback of ${key}: account suspended` : `chargeback of ${key}: account was already suspended or closed`;
  }

  /** The dispute won or the chargeback cancelled: what it suspended comes back. */
  async reversed(event: BillingEvent): Promise<string> {
    const key = paymentKey(event);
    if (key === undefined) return 'ignored: names no invoice or payment';
    const open = this.subscription.chargebacks.caseOf(key);
    if (this.subscription.chargebacks.isStale(event, open)) return `ignored: older than the chargeback state of ${key}`;
    // A second word of the same reversal (Stripe's dispute closed won, then its funds reinstated)
    // changes nothing more; histories recorded before recorded it again, and replay so.
    if (open?.stage === 'reversed' && patched('chargeback-reversed-once')) return `ignored: the chargeback of ${key} is already reversed`;
    const status = await this.atProvider.paymentStatus(subjectOf(event, key));
    if (status?.chargedBack === true) return `ignored: ${this.provider} still says ${key} is ${status.providerStatus}`;
    return this.reverse(key, open, event.occurredAt, event.id, event.type);
  }

  /** A payment of a charged-back invoice or payment arrived: it was collected again. Undefined when no chargeback is open for it. */
  async collectedAgain(event: BillingEvent): Promise<string | undefined> {
    const key = paymentKey(event);
    const open = key === undefined ? undefined : this.subscription.chargebacks.caseOf(key);
    if (key === undefined || open === undefined || open.stage === 'reversed' || this.subscription.chargebacks.isStale(event, open)) return undefined;
    return this.reverse(key, open, event.occurredAt, event.id, `${event.type}: collected again`);
  }

  /** The dispute lost or the chargeback settled: the money is gone, a suspension stays. */
  async lost(event: BillingEvent): Promise<string> {
    const key = paymentKey(event);
    if (key === undefined) return 'ignored: names no invoice or payment';
    const { chargebacks } = this.subscription;
    const open = chargebacks.caseOf(key);
    if (chargebacks.isStale(event, open)) return `ignored: older than the chargeback state of ${key}`;
    const customerId = await this.atProvider.customer();
    if (customerId === undefined) return 'ignored: the customer is unknown';
    await recordAccountEvent({ provider: this.provider, customerId, reason: `chargeback of ${key} lost (${event.type})`, eventId: event.id });
    if (open) chargebacks.moved(open, 'lost', event.occurredAt);
    else chargebacks.opened(key, event, false).stage = 'lost';
    return open?.suspended ? `chargeback of ${key} lost: the account stays suspended` : `chargeback of ${key} lost: recorded`;
  }

  /** A refund, or a voided payment: recorded on the account, access unchanged. */
  async moneyReturned(event: BillingEvent): Promise<string> {
    const customerId = await this.atProvider.customer();
    if (customerId === undefined) return 'ignored: the customer is unknown';
    const what = event.references.refund ?? paymentKey(event) ?? event.id;
    await recordAccountEvent({ provider: this.provider, customerId, reason: `${event.kind} ${what} (${event.type})`, eventId: event.id });
    return `${event.kind} recorded on the account; access unchanged`;
  }

  private async reverse(key: string, open: ChargebackCase | undefined, at: string, eventId: string, why: string): Promise<string> {
    const customerId = await this.atProvider.customer();
    if (customerId === undefined) return 'ignored: the customer is unknown';
    const { chargebacks } = this.subscription;
    const unpaid = this.subscription.dunning.exhaustedCase;
    if (open?.suspended && open.stage !== 'reversed' && unpaid && patched('chargeback-takes-over-suspension')) {
      // The chargeback took the suspension over from an invoice still unpaid: it goes back to that invoice's dunning.
      await suspendAccount({ provider: this.provider, customerId, reason: dunningSuspensionReasonFor(unpaid.key), eventId, takeOver: true });
      chargebacks.moved(open, 'reversed', at);
      return `chargeback of ${key} reversed (${why}): the account stays suspended, ${unpaid.key} is still unpaid`;
    }
    if (open?.suspended && open.stage !== 'reversed') {
      // Only an account still suspended for the chargeback: one suspended since for something else stays so.
      const { changed } = await reinstateAccount({ provider: this.provider, customerId, reason: `chargeback of ${key} reversed (${why})`, eventId, onlyIfSuspendedFor: chargebackReason });
      chargebacks.moved(open, 'reversed', at);
      return changed ? `chargeback of ${key} reversed: account reinstated` : `chargeback of ${key} reversed: the account is no longer suspended for it`;
    }
    await recordAccountEvent({ provider: this.provider, customerId, reason: `chargeback of ${key} reversed (${why})`, eventId });
    if (open) chargebacks.moved(open, 'reversed', at);
    return `chargeback of ${key} reversed: recorded`;
  }
}

/** What confirms a chargeback at the provider: the dispute where the event names one (Stripe), else the payment or invoice. */
function subjectOf(event: BillingEvent, key: string) {
  const { payment: paymentId, invoice: invoiceId, dispute: disputeId } = event.references;
  return { paymentId, invoiceId, key, ...(disputeId ? { disputeId } : {}) };
}
