import { log, patched, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { BillingMandate } from '../../src/core/billing';
import type { BillingEvent } from '../../src/core/events';
import { activityOptions } from '../activity-options';
import { finalRefusal, isFinalFailure } from '../failures';
import { recordedMandate } from '../recorded';
import type { MandateState } from './state';

const scheduled = proxyActivities<Activities>(activityOptions);
// A mandate event takes two short calls (confirm at the provider, change the account). As local
// activities they run inside the workflow task that decided them: one task per event instead of
// three plus two activity tasks, which was most of Temporal's work per event. Both calls are
// idempotent, so the re-run after a lost task that local activities allow is harmless.
const local = proxyLocalActivities<Activities>(activityOptions);

/** Histories recorded before local activities replay with the activity tasks they scheduled. */
export function mandateActivities(): Pick<Activities, 'getMandateStatus' | 'getGoCardlessMandate' | 'suspendAccount' | 'reinstateAccount'> {
  return patched('mandate-local-activities') ? local : scheduled;
}

/** The mandate as the provider has it now; undefined when the provider refuses for good (it does not know the mandate). */
export async function confirmMandate(event: BillingEvent, mandate: MandateState): Promise<BillingMandate | undefined> {
  const mandateId = event.references.mandate ?? mandate.snapshot().mandateId;
  try {
    const activities = mandateActivities();
    // Histories recorded before the provider-neutral call replay with the GoCardless one.
    const current = patched('mandate-provider-neutral-status')
      ? await activities.getMandateStatus({ provider: event.provider, mandateId })
      : recordedMandate(await activities.getGoCardlessMandate(mandateId));
    mandate.confirmed(current.status, current.customerId);
    return current;
  } catch (error) {
    // Retryable failures are retried by Temporal; one that is not (the provider does not know the
    // mandate) leaves the account as it is. A local activity's refusal arrives unwrapped; histories
    // recorded before it was read as one failed their run here instead, and replay so.
    const final = isFinalFailure(error) || (finalRefusal(error) !== undefined && patched('mandate-local-refusal-unconfirmed'));
    if (!final) throw error;
    log.warn('Mandate could not be confirmed', { mandateId, eventId: event.id, error: String(error) });
    return undefined;
  }
}
