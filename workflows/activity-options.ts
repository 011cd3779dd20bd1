import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';

/**
 * How billflow's workflows call their activities, scheduled or local. No attempt limit: a
 * provider or database that is down is waited out, and what no retry can fix comes back as a
 * non-retryable failure (see `isFinalFailure`).
 */
export const activityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
} as const satisfies ActivityOptions & LocalActivityOptions;
