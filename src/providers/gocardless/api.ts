import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { failureTypes } from '../../core/failures';
import { failureFromErrorAnswer, failureFromMalformedAnswer } from '../http/failures';
import { missingConfiguration, parseJson, segment, sendProviderRequest } from '../http/request';

/*
 * Plain fetch rather than the official `gocardless-nodejs` SDK, because the SDK (v10):
 * - only talks to the two hard-coded hosts (live or sandbox), so it cannot reach a local
 *   sandbox or a recording proxy through `apiUrl`;
 * - sends a random idempotency key on actions (cancel, retry, …), overwriting the caller's. That
 *   costs nothing there — GoCardless honours keys on creations only, so an action sent again meets
 *   the state the first left, which the activities below read — but it shows the key is not
 *   what makes an action safe to repeat;
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
  /** `YYYY-MM-DD` it is (or was) collected on, when GoCardless says. */
  chargeDate?: string;
}

export interface GoCardlessSubscription {
  id: string;
  /** `pending_customer_approval`, `customer_approval_denied`, `active`, `finished`, `cancelled`, `paused`. */
  status: string;
  mandateId: string;
  /** The charge date (`YYYY-MM-DD`) of the next payment, when one is scheduled. */
  nextChargeDate: string | null;
  /** How often it charges: every `interval` `intervalUnit`s (`weekly`, `monthly`, `yearly`). */
  intervalUnit?: string;
  interval?: number;
}

export interface GoCardlessAction {
  /** Derive it from the workflow id and the step, so a retried activity repeats the same request. */
  idempotencyKey: string;
}

const mandateEnvelope = z.object({
  mandates: z.object({ id: z.string(), status: z.string(), links: z.object({ customer: z.string() }) }),
});

const paymentFields = z.object({
  id: z.string(),
  status: z.string(),
  charge_date: z.string().nullish(),
  links: z.object({ mandate: z.string(), subscription: z.string().optional() }),
});
const paymentEnvelope = z.object({ payments: paymentFields });
const paymentListEnvelope = z.object({ payments: z.array(paymentFields) });

const subscriptionEnvelope = z.object({
  subscriptions: z.object({
    id: z.string(),
    status: z.string(),
    links: z.object({ mandate: z.string() }),
    upcoming_payments: z.array(z.object({ charge_date: z.string() })).optional(),
    interval_unit: z.string().optional(),
    interval: z.number().int().positive().optional(),
  }),
});

const errorEnvelope = z.object({
  error: z.object({
    type: z.string().optional(),
    message: z.string().optional(),
    request_id: z.string().optional(),
    errors: z
      .array(
        z.object({
          reason: z.string().optional(),
          message: z.string().optional(),
          field: z.string().optional(),
          links: z.object({ conflicting_resource_id: z.string().optional() }).optional(),
        }),
      )
      .optional(),
  }),
});

export interface GoCardlessPaymentCreation extends GoCardlessAction {
  mandateId: string;
  /** In the currency's smallest unit (pence, cents). */
  amount: number;
  /** ISO 4217, e.g. `GBP`. */
  currency: string;
  /** `YYYY-MM-DD`; the mandate's next possible date when absent. */
  chargeDate?: string;
  description?: string;
  metadata?: Record<string, string>;
}

export function createGoCardlessActivities(options: GoCardlessOptions) {
  const call = goCardlessCaller(options);
  const getMandate = async (mandateId: string) => toMandate(await call('GET', `/mandates/${segment(mandateId)}`, mandateEnvelope));
  const getPayment = async (paymentId: string) => toPayment(await call('GET', `/payments/${segment(paymentId)}`, paymentEnvelope));
  const getSubscription = async (subscriptionId: string) =>
    toSubscription(await call('GET', `/subscriptions/${segment(subscriptionId)}`, subscriptionEnvelope));
  return {
    getGoCardlessMandate: getMandate,
    /**
     * GoCardless takes no idempotency key on actions: a cancel sent again (this activity retried after
     * an answer was lost) is refused as `cancellation_failed`, which is success when the mandate is
     * cancelled now.
     */
    async cancelGoCardlessMandate(input: { mandateId: string } & GoCardlessAction): Promise<GoCardlessMandate> {
      const path = `/mandates/${segment(input.mandateId)}/actions/cancel`;
      return unlessAlready(call('POST', path, mandateEnvelope, input.idempotencyKey).then(toMandate), 'cancellation_failed', async () => {
        const mandate = await getMandate(input.mandateId);
        return mandate.status === 'cancelled' ? mandate : undefined;
      });
    },
    getGoCardlessPayment: getPayment,
    /**
     * Creates a payment on a mandate. Creations are where GoCardless's idempotency applies: the same
     * key again answers 409 `idempotent_creation_conflict`, and the payment it names is read instead.
     */
    async createGoCardlessPayment(input: GoCardlessPaymentCreation): Promise<GoCardlessPayment> {
      const payments = {
        amount: input.amount,
        currency: input.currency,
        ...(input.chargeDate ? { charge_date: input.chargeDate } : {}),
        ...(input.description ? { description: input.description } : {}),
        ...(input.metadata ? { metadata: input.metadata } : {}),
        links: { mandate: input.mandateId },
      };
      return toPayment(await call('POST', '/payments', paymentEnvelope, input.idempotencyKey, { payments }));
    },
    /**
     * Only a failed payment can be retried. Refused as `retry_failed` because it is no longer failed
     * (this activity's earlier attempt, or GoCardless's own retry, resubmitted it), answers the
     * payment as it is; refused for another reason (three retries made, mandate unusable), fails.
     */
    async retryGoCardlessPayment(input: { paymentId: string } & GoCardlessAction): Promise<GoCardlessPayment> {
      const path = `/payments/${segment(input.paymentId)}/actions/retry`;
      return unlessAlready(call('POST', path, paymentEnvelope, input.idempotencyKey).then(toPayment), 'retry_failed', async () => {
        const payment = await getPayment(input.paymentId);
        return payment.status === 'failed' ? undefined : payment;
      });
    },
    getGoCardlessSubscription: getSubscription,
    /** The subscription's latest payments, the latest charge date first (one page of `limit`). */
    async listGoCardlessSubscriptionPayments(input: { subscriptionId: string; limit?: number }): Promise<GoCardlessPayment[]> {
      const query = new URLSearchParams({ subscription: input.subscriptionId, sort_field: 'charge_date', sort_direction: 'desc', limit: String(input.limit ?? 20) });
      const { payments } = await call('GET', `/payments?${query.toString()}`, paymentListEnvelope);
      return payments.map((payment) => toPayment({ payments: payment }));
    },
    /** No further payments are created; ones already submitted still complete. Sent again, as the mandate's cancel. */
    async cancelGoCardlessSubscription(input: { subscriptionId: string } & GoCardlessAction): Promise<GoCardlessSubscription> {
      const path = `/subscriptions/${segment(input.subscriptionId)}/actions/cancel`;
      return unlessAlready(call('POST', path, subscriptionEnvelope, input.idempotencyKey).then(toSubscription), 'cancellation_failed', async () => {
        const subscription = await getSubscription(input.subscriptionId);
        return subscription.status === 'cancelled' ? subscription : undefined;
      });
    },
  };
}

/**
 * An action GoCardless refused with `reason`, answered by `current` when what it asked for holds
 * already (the resource as it is now); otherwise the refusal stands.
 */
async function unlessAlready<T>(action: Promise<T>, reason: string, current: () => Promise<T | undefined>): Promise<T> {
  try {
    return await action;
  } catch (error) {
    if (!(error instanceof ApplicationFailure) || error.type !== reason) throw error;
    const already = await current();
    if (already === undefined) throw error;
    return already;
  }
}

function toSubscription({ subscriptions }: z.infer<typeof subscriptionEnvelope>): GoCardlessSubscription {
  return {
    id: subscriptions.id,
    status: subscriptions.status,
    mandateId: subscriptions.links.mandate,
    nextChargeDate: subscriptions.upcoming_payments?.[0]?.charge_date ?? null,
    ...(subscriptions.interval_unit ? { intervalUnit: subscriptions.interval_unit } : {}),
    ...(subscriptions.interval ? { interval: subscriptions.interval } : {}),
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
    ...(payments.charge_date ? { chargeDate: payments.charge_date } : {}),
  };
}

/** One authenticated, versioned call to the GoCardless API, its answer checked against `schema`. */
export function goCardlessCaller({ apiUrl, accessToken, timeoutMs = 10_000 }: GoCardlessOptions) {
  const base = apiUrl.replace(/\/+$/, '');
  return async function call<Schema extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: Schema,
    idempotencyKey?: string,
    body: Record<string, unknown> = { data: {} },
  ): Promise<z.infer<Schema>> {
    const operation = `${method} ${path}`;
    if (!accessToken) {
      throw missingConfiguration(PROVIDER, operation, 'the access token (GOCARDLESS_ACCESS_TOKEN)');
    }
    const headers: Record<string, string> = {
      Accept: 'application/json',
      Authorization: `Bearer ${accessToken}`,
      'GoCardless-Version': GOCARDLESS_API_VERSION,
    };
    if (method === 'POST') {
      // Sent on every POST, as gocardless-nodejs does; only creations honour it.
      if (!idempotencyKey) throw ApplicationFailure.nonRetryable(`${PROVIDER} ${operation} needs an idempotency key`, failureTypes.missingIdempotencyKey);
      headers['Idempotency-Key'] = idempotencyKey;
      headers['Content-Type'] = 'application/json';
    }

    const answer = await sendProviderRequest({
      provider: PROVIDER,
      operation,
      method,
      url: `${base}${path}`,
      headers,
      body: method === 'POST' ? JSON.stringify(body) : undefined,
      timeoutMs,
    });
    const json = parseJson(answer.text);
    if (!answer.ok) {
      const envelope = errorEnvelope.safeParse(json);
      const error = envelope.success ? envelope.data.error : undefined;
      const reason = error?.errors?.find((entry) => entry.reason)?.reason;
      if (answer.status === 409 && reason === 'idempotent_creation_conflict') {
        // What the key created first: read it, as gocardless-nodejs does (unless told to raise).
        const existing = error?.errors?.find((entry) => entry.reason === reason)?.links?.conflicting_resource_id;
        const collection = path.split('/')[1];
        if (method === 'POST' && existing && collection) return call('GET', `/${collection}/${segment(existing)}`, schema);
      }
      throw failureFromErrorAnswer({
        provider: PROVIDER,
        operation,
        status: answer.status,
        headers: answer.headers,
        errorType: reason ?? error?.type,
        errorMessage: error?.message,
        details: error && {
          errorType: error.type ?? null,
          requestId: error.request_id ?? answer.headers.get('x-request-id'),
          errors: error.errors ?? [],
        },
        // The same key will meet the same conflict: only reading what it created can help.
        ...(reason === 'idempotent_creation_conflict' ? { retryable: false } : {}),
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
