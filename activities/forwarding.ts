import { activityInfo, getClient } from '@temporalio/activity';
import { deliverEvents, type Delivery } from '../src/temporal/deliver';

/** Time allowed for one forward; a slower Temporal fails the attempt and Temporal retries it. */
const forwardDeadlineMs = 10_000;

/**
 * Signal-with-start from inside Temporal, for the resolver workflow: a workflow cannot
 * signal-with-start itself (a child start followed by an external signal is two steps, with a
 * race when the target closes in between, and would make a years-long entity workflow the child
 * of a short-lived one). The activity goes through the same `deliverEvents` as the receiver; a
 * retried attempt signals again, which the entity workflow's inbox drops by event id.
 */
export function createForwardingActivities() {
  return {
    async forwardBillingEvent(delivery: Delivery): Promise<void> {
      await deliverEvents(getClient(), [delivery], { taskQueue: activityInfo().taskQueue, deadlineMs: forwardDeadlineMs });
    },
  };
}
