/**
 * A workflow of your own on billflow's events: "send a win-back offer 7 days after a
 * cancellation". A reactivation before then cancels the offer; a redelivered cancellation never
 * sends a second one. Routed by its entry in `../routes.ts` (see `route.ts`), its activity in
 * `activities.ts`, exported next to billflow's workflows from `../workflows.ts`.
 */
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import { defineQuery, log, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import { continueAsNewWith, EventInbox, isDue, isOlderThan, msUntil, type Activities, type BillingEvent, type InboxCarry, type ProviderName } from 'billflow/workflow';
import type { WinBackActivities } from './activities';

export interface WinBackInput {
  provider: ProviderName;
  subscriptionId: string;
  /** Time between the cancellation and the offer: `'7 days'` when absent. */
  offerDelay?: Duration;
  /** Set only by continue-as-new. */
  carried?: { state: WinBackState; inbox: InboxCarry };
}

export interface WinBackState {
  /** When the offer goes out (epoch ms): absolute, so it survives continue-as-new. */
  offerDueAt?: number;
  /** The cancellation the pending offer answers. */
  cancellationId?: string;
  /** occurredAt of the last cancellation/reactivation applied: older events are late. */
  changedAt?: string;
  offersSent: number;
}

export const winBackStateQuery = defineQuery<WinBackState>('winBackState');

const { recordWinBackOffer } = proxyActivities<WinBackActivities>({ startToCloseTimeout: '1 minute' });
// billflow's own activities are there for your workflows too, e.g. to read the subscription.
const { getSubscription } = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds' });

export async function winBackWorkflow(input: WinBackInput): Promise<void> {
  const state: WinBackState = input.carried?.state ?? { offersSent: 0 };
  const inbox = new EventInbox(input.carried?.inbox);
  inbox.listen();
  setHandler(winBackStateQuery, () => state);

  while (!inbox.shouldContinueAsNew()) {
    const event = await inbox.next(msUntil(state.offerDueAt));
    if (event) apply(event, state, msToNumber(input.offerDelay ?? '7 days'));
    else if (isDue(state.offerDueAt)) await sendOffer(input, state);
  }
  await continueAsNewWith<typeof winBackWorkflow>({ ...input, carried: { state, inbox: inbox.carry() } });
}

function apply(event: BillingEvent, state: WinBackState, delayMs: number): void {
  if (isOlderThan(event, state.changedAt)) return log.info('Late event ignored', { eventId: event.id });
  state.changedAt = event.occurredAt;
  if (event.kind === 'subscription.cancelled') {
    state.offerDueAt = Date.now() + delayMs;
    state.cancellationId = event.id;
  } else if (event.kind === 'subscription.reactivated') {
    state.offerDueAt = undefined;
    state.cancellationId = undefined;
  }
}

async function sendOffer(input: WinBackInput, state: WinBackState): Promise<void> {
  const subscription = await getSubscription({ provider: input.provider, subscriptionId: input.subscriptionId });
  await recordWinBackOffer({
    provider: input.provider,
    subscriptionId: input.subscriptionId,
    customerId: subscription.customerId,
    // One offer per cancellation, however often the activity is retried.
    idempotencyKey: `${workflowInfo().workflowId}:offer:${state.cancellationId}`,
  });
  state.offersSent += 1;
  state.offerDueAt = undefined;
}
