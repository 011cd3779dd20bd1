import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Config } from '../config';
import type { DeadLetterInput } from '../core/dead-letters';
import type { Database } from '../store/queryable';
import { DeadLetterStore } from '../store/dead-letter-store';
import { VerificationFailureLog } from '../store/verification-failures';
import type { VerificationError, WebhookRequest } from '../providers/types';
import { startDeadLetterWorkflow } from '../temporal/deliver';
import { ReceiverError } from './errors';
import { withoutSecrets } from './kept-headers';

/** The dead-letter store and verification-failure log a receiver with a database of its own writes to. */
export interface ReceiverDeadLetters {
  store: DeadLetterStore;
  verificationFailures: VerificationFailureLog;
}

/** Both, on `database`, with the retention and cap the config sets. */
export function receiverDeadLetters(database: Database, config: Config): ReceiverDeadLetters {
  return {
    store: new DeadLetterStore(database, { retentionDays: config.deadLetters.retentionDays }),
    verificationFailures: new VerificationFailureLog(database, { kept: config.deadLetters.verificationFailuresKept }),
  };
}

export const sha256 = (body: Buffer) => createHash('sha256').update(body).digest('hex');

/** The delivery as kept in a dead letter: its bytes, and its headers and query without secrets. */
export function recordedDelivery(request: WebhookRequest): NonNullable<DeadLetterInput['delivery']> {
  return { bodyBase64: request.rawBody.toString('base64'), headers: withoutSecrets(request.headers), query: withoutSecrets(request.query), ip: request.ip };
}

/**
 * Keeps a dead letter of a delivery durably, before it is answered: in the store when this
 * receiver has one, else handed to Temporal, whose `deadLetterWorkflow` stores it in the worker's.
 * A store that fails is answered 503, so the provider delivers again.
 */
export async function keepDeadLetter(input: DeadLetterInput, deps: { config: Config; client: Client; deadLetters?: ReceiverDeadLetters }): Promise<void> {
  if (!deps.deadLetters) {
    const key = sha256(Buffer.from(input.delivery?.bodyBase64 ?? '', 'base64')).slice(0, 32);
    await startDeadLetterWorkflow(deps.client, input, `${input.kind}:${key}`, { taskQueue: deps.config.temporal.taskQueue, deadlineMs: deps.config.receiver.signalDeadlineMs });
    return;
  }
  try {
    await deps.deadLetters.store.record(input);
  } catch (error) {
    const refusal = new ReceiverError(503, 'dead-letter store unavailable', { 'Retry-After': String(deps.config.receiver.retryAfterSeconds) });
    refusal.cause = error;
    throw refusal;
  }
}

/**
 * Keeps what may be kept of a delivery that did not verify. Its answer does not wait on the
 * store's health: a failure to keep it is logged, and the refusal goes out as it would anyway.
 */
export async function keepVerificationFailure(
  provider: string,
  request: WebhookRequest,
  error: VerificationError,
  deps: { deadLetters?: ReceiverDeadLetters; log: Logger },
): Promise<void> {
  if (!deps.deadLetters) return;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(withoutSecrets(request.headers))) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  try {
    await deps.deadLetters.verificationFailures.record({
      provider,
      reason: error.reason,
      status: error.status,
      size: request.rawBody.length,
      bodySha256: sha256(request.rawBody),
      headers,
      ip: request.ip,
    });
  } catch (failure) {
    deps.log.warn({ err: failure, provider }, 'could not keep the verification failure');
  }
}
