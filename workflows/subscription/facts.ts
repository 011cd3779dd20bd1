import type { BillingEvent } from '../../src/core/events';
import { factsOf } from '../facts';

/** True when the provider retries the failed payment itself, so billflow must only wait. */
export function providerWillRetry(event: BillingEvent): boolean {
  return factsOf(event).providerWillRetry === true;
}

/** True when the provider says it will not retry the failed payment (false is not the same as not saying). */
export function providerWontRetry(event: BillingEvent): boolean {
  return factsOf(event).providerWillRetry === false;
}

/** True for a renewal whose payment the provider collected (it settles earlier failures it does not name). */
export function renewalWasPaid(event: BillingEvent): boolean {
  return factsOf(event).renewalPaid === true;
}

/** True when the customer must complete the failed payment themselves (authentication): billflow's retries cannot. */
export function customerActionRequired(event: BillingEvent): boolean {
  return factsOf(event).customerActionRequired === true;
}

/** An `invoice.closed`: whether it closed paid, when the event says. */
export function invoicePaidOf(event: BillingEvent): boolean | undefined {
  return factsOf(event).invoicePaid;
}

/** When the provider's own next attempt is due, if the event says (epoch ms). */
export function nextRetryAtOf(event: BillingEvent): number | undefined {
  return timeOf(factsOf(event).nextRetryAt);
}

/** An ISO time or date (a date read as midnight UTC) as epoch ms. */
export function timeOf(value: string | undefined): number | undefined {
  const iso = value === undefined ? undefined : toIso(value);
  return iso === undefined ? undefined : Date.parse(iso);
}

/** The billing period a renewal starts: from the event's facts, else the day it happened (UTC). */
export function billingPeriodOf(event: BillingEvent): string {
  const start = factsOf(event).periodStart;
  return (start !== undefined ? toIso(start) : undefined) ?? event.occurredAt.slice(0, 10);
}

/** When a cancelled subscription's paid period ends, if the event says so (epoch ms). */
export function periodEndOf(event: BillingEvent): number | undefined {
  return timeOf(factsOf(event).periodEnd);
}

/**
 * The period's key: a date stays a date, a time becomes ISO-8601 in UTC (a provider's
 * `YYYY-MM-DD hh:mm:ss` read as UTC), so the same period always has the same key.
 */
function toIso(value: string): string | undefined {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  const parsed = Date.parse(/^\d{4}-\d{2}-\d{2} \d/.test(value) ? `${value.replace(' ', 'T')}Z` : value);
  return Number.isNaN(parsed) ? undefined : new Date(parsed).toISOString();
}
