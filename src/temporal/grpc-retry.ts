import { defaultGrpcRetryOptions, makeGrpcRetryInterceptor, type BackoffOptions } from '@temporalio/client';
import { google, temporal } from '@temporalio/proto';

type GrpcStatus = Parameters<BackoffOptions['initialIntervalMs']>[0];

const RESOURCE_EXHAUSTED = 8;
const BUSY_WORKFLOW = temporal.api.enums.v1.ResourceExhaustedCause.RESOURCE_EXHAUSTED_CAUSE_BUSY_WORKFLOW;
const RESOURCE_EXHAUSTED_FAILURE = 'temporal.api.errordetails.v1.ResourceExhaustedFailure';

/** First retry after a busy workflow: about one workflow task, the time the workflow needs to close or continue as new. */
export const busyWorkflowRetryMs = 25;

/**
 * True for a `RESOURCE_EXHAUSTED` whose cause is `BUSY_WORKFLOW`: one workflow cannot take the call
 * right now — most often "workflow is closing", answered to a signal that arrives while the run's
 * last workflow task continues it as new — as opposed to a namespace or cluster rate limit.
 */
export function isBusyWorkflow(status: GrpcStatus): boolean {
  if (status.code !== RESOURCE_EXHAUSTED) return false;
  const encoded = status.metadata?.get('grpc-status-details-bin')[0];
  if (!encoded || typeof encoded === 'string') return false;
  try {
    return google.rpc.Status.decode(encoded).details.some(
      (detail) => detail.type_url?.endsWith(`/${RESOURCE_EXHAUSTED_FAILURE}`) && detail.value && temporal.api.errordetails.v1.ResourceExhaustedFailure.decode(detail.value).cause === BUSY_WORKFLOW,
    );
  } catch {
    // Details it cannot read: the SDK's default backoff applies.
    return false;
  }
}

/**
 * The SDK's gRPC retries, except that a busy workflow is tried again after tens of milliseconds
 * instead of the 1.7 s the SDK waits after any `RESOURCE_EXHAUSTED`. The Temporal server answers a
 * signal "workflow is closing" while the run's last task hands over to a new run, and expects the
 * client to retry; with the SDK's backoff, each hand-over cost a webhook delivering to that
 * workflow 1.7 s or more of its signal deadline. Rate limits keep the SDK's longer backoff.
 */
export function signalRetryOptions() {
  const sdkDefault = (status: GrpcStatus) => (status.code === RESOURCE_EXHAUSTED ? 1000 : 100);
  return defaultGrpcRetryOptions({ initialIntervalMs: (status) => (isBusyWorkflow(status) ? busyWorkflowRetryMs : sdkDefault(status)) });
}

/** `signalRetryOptions` as the `interceptors` of a Client's `Connection`. */
export function signalRetryInterceptors() {
  return [makeGrpcRetryInterceptor(signalRetryOptions())];
}
