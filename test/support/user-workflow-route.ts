import path from 'node:path';
import type { WorkflowRouteEntry } from '../../src/workflow-routes';
import type { CancellationNoticeInput } from './user-workflows/cancellation-notice';

/** The worker's `workflowsPath` for billflow's workflows plus the user's. */
export const userWorkflowsPath = path.resolve(__dirname, 'user-workflows');

/** The route the user passes to the receiver: cancellations and reactivations of a subscription. */
export const cancellationNoticeRoute: WorkflowRouteEntry = {
  kinds: ['subscription.cancelled', 'subscription.reactivated'],
  workflowType: 'cancellationNoticeWorkflow',
  workflowId: (event) => event.references.subscription && `${event.provider}:notice:${event.references.subscription}`,
  args: (event): [CancellationNoticeInput] => [{ provider: event.provider, subscriptionId: event.references.subscription as string }],
};
