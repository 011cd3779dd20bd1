import type { BillingEvent } from '../../src/core/events';
import type { SubscriptionAtProvider } from './at-provider';
import { endDunningCase } from './case-end';
import { paymentKey } from './dunning-state';
import type { DunningCase } from './snapshot';
import type { SubscriptionState } from './state';

/**
 * An invoice the provider stopped collecting (voided, uncollectible): its dunning case closes, so
 * it is never retried and never suspended for; an account already suspended for it alone comes back.
 */
export class WrittenOff {
  constructor(
    private readonly subscription: SubscriptionState,
    private readonly atProvider: SubscriptionAtProvider,
  ) {}

  private get provider() {
    return this.subscription.provider;
  }

  /** `invoice.voided` / `invoice.uncollectible`: confirmed with the provider, then the case closes. */
  async invoiceWrittenOff(event: BillingEvent): Promise<string> {
    const key = paymentKey(event);
    if (key === undefined) return 'ignored: names no invoice or payment';
    const open = this.subscription.dunning.caseOf(event);
    // BillForward also voids a version of an invoice it recalculates: only the invoice's own state counts.
    const status = await this.atProvider.paymentStatus({ paymentId: open?.paymentId ?? event.references.payment, invoiceId: open?.invoiceId ?? event.references.invoice, key });
    if (status?.writtenOff === false) return `ignored: ${this.provider} says ${key} is ${status.providerStatus}`;
    return this.close(key, event.occurredAt, event.id, event.type);
  }

  /** The invoice of a refused retry, if the provider says it is written off: the case closes instead of counting a failed retry. */
  async refusedRetry(open: DunningCase, eventId: string): Promise<string | undefined> {
    const status = await this.atProvider.paymentStatus({ paymentId: open.paymentId, invoiceId: open.invoiceId, key: open.key });
    if (status?.writtenOff !== true) return undefined;
    return this.close(open.key, new Date(Date.now()).toISOString(), eventId, status.providerStatus);
  }

  private close(key: string, at: string, eventId: string, why: string): Promise<string> {
    return endDunningCase(this.subscription, this.atProvider, { key, at, eventId, reason: `${key} written off (${why})`, ended: `closed: ${why}`, nothingToLift: `dunning for ${key} closed: ${why}, nothing to retry or suspend for` });
  }
}
