import { defineQuery, patched, setHandler } from '@temporalio/workflow';
import type { BillingEvent, ProviderName } from '../../src/core/events';
import { continueAsNewWith } from '../building-blocks';
import { EventInbox, type InboxCarry } from '../event-inbox';
import { defaultSubscriptionPolicy, type SubscriptionPolicy } from './policy';
import { SubscriptionProcesses } from './processes';
import { ShownSubscription } from './shown';
import type { SubscriptionSnapshot } from './snapshot';
import { SubscriptionState, type SubscriptionView } from './state';

export interface SubscriptionWorkflowInput {
  provider: ProviderName;
  subscriptionId: string;
  /** Dunning schedule and the rest; billflow's defaults (3, 5, 7 days) when absent. */
  policy?: SubscriptionPolicy;
  /** Set only by continue-as-new: the previous run's state (pending timers included) and inbox. */
  carried?: { subscription: SubscriptionSnapshot; inbox: InboxCarry };
}

export const subscriptionStateQuery = defineQuery<SubscriptionView>('subscriptionState');

/**
 * One workflow per subscription, alive as long as the subscription, driven by canonical event
 * kinds so it serves every provider: retries failed payments on a schedule and suspends the
 * account when the schedule runs out (dunning), resets usage once per billing period, and ends
 * access when a cancelled subscription reaches its period end or expires.
 */
export async function subscriptionWorkflow(input: SubscriptionWorkflowInput): Promise<void> {
  const policy = input.policy ?? defaultSubscriptionPolicy;
  const subscription = input.carried
    ? new SubscriptionState(input.carried.subscription, policy)
    : SubscriptionState.fresh(input.provider, input.subscriptionId, policy);
  const inbox = new EventInbox(input.carried?.inbox, { maxSignalsPerRun: policy.maxSignalsPerRun });
  inbox.listen();
  setHandler(subscriptionStateQuery, () => subscription.view(inbox.duplicatesDropped));
  const processes = new SubscriptionProcesses(subscription);
  // A refused event is forgotten by the inbox, so that its replay (once the cause is fixed) is applied.
  const apply = (event: BillingEvent) => inbox.inTraceOf(event, () => processes.apply(event, (eventId) => inbox.forget(eventId)));
  const shown = new ShownSubscription(input.provider, inbox.hasPending());
  shown.update(subscription);

  while (!inbox.shouldContinueAsNew()) {
    await inbox.pace();
    const queued = inbox.take();
    if (queued) {
      await apply(queued);
    } else {
      const due = subscription.nextDue();
      if (due && due.at <= Date.now()) {
        await processes.runDue(due);
      } else {
        // Histories recorded before keeping one timer per due time started one per wait, and replay that way.
        const event = patched('one-timer-per-due-time') ? await inbox.nextBy(due?.at) : await inbox.next(due ? due.at - Date.now() : undefined);
        if (event) await apply(event);
      }
    }
    shown.update(subscription);
  }

  await continueAsNewWith<typeof subscriptionWorkflow>({
    provider: input.provider,
    subscriptionId: input.subscriptionId,
    policy,
    carried: { subscription: subscription.handOver(inbox.duplicatesDropped), inbox: inbox.carry() },
  });
}
