import type { Duration } from '@temporalio/common';
import type { WorkflowRouteEntry } from 'billflow';
import type { WinBackInput } from './workflow';

/**
 * The win-back workflow's route, passed to the receiver: cancellations and reactivations of a
 * subscription go to one `winBackWorkflow` per subscription.
 */
export function winBackRoute(options: { offerDelay?: Duration } = {}): WorkflowRouteEntry {
  return {
    kinds: ['subscription.cancelled', 'subscription.reactivated'],
    workflowType: 'winBackWorkflow',
    workflowId: (event) => event.references.subscription && `${event.provider}:win-back:${event.references.subscription}`,
    args: (event): [WinBackInput] => [
      { provider: event.provider, subscriptionId: event.references.subscription as string, ...(options.offerDelay ? { offerDelay: options.offerDelay } : {}) },
    ],
  };
}
