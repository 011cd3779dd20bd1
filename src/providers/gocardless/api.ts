import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { failureTypes } from '../../core/failures';
import { failureFromErrorAnswer, failureFromMalformedAnswer, failureFromRequestError } from '../http/failures';

/*
 * Plain fetch rather than the official `gocardless-nodejs` SDK, because the SDK (v10):
 * - only talks to the two hard-coded hosts (live or sandbox), so it cannot reach a local
 *   sandbox or a recording proxy through `apiUrl`;
 * - drops the caller's idempotency key on actions (cancel, retry, …): their methods take no
 *   key, and a key passed as a custom header is overwritten by a random one, which would make a
 *   retried activity a second, distinct request;
 * - sends through `got`, which retries GETs on its own and has no timeout by default, hiding
 *   attempts from Temporal's retry policy and its history.
 * The calls below are small enough that typed fetch reads better than working around that.
 */

export const GOCARDLESS_API_VERSION = '2015-07-06';
const PROVIDER = 'GoCardless';

export interface GoCardlessOptions {
  /** `https://api.gocardless.com`, `https://api-sandbox.gocardless.com`, or a local sandbox. */
  apiUrl: string;
  /** Empty when not configured: every call then fails, non-retryable, without being sent. */
  accessToken: string;
  /** Per HTTP call; keep it under the activity's start-to-close timeout. */
  timeoutMs?: number;
}

export interface GoCardlessMandate {
  id: string;
  status: string;
  customerId: string;
}

export interface GoCardlessPayment {
  id: string;
  status: string;
  mandateId: string;
  subscriptionId: string | null;
}

export interface GoCardlessSubscription {
  id: string;
  /** `pending_customer_approval`, `customer_approval_denied`, `active`, `finished`, `cancelled`, `paused`. */
  status: string;
  mandateId: string;
  /** The charge date (`YYYY-MM-DD`) of the next payment, when one is scheduled. */
  nextChargeDate: string | null;
}

export interface GoCardlessAction {
  /** Derive it from the workflow id and the step, so a retried activity repeats the same request. */
  idempotencyKey: string;
}

const mandateEnvelope = z.object({
  mandates: z.object({ id: z.string(), status: z.string(), links: z.object({ customer: z.string() }) }),
});

const paymentEnvelope = z.object({
  payments: z.object({
    id: z.string(),
    status: z.string(),
    links: z.object({ mandate: z.string(), subscription: z.string().optional() }),
  }),
});

const subscriptionEnvelope = z.object({
  subscriptions: z.object({
    id: z.string(),
    status: z.string(),
    links: z.object({ mandate: z.string() }),
    upcoming_payments: z.array(z.object({ charge_date: z.string() })).optional(),
  }),
});

const errorEnvelope = z.object({
  error: z.object({
    type: z.string().optional(),
    message: z.string().optional(),
    request_id: z.string().optional(),
    errors: z.array(z.object({ reason: z.string().optional(), message: z.string().optional(), field: z.string().optional() })).optional(),
  }),
});

export function createGoCardlessActivities(options: GoCardlessOptions) {
  const call = goCardlessCaller(options);
  return {
    async getGoCardlessMandate(mandateId: string): Promise<GoCardlessMandate> {
      return toMandate(await call('GET', `/mandates/${encodeURIComponent(mandateId)}`, mandateEnvelope));
    },
    async cancelGoCardlessMandate(input: { mandateId: string } & GoCardlessAction): Promise<GoCardlessMandate> {
      const path = `/mandates/${encodeURIComponent(input.mandateId)}/actions/cancel`;
      return toMandate(await call('POST', path, mandateEnvelope, input.idempotencyKey));
    },
    async getGoCardlessPayment(paymentId: string): Promise<GoCardlessPayment> {
      return toPayment(await call('GET', `/payments/${encodeURIComponent(paymentId)}`, paymentEnvelope));
    },
    async retryGoCardlessPayment(input: { paymentId: string } & GoCardlessAction): Promise<GoCardlessPayment> {
      const path = `/payments/${encodeURIComponent(input.paymentId)}/actions/retry`;
      return toPayment(await call('POST', path, paymentEnvelope, input.idempotencyKey));
    },
    async getGoCardlessSubscription(subscriptionId: string): Promise<GoCardlessSubscription> {
      return toSubscription(await call('GET', `/subscriptions/${encodeURIComponent(subscriptionId)}`, subscriptionEnvelope));
    },
    /** No further payments are created; ones already submitted still complete. */
    async cancelGoCardlessSubscription(input: { subscriptionId: string } & GoCardlessAction): Promise<GoCardlessSubscription> {
      const path = `/subscriptions/${encodeURIComponent(input.subscriptionId)}/actions/cancel`;
      return toSubscription(await call('POST', path, subscriptionEnvelope, input.idempotencyKey));
    },
  };
}

function toSubscription({ subscriptions }: z.infer<typeof subscriptionEnvelope>): GoCardlessSubscription {
  return {
    id: subscriptions.id,
    status: subscriptions.status,
    mandateId: subscriptions.links.mandate,
    nextChargeDate: subscriptions.upcoming_payments?.[0]?.charge_date ?? null,
  };
}

function toMandate({ mandates }: z.infer<typeof mandateEnvelope>): GoCardlessMandate {
  return { id: mandates.id, status: mandates.status, customerId: mandates.links.customer };
}

function toPayment({ payments }: z.infer<typeof paymentEnvelope>): GoCardlessPayment {
  return {
    id: payments.id,
    status: payments.status,
    mandateId: payments.links.mandate,
    subscriptionId: payments.links.subscription ?? null,
  };
}

function goCardlessCaller({ apiUrl, accessToken, timeoutMs = 10_000 }: GoCardlessOptions) {
  const base = apiUrl.replace(/\/+$/, '');
  return async function call<Schema extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: Schema,
    idempotencyKey?: string,
  ): Promise<z.infer<Schema>> {
    const operation = `${method} ${path}`;
    if (!accessToken) {
      throw ApplicationFailure.nonRetryable(`${PROVIDER} ${operation}: no access token is configured (GOCARDLESS_ACCESS_TOKEN)`, failureTypes.missingConfiguration);
    }
    const headers: Record<string, string> = {
      Accept: 'application/json',
      Authorization: `Bearer ${accessToken}`,
      'GoCardless-Version': GOCARDLESS_API_VERSION,
    };
    let body: string | undefined;
    if (method === 'POST') {
      if (!idempotencyKey) throw ApplicationFailure.nonRetryable(`${PROVIDER} ${operation} needs an idempotency key`, failureTypes.missingIdempotencyKey);
      headers['Idempotency-Key'] = idempotencyKey;
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify({ data: {} });
    }

    let response: Response;
    let text: string;
    try {
      // The signal bounds the whole exchange, body included. GoCardless never redirects API
      // calls, so a redirect means a wrong apiUrl: it surfaces as a 3xx instead of being followed.
      response = await fetch(`${base}${path}`, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      text = await response.text();
    } catch (error) {
      throw failureFromRequestError({ provider: PROVIDER, operation, error, timeoutMs });
    }

    const json = parseJson(text);
    if (!response.ok) {
      const envelope = errorEnvelope.safeParse(json);
      const error = envelope.success ? envelope.data.error : undefined;
      throw failureFromErrorAnswer({
        provider: PROVIDER,
        operation,
        status: response.status,
        headers: response.headers,
        errorType: error?.errors?.find((entry) => entry.reason)?.reason ?? error?.type,
        errorMessage: error?.message,
        details: error && {
          errorType: error.type ?? null,
          requestId: error.request_id ?? response.headers.get('x-request-id'),
          errors: error.errors ?? [],
        },
      });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const notJson = json === undefined;
      throw failureFromMalformedAnswer(PROVIDER, operation, notJson ? 'not JSON' : parsed.error.message, notJson);
    }
    return parsed.data;
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
