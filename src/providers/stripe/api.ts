import Stripe from 'stripe';
import { failureFromErrorAnswer, failureFromRequestError, paymentDeclinedFailure, spentKeyFailure, timeoutFailure } from '../http/failures';
import { invalidInput, missingConfiguration } from '../http/request';

/*
 * The official `stripe` SDK: it reaches any base URL through its `host`, `port` and `protocol`
 * options and sends the caller's idempotency key as given (`{ idempotencyKey }`), so nothing
 * argues for hand-written HTTP. It is configured so that Temporal owns retries and timing:
 * `maxNetworkRetries: 0` (the SDK still resends once, with the same key, when a kept-alive
 * connection turns out closed before an answer), a timeout per call, and no telemetry header.
 * Its one limit: it always requests `/v1/…` at the root of the host, so STRIPE_API_URL is an
 * origin without a path (the provider sandbox answers Stripe's paths at its root for that).
 */

const PROVIDER = 'Stripe';

/**
 * The API version billflow asks for (the `Stripe-Version` header), pinned here rather than left to
 * the SDK's default so that an SDK upgrade cannot change the answers' shape unnoticed: the compiler
 * refuses this line once the SDK is built for another version. Without the header Stripe would
 * answer in the account's default version, whatever that is.
 */
export const STRIPE_API_VERSION = '2026-10-28.endive';

export interface StripeOptions {
  /** `https://api.stripe.com` or a local sandbox; an origin, without a path. */
  apiUrl: string;
  /** Secret key (`sk_…` or a restricted `rk_…`); empty when not configured. */
  apiKey: string;
  /** Per HTTP call; keep it under the activity's start-to-close timeout. */
  timeoutMs?: number;
}

export interface StripeInvoiceSummary {
  id: string;
  /** `draft`, `open`, `paid`, `uncollectible`, `void`. */
  status: string;
  customerId: string | null;
  subscriptionId: string | null;
  amountRemaining: number;
  attemptCount: number;
  /** ISO time of Stripe's next automatic attempt at an open invoice; null when it plans none. */
  nextPaymentAttempt: string | null;
}

export interface StripeSubscriptionSummary {
  id: string;
  /** `incomplete`, `incomplete_expired`, `trialing`, `active`, `past_due`, `canceled`, `unpaid`, `paused`. */
  status: string;
  customerId: string;
  cancelAtPeriodEnd: boolean;
  /** ISO time the current period ends, from the subscription's first item. */
  currentPeriodEnd: string | null;
}

export interface StripeDisputeSummary {
  id: string;
  /**
   * `warning_needs_response`, `warning_under_review`, `warning_closed` (an inquiry: no money taken),
   * `needs_response`, `under_review`, `appeal_needs_response`, `appeal_under_review`, `won`, `lost`, `prevented`.
   */
  status: string;
  chargeId: string | null;
  paymentIntentId: string | null;
}

export interface StripeChargeSummary {
  id: string;
  customerId: string | null;
  paymentIntentId: string | null;
}

export interface StripeCustomerSummary {
  id: string;
  /** Stripe still answers a deleted customer's id, as `{ id, object: 'customer', deleted: true }`. */
  deleted: boolean;
}

export interface StripeAction {
  /** Derive it from the workflow id and the step; Stripe keeps it for 24 hours. */
  idempotencyKey: string;
}

/** Throws at start-up, not on the first call: a wrong URL is a configuration error. */
export function stripeEndpoint(apiUrl: string): { host: string; port: number; protocol: 'http' | 'https' } {
  const url = new URL(apiUrl);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`STRIPE_API_URL must be http or https, got ${url.protocol}`);
  if (url.pathname !== '/' || url.search) throw new Error('STRIPE_API_URL must be an origin without a path: the stripe SDK requests /v1/… at the root of the host');
  const protocol = url.protocol === 'https:' ? 'https' : 'http';
  return { host: url.hostname, port: url.port ? Number(url.port) : protocol === 'https' ? 443 : 80, protocol };
}

export function createStripeActivities({ apiUrl, apiKey, timeoutMs = 10_000 }: StripeOptions) {
  const endpoint = stripeEndpoint(apiUrl);
  const stripe = apiKey
    ? new Stripe(apiKey, { ...endpoint, apiVersion: STRIPE_API_VERSION, timeout: timeoutMs, maxNetworkRetries: 0, telemetry: false, appInfo: { name: 'billflow' } })
    : undefined;

  async function call<T>(operation: string, send: (client: Stripe) => Promise<T>): Promise<T> {
    if (!stripe) throw missingConfiguration(PROVIDER, operation, 'the API key (STRIPE_API_KEY)');
    try {
      return await send(stripe);
    } catch (error) {
      throw failureFromStripeError(operation, error, timeoutMs);
    }
  }

  return {
    async getStripeInvoice(invoiceId: string): Promise<StripeInvoiceSummary> {
      const operation = `GET /v1/invoices/${required(invoiceId)}`;
      return toInvoice(await call(operation, (client) => client.invoices.retrieve(invoiceId)));
    },
    async getStripeSubscription(subscriptionId: string): Promise<StripeSubscriptionSummary> {
      const operation = `GET /v1/subscriptions/${required(subscriptionId)}`;
      return toSubscription(await call(operation, (client) => client.subscriptions.retrieve(subscriptionId)));
    },
    async getStripeDispute(disputeId: string): Promise<StripeDisputeSummary> {
      const operation = `GET /v1/disputes/${required(disputeId)}`;
      const dispute = await call(operation, (client) => client.disputes.retrieve(disputeId));
      return { id: dispute.id, status: dispute.status, chargeId: idOf(dispute.charge), paymentIntentId: idOf(dispute.payment_intent) };
    },
    async getStripeCharge(chargeId: string): Promise<StripeChargeSummary> {
      const operation = `GET /v1/charges/${required(chargeId)}`;
      const charge = await call(operation, (client) => client.charges.retrieve(chargeId));
      return { id: charge.id, customerId: idOf(charge.customer), paymentIntentId: idOf(charge.payment_intent) };
    },
    async getStripeCustomer(customerId: string): Promise<StripeCustomerSummary> {
      const operation = `GET /v1/customers/${required(customerId)}`;
      const customer = await call(operation, (client) => client.customers.retrieve(customerId));
      return { id: customer.id, deleted: 'deleted' in customer && customer.deleted === true };
    },
    /**
     * The invoice a payment intent paid, or null when it paid none (a one-off charge). Since API
     * version 2025-03-31 neither the charge nor the payment intent names its invoice: the link
     * is the invoice payment (`GET /v1/invoice_payments?payment[type]=payment_intent&…`).
     */
    async findStripeInvoiceOfPayment(paymentIntentId: string): Promise<string | null> {
      const operation = `GET /v1/invoice_payments?payment[payment_intent]=${required(paymentIntentId)}`;
      const page = await call(operation, (client) => client.invoicePayments.list({ payment: { type: 'payment_intent', payment_intent: paymentIntentId }, limit: 1 }));
      return idOf(page.data[0]?.invoice);
    },
    /** Charges the open invoice now. A refused charge fails as `payment_declined`. */
    async payStripeInvoice(input: { invoiceId: string } & StripeAction): Promise<StripeInvoiceSummary> {
      const operation = `POST /v1/invoices/${required(input.invoiceId)}/pay`;
      const key = requiredKey(input.idempotencyKey);
      return toInvoice(await call(operation, (client) => client.invoices.pay(input.invoiceId, {}, { idempotencyKey: key })));
    },
    /**
     * Cancels now (`DELETE`, the subscription becomes `canceled`), or at the end of the period
     * (`cancel_at_period_end`, it stays `active` until then).
     */
    async cancelStripeSubscription(input: { subscriptionId: string; atPeriodEnd?: boolean } & StripeAction): Promise<StripeSubscriptionSummary> {
      const id = required(input.subscriptionId);
      const key = requiredKey(input.idempotencyKey);
      if (input.atPeriodEnd) {
        const operation = `POST /v1/subscriptions/${id}`;
        return toSubscription(await call(operation, (client) => client.subscriptions.update(id, { cancel_at_period_end: true }, { idempotencyKey: key })));
      }
      const operation = `DELETE /v1/subscriptions/${id}`;
      return toSubscription(await call(operation, (client) => client.subscriptions.cancel(id, {}, { idempotencyKey: key })));
    },
  };
}

function required(id: string): string {
  if (!id) throw invalidInput('an id is required');
  return id;
}

function requiredKey(key: string): string {
  if (!key) throw invalidInput(`${PROVIDER} actions need an idempotency key`);
  if (key.length > 255) throw invalidInput(`${PROVIDER} idempotency keys are at most 255 characters`);
  return key;
}

function idOf(value: string | { id?: string } | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : (value.id ?? null);
}

function toInvoice(invoice: Stripe.Invoice): StripeInvoiceSummary {
  // Since API version 2025-03-31 the subscription sits under `parent`; older accounts' answers
  // (and older pinned versions) still carry it at the top level.
  const legacy = (invoice as unknown as { subscription?: string | { id: string } | null }).subscription;
  return {
    id: invoice.id ?? '',
    status: invoice.status ?? 'draft',
    customerId: idOf(invoice.customer),
    subscriptionId: idOf(invoice.parent?.subscription_details?.subscription) ?? idOf(legacy),
    amountRemaining: invoice.amount_remaining,
    attemptCount: invoice.attempt_count,
    nextPaymentAttempt: typeof invoice.next_payment_attempt === 'number' ? new Date(invoice.next_payment_attempt * 1000).toISOString() : null,
  };
}

function toSubscription(subscription: Stripe.Subscription): StripeSubscriptionSummary {
  // Since 2025-03-31 the period lives on each item; older versions kept it on the subscription.
  const itemEnd = subscription.items?.data?.[0]?.current_period_end;
  const legacyEnd = (subscription as unknown as { current_period_end?: number }).current_period_end;
  const end = itemEnd ?? legacyEnd;
  return {
    id: subscription.id,
    status: subscription.status,
    customerId: idOf(subscription.customer) ?? '',
    cancelAtPeriodEnd: subscription.cancel_at_period_end,
    currentPeriodEnd: typeof end === 'number' ? new Date(end * 1000).toISOString() : null,
  };
}

/** A Stripe SDK error (or a failed connection) as the Temporal failure the activities throw. */
export function failureFromStripeError(operation: string, error: unknown, timeoutMs: number) {
  if (!(error instanceof Stripe.errors.StripeError)) {
    return failureFromRequestError({ provider: PROVIDER, operation, error, timeoutMs });
  }
  if (error instanceof Stripe.errors.StripeConnectionError) {
    const detail = error.detail;
    const code = detail instanceof Error ? (detail as { code?: unknown }).code : undefined;
    if (code === 'ETIMEDOUT') return timeoutFailure({ provider: PROVIDER, operation, timeoutMs, cause: error });
    return failureFromRequestError({ provider: PROVIDER, operation, error: detail instanceof Error ? detail : error, timeoutMs });
  }
  if (error.rawType === 'card_error') {
    return paymentDeclinedFailure({
      provider: PROVIDER,
      operation,
      declineCode: error.decline_code ?? error.code ?? 'card_declined',
      declineMessage: error.message,
      details: { code: error.code ?? null, charge: error.charge ?? null, requestId: error.requestId ?? null },
    });
  }
  const answer = {
    provider: PROVIDER,
    operation,
    status: error.statusCode ?? 500,
    headers: new Headers(error.headers ?? {}),
    errorType: error.code ?? error.rawType,
    errorMessage: error.message,
    details: { errorType: error.rawType ?? null, requestId: error.requestId ?? null, param: (error as { param?: string }).param ?? null },
  };
  // Stripe keeps a key's first answer, a 500 included, and replays it to every repeat.
  if (answer.status >= 500 && answer.headers.get('idempotent-replayed') === 'true') return spentKeyFailure(answer);
  return failureFromErrorAnswer(answer);
}
