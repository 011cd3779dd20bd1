import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

/** An activity failure Temporal will not retry: the provider or the store refused for good. */
export type FinalFailure = ActivityFailure & { cause: ApplicationFailure };

/**
 * True for a final failure. Every other failure of an activity is retried by Temporal without
 * end, so a workflow that catches one of these decides what the refusal means and rethrows the rest.
 */
export function isFinalFailure(error: unknown): error is FinalFailure {
  return error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.nonRetryable === true;
}

/** The refusal's own message (the provider's), for outcomes and logs. */
export function failureMessage(error: FinalFailure): string {
  return error.cause.message;
}
