import { randomUUID } from 'node:crypto';
import { Router } from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { addCollectionRoutes, addRenewRoute } from '../../../testing/sandbox/control-routes';
import { jsonBodyOf, newId } from '../../../testing/sandbox/common';
import { EventList } from '../../../testing/sandbox/event-list';
import { goCardlessEventSchema, listGoCardlessEvents, type GoCardlessEvent } from './events';
import type { GoCardlessListRefusal } from './list-query';
import { listPayments } from './payment-list';
import { hasBearerToken, onRecord, providerApi, type RecordFinder, type SandboxPlumbing } from '../../../testing/sandbox/provider-api';

/*
 * A stand-in for the parts of the GoCardless API billflow calls, with in-memory mandates and
 * payments that move between states as GoCardless documents it, GoCardless's error envelope,
 * and its idempotency: an Idempotency-Key counts on creations only, and a key used again answers
 * 409 `idempotent_creation_conflict` naming what the first request created. Actions (cancel,
 * retry) take no key: sent twice, the second meets the state the first left.
 */

export const API_VERSION = '2015-07-06';
const CREDITOR_ID = 'CR000SANDBOX';
/** Every sandbox mandate is a Bacs mandate (GBP), and so is every payment on one. */
const SCHEME = 'bacs';

export const mandateStatuses = [
  'pending_customer_approval', 'pending_submission', 'submitted', 'active', 'suspended_by_payer',
  'failed', 'cancelled', 'expired', 'consumed', 'blocked',
] as const;
export const paymentStatuses = [
  'pending_customer_approval', 'pending_submission', 'submitted', 'confirmed', 'paid_out',
  'cancelled', 'customer_approval_denied', 'failed', 'charged_back',
] as const;
export const subscriptionStatuses = ['pending_customer_approval', 'customer_approval_denied', 'active', 'finished', 'cancelled', 'paused'] as const;
export type MandateStatus = (typeof mandateStatuses)[number];
export type SubscriptionStatus = (typeof subscriptionStatuses)[number];
export type PaymentStatus = (typeof paymentStatuses)[number];

export interface SandboxMandate {
  id: string;
  status: MandateStatus;
  customerId: string;
  createdAt: string;
}

export interface SandboxPayment {
  id: string;
  status: PaymentStatus;
  mandateId: string;
  subscriptionId?: string;
  amount: number;
  currency: string;
  /** Retries made through the API; GoCardless allows three. */
  retries: number;
  /** `YYYY-MM-DD` the payment is (or was) collected on. */
  chargeDate: string;
  createdAt: string;
}

export interface SandboxSubscription {
  id: string;
  status: SubscriptionStatus;
  mandateId: string;
  amount: number;
  currency: string;
  /** `YYYY-MM-DD` of the next payment GoCardless will create. */
  nextChargeDate: string;
  createdAt: string;
}

/** GoCardless ids: a two-letter prefix naming the resource (MD, PM, SB, CU, EV, …), then upper-case letters and digits. */
const goCardlessId = (prefix: string) => z.string().regex(new RegExp(`^${prefix}[0-9A-Z]+$`), `a GoCardless id here starts with ${prefix}, then upper-case letters and digits`);

export const mandateSeed = z.object({
  id: goCardlessId('MD').optional(),
  customerId: goCardlessId('CU'),
  status: z.enum(mandateStatuses).default('active'),
});
export const paymentSeed = z.object({
  id: goCardlessId('PM').optional(),
  mandateId: goCardlessId('MD'),
  subscriptionId: goCardlessId('SB').optional(),
  status: z.enum(paymentStatuses).default('failed'),
  amount: z.number().int().positive().default(1500),
  currency: z.string().length(3).default('GBP'),
  chargeDate: z.iso.date().optional(),
});
export const subscriptionSeed = z.object({
  id: goCardlessId('SB').optional(),
  mandateId: goCardlessId('MD'),
  status: z.enum(subscriptionStatuses).default('active'),
  amount: z.number().int().positive().default(1500),
  currency: z.string().length(3).default('GBP'),
});
export type MandateSeed = z.input<typeof mandateSeed>;
export type SubscriptionSeed = z.input<typeof subscriptionSeed>;
export type PaymentSeed = z.input<typeof paymentSeed>;

const cancellableMandates: readonly MandateStatus[] = ['pending_customer_approval', 'pending_submission', 'submitted', 'active', 'suspended_by_payer'];
const reinstatableMandates: readonly MandateStatus[] = ['cancelled', 'expired'];
const unsubmittedPayments: readonly PaymentStatus[] = ['pending_customer_approval', 'pending_submission'];
const MAX_RETRIES = 3;

/** GoCardless's ids: a prefix and 12 upper-case characters. */
const upperId = (prefix: string): string => newId(prefix, 12).toUpperCase();

export class GoCardlessSandbox {
  /** @param accessToken the bearer token its API accepts */
  constructor(private readonly accessToken: string) {}

  readonly mandates = new Map<string, SandboxMandate>();
  readonly payments = new Map<string, SandboxPayment>();
  readonly subscriptions = new Map<string, SandboxSubscription>();
  /** What the sandbox was told happened (`recordEvent`), as `GET /events` lists it. */
  readonly events = new EventList<GoCardlessEvent>((event) => ({ id: event.id, createdAtMs: Date.parse(event.created_at) }));
  /** Idempotency-Key → the id of what the creation made with it. */
  private readonly creations = new Map<string, string>();

  /** An event that happened at GoCardless: listed by `GET /events` from now on, whether or not its webhook ever arrives. */
  recordEvent(event: Record<string, unknown>): GoCardlessEvent {
    return this.events.record(goCardlessEventSchema.parse(event)).event;
  }

  /** Creates the mandate, or replaces the one with the same id. */
  seedMandate(seed: MandateSeed): SandboxMandate {
    const { id = upperId('MD'), customerId, status } = mandateSeed.parse(seed);
    const mandate = { id, customerId, status, createdAt: this.mandates.get(id)?.createdAt ?? new Date().toISOString() };
    this.mandates.set(id, mandate);
    return mandate;
  }

  /** Creates the payment, or replaces the one with the same id. */
  seedPayment(seed: PaymentSeed): SandboxPayment {
    const { id = upperId('PM'), ...fields } = paymentSeed.parse(seed);
    const existing = this.payments.get(id);
    const chargeDay = fields.chargeDate ?? existing?.chargeDate ?? chargeDate(Date.now());
    const payment = { id, ...fields, chargeDate: chargeDay, retries: existing?.retries ?? 0, createdAt: existing?.createdAt ?? new Date().toISOString() };
    this.payments.set(id, payment);
    return payment;
  }

  /** Creates the subscription, or replaces the one with the same id. */
  seedSubscription(seed: SubscriptionSeed): SandboxSubscription {
    const { id = upperId('SB'), ...fields } = subscriptionSeed.parse(seed);
    const existing = this.subscriptions.get(id);
    const subscription = {
      id,
      ...fields,
      nextChargeDate: existing?.nextChargeDate ?? chargeDate(Date.now() + 30 * 24 * 3600 * 1000),
      createdAt: existing?.createdAt ?? new Date().toISOString(),
    };
    this.subscriptions.set(id, subscription);
    return subscription;
  }

  /** The charge date comes: GoCardless creates the period's payment, which is collected or fails as told. */
  renewSubscription(id: string, outcome: 'succeed' | 'decline'): { subscription: SandboxSubscription; payment: SandboxPayment } {
    const subscription = this.subscriptions.get(id);
    if (!subscription) throw new Error(`no sandbox subscription ${id}`);
    if (subscription.status !== 'active') throw new Error(`a ${subscription.status} subscription creates no payments`);
    const payment = this.seedPayment({
      mandateId: subscription.mandateId,
      subscriptionId: subscription.id,
      amount: subscription.amount,
      currency: subscription.currency,
      status: outcome === 'succeed' ? 'confirmed' : 'failed',
      chargeDate: subscription.nextChargeDate,
    });
    subscription.nextChargeDate = chargeDate(Date.parse(subscription.nextChargeDate) + 30 * 24 * 3600 * 1000);
    return { subscription, payment };
  }

  setPaymentStatus(id: string, status: PaymentStatus): SandboxPayment {
    const payment = this.payments.get(id);
    if (!payment) throw new Error(`no sandbox payment ${id}`);
    payment.status = status;
    return payment;
  }

  setMandateStatus(id: string, status: MandateStatus): SandboxMandate {
    const mandate = this.mandates.get(id);
    if (!mandate) throw new Error(`no sandbox mandate ${id}`);
    mandate.status = status;
    return mandate;
  }

  reset(): void {
    this.mandates.clear();
    this.payments.clear();
    this.subscriptions.clear();
    this.events.clear();
    this.creations.clear();
  }

  /** The API under `/gocardless`: recorded, then faulted, authenticated, replayed, answered. */
  api(options: SandboxPlumbing): Router {
    const findMandate = finder(this.mandates);
    const findPayment = finder(this.payments);
    const findSubscription = finder(this.subscriptions);
    const admit = (ctx: Context) => authenticate(ctx, this.accessToken);
    const replay = this.creationKeys();
    const notFound = (ctx: Context) => renderError(ctx, 404, 'invalid_api_usage', 'path_not_found', 'Path not found');
    return providerApi(options, { name: 'gocardless', renderFault, admit, replay, notFound }, (router) => {
      router.get('/events', (ctx) => {
        const answer = listGoCardlessEvents(this.events, ctx.querystring);
        if ('reason' in answer) return renderListRefusal(ctx, answer);
        ctx.body = answer;
      });
      router.get('/mandates/:id', onRecord(findMandate, (ctx, mandate) => {
        ctx.body = { mandates: mandateJson(mandate) };
      }));
      router.post('/mandates/:id/actions/cancel', onRecord(findMandate, (ctx, mandate) => {
        if (!cancellableMandates.includes(mandate.status)) {
          return renderError(ctx, 422, 'invalid_state', 'cancellation_failed', 'The mandate is not in a cancellable state');
        }
        mandate.status = 'cancelled';
        for (const payment of this.payments.values()) {
          if (payment.mandateId === mandate.id && unsubmittedPayments.includes(payment.status)) payment.status = 'cancelled';
        }
        ctx.body = { mandates: mandateJson(mandate) };
      }));
      router.post('/mandates/:id/actions/reinstate', onRecord(findMandate, (ctx, mandate) => {
        if (!reinstatableMandates.includes(mandate.status)) {
          return renderError(ctx, 422, 'invalid_state', 'mandate_not_inactive', 'Mandate is already active or being submitted');
        }
        // Reinstating resubmits the mandate to the banks; it becomes active again once they accept.
        mandate.status = 'submitted';
        ctx.body = { mandates: mandateJson(mandate) };
      }));
      router.get('/payments', (ctx) => {
        const listable = [...this.payments.values()].map((payment) => ({ ...payment, customerId: this.mandates.get(payment.mandateId)?.customerId, creditorId: CREDITOR_ID, scheme: SCHEME }));
        const answer = listPayments(listable, ctx.querystring, paymentStatuses);
        if ('reason' in answer) return renderListRefusal(ctx, answer);
        ctx.body = { payments: answer.payments.map(paymentJson), meta: answer.meta };
      });
      router.get('/payments/:id', onRecord(findPayment, (ctx, payment) => {
        ctx.body = { payments: paymentJson(payment) };
      }));
      router.post('/payments', (ctx) => {
        const body = paymentCreation.safeParse(jsonBodyOf(ctx));
        if (!body.success) {
          const errors = body.error.issues.map((issue) => ({ field: issue.path.slice(1).join('.'), message: issue.message, request_pointer: `/${issue.path.join('/')}` }));
          return renderValidationFailed(ctx, errors);
        }
        const { amount, currency, links } = body.data.payments;
        const mandate = this.mandates.get(links.mandate);
        if (!mandate) return renderValidationFailed(ctx, [{ field: 'links.mandate', message: 'was not found', request_pointer: '/payments/links/mandate' }]);
        if (!['pending_customer_approval', 'pending_submission', 'submitted', 'active'].includes(mandate.status)) {
          return renderError(ctx, 422, 'invalid_state', 'mandate_is_inactive', 'The mandate for this payment is no longer usable');
        }
        const payment = this.seedPayment({ mandateId: mandate.id, amount, currency, status: 'pending_submission' });
        ctx.status = 201;
        ctx.body = { payments: paymentJson(payment) };
      });
      router.post('/payments/:id/actions/retry', onRecord(findPayment, (ctx, payment) => {
        const refusal = this.retryRefusal(payment);
        if (refusal) return renderError(ctx, 422, 'invalid_state', 'retry_failed', refusal);
        payment.status = 'pending_submission';
        payment.retries += 1;
        ctx.body = { payments: paymentJson(payment) };
      }));
      router.get('/subscriptions/:id', onRecord(findSubscription, (ctx, subscription) => {
        ctx.body = { subscriptions: subscriptionJson(subscription) };
      }));
      router.post('/subscriptions/:id/actions/cancel', onRecord(findSubscription, (ctx, subscription) => {
        if (['cancelled', 'finished', 'customer_approval_denied'].includes(subscription.status)) {
          return renderError(ctx, 422, 'invalid_state', 'cancellation_failed', 'The subscription is not in a cancellable state');
        }
        subscription.status = 'cancelled';
        ctx.body = { subscriptions: subscriptionJson(subscription) };
      }));
    });
  }

  /** Seeding and inspection under `/_sandbox/gocardless`, for tests and demos in another process. */
  control(): Router {
    const router = new Router({ prefix: '/gocardless' });
    addCollectionRoutes(router, 'mandates', {
      records: this.mandates,
      seed: { schema: mandateSeed, create: (fields) => this.seedMandate(fields) },
      change: { schema: z.object({ status: z.enum(mandateStatuses) }), noun: 'mandate' },
    });
    addCollectionRoutes(router, 'payments', {
      records: this.payments,
      seed: { schema: paymentSeed, create: (fields) => this.seedPayment(fields) },
      change: { schema: z.object({ status: z.enum(paymentStatuses) }), noun: 'payment' },
    });
    addCollectionRoutes(router, 'subscriptions', {
      records: this.subscriptions,
      seed: { schema: subscriptionSeed, create: (fields) => this.seedSubscription(fields) },
      change: { schema: z.object({ status: z.enum(subscriptionStatuses) }), noun: 'subscription' },
    });
    addRenewRoute(router, (id, outcome) => this.renewSubscription(id, outcome));
    this.events.addControlRoute(router, (body) => goCardlessEventSchema.parse(body));
    return router;
  }

  /**
   * GoCardless's idempotency: a creation (`POST /<resources>`) made with a key is remembered, and
   * the key used again is answered 409 `idempotent_creation_conflict` with the created resource's id
   * in `links`; failed creations are not remembered. Any other request passes, its key unread.
   */
  private creationKeys(): Middleware {
    return async (ctx, next) => {
      const key = ctx.get('Idempotency-Key');
      const creation = ctx.method === 'POST' ? /^\/gocardless\/([a-z_]+)$/.exec(ctx.path) : null;
      if (!creation || key === '') return next();
      const existing = this.creations.get(key);
      if (existing !== undefined) {
        return renderError(ctx, 409, 'invalid_state', 'idempotent_creation_conflict', 'A resource has already been created with this idempotency key', {
          conflicting_resource_id: existing,
        });
      }
      await next();
      const created = (ctx.body as Record<string, { id?: unknown } | undefined> | undefined)?.[creation[1] ?? ''];
      if (ctx.status === 201 && typeof created?.id === 'string') this.creations.set(key, created.id);
    };
  }

  private retryRefusal(payment: SandboxPayment): string | undefined {
    if (payment.status !== 'failed') return 'Only failed payments can be retried';
    if (payment.retries >= MAX_RETRIES) return `This payment has already been retried ${MAX_RETRIES} times`;
    const mandate = this.mandates.get(payment.mandateId);
    if (!mandate || !['active', 'pending_submission', 'submitted'].includes(mandate.status)) {
      return 'The mandate of this payment is not active';
    }
    return undefined;
  }
}

/** Looks a record up by the id in the path; a missing one is GoCardless's 404. */
function finder<T>(records: Map<string, T>): RecordFinder<T> {
  return (ctx, id) => {
    const record = records.get(id);
    if (!record) renderError(ctx, 404, 'invalid_api_usage', 'resource_not_found', 'Resource not found');
    return record;
  };
}

function authenticate(ctx: Context, accessToken: string): boolean {
  const authorization = ctx.get('Authorization');
  if (authorization === '') {
    renderError(ctx, 401, 'invalid_api_usage', 'missing_authorization_header', 'Authorization header is missing');
    return false;
  }
  if (!hasBearerToken(ctx, accessToken)) {
    renderError(ctx, 401, 'invalid_api_usage', 'access_token_not_found', 'Access token not found');
    return false;
  }
  const version = ctx.get('GoCardless-Version');
  if (version === '') {
    renderError(ctx, 400, 'invalid_api_usage', 'missing_version_header', 'GoCardless-Version header is missing');
    return false;
  }
  if (version !== API_VERSION) {
    renderError(ctx, 400, 'invalid_api_usage', 'version_not_found', `Version ${version} is not supported`);
    return false;
  }
  return true;
}

function renderFault(ctx: Context, status: number): void {
  if (status === 429) return renderError(ctx, 429, 'invalid_api_usage', 'rate_limit_exceeded', 'Rate limit exceeded');
  if (status >= 500) return renderError(ctx, status, 'gocardless', 'internal_server_error', 'Uh-oh! Something went wrong on our side');
  renderError(ctx, status, 'invalid_api_usage', 'bad_request', 'Bad request');
}

/** GoCardless's error envelope: a broad `type`, and the specific `reason` of each error (with its `links`, when it names a resource). */
/** A list's refusal: `validation_failed` points at the parameter, as GoCardless's errors do. */
function renderListRefusal(ctx: Context, refusal: GoCardlessListRefusal): void {
  if (refusal.field === undefined) return renderError(ctx, refusal.status, refusal.type, refusal.reason, refusal.message);
  renderValidationFailed(ctx, [{ field: refusal.field, message: refusal.message, request_pointer: `/${refusal.field}` }]);
}

function renderError(ctx: Context, status: number, type: string, reason: string, message: string, links?: Record<string, string>): void {
  const requestId = randomUUID();
  ctx.status = status;
  ctx.set('X-Request-Id', requestId);
  ctx.body = {
    error: {
      message,
      documentation_url: `https://developer.gocardless.com/api-reference#${reason}`,
      type,
      request_id: requestId,
      errors: [{ reason, message, ...(links ? { links } : {}) }],
      code: status,
    },
  };
}

/** A refused creation: `validation_failed`, one error per field, each pointing into the request. */
function renderValidationFailed(ctx: Context, errors: { field: string; message: string; request_pointer: string }[]): void {
  const requestId = randomUUID();
  ctx.status = 422;
  ctx.set('X-Request-Id', requestId);
  ctx.body = {
    error: {
      message: 'Validation failed',
      documentation_url: 'https://developer.gocardless.com/api-reference#validation_failed',
      type: 'validation_failed',
      request_id: requestId,
      errors,
      code: 422,
    },
  };
}

/** `POST /payments`: what billflow and the SDK send to create one (amount in pence/cents). */
const paymentCreation = z.object({
  payments: z.object({
    amount: z.number().int().positive(),
    currency: z.string().regex(/^[A-Z]{3}$/),
    charge_date: z.string().optional(),
    description: z.string().optional(),
    metadata: z.record(z.string(), z.string()).optional(),
    links: z.object({ mandate: z.string().min(1) }),
  }),
});

function mandateJson(mandate: SandboxMandate) {
  return {
    id: mandate.id,
    created_at: mandate.createdAt,
    reference: `SANDBOX-${mandate.id}`,
    scheme: SCHEME,
    status: mandate.status,
    metadata: {},
    links: { creditor: CREDITOR_ID, customer: mandate.customerId },
  };
}

function paymentJson(payment: SandboxPayment) {
  return {
    id: payment.id,
    created_at: payment.createdAt,
    charge_date: payment.chargeDate,
    amount: payment.amount,
    currency: payment.currency,
    status: payment.status,
    metadata: {},
    links: {
      creditor: CREDITOR_ID,
      mandate: payment.mandateId,
      ...(payment.subscriptionId === undefined ? {} : { subscription: payment.subscriptionId }),
    },
  };
}

function subscriptionJson(subscription: SandboxSubscription) {
  return {
    id: subscription.id,
    created_at: subscription.createdAt,
    amount: subscription.amount,
    currency: subscription.currency,
    status: subscription.status,
    interval_unit: 'monthly',
    interval: 1,
    upcoming_payments: subscription.status === 'active' ? [{ charge_date: subscription.nextChargeDate, amount: subscription.amount }] : [],
    metadata: {},
    links: { mandate: subscription.mandateId },
  };
}

function chargeDate(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}
