import { log, patched } from '@temporalio/workflow';
import type { BillingEvent } from '../../src/core/events';
import { failureMessage, isFinalFailure } from '../failures';
import { keepRefusedEvent } from '../refused-event';
import { SubscriptionAtProvider } from './at-provider';
import { Chargebacks } from './chargeback';
import { Dunning } from './dunning';
import { EndOfAccess } from './end-of-access';
import { Pause } from './pause';
import { Renewal } from './renewal';
import { WrittenOff } from './written-off';
import type { DueWork, SubscriptionState } from './state';

/** Hands each event and each due timer to its process; every side effect is an activity. */
export class SubscriptionProcesses {
  private readonly dunning: Dunning;
  private readonly renewal: Renewal;
  private readonly endOfAccess: EndOfAccess;
  private readonly pause: Pause;
  private readonly writtenOff: WrittenOff;
  private readonly chargebacks: Chargebacks;

  constructor(private readonly subscription: SubscriptionState) {
    const atProvider = new SubscriptionAtProvider(subscription);
    this.dunning = new Dunning(subscription, atProvider);
    this.renewal = new Renewal(subscription, atProvider);
    this.endOfAccess = new EndOfAccess(subscription, atProvider);
    this.pause = new Pause(subscription, atProvider);
    this.writtenOff = new WrittenOff(subscription, atProvider);
    this.chargebacks = new Chargebacks(subscription, atProvider);
  }

  /**
   * Applies `event`. When a refusal no retry can fix stops it, the event is kept as a dead letter
   * and `forget` is called first: a replay the dead letter's recording lets an operator send at
   * once may reach the inbox in the same workflow task, and must not be dropped as a redelivery.
   */
  async apply(event: BillingEvent, forget: (eventId: string) => void): Promise<void> {
    this.subscription.learnCustomer(event.references.customer);
    try {
      const outcome = await this.handle(event);
      this.subscription.recordOutcome(event, outcome);
    } catch (error) {
      // Temporal retries retryable failures without end; what reaches here is a refusal no retry can fix.
      if (!isFinalFailure(error)) throw error;
      log.warn('Event could not be applied', { eventId: event.id, error: String(error) });
      this.subscription.recordOutcome(event, `failed: ${failureMessage(error)}`);
      // Histories recorded before the dead-letter store replay without keeping it.
      if (!patched('subscription-refused-dead-letters')) return;
      await keepRefusedEvent(event, failureMessage(error), forget);
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
      if (due.kind === 'end_access') this.subscription.access.cancelEnd();
      // A check that cannot be made leaves the case waiting for the provider's outcome.
      else if (due.kind === 'check_provider') this.subscription.dunning.providerRetrying(due.dunning, undefined);
      else this.subscription.dunning.exhausted(due.dunning);
      this.subscription.recordAction(`${due.kind} failed: ${failureMessage(error)}`, Date.now());
    }
  }

  private handle(event: BillingEvent): Promise<string> | string {
    switch (event.kind) {
      case 'payment.failed':
        return this.dunning.paymentFailed(event);
      case 'payment.succeeded':
        return this.paymentSucceeded(event);
      case 'payment.charged_back':
        return this.chargebacks.chargedBack(event);
      case 'payment.chargeback_reversed':
        return this.chargebacks.reversed(event);
      case 'payment.chargeback_lost':
        return this.chargebacks.lost(event);
      case 'payment.voided':
      case 'refund.created':
      case 'refund.paid':
        return this.chargebacks.moneyReturned(event);
      case 'invoice.voided':
      case 'invoice.uncollectible':
        return this.writtenOff.invoiceWrittenOff(event);
      case 'invoice.closed':
        return this.dunning.invoiceClosed(event);
      case 'subscription.past_due':
        return this.dunning.providerDunningUnderWay(event);
      case 'subscription.unpaid':
        return this.dunning.providerDunningEnded(event);
      case 'subscription.renewed':
        return this.renewed(event);
      case 'subscription.updated':
        return this.endOfAccess.periodMoved(event);
      case 'subscription.cancelled':
        return this.endOfAccess.cancelled(event);
      case 'subscription.expired':
        return this.endOfAccess.expired(event);
      case 'subscription.reactivated':
        return this.endOfAccess.reactivated(event);
      // Recorded only, before pauses had a status: those histories replay so.
      case 'subscription.paused':
        return patched('paused-status') ? this.pause.paused(event) : 'recorded';
      case 'subscription.resumed':
        return patched('paused-status') ? this.pause.resumed(event) : 'recorded';
      default:
        return 'recorded';
    }
  }

  /** A renewal resets usage; one the provider says was paid also settles the failures before it. */
  private async renewed(event: BillingEvent): Promise<string> {
    const settled = await this.dunning.renewalPaid(event);
    const renewed = await this.renewal.renewed(event);
    return settled === undefined ? renewed : `${settled}; ${renewed}`;
  }

  /** Ends the invoice's dunning, and reverses its chargeback if one is open (the payment collected again). */
  private async paymentSucceeded(event: BillingEvent): Promise<string> {
    const settled = await this.dunning.paymentSucceeded(event);
    const reversed = await this.chargebacks.collectedAgain(event);
    return reversed === undefined ? settled : `${settled}; ${reversed}`;
  }

  private handleDue(due: DueWork): Promise<string> {
    switch (due.kind) {
      case 'retry':
        return this.dunning.retry(due.dunning);
      case 'suspend':
        return this.dunning.suspend(due.dunning);
      case 'check_provider':
        return this.dunning.checkProvider(due.dunning);
      case 'end_access':
        return this.endOfAccess.atPeriodEnd(due.at);
    }
  }
}
