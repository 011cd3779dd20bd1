import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { CancelSubscriptionInput, RetryPaymentInput } from '../../activities/billing';

// Short, fixed intervals so that a test sees Temporal's own retries of one activity within seconds.
const { retryPayment, cancelSubscription } = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '100 milliseconds', backoffCoefficient: 1, maximumAttempts: 5 },
});

export async function retryPaymentWorkflow(input: RetryPaymentInput) {
  return retryPayment(input);
}

export async function cancelSubscriptionWorkflow(input: CancelSubscriptionInput) {
  return cancelSubscription(input);
}
