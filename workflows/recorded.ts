/*
 * How workflow code reads what earlier versions of billflow recorded in running workflows'
 * histories: activity results and event payloads in the shape of their day. The one place where
 * workflow code still knows a provider's own names; nothing new is decided from it. Each reader
 * goes once no workflow started before its change runs any more.
 */
import type { BillingMandate } from '../src/core/billing';
import type { BillingFacts } from '../src/core/events';

/** GoCardless statuses the mandate workflow treated as unusable before it asked `getMandateStatus`. */
const unusableGoCardlessStatuses = new Set(['cancelled', 'failed', 'expired', 'consumed', 'blocked', 'suspended_by_payer']);

/** A `getGoCardlessMandate` result, recorded before the mandate workflow asked `getMandateStatus`, read as the latter's. */
export function recordedMandate(mandate: Omit<BillingMandate, 'usable'>): BillingMandate {
  return { id: mandate.id, status: mandate.status, customerId: mandate.customerId, usable: !unusableGoCardlessStatuses.has(mandate.status) };
}

/**
 * Canonical facts of an event recorded before parsers filled them in, when `facts` held the
 * provider's own fields: read by the names and in the order the workflows then looked for them.
 * Events of today have none of these names in `facts`, so this adds nothing to them.
 */
export function recordedFacts(facts: Readonly<Record<string, unknown>>): BillingFacts {
  const nextRetryAt = firstTime(facts, ['nextRetryDate', 'next_payment_attempt', 'nextExecutionAttempt']);
  return definedOnly({
    periodStart: firstTime(facts, ['current_period_start', 'current_period_started_at', 'currentPeriodStart', 'renewalDate', 'period_start', 'charge_date']),
    periodEnd: firstTime(facts, ['cancel_at', 'current_period_end', 'expires_at', 'current_period_ends_at', 'subscriptionEnd', 'currentPeriodEnd', 'nextRenewalDate', 'period_end']),
    providerWillRetry: facts.will_attempt_retry === true || nextRetryAt !== undefined ? true : undefined,
    nextRetryAt,
    replacementMandate: typeof facts.new_mandate === 'string' ? facts.new_mandate : undefined,
  });
}

/** The first of `names` holding a time: a non-empty string as it is, a number (unix seconds or ms) as ISO-8601. */
function firstTime(facts: Readonly<Record<string, unknown>>, names: string[]): string | undefined {
  for (const name of names) {
    const value = facts[name];
    if (typeof value === 'string' && value !== '') return value;
    if (typeof value === 'number' && Number.isFinite(value)) return new Date(value < 1e12 ? value * 1000 : value).toISOString();
  }
  return undefined;
}

function definedOnly<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T;
}
