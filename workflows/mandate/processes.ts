import { log, patched } from '@temporalio/workflow';
import type { BillingEvent } from '../../src/core/events';
import { factsOf } from '../facts';
import { finalRefusal } from '../failures';
import { keepRefusedEvent } from '../refused-event';
import { confirmMandate, mandateActivities } from './at-provider';
import type { MandateState } from './state';

/**
 * What the mandate workflow does with each event and when a grace period ends: a cancelled,
 * failed or expired mandate, confirmed at the provider, suspends the account (after the grace
 * period); a reinstated or replacement mandate that can be charged brings it back.
 */
export class MandateProcesses {
  constructor(
    private readonly mandate: MandateState,
    /** Time between a confirmed cancellation and the suspension (ms); at once when 0. */
    private readonly graceMs: number,
  ) {}

  /**
   * Applies `event`. When a refusal no retry can fix stops it (the account store says no for good),
   * the event is kept as a `refused_event` dead letter and `forget` is called first, as the
   * subscription workflow does: its replay, once the cause is fixed, is applied, not dropped as a
   * redelivery — even one that reaches the inbox while the letter is being stored.
   */
  async apply(event: BillingEvent, forget: (eventId: string) => void = () => undefined): Promise<void> {
    try {
      await this.handle(event);
    } catch (error) {
      await this.refused(event, error, forget, (outcome) => this.mandate.recordOutcome(event, outcome));
    }
  }

  /** A final failure is kept as a dead letter; anything else is Temporal's to retry. */
  private async refused(event: BillingEvent, error: unknown, forget: (eventId: string) => void, record: (outcome: string) => void): Promise<void> {
    const refusal = finalRefusal(error);
    // Histories recorded before this failed their run here, and replay so.
    if (!refusal || !patched('mandate-refused-dead-letters')) throw error;
    log.warn('Event could not be applied', { eventId: event.id, error: String(error) });
    record(`failed: ${refusal.message}`);
    await keepRefusedEvent(event, refusal.message, forget);
  }

  private async handle(event: BillingEvent): Promise<void> {
    const { mandate } = this;
    if (mandate.isStale(event)) {
      mandate.recordOutcome(event, 'ignored: older than the current state');
      return;
    }
    switch (event.kind) {
      case 'mandate.cancelled':
      case 'mandate.failed':
      case 'mandate.expired':
        return this.suspendIfConfirmed(event);
      case 'mandate.reinstated':
        return this.reinstateIfConfirmed(event);
      case 'mandate.replaced':
        // Workflows that recorded a replacement before this branch existed replay it as recorded.
        if (patched('mandate-replacement-reinstates')) return this.reinstateOnReplacement(event);
        mandate.recordOutcome(event, 'recorded');
        return;
      default:
        mandate.recordOutcome(event, 'recorded');
    }
  }

  private async suspendIfConfirmed(event: BillingEvent): Promise<void> {
    const { mandate, graceMs } = this;
    // Webhooks arrive late and out of order: ask the provider before doing anything destructive.
    const current = await confirmMandate(event, mandate);
    if (!current || current.usable) {
      mandate.recordOutcome(event, `not suspended: mandate is ${current?.status ?? 'unknown'} at the provider`);
      return;
    }
    if (graceMs > 0 && mandate.access === 'active') {
      const dueAt = mandate.pendingSuspension?.dueAt ?? Date.now() + graceMs;
      if (!mandate.pendingSuspension) mandate.scheduleSuspension(dueAt, event);
      mandate.recordOutcome(event, `suspension scheduled at ${new Date(dueAt).toISOString()}, after the grace period`);
      return;
    }
    await mandateActivities().suspendAccount({ provider: event.provider, customerId: current.customerId, reason: event.type, eventId: event.id });
    mandate.changeAccess('suspended', event);
    mandate.recordOutcome(event, 'account suspended');
  }

  private async reinstateIfConfirmed(event: BillingEvent): Promise<void> {
    const { mandate } = this;
    const current = await confirmMandate(event, mandate);
    if (!current || !current.usable) {
      mandate.recordOutcome(event, `not reinstated: mandate is ${current?.status ?? 'unknown'} at the provider`);
      return;
    }
    if (mandate.pendingSuspension && mandate.access === 'active') {
      mandate.cancelSuspension(event);
      mandate.recordOutcome(event, 'pending suspension cancelled: the mandate is back');
      return;
    }
    mandate.recordOutcome(event, (await this.reinstate(event, current.customerId)) ? 'account reinstated' : keptSuspended);
  }

  /** The grace period is over: suspends if the provider still says the mandate is unusable. */
  async suspendAfterGrace(event: BillingEvent, forget: (eventId: string) => void = () => undefined): Promise<void> {
    try {
      await this.suspendNow(event);
    } catch (error) {
      await this.refused(event, error, forget, (outcome) => this.mandate.recordLaterOutcome(event, outcome));
    }
  }

  private async suspendNow(event: BillingEvent): Promise<void> {
    const { mandate } = this;
    mandate.cancelSuspension();
    const current = await confirmMandate(event, mandate);
    if (!current || current.usable) {
      mandate.recordLaterOutcome(event, `not suspended after the grace period: mandate is ${current?.status ?? 'unknown'} at the provider`);
      return;
    }
    await mandateActivities().suspendAccount({ provider: event.provider, customerId: current.customerId, reason: event.type, eventId: event.id });
    mandate.changeAccess('suspended', event);
    mandate.recordLaterOutcome(event, 'account suspended after the grace period');
  }

  /** A replacement mandate that can be charged brings the account back. */
  private async reinstateOnReplacement(event: BillingEvent): Promise<void> {
    const { mandate } = this;
    const replacement = factsOf(event).replacementMandate;
    if (mandate.pendingSuspension && mandate.access === 'active') {
      mandate.cancelSuspension(event);
      mandate.recordOutcome(event, `pending suspension cancelled: replaced by mandate ${replacement ?? '(unnamed)'}`);
      return;
    }
    if (mandate.access !== 'suspended' || replacement === undefined) {
      mandate.recordOutcome(event, 'recorded');
      return;
    }
    const current = await confirmMandate({ ...event, references: { ...event.references, mandate: replacement } }, mandate);
    if (!current || !current.usable) {
      mandate.recordOutcome(event, `not reinstated: replacement mandate ${replacement} is ${current?.status ?? 'unknown'} at the provider`);
      return;
    }
    const reinstated = await this.reinstate(event, current.customerId);
    mandate.recordOutcome(event, reinstated ? `account reinstated: replaced by mandate ${replacement}` : `replaced by mandate ${replacement}; ${keptSuspended}`);
  }

  /**
   * Lifts the suspension this workflow made, and only that one: an account whose suspension a
   * chargeback or an unpaid invoice took over (or made first) stays suspended. False when it stays.
   */
  private async reinstate(event: BillingEvent, customerId: string): Promise<boolean> {
    const { mandate } = this;
    const suspendedFor = mandate.suspendedFor;
    // Histories recorded before this lifted any suspension, and replay so.
    const only = suspendedFor !== undefined && patched('mandate-reinstates-only-its-suspension') ? { onlyIfSuspendedFor: suspendedFor } : {};
    const { changed } = await mandateActivities().reinstateAccount({ provider: event.provider, customerId, reason: event.type, eventId: event.id, ...only });
    mandate.changeAccess('active', event);
    return changed || only.onlyIfSuspendedFor === undefined;
  }
}

const keptSuspended = 'mandate usable again; the account stays suspended for another reason';
