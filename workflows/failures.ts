import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { failureTypes } from '../src/core/failures';

/** An activity failure Temporal will not retry: the provider or the store refused for good. */
export type FinalFailure = ActivityFailure & { cause: ApplicationFailure };

/**
 * True for a final failure. Every other failure of an activity is retried by Temporal without
 * end, so a workflow that catches one of these decides what the refusal means and rethrows the rest.
 */
export function isFinalFailure(error: unknown): error is FinalFailure {
  return error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.nonRetryable === true;
}

/**
 * A final failure because the idempotency key is spent: its first answer was a server error the
 * provider replays to every repeat (Stripe). Not a refusal of the step: the same step, under a
 * new key, may well succeed.
 */
export function isSpentKeyFailure(error: unknown): error is FinalFailure {
  return isFinalFailure(error) && error.cause.type === failureTypes.idempotencyKeySpent;
}

/**
 * The refusal behind a final failure of an activity or of a local activity: a local activity's
 * non-retryable failure reaches the workflow as the bare `ApplicationFailure`, not wrapped in an
 * `ActivityFailure` (as the mandate workflow's histories show).
 */
export function finalRefusal(error: unknown): ApplicationFailure | undefined {
  if (isFinalFailure(error)) return error.cause;
  return error instanceof ApplicationFailure && error.nonRetryable === true ? error : undefined;
}

/** The refusal's own message (the provider's), for outcomes and logs. */
export function failureMessage(error: FinalFailure): string {
  return error.cause.message;
}
