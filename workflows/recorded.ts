/*
 * How workflow code reads what earlier versions of billflow recorded in running workflows'
 * histories: activity results and event payloads in the shape of their day. The one place where
 * workflow code still knows a provider's own names; nothing new is decided from it. Each reader
 * goes once no workflow started before its change runs any more.
 */
import type { BillingMandate } from '../src/core/billing';

/** GoCardless statuses the mandate workflow treated as unusable before it asked `getMandateStatus`. */
const unusableGoCardlessStatuses = new Set(['cancelled', 'failed', 'expired', 'consumed', 'blocked', 'suspended_by_payer']);

/** A `getGoCardlessMandate` result, recorded before the mandate workflow asked `getMandateStatus`, read as the latter's. */
export function recordedMandate(mandate: Omit<BillingMandate, 'usable'>): BillingMandate {
  return { id: mandate.id, status: mandate.status, customerId: mandate.customerId, usable: !unusableGoCardlessStatuses.has(mandate.status) };
}
