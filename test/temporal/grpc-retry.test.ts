import { google, temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { isBusyWorkflow, signalRetryOptions } from '../../src/temporal/grpc-retry';

type Status = Parameters<ReturnType<typeof signalRetryOptions>['delayFunction']>[1];
const { ResourceExhaustedCause } = temporal.api.enums.v1;

/** A status as the Temporal server sends it: the cause in `grpc-status-details-bin`, a google.rpc.Status. */
function resourceExhausted(cause: temporal.api.enums.v1.ResourceExhaustedCause | undefined, details = 'workflow operation can not be applied because workflow is closing'): Status {
  const detail = cause === undefined ? [] : [{ type_url: 'type.googleapis.com/temporal.api.errordetails.v1.ResourceExhaustedFailure', value: temporal.api.errordetails.v1.ResourceExhaustedFailure.encode({ cause }).finish() }];
  const encoded = Buffer.from(google.rpc.Status.encode({ code: 8, message: details, details: detail }).finish());
  return metadataStatus(8, details, encoded);
}

function metadataStatus(code: number, details: string, encoded?: Buffer | string): Status {
  const metadata = { get: (key: string) => (key === 'grpc-status-details-bin' && encoded !== undefined ? [encoded] : []) };
  return { code, details, metadata } as unknown as Status;
}

describe('gRPC retries of the Temporal client that signals', () => {
  it('knows a busy workflow by the cause in the status details, not by the message', () => {
    expect(isBusyWorkflow(resourceExhausted(ResourceExhaustedCause.RESOURCE_EXHAUSTED_CAUSE_BUSY_WORKFLOW))).toBe(true);
    expect(isBusyWorkflow(resourceExhausted(ResourceExhaustedCause.RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT, 'namespace rate limit exceeded'))).toBe(false);
    expect(isBusyWorkflow(resourceExhausted(ResourceExhaustedCause.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT))).toBe(false);
    expect(isBusyWorkflow(resourceExhausted(undefined))).toBe(false);
    expect(isBusyWorkflow(metadataStatus(14, 'unavailable'))).toBe(false);
    expect(isBusyWorkflow(metadataStatus(8, 'garbage details', Buffer.from([0xff, 0xff, 0xff])))).toBe(false);
    expect(isBusyWorkflow(metadataStatus(8, 'text details', 'not bytes'))).toBe(false);
  });

  it('tries a busy workflow again within tens of milliseconds and keeps the SDK backoff for rate limits', () => {
    const options = signalRetryOptions();
    const busy = resourceExhausted(ResourceExhaustedCause.RESOURCE_EXHAUSTED_CAUSE_BUSY_WORKFLOW);
    const rateLimited = resourceExhausted(ResourceExhaustedCause.RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT, 'namespace rate limit exceeded');
    for (let sample = 0; sample < 50; sample += 1) {
      expect(options.delayFunction(1, busy)).toBeLessThan(60);
      // The SDK's own: 1.7 × 1 s, ± 20 % jitter.
      expect(options.delayFunction(1, rateLimited)).toBeGreaterThanOrEqual(1360);
      expect(options.delayFunction(1, metadataStatus(14, 'unavailable'))).toBeLessThan(210);
    }
    expect(options.retryableDecider(1, busy)).toBe(true);
    expect(options.retryableDecider(10, busy)).toBe(false);
    // A workflow that stays busy is not tried for ever: nine retries, seconds apart by the last ones.
    const waited = Array.from({ length: 9 }, (_, attempt) => options.delayFunction(attempt + 1, busy)).reduce((sum, ms) => sum + ms, 0);
    expect(waited).toBeGreaterThan(3000);
  });
});
