import { patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { BillingEvent } from '../../src/core/events';
import { activityOptions } from '../activity-options';
import type { SubscriptionAtProvider } from './at-provider';
import { heldStateIsNoOp } from './patches';
import type { SubscriptionState } from './state';

const { pauseAccount, resumeAccount } = proxyActivities<Activities>(activityOptions);

/**
 * Pause: a paused subscription makes the account `paused` (with or without access, as the policy
 * says); its resumption makes it active again. Pausing can take access away, so the provider is
 * asked first: a pause it no longer shows (resumed since, the webhook late) changes nothing.
 */
export class Pause {
  constructor(
    private readonly subscription: SubscriptionState,
    private readonly atProvider: SubscriptionAtProvider,
  ) {}

  async paused(event: BillingEvent): Promise<string> {
    const { pause, access, provider, policy } = this.subscription;
    if (pause.isStale(event)) return 'ignored: older than the current pause state';
    if (access.ended) return 'ignored: access has ended';
    // A state it already has changes nothing: catch-up reconciles Recurly by state, under an id of its
    // own, so the webhook of the same pause may have come. Histories recorded before paused again.
    if (pause.paused && patched(heldStateIsNoOp)) return 'ignored: already paused';
    const current = await this.atProvider.current();
    if (current && current.status !== 'paused') return `ignored: ${provider} says the subscription is ${current.status}, not paused`;
    const customerId = await this.atProvider.customer();
    if (customerId === undefined) return 'ignored: the customer is unknown';
    // Absent in policies made before the setting: paused meant no access by default.
    const keepsAccess = policy.pausedMeansNoAccess === false;
    await pauseAccount({ provider, customerId, reason: event.type, eventId: event.id, access: keepsAccess });
    pause.pausedBy(event);
    return keepsAccess ? 'paused: the account keeps access' : 'paused: no access until resumed';
  }

  async resumed(event: BillingEvent): Promise<string> {
    const { pause, access, provider } = this.subscription;
    if (pause.isStale(event)) return 'ignored: older than the current pause state';
    if (access.ended) return 'ignored: access has ended';
    if (!pause.paused && patched(heldStateIsNoOp)) return 'ignored: not paused';
    const customerId = await this.atProvider.customer();
    if (customerId === undefined) return 'ignored: the customer is unknown';
    await resumeAccount({ provider, customerId, reason: event.type, eventId: event.id });
    pause.resumedBy(event);
    return 'resumed: the account is active again';
  }
}
