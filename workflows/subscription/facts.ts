import type { BillingEvent, JsonValue } from '../../src/core/events';

/**
 * True when the provider retries the failed payment itself, so billflow must only wait:
 * GoCardless `will_attempt_retry`, CCBill `nextRetryDate`, Stripe `next_payment_attempt`,
 * BillForward `nextExecutionAttempt`.
 */
export function providerWillRetry(event: BillingEvent): boolean {
  const { facts } = event;
  if (facts.will_attempt_retry === true) return true;
  const next = firstFact(facts, ['nextRetryDate', 'next_payment_attempt', 'nextExecutionAttempt']);
  return next !== undefined;
}

/** The billing period a renewal starts: from the event's facts, else the day it happened (UTC). */
export function billingPeriodOf(event: BillingEvent): string {
  const start = firstFact(event.facts, [
    'current_period_start', // Stripe
    'current_period_started_at', // Recurly
    'currentPeriodStart', // BillForward
    'renewalDate', // CCBill
    'period_start',
    'charge_date',
  ]);
  return (start !== undefined ? toIso(start) : undefined) ?? event.occurredAt.slice(0, 10);
}

/** When a cancelled subscription's paid period ends, if the event says so (epoch ms). */
export function periodEndOf(event: BillingEvent): number | undefined {
  const end = firstFact(event.facts, [
    'cancel_at', // Stripe, set with cancel_at_period_end
    'current_period_end', // Stripe
    'expires_at', // Recurly
    'current_period_ends_at', // Recurly
    'subscriptionEnd', // BillForward
    'currentPeriodEnd', // BillForward
    'nextRenewalDate', // CCBill: the renewal that will not happen
    'period_end',
  ]);
  const iso = end === undefined ? undefined : toIso(end);
  return iso === undefined ? undefined : Date.parse(iso);
}

function firstFact(facts: Record<string, JsonValue>, names: string[]): string | number | undefined {
  for (const name of names) {
    const value = facts[name];
    if ((typeof value === 'string' && value !== '') || (typeof value === 'number' && Number.isFinite(value))) return value;
  }
  return undefined;
}

/** ISO time from an ISO string, a provider's `YYYY-MM-DD hh:mm:ss`, or unix seconds/ms. */
function toIso(value: string | number): string | undefined {
  if (typeof value === 'number') return new Date(value < 1e12 ? value * 1000 : value).toISOString();
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  const parsed = Date.parse(/^\d{4}-\d{2}-\d{2} \d/.test(value) ? `${value.replace(' ', 'T')}Z` : value);
  return Number.isNaN(parsed) ? undefined : new Date(parsed).toISOString();
}
