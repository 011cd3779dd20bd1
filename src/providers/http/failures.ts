import { ApplicationFailure } from '@temporalio/common';
import { failureTypes } from '../../core/failures';

/**
 * How a provider's HTTP answer becomes a Temporal failure, the same for every provider:
 * a request the provider refused (4xx other than 409/429) fails for good, because sending it
 * again cannot succeed; throttling, conflicts, server errors, timeouts and broken connections
 * are retried, after the delay the provider asked for when it named one.
 */

export interface HttpErrorAnswer {
  /** The provider as people name it, e.g. `GoCardless`. */
  provider: string;
  /** Method and path, e.g. `GET /mandates/MD123`: says which call failed without any secret. */
  operation: string;
  status: number;
  headers: Headers;
  /** The provider's own error code, read from its error envelope; becomes the failure's type. */
  errorType?: string;
  /** The provider's own explanation, read from its error envelope. */
  errorMessage?: string;
  /** Plain JSON from the envelope worth keeping in the workflow history (request id, field errors). */
  details?: Record<string, unknown>;
  /**
   * Overrides the status's default, where the provider's error code says more: GoCardless's 409
   * `idempotent_creation_conflict` will answer every retry the same, unlike a 409 for a request
   * still in progress.
   */
  retryable?: boolean;
}

export function isRetryableStatus(status: number): boolean {
  return status === 409 || status === 429 || status >= 500;
}

export function failureFromErrorAnswer(answer: HttpErrorAnswer): ApplicationFailure {
  const explanation = answer.errorMessage ? `: ${answer.errorMessage}` : '';
  const message = `${answer.provider} ${answer.operation} answered HTTP ${answer.status}${explanation}`;
  const type = answer.errorType ?? `http_${answer.status}`;
  const details = [{ provider: answer.provider, status: answer.status, ...answer.details }];
  if (!(answer.retryable ?? isRetryableStatus(answer.status))) {
    return ApplicationFailure.create({ message, type, nonRetryable: true, details });
  }
  return ApplicationFailure.create({
    message,
    type,
    nonRetryable: false,
    details,
    nextRetryDelay: retryDelayMs(answer.headers, answer.status),
  });
}

/** A request that got no HTTP answer: the provider may or may not have acted, so it is retried. */
export function failureFromRequestError(request: {
  provider: string;
  operation: string;
  error: unknown;
  timeoutMs: number;
}): ApplicationFailure {
  const { provider, operation, error, timeoutMs } = request;
  const cause = error instanceof Error ? error : undefined;
  if (cause?.name === 'TimeoutError') return timeoutFailure({ provider, operation, timeoutMs, cause });
  return ApplicationFailure.create({
    message: `${provider} ${operation} could not be sent: ${describeNetworkError(error)}`,
    type: failureTypes.networkError,
    nonRetryable: false,
    cause,
  });
}

/** No answer within the call's deadline: the provider may or may not have acted, so it is retried. */
export function timeoutFailure(request: { provider: string; operation: string; timeoutMs: number; cause?: Error }): ApplicationFailure {
  return ApplicationFailure.create({
    message: `${request.provider} ${request.operation} got no answer within ${request.timeoutMs} ms`,
    type: failureTypes.timeout,
    nonRetryable: false,
    cause: request.cause,
  });
}

/**
 * The provider refused the payment itself (card declined, insufficient funds). Sending the same
 * request again cannot change that, so it fails for good, as `payment_declined` whatever the
 * provider's own code, which stays in `details`.
 */
export function paymentDeclinedFailure(answer: {
  provider: string;
  operation: string;
  declineCode: string;
  declineMessage?: string;
  details?: Record<string, unknown>;
}): ApplicationFailure {
  const explanation = answer.declineMessage ? `: ${answer.declineMessage}` : '';
  return ApplicationFailure.create({
    message: `${answer.provider} ${answer.operation} was declined (${answer.declineCode})${explanation}`,
    type: failureTypes.paymentDeclined,
    nonRetryable: true,
    details: [{ provider: answer.provider, declineCode: answer.declineCode, declineMessage: answer.declineMessage ?? null, ...answer.details }],
  });
}

/**
 * A 2xx answer whose body is not what the API documents. Garbage instead of JSON (a proxy's
 * page, a cut connection) may pass; JSON of the wrong shape will not change on a retry.
 */
export function failureFromMalformedAnswer(provider: string, operation: string, problem: string, retryable: boolean): ApplicationFailure {
  return ApplicationFailure.create({
    message: `${provider} ${operation} answered with an unexpected body: ${problem}`,
    type: failureTypes.malformedResponse,
    nonRetryable: !retryable,
  });
}

/**
 * The wait the provider asked for, in milliseconds: `Retry-After` (seconds or an HTTP date), else
 * on a 429 `RateLimit-Reset`, which GoCardless sends as an HTTP date and the IETF draft as
 * seconds. (GoCardless sends the rate-limit headers on every answer, so only a 429 means them.)
 */
export function retryDelayMs(headers: Headers, status: number, now: number = Date.now()): number | undefined {
  const names = status === 429 ? ['retry-after', 'ratelimit-reset'] : ['retry-after'];
  for (const name of names) {
    const value = headers.get(name)?.trim();
    if (!value) continue;
    if (/^\d+$/.test(value)) return Number(value) * 1000;
    const at = Date.parse(value);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  return undefined;
}

function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // fetch reports "fetch failed" and keeps the useful part (ECONNREFUSED, a TLS error, …) in `cause`.
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? `${code} (${cause.message})` : cause.message;
  }
  return error.message;
}

/**
 * A server error the provider replayed for a repeated idempotency key (Stripe marks it
 * `Idempotent-Replayed: true`): the first request with the key failed, and every retry with the
 * same key gets that failure again, so retrying this call cannot help. It fails for good, as
 * `idempotency_key_spent`, so the workflow can make a new attempt under a new key.
 */
export function spentKeyFailure(answer: HttpErrorAnswer): ApplicationFailure {
  const explanation = answer.errorMessage ? `: ${answer.errorMessage}` : '';
  return ApplicationFailure.create({
    message: `${answer.provider} ${answer.operation} replayed the HTTP ${answer.status} its idempotency key first got${explanation}; a new attempt needs a new key`,
    type: failureTypes.idempotencyKeySpent,
    nonRetryable: true,
    details: [{ provider: answer.provider, status: answer.status, errorType: answer.errorType ?? null, ...answer.details }],
  });
}
