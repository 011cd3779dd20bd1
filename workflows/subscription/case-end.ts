import { patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { activityOptions } from '../activity-options';
import type { SubscriptionAtProvider } from './at-provider';
import { dunningSuspensionReason } from './dunning-state';
import type { SubscriptionState } from './state';

const { reinstateAccount } = proxyActivities<Activities>(activityOptions);

export interface CaseEnd {
  key: string;
  at: string;
  eventId: string;
  /** The account history's reason for the reinstatement, e.g. `payment received for in_1`. */
  reason: string;
  /** How the case ended, as outcomes say it after `dunning for <key> `: `ended: paid`, `closed: invoice.voided`. */
  ended: string;
  /** The outcome when the case held no suspension to lift. */
  nothingToLift: string;
}

/**
 * Dunning case `key` is over (paid, or written off at the provider): the account comes back if it
 * was suspended for this case's non-payment, and only then — one a chargeback took over stays.
 */
export async function endDunningCase(subscription: SubscriptionState, atProvider: SubscriptionAtProvider, end: CaseEnd): Promise<string> {
  const { reinstate } = subscription.dunning.paid({ key: end.key, at: end.at });
  if (!reinstate) return end.nothingToLift;
  const outcome = `dunning for ${end.key} ${end.ended}`;
  const customerId = await atProvider.customer();
  if (customerId === undefined) return `${outcome}; customer unknown, account not reinstated`;
  // Histories recorded before this lifted any suspension, and replay so.
  const only = patched('reinstate-only-dunning-suspension') ? { onlyIfSuspendedFor: dunningSuspensionReason } : {};
  const { changed } = await reinstateAccount({ provider: subscription.provider, customerId, reason: end.reason, eventId: end.eventId, ...only });
  return changed || !only.onlyIfSuspendedFor ? `${outcome}; account reinstated` : `${outcome}; the account stays suspended for another reason`;
}
