import { randomUUID } from 'node:crypto';
import type { BillingEvent, BillingEventKind, ProviderName } from '../../../src/core/events';

let sequence = 0;

/** A normalised event as a provider's parser would make it. */
export function billingEvent(
  kind: BillingEventKind,
  fields: { provider?: ProviderName; id?: string; occurredAt?: string | Date; references?: BillingEvent['references']; facts?: BillingEvent['facts'] } = {},
): BillingEvent {
  sequence += 1;
  const provider = fields.provider ?? 'stripe';
  // Ids shaped as each provider's are (Stripe `evt_…`, GoCardless `EV…`); the sequence keeps them apart in a run.
  const id = provider === 'stripe' ? `evt_${sequence}${randomUUID().replace(/-/g, '')}`.slice(0, 28) : `EV${sequence}-${randomUUID().slice(0, 8)}`;
  const occurredAt = fields.occurredAt ?? new Date(Date.now() + sequence); // strictly increasing by default
  return {
    provider,
    id: fields.id ?? id,
    type: kind,
    kind,
    occurredAt: typeof occurredAt === 'string' ? occurredAt : occurredAt.toISOString(),
    references: fields.references ?? {},
    facts: fields.facts ?? {},
    details: {},
    payload: {},
  };
}

export function uniqueId(prefix: string): string {
  return `${prefix}${randomUUID().replace(/-/g, '').slice(0, 12).toUpperCase()}`;
}
