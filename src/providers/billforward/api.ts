import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { failureTypes } from '../../core/failures';
import { failureFromErrorAnswer, failureFromMalformedAnswer } from '../http/failures';
import { missingConfiguration, parseJson, segment, sendProviderRequest } from '../http/request';

/*
 * BillForward has no official Node SDK worth the name (the old `billforward` package wraps
 * restler and Q) and no idempotency header. So: plain fetch, and every action reads the entity
 * first and acts only when its state still calls for it — a retried activity whose first attempt
 * did act finds the work done. What this cannot cover: an attempt that acted without the state
 * showing it yet (a payment still in flight) could be repeated; keep activity retries spaced.
 */

const PROVIDER = 'BillForward';

export interface BillForwardOptions {
  /** `https://api-sandbox.billforward.net/v1`, `https://api.billforward.net/v1`, or a local sandbox. */
  apiUrl: string;
  /** Private API token; empty when not configured: every call then fails, non-retryable, unsent. */
  accessToken: string;
  /** Per HTTP call; keep it under the activity's start-to-close timeout. */
  timeoutMs?: number;
}

export interface BillForwardNotification {
  id: string;
  domain: string;
  action: string;
  entityId: string;
  /** `entity` and `changes` arrive as JSON strings; parsed here, left as text when they are not JSON. */
  entity: unknown;
  changes: unknown;
  created: string | null;
}

export interface BillForwardInvoice {
  /** The invoice's own id, which GET /invoices/{id} and /execute take; the same across its versions. */
  id: string;
  /** The id of this version of the invoice: what an invoice notification's entityID names. */
  versionId: string | null;
  /** `Paid`, `Unpaid`, `Pending`, `Voided`. */
  state: string;
  subscriptionId: string | null;
  accountId: string;
}

export interface BillForwardSubscription {
  id: string;
  /** `Trial`, `Provisioned`, `Paid`, `AwaitingPayment`, `Cancelled`, `Failed`, `Expired`. */
  state: string;
  accountId: string;
  currentPeriodEnd: string | null;
  frozen: boolean;
}

const notificationSchema = z.object({
  id: z.string(),
  domain: z.string(),
  action: z.string(),
  entityID: z.string(),
  entity: z.unknown().optional(),
  changes: z.unknown().optional(),
  created: z.string().nullish(),
});

const invoiceSchema = z.object({
  id: z.string(),
  versionID: z.string().nullish(),
  state: z.string(),
  subscriptionID: z.string().nullish(),
  accountID: z.string(),
});

const subscriptionSchema = z.object({
  id: z.string(),
  state: z.string(),
  accountID: z.string(),
  currentPeriodEnd: z.string().nullish(),
  frozen: z.boolean().nullish(),
});

/** An account (bf-ruby2 `Account.md`): a deleted one is still answered, with `deleted: true`. */
const accountSchema = z.object({
  id: z.string(),
  deleted: z.boolean().nullish(),
});

const errorEnvelope = z.object({
  errorType: z.string().optional(),
  errorMessage: z.string().optional(),
  errorParameters: z.array(z.unknown()).optional(),
});

const endedSubscriptionStates = new Set(['Cancelled', 'Expired', 'Failed']);

export function createBillForwardActivities(options: BillForwardOptions) {
  const call = billForwardCaller(options);
  /**
   * The invoice as it stands (its latest version). An id that names no invoice may name a version
   * of one (an invoice notification's entityID, as billflow took invoice ids before it read them
   * from the entity): that version's invoice is read then, through BillForward's version route.
   */
  const getInvoice = async (invoiceId: string): Promise<BillForwardInvoice> => {
    let notFound: unknown;
    try {
      return toInvoice(await call('GET', `/invoices/${segment(invoiceId)}`, invoiceSchema));
    } catch (error) {
      if (!isNotFound(error)) throw error;
      notFound = error;
    }
    let version: z.infer<typeof invoiceSchema>;
    try {
      version = await call('GET', `/invoices/version/${segment(invoiceId)}`, invoiceSchema);
    } catch (error) {
      throw isNotFound(error) ? notFound : error;
    }
    // The version read may be an old one (voided when the invoice was recalculated): read the invoice.
    return toInvoice(await call('GET', `/invoices/${segment(version.id)}`, invoiceSchema));
  };
  const getSubscription = async (subscriptionId: string) =>
    toSubscription(await call('GET', `/subscriptions/${segment(subscriptionId)}`, subscriptionSchema));

  return {
    async getBillForwardAccount(accountId: string): Promise<{ id: string; deleted: boolean }> {
      const account = await call('GET', `/accounts/${segment(accountId)}`, accountSchema);
      return { id: account.id, deleted: account.deleted === true };
    },
    /** Confirms a webhook: BillForward notifications carry no signature. */
    async getBillForwardNotification(notificationId: string): Promise<BillForwardNotification> {
      const notification = await call('GET', `/notifications/${segment(notificationId)}`, notificationSchema);
      return {
        id: notification.id,
        domain: notification.domain,
        action: notification.action,
        entityId: notification.entityID,
        entity: parseNested(notification.entity),
        changes: parseNested(notification.changes),
        created: notification.created ?? null,
      };
    },
    getBillForwardInvoice: getInvoice,
    getBillForwardSubscription: getSubscription,
    /**
     * Attempts payment of an unpaid invoice now. A paid invoice is returned as it is (the first
     * attempt succeeded); a voided one fails for good. The answer's state tells whether it paid.
     */
    async executeBillForwardInvoice(input: { invoiceId: string }): Promise<BillForwardInvoice> {
      const current = await getInvoice(input.invoiceId);
      if (current.state === 'Paid') return current;
      if (current.state === 'Voided') {
        throw ApplicationFailure.nonRetryable(`${PROVIDER} invoice ${current.id} is voided: nothing to collect`, failureTypes.invoiceVoided);
      }
      const path = `/invoices/${segment(current.id)}/execute`;
      return toInvoice(await call('POST', path, invoiceSchema, { executionType: 'Automatic' }));
    },
    /** Cancels now, or when the current period ends; an ended subscription is returned as it is. */
    async cancelBillForwardSubscription(input: { subscriptionId: string; atPeriodEnd?: boolean }): Promise<BillForwardSubscription> {
      const current = await getSubscription(input.subscriptionId);
      if (endedSubscriptionStates.has(current.state)) return current;
      const path = `/subscriptions/${segment(input.subscriptionId)}/cancel`;
      const body = { subscriptionID: current.id, serviceEnd: input.atPeriodEnd ? 'AtPeriodEnd' : 'Immediate', source: 'billflow' };
      // The answer is a cancellation amendment, not the subscription: read the subscription after it.
      await call('POST', path, z.unknown(), body);
      return getSubscription(input.subscriptionId);
    },
    /** Stops billing and service until resumed; a frozen subscription is returned as it is. */
    async freezeBillForwardSubscription(input: { subscriptionId: string }): Promise<BillForwardSubscription> {
      const current = await getSubscription(input.subscriptionId);
      if (current.frozen || endedSubscriptionStates.has(current.state)) return current;
      return toSubscription(await call('POST', `/subscriptions/${segment(input.subscriptionId)}/freeze`, subscriptionSchema, {}));
    },
    async resumeBillForwardSubscription(input: { subscriptionId: string }): Promise<BillForwardSubscription> {
      const current = await getSubscription(input.subscriptionId);
      if (!current.frozen) return current;
      return toSubscription(await call('POST', `/subscriptions/${segment(input.subscriptionId)}/resume`, subscriptionSchema, {}));
    },
  };
}

/** BillForward's 404: no entity has the id. */
function isNotFound(error: unknown): boolean {
  if (!(error instanceof ApplicationFailure)) return false;
  const [detail] = (error.details ?? []) as { status?: unknown }[];
  return detail?.status === 404;
}

function parseNested(value: unknown): unknown {
  if (typeof value !== 'string') return value ?? null;
  const parsed = parseJson(value);
  return parsed === undefined ? value : parsed;
}

function toInvoice(invoice: z.infer<typeof invoiceSchema>): BillForwardInvoice {
  return { id: invoice.id, versionId: invoice.versionID ?? null, state: invoice.state, subscriptionId: invoice.subscriptionID ?? null, accountId: invoice.accountID };
}

function toSubscription(subscription: z.infer<typeof subscriptionSchema>): BillForwardSubscription {
  return {
    id: subscription.id,
    state: subscription.state,
    accountId: subscription.accountID,
    currentPeriodEnd: subscription.currentPeriodEnd ?? null,
    // How BillForward marks a frozen subscription is not documented where we looked: a flag or a state.
    frozen: subscription.frozen === true || subscription.state === 'Frozen',
  };
}

/**
 * One authenticated call to the BillForward API, its error envelope read: answers the page's
 * `results` (every answer is a page: `{ executionTime, results: [entity, …] }`).
 */
export function billForwardSender({ apiUrl, accessToken, timeoutMs = 10_000 }: BillForwardOptions) {
  const base = apiUrl.replace(/\/+$/, '');
  return async function send(method: 'GET' | 'POST', path: string, body?: Record<string, unknown>): Promise<{ operation: string; results: unknown[] }> {
    const operation = `${method} ${path}`;
    if (!accessToken) throw missingConfiguration(PROVIDER, operation, 'the access token (BILLFORWARD_ACCESS_TOKEN)');
    const headers: Record<string, string> = { Accept: 'application/json', Authorization: `Bearer ${accessToken}` };
    if (body) headers['Content-Type'] = 'application/json';

    const answer = await sendProviderRequest({ provider: PROVIDER, operation, method, url: `${base}${path}`, headers, body: body && JSON.stringify(body), timeoutMs });
    const json = parseJson(answer.text);
    if (!answer.ok) {
      const envelope = errorEnvelope.safeParse(json);
      const error = envelope.success ? envelope.data : undefined;
      throw failureFromErrorAnswer({
        provider: PROVIDER,
        operation,
        status: answer.status,
        headers: answer.headers,
        errorType: error?.errorType,
        errorMessage: error?.errorMessage,
        details: error && { errorParameters: error.errorParameters ?? [] },
      });
    }
    const page = z.object({ results: z.array(z.unknown()) }).safeParse(json);
    if (!page.success) {
      const notJson = json === undefined;
      throw failureFromMalformedAnswer(PROVIDER, operation, notJson ? 'not JSON' : 'no results', notJson);
    }
    return { operation, results: page.data.results };
  };
}

function billForwardCaller(options: BillForwardOptions) {
  const send = billForwardSender(options);
  async function call<Schema extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: Schema,
    body?: Record<string, unknown>,
  ): Promise<z.infer<Schema>> {
    const { operation, results } = await send(method, path, body);
    const [first] = results;
    const parsed = schema.safeParse(first);
    if (first === undefined || !parsed.success) {
      throw failureFromMalformedAnswer(PROVIDER, operation, first === undefined ? 'no results' : (parsed.error?.message ?? 'unexpected result'), false);
    }
    return parsed.data;
  }
  return call;
}
