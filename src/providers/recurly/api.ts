import { z } from 'zod';
import { failureFromErrorAnswer, failureFromMalformedAnswer, paymentDeclinedFailure } from '../http/failures';
import { invalidInput, missingConfiguration, parseJson, segment, sendProviderRequest } from '../http/request';

/*
 * Plain fetch rather than the official `recurly` SDK (v4), because the SDK:
 * - builds every URL as `https://` + one of two hard-coded hosts (`region: 'us' | 'eu'`), so
 *   RECURLY_API_URL, a local sandbox or a recording proxy can only be reached by writing a
 *   custom HttpAdapter that rewrites each URL — the HTTP layer written by hand anyway;
 * - its default adapter resends a request on ECONNRESET by itself and defaults to a 60 s
 *   timeout, hiding attempts from Temporal's retry policy and its history.
 * It does take an Idempotency-Key through `options.headers`, but the eight calls below are small
 * enough that typed fetch reads better than an adapter around the SDK.
 */

export const RECURLY_API_VERSION = 'v2021-02-25';
const PROVIDER = 'Recurly';

export interface RecurlyOptions {
  /** `https://v3.recurly.com`, `https://v3.eu.recurly.com`, or a local sandbox. */
  apiUrl: string;
  /** Private API key; empty when not configured: every call then fails, non-retryable, unsent. */
  apiKey: string;
  /** Per HTTP call; keep it under the activity's start-to-close timeout. */
  timeoutMs?: number;
}

/**
 * Recurly v3 names a record in a path by its own id (`e28zov4fw0v2`) or by a prefixed natural key:
 * `code-<account code>`, `uuid-<subscription or transaction uuid>`, `number-<invoice number>`
 * (recurly-client-node documents each `…Id` parameter so). A bare uuid or number is not found.
 * Webhooks name records by their natural keys, so these build the path from what they carry: a
 * uuid (32 hexadecimal characters) gets `uuid-`, an invoice number (digits) `number-`, an account
 * code always `code-`; a key already prefixed, or Recurly's own id, is passed as it is.
 */
export const recurlyPathIds = {
  account: (code: string): string => (hasPrefix(code) ? code : `code-${code}`),
  subscription: (uuidOrId: string): string => (recurlyUuidPattern.test(uuidOrId) ? `uuid-${uuidOrId}` : uuidOrId),
  transaction: (uuidOrId: string): string => (recurlyUuidPattern.test(uuidOrId) ? `uuid-${uuidOrId}` : uuidOrId),
  invoice: (numberOrId: string): string => (/^\d+$/.test(numberOrId) ? `number-${numberOrId}` : numberOrId),
};

/** Recurly's uuids: 32 lower-case hexadecimal characters (its own ids are 12 base-36 ones). */
export const recurlyUuidPattern = /^[0-9a-f]{32}$/;

function hasPrefix(id: string): boolean {
  return /^(code|uuid|number)-/.test(id);
}

export interface RecurlyAccount {
  id: string;
  code: string;
  state: string;
}

export interface RecurlySubscription {
  id: string;
  uuid: string;
  /** `active`, `canceled` (runs to the end of its term), `expired`, `failed`, `future`, `paused`. */
  state: string;
  accountId: string;
  accountCode: string;
  currentPeriodEndsAt: string | null;
}

export interface RecurlyInvoice {
  id: string;
  number: string;
  /** `pending`, `processing`, `past_due`, `paid`, `failed`, `voided`, … */
  state: string;
  accountId: string;
  accountCode: string;
  subscriptionIds: string[];
  balance: number;
}

export interface RecurlyTransaction {
  id: string;
  uuid: string;
  status: string;
  accountCode: string;
  invoiceId: string | null;
  /** The number of the invoice it was an attempt at, as webhooks name invoices. */
  invoiceNumber: string | null;
  subscriptionIds: string[];
}

export interface RecurlyAction {
  /** Derive it from the workflow id and the step; Recurly keeps it for one hour. */
  idempotencyKey: string;
}

const accountMini = z.object({ id: z.string(), code: z.string() });

const accountSchema = z.object({ id: z.string(), code: z.string(), state: z.string() });

const subscriptionSchema = z.object({
  id: z.string(),
  uuid: z.string(),
  state: z.string(),
  account: accountMini,
  current_period_ends_at: z.string().nullish(),
});

const invoiceSchema = z.object({
  id: z.string(),
  number: z.string(),
  state: z.string(),
  account: accountMini,
  subscription_ids: z.array(z.string()).nullish(),
  balance: z.number().nullish(),
});

const transactionSchema = z.object({
  id: z.string(),
  uuid: z.string(),
  status: z.string(),
  account: accountMini,
  invoice: z.object({ id: z.string(), number: z.string().nullish() }).nullish(),
  subscription_ids: z.array(z.string()).nullish(),
});

const errorEnvelope = z.object({
  error: z.object({
    type: z.string().optional(),
    message: z.string().optional(),
    params: z.array(z.object({ param: z.string().optional(), message: z.string().optional() })).optional(),
    transaction_error: z
      .object({ code: z.string().optional(), message: z.string().optional(), category: z.string().optional(), transaction_id: z.string().optional() })
      .nullish(),
  }),
});

export function createRecurlyActivities(options: RecurlyOptions) {
  const call = recurlyCaller(options);
  return {
    /** By account code (`code-` is added) or an id as Recurly takes it. */
    async getRecurlyAccount(accountId: string): Promise<RecurlyAccount> {
      return call('GET', `/accounts/${pathId('account', accountId)}`, accountSchema);
    },
    /** By uuid, as webhooks name subscriptions, or by Recurly's id. */
    async getRecurlySubscription(subscriptionId: string): Promise<RecurlySubscription> {
      return toSubscription(await call('GET', `/subscriptions/${pathId('subscription', subscriptionId)}`, subscriptionSchema));
    },
    /** By invoice number, as webhooks name invoices, or by Recurly's id. */
    async getRecurlyInvoice(invoiceId: string): Promise<RecurlyInvoice> {
      return toInvoice(await call('GET', `/invoices/${pathId('invoice', invoiceId)}`, invoiceSchema));
    },
    /** By uuid, as webhooks name transactions (payments), or by Recurly's id. */
    async getRecurlyTransaction(transactionId: string): Promise<RecurlyTransaction> {
      return toTransaction(await call('GET', `/transactions/${pathId('transaction', transactionId)}`, transactionSchema));
    },
    /** Charges the invoice's balance now with the account's billing info. A decline fails as `payment_declined`. */
    async collectRecurlyInvoice(input: { invoiceId: string } & RecurlyAction): Promise<RecurlyInvoice> {
      return toInvoice(await call('PUT', `/invoices/${pathId('invoice', input.invoiceId)}/collect`, invoiceSchema, input.idempotencyKey));
    },
    /** Stops renewal: the subscription stays `canceled` but usable until its term ends, then expires. */
    async cancelRecurlySubscription(input: { subscriptionId: string } & RecurlyAction): Promise<RecurlySubscription> {
      const path = `/subscriptions/${pathId('subscription', input.subscriptionId)}/cancel`;
      return toSubscription(await call('PUT', path, subscriptionSchema, input.idempotencyKey));
    },
    /** Ends the subscription now (`expired`), refunding nothing unless asked. */
    async terminateRecurlySubscription(
      input: { subscriptionId: string; refund?: 'full' | 'partial' | 'none' } & RecurlyAction,
    ): Promise<RecurlySubscription> {
      const path = `/subscriptions/${pathId('subscription', input.subscriptionId)}?refund=${input.refund ?? 'none'}`;
      return toSubscription(await call('DELETE', path, subscriptionSchema, input.idempotencyKey));
    },
    /** Pauses at the next renewal for the given number of billing cycles. */
    async pauseRecurlySubscription(
      input: { subscriptionId: string; remainingPauseCycles: number } & RecurlyAction,
    ): Promise<RecurlySubscription> {
      if (!Number.isInteger(input.remainingPauseCycles) || input.remainingPauseCycles < 1) {
        throw invalidInput('remainingPauseCycles must be a positive integer');
      }
      const path = `/subscriptions/${pathId('subscription', input.subscriptionId)}/pause`;
      const body = { remaining_pause_cycles: input.remainingPauseCycles };
      return toSubscription(await call('PUT', path, subscriptionSchema, input.idempotencyKey, body));
    },
  };
}

/** Recurly's largest page of a list. */
export const recurlyPageSize = 200;

/** The resources catch-up lists by when they last changed. */
export type RecurlyListed = 'subscriptions' | 'invoices';

/**
 * Every record of a site's list changed at or after `since`, in the order Recurly lists them:
 * `sort=updated_at&order=asc` — ascending only, for Recurly's own reason: in descending order a
 * record updated while the pages are read moves behind the cursor and is never listed, while in
 * ascending order it moves ahead and is listed (again) on a later page. `begin_time` is inclusive.
 * The pages are followed as Recurly's clients follow them: while `has_more`, its `next` path,
 * which carries the cursor and the first request's parameters.
 */
export async function listRecurlyUpdatedSince<Item extends z.ZodType>(
  options: RecurlyOptions,
  resource: RecurlyListed,
  since: Date,
  item: Item,
): Promise<z.infer<Item>[]> {
  const call = recurlyCaller(options);
  const page = z.object({ has_more: z.boolean(), next: z.string().nullish(), data: z.array(item) });
  const query = new URLSearchParams({ limit: String(recurlyPageSize), order: 'asc', sort: 'updated_at', begin_time: since.toISOString() });
  const listed: z.infer<Item>[] = [];
  let path: string | undefined = `/${resource}?${query.toString()}`;
  while (path !== undefined) {
    const answer: z.infer<typeof page> = await call('GET', path, page);
    listed.push(...answer.data);
    if (!answer.has_more) break;
    // The next page is a path on the same API; anything else is not an answer to follow.
    if (!answer.next?.startsWith(`/${resource}?`)) throw failureFromMalformedAnswer(PROVIDER, `GET /${resource}`, `has_more without a next page of /${resource}`, false);
    path = answer.next;
  }
  return listed;
}

/** The path segment naming a record: prefixed as Recurly takes it, then encoded (ids come from webhooks). */
function pathId(kind: keyof typeof recurlyPathIds, id: string): string {
  return segment(id && recurlyPathIds[kind](id));
}

function toSubscription(subscription: z.infer<typeof subscriptionSchema>): RecurlySubscription {
  return {
    id: subscription.id,
    uuid: subscription.uuid,
    state: subscription.state,
    accountId: subscription.account.id,
    accountCode: subscription.account.code,
    currentPeriodEndsAt: subscription.current_period_ends_at ?? null,
  };
}

function toInvoice(invoice: z.infer<typeof invoiceSchema>): RecurlyInvoice {
  return {
    id: invoice.id,
    number: invoice.number,
    state: invoice.state,
    accountId: invoice.account.id,
    accountCode: invoice.account.code,
    subscriptionIds: invoice.subscription_ids ?? [],
    balance: invoice.balance ?? 0,
  };
}

function toTransaction(transaction: z.infer<typeof transactionSchema>): RecurlyTransaction {
  return {
    id: transaction.id,
    uuid: transaction.uuid,
    status: transaction.status,
    accountCode: transaction.account.code,
    invoiceId: transaction.invoice?.id ?? null,
    invoiceNumber: transaction.invoice?.number ?? null,
    subscriptionIds: transaction.subscription_ids ?? [],
  };
}

function recurlyCaller({ apiUrl, apiKey, timeoutMs = 10_000 }: RecurlyOptions) {
  const base = apiUrl.replace(/\/+$/, '');
  return async function call<Schema extends z.ZodType>(
    method: 'GET' | 'PUT' | 'DELETE',
    path: string,
    schema: Schema,
    idempotencyKey?: string,
    body?: Record<string, unknown>,
  ): Promise<z.infer<Schema>> {
    const operation = `${method} ${path.split('?')[0]}`;
    if (!apiKey) throw missingConfiguration(PROVIDER, operation, 'the API key (RECURLY_API_KEY)');
    const headers: Record<string, string> = {
      Accept: `application/vnd.recurly.${RECURLY_API_VERSION}`,
      Authorization: `Basic ${Buffer.from(`${apiKey}:`).toString('base64')}`,
    };
    if (method !== 'GET') {
      if (!idempotencyKey) throw invalidInput(`${PROVIDER} ${operation} needs an idempotency key`);
      if (idempotencyKey.length > 255) throw invalidInput(`${PROVIDER} idempotency keys are at most 255 characters`);
      headers['Idempotency-Key'] = idempotencyKey;
    }
    if (body) headers['Content-Type'] = 'application/json; charset=utf-8';

    const answer = await sendProviderRequest({
      provider: PROVIDER,
      operation,
      method,
      url: `${base}${path}`,
      headers,
      body: body && JSON.stringify(body),
      timeoutMs,
    });
    const json = parseJson(answer.text);
    if (!answer.ok) {
      const envelope = errorEnvelope.safeParse(json);
      const error = envelope.success ? envelope.data.error : undefined;
      const requestId = answer.headers.get('x-request-id');
      // Recurly answers a refused charge with a `transaction` error carrying the gateway's reason.
      if (answer.status === 422 && error?.type === 'transaction') {
        throw paymentDeclinedFailure({
          provider: PROVIDER,
          operation,
          declineCode: error.transaction_error?.code ?? 'declined',
          declineMessage: error.transaction_error?.message ?? error.message,
          details: { transactionId: error.transaction_error?.transaction_id ?? null, category: error.transaction_error?.category ?? null, requestId },
        });
      }
      throw failureFromErrorAnswer({
        provider: PROVIDER,
        operation,
        status: answer.status,
        headers: answer.status === 429 ? withRetryAfter(answer.headers) : answer.headers,
        errorType: error?.type,
        errorMessage: error?.message,
        details: error && { requestId, params: error.params ?? [] },
        // A 422 in every other case, but this one passes: another request on the record, or with the key, was in progress.
        ...(error?.type === 'simultaneous_request' ? { retryable: true } : {}),
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

/**
 * Recurly names the end of a rate-limit window in `X-RateLimit-Reset` (unix seconds) on every
 * answer; on a 429 it is the wait asked for.
 */
function withRetryAfter(headers: Headers): Headers {
  const reset = headers.get('x-ratelimit-reset');
  if (headers.has('retry-after') || !reset || !/^\d+$/.test(reset)) return headers;
  const copy = new Headers(headers);
  copy.set('retry-after', String(Math.max(0, Number(reset) - Math.floor(Date.now() / 1000))));
  return copy;
}
