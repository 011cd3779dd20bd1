import type { BillingEvent, BillingFacts } from '../src/core/events';
import { recordedFacts } from './recorded';

const canonicalNames: readonly (keyof BillingFacts)[] = [
  'periodStart',
  'periodEnd',
  'providerWillRetry',
  'nextRetryAt',
  'replacementMandate',
  'customerActionRequired',
  'invoicePaid',
  'renewalPaid',
];

/**
 * The canonical facts of an event, however old: what the parser filled in, and for an event
 * recorded before parsers did, what its provider fields said (workflows/recorded.ts).
 */
export function factsOf(event: Pick<BillingEvent, 'facts'>): BillingFacts {
  const facts: Record<string, unknown> = { ...recordedFacts(event.facts as Readonly<Record<string, unknown>>) };
  for (const name of canonicalNames) if (event.facts[name] !== undefined) facts[name] = event.facts[name];
  return facts as BillingFacts;
}
