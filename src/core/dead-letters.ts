import type { BillingEvent, ProviderName } from './events';

/**
 * Why billflow kept something it verified but could not act on. A new cause adds its name here;
 * the column takes any text, so no migration is needed for it.
 */
export const deadLetterKinds = [
  /** Entries of a verified batch that could not be made into events (the rest was delivered). */
  'unusable_entries',
  /** An event Temporal's payload converter could not encode whole: it went on without its provider copy. */
  'unencodable_payload',
  /** A payment (or invoice) event the resolver could attach to no subscription. */
  'unresolved_payment',
  /** An event a workflow refused for good (the provider or the store said no, and no retry can fix it). */
  'refused_event',
] as const;

export type DeadLetterKind = (typeof deadLetterKinds)[number];

/**
 * A delivery as it came in, plain JSON so it can travel through Temporal too: what replay parses
 * again. Headers are the ones the receiver kept (never a secret or a signature).
 */
export interface RecordedDelivery {
  bodyBase64: string;
  headers: Record<string, string | string[]>;
  query: Record<string, string | string[]>;
  ip: string;
}

/** What to keep: either the delivery as received, or an event already normalised. */
export interface DeadLetterInput {
  provider: ProviderName;
  kind: DeadLetterKind;
  /** Short, for an operator: what was wrong, never a secret. */
  reason: string;
  /** Replay parses it again, routes and signals its events. */
  delivery?: RecordedDelivery;
  /** Replay routes it again and signals it. */
  event?: BillingEvent;
  /** The provider's event ids concerned, where they are known. */
  eventIds?: string[];
  /** The workflow that refused it, for `refused_event`. */
  workflowId?: string;
}
