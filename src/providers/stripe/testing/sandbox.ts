import { Router } from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { attemptOutcomes, DAY_MS, KeptAnswers, rawBodyOf, type AttemptOutcome } from '../../../testing/sandbox/common';
import { EventList } from '../../../testing/sandbox/event-list';
import { StripeDisputes } from './disputes';
import { listStripeEvents, stripeEventSchema, type StripeEvent } from './events';
import { mixedId } from '../../../testing/webhooks/ids';
import { addCollectionRoutes, addRenewRoute } from '../../../testing/sandbox/control-routes';
import { hasBearerToken, onRecord, providerApi, type RecordFinder, type SandboxPlumbing } from '../../../testing/sandbox/provider-api';

/*
 * A stand-in for the parts of the Stripe API billflow calls: invoices that are paid or declined
 * as told, subscriptions that cancel now or at period end and renew on command, Stripe's error
 * envelope, form-encoded bodies, and replay by Idempotency-Key (marked `Idempotent-Replayed`).
 * Like Stripe, it keeps a key's first answer whatever it was, a 500 included (docs.stripe.com/
 * idempotency): a queued 5xx fault strikes behind the key, and the same key then replays it; only
 * a 429, refused before the request ran, leaves the key unused.
 * Objects are shaped as API version 2025-03-31 and later: the invoice's subscription under
 * `parent.subscription_details`, the period on each subscription item.
 */

export const invoiceStatuses = ['draft', 'open', 'paid', 'uncollectible', 'void'] as const;
export const subscriptionStatuses = ['incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled', 'unpaid', 'paused'] as const;

export interface StripeInvoiceRecord {
  id: string;
  customerId: string;
  subscriptionId?: string;
  status: (typeof invoiceStatuses)[number];
  amountDue: number;
  amountPaid: number;
  attemptCount: number;
  created: number;
  nextOutcome: AttemptOutcome;
  /** Unix seconds of Stripe's own next attempt at the open invoice; null when it plans none. */
  nextPaymentAttempt: number | null;
}

export interface StripeSubscriptionRecord {
  id: string;
  itemId: string;
  customerId: string;
  status: (typeof subscriptionStatuses)[number];
  cancelAtPeriodEnd: boolean;
  canceledAt: number | null;
  periodStart: number;
  periodEnd: number;
  latestInvoiceId: string | null;
}

export const stripeSubscriptionSeed = z.object({
  id: z.string().min(1).optional(),
  customerId: z.string().min(1),
  status: z.enum(subscriptionStatuses).default('active'),
  cancelAtPeriodEnd: z.boolean().default(false),
});
export const stripeInvoiceSeed = z.object({
  id: z.string().min(1).optional(),
  customerId: z.string().min(1),
  subscriptionId: z.string().min(1).optional(),
  status: z.enum(invoiceStatuses).default('open'),
  amountDue: z.number().int().positive().default(1500),
  nextOutcome: z.enum(attemptOutcomes).default('succeed'),
  /** Unix seconds of Stripe's own next attempt; none (billflow's schedule retries) when absent. */
  nextPaymentAttempt: z.number().int().positive().nullable().default(null),
});
/** A customer, and whether it was deleted (`customer.deleted`: Stripe still answers its id, marked `deleted`). */
export const stripeCustomerSeed = z.object({
  id: z.string().regex(/^cus_\w+$/, 'a Stripe customer id starts with cus_'),
  deleted: z.boolean().default(false),
});
export type StripeCustomerRecord = z.infer<typeof stripeCustomerSeed> & { created: number };
export type StripeSubscriptionSeed = z.input<typeof stripeSubscriptionSeed>;
export type StripeInvoiceSeed = z.input<typeof stripeInvoiceSeed>;

const now = () => Math.floor(Date.now() / 1000);

/** `2025-03-31.basil`, or the dated form older versions have (`2020-08-27`). */
const apiVersionPattern = /^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/;

export class StripeSandbox {
  /** @param apiKey the secret key its API accepts */
  constructor(private readonly apiKey: string) {}

  readonly invoices = new Map<string, StripeInvoiceRecord>();
  readonly subscriptions = new Map<string, StripeSubscriptionRecord>();
  readonly customers = new Map<string, StripeCustomerRecord>();
  /** Charges, their invoice payments and their disputes. */
  readonly disputes = new StripeDisputes();
  /** What the sandbox was told happened (`recordEvent`), as `GET /v1/events` lists it. */
  readonly events = new EventList<StripeEvent>((event) => ({ id: event.id, createdAtMs: event.created * 1000 }));
  private readonly kept = new KeptAnswers();

  /** An event that happened at Stripe: listed by `GET /v1/events` from now on, whether or not its webhook ever arrives. */
  recordEvent(event: Record<string, unknown>): StripeEvent {
    return this.events.record(stripeEventSchema.parse(event)).event;
  }

  seedCustomer(seed: z.input<typeof stripeCustomerSeed>): StripeCustomerRecord {
    const customer = { ...stripeCustomerSeed.parse(seed), created: this.customers.get(seed.id)?.created ?? now() };
    this.customers.set(customer.id, customer);
    return customer;
  }

  seedSubscription(seed: StripeSubscriptionSeed): StripeSubscriptionRecord {
    const fields = stripeSubscriptionSeed.parse(seed);
    const id = fields.id ?? mixedId('sub_', 24);
    const start = now();
    const subscription: StripeSubscriptionRecord = {
      id,
      itemId: this.subscriptions.get(id)?.itemId ?? mixedId('si_', 24),
      customerId: fields.customerId,
      status: fields.status,
      cancelAtPeriodEnd: fields.cancelAtPeriodEnd,
      canceledAt: fields.status === 'canceled' ? start : null,
      periodStart: start,
      periodEnd: start + 30 * 24 * 3600,
      latestInvoiceId: null,
    };
    this.subscriptions.set(id, subscription);
    return subscription;
  }

  seedInvoice(seed: StripeInvoiceSeed): StripeInvoiceRecord {
    const fields = stripeInvoiceSeed.parse(seed);
    const id = fields.id ?? mixedId('in_', 24);
    const invoice: StripeInvoiceRecord = {
      id,
      customerId: fields.customerId,
      subscriptionId: fields.subscriptionId,
      status: fields.status,
      amountDue: fields.amountDue,
      amountPaid: fields.status === 'paid' ? fields.amountDue : 0,
      attemptCount: 0,
      created: now(),
      nextOutcome: fields.nextOutcome,
      nextPaymentAttempt: fields.status === 'open' ? fields.nextPaymentAttempt : null,
    };
    this.invoices.set(id, invoice);
    const subscription = fields.subscriptionId ? this.subscriptions.get(fields.subscriptionId) : undefined;
    if (subscription) subscription.latestInvoiceId = id;
    return invoice;
  }

  /** The period's end: a subscription set to cancel ends; any other bills its next period. */
  renew(id: string, outcome: AttemptOutcome): { subscription: StripeSubscriptionRecord; invoice?: StripeInvoiceRecord } {
    const subscription = this.subscriptions.get(id);
    if (!subscription) throw new Error(`no sandbox Stripe subscription ${id}`);
    if (subscription.cancelAtPeriodEnd) {
      subscription.status = 'canceled';
      subscription.canceledAt = now();
      return { subscription };
    }
    if (!['active', 'trialing', 'past_due'].includes(subscription.status)) throw new Error(`a ${subscription.status} subscription does not renew`);
    subscription.periodStart = subscription.periodEnd;
    subscription.periodEnd = subscription.periodStart + 30 * (DAY_MS / 1000);
    const invoice = this.seedInvoice({ customerId: subscription.customerId, subscriptionId: subscription.id, nextOutcome: outcome });
    this.attempt(invoice);
    return { subscription, invoice };
  }

  reset(): void {
    this.invoices.clear();
    this.subscriptions.clear();
    this.customers.clear();
    this.disputes.clear();
    this.events.clear();
    this.kept.clear();
  }

  /** The API under `/stripe` (and at the root, for the SDK): recorded, faulted, authenticated, replayed, answered. */
  api(options: SandboxPlumbing): Router {
    const admit = (ctx: Context) => {
      // Stripe takes the key as a bearer token or as Basic auth's user name.
      const basic = `Basic ${Buffer.from(`${this.apiKey}:`).toString('base64')}`;
      if (!hasBearerToken(ctx, this.apiKey) && ctx.get('Authorization') !== basic) {
        renderError(ctx, 401, { type: 'invalid_request_error', message: 'Invalid API Key provided' });
        return false;
      }
      // Without the header Stripe answers in the account's default version; a malformed one it refuses.
      const version = ctx.get('Stripe-Version');
      if (version !== '' && !apiVersionPattern.test(version)) {
        renderError(ctx, 400, { type: 'invalid_request_error', message: `Invalid Stripe API version: ${version}` });
        return false;
      }
      return true;
    };
    const replay = this.kept.middleware({
      methods: ['POST', 'DELETE'],
      refuseReuse: (ctx) =>
        renderError(ctx, 400, { type: 'idempotency_error', message: 'Keys for idempotent requests can only be used with the same parameters they were first used with.' }),
      refuseConcurrent: (ctx) =>
        renderError(ctx, 409, { type: 'invalid_request_error', code: 'idempotency_key_in_use', message: 'There is currently another in-progress request using this Idempotent Key.' }),
      markReplay: (ctx) => ctx.set('Idempotent-Replayed', 'true'),
      keeps: (status) => status !== 429,
    });
    const notFound = (ctx: Context) =>
      renderError(ctx, 404, { type: 'invalid_request_error', message: `Unrecognized request URL (${ctx.method}: ${ctx.path.replace(/^\/stripe/, '')}).` });
    return providerApi(options, { name: 'stripe', renderFault, admit, replay, notFound, faultsBehindReplay: true }, (router) => {
      router.get('/v1/events', (ctx) => {
        const answer = listStripeEvents(this.events, ctx.querystring);
        if ('error' in answer) return renderError(ctx, 400, { type: 'invalid_request_error', ...answer.error });
        ctx.body = answer;
      });
      router.get('/v1/invoices/:id', onRecord(this.findInvoice, (ctx, invoice) => {
        ctx.body = this.invoiceJson(invoice);
      }));
      router.post('/v1/invoices/:id/pay', onRecord(this.findInvoice, (ctx, invoice) => {
        if (invoice.status === 'paid') {
          return renderError(ctx, 400, { type: 'invalid_request_error', code: 'invoice_not_editable', message: 'Invoice is already paid' });
        }
        if (invoice.status === 'void') {
          return renderError(ctx, 400, { type: 'invalid_request_error', code: 'invoice_not_editable', message: 'This invoice is void and cannot be paid' });
        }
        if (invoice.status === 'draft') invoice.status = 'open';
        if (this.attempt(invoice)) {
          ctx.body = this.invoiceJson(invoice);
          return;
        }
        renderError(ctx, 402, {
          type: 'card_error',
          code: 'card_declined',
          decline_code: 'insufficient_funds',
          message: 'Your card has insufficient funds.',
          charge: mixedId('ch_', 24),
        });
      }));
      router.get('/v1/customers/:id', onRecord(this.findCustomer, (ctx, customer) => {
        // A deleted customer still answers, as its id and the mark (the deleted-object shape).
        ctx.body = customer.deleted
          ? { id: customer.id, object: 'customer', deleted: true }
          : { id: customer.id, object: 'customer', created: customer.created, livemode: false, email: null, metadata: {} };
      }));
      this.disputes.addApiRoutes(router, renderError);
      router.get('/v1/subscriptions/:id', onRecord(this.findSubscription, (ctx, subscription) => {
        ctx.body = this.subscriptionJson(subscription);
      }));
      router.post('/v1/subscriptions/:id', onRecord(this.findSubscription, (ctx, subscription) => {
        const form = new URLSearchParams(rawBodyOf(ctx));
        const cancelAtPeriodEnd = form.get('cancel_at_period_end');
        if (cancelAtPeriodEnd !== null) {
          if (subscription.status === 'canceled') {
            return renderError(ctx, 400, { type: 'invalid_request_error', message: 'A canceled subscription can only update its cancellation_details and metadata.' });
          }
          subscription.cancelAtPeriodEnd = cancelAtPeriodEnd === 'true';
        }
        ctx.body = this.subscriptionJson(subscription);
      }));
      router.delete('/v1/subscriptions/:id', onRecord(this.findSubscription, (ctx, subscription) => {
        if (subscription.status === 'canceled') {
          return renderError(ctx, 400, { type: 'invalid_request_error', code: 'resource_missing', message: `No such subscription: '${subscription.id}'` });
        }
        subscription.status = 'canceled';
        subscription.canceledAt = now();
        ctx.body = this.subscriptionJson(subscription);
      }));
    });
  }

  /** Seeding and inspection under `/_sandbox/stripe`. */
  control(): Router {
    const router = new Router({ prefix: '/stripe' });
    addCollectionRoutes(router, 'subscriptions', {
      records: this.subscriptions,
      seed: { schema: stripeSubscriptionSeed, create: (fields) => this.seedSubscription(fields) },
      change: {
        schema: z.object({ status: z.enum(subscriptionStatuses).optional(), cancelAtPeriodEnd: z.boolean().optional() }),
        noun: 'Stripe subscription',
      },
    });
    addCollectionRoutes(router, 'invoices', {
      records: this.invoices,
      seed: { schema: stripeInvoiceSeed, create: (fields) => this.seedInvoice(fields) },
      change: {
        schema: z.object({
          status: z.enum(invoiceStatuses).optional(),
          nextOutcome: z.enum(attemptOutcomes).optional(),
          nextPaymentAttempt: z.number().int().positive().nullable().optional(),
        }),
        noun: 'Stripe invoice',
      },
    });
    addCollectionRoutes(router, 'customers', {
      records: this.customers,
      seed: { schema: stripeCustomerSeed, create: (fields) => this.seedCustomer(fields) },
      change: { schema: z.object({ deleted: z.boolean().optional() }), noun: 'Stripe customer' },
    });
    this.disputes.addControlRoutes(router);
    addRenewRoute(router, (id, outcome) => this.renew(id, outcome));
    this.events.addControlRoute(router, (body) => stripeEventSchema.parse(body));
    return router;
  }

  /** One charge of the invoice, as its `nextOutcome` says; the subscription follows. */
  private attempt(invoice: StripeInvoiceRecord): boolean {
    invoice.attemptCount += 1;
    const subscription = invoice.subscriptionId ? this.subscriptions.get(invoice.subscriptionId) : undefined;
    if (invoice.nextOutcome === 'succeed') {
      invoice.status = 'paid';
      invoice.amountPaid = invoice.amountDue;
      if (subscription?.status === 'past_due' || subscription?.status === 'unpaid') subscription.status = 'active';
      return true;
    }
    invoice.status = 'open';
    if (subscription?.status === 'active') subscription.status = 'past_due';
    return false;
  }

  private readonly findInvoice: RecordFinder<StripeInvoiceRecord> = (ctx, id) => {
    const invoice = this.invoices.get(id);
    if (!invoice) renderError(ctx, 404, { type: 'invalid_request_error', code: 'resource_missing', param: 'invoice', message: `No such invoice: '${id}'` });
    return invoice;
  };

  private readonly findCustomer: RecordFinder<StripeCustomerRecord> = (ctx, id) => {
    const customer = this.customers.get(id);
    if (!customer) renderError(ctx, 404, { type: 'invalid_request_error', code: 'resource_missing', param: 'id', message: `No such customer: '${id}'` });
    return customer;
  };

  private readonly findSubscription: RecordFinder<StripeSubscriptionRecord> = (ctx, id) => {
    const subscription = this.subscriptions.get(id);
    if (!subscription) renderError(ctx, 404, { type: 'invalid_request_error', code: 'resource_missing', param: 'id', message: `No such subscription: '${id}'` });
    return subscription;
  };

  private invoiceJson(invoice: StripeInvoiceRecord) {
    return {
      id: invoice.id,
      object: 'invoice',
      customer: invoice.customerId,
      status: invoice.status,
      amount_due: invoice.amountDue,
      amount_paid: invoice.amountPaid,
      amount_remaining: invoice.amountDue - invoice.amountPaid,
      attempt_count: invoice.attemptCount,
      attempted: invoice.attemptCount > 0,
      next_payment_attempt: invoice.status === 'open' ? invoice.nextPaymentAttempt : null,
      currency: 'usd',
      created: invoice.created,
      livemode: false,
      parent: invoice.subscriptionId
        ? { type: 'subscription_details', quote_details: null, subscription_details: { subscription: invoice.subscriptionId, metadata: {} } }
        : null,
    };
  }

  private subscriptionJson(subscription: StripeSubscriptionRecord) {
    return {
      id: subscription.id,
      object: 'subscription',
      customer: subscription.customerId,
      status: subscription.status,
      cancel_at_period_end: subscription.cancelAtPeriodEnd,
      canceled_at: subscription.canceledAt,
      ended_at: subscription.status === 'canceled' ? subscription.canceledAt : null,
      latest_invoice: subscription.latestInvoiceId,
      livemode: false,
      items: {
        object: 'list',
        has_more: false,
        data: [
          {
            id: subscription.itemId,
            object: 'subscription_item',
            current_period_start: subscription.periodStart,
            current_period_end: subscription.periodEnd,
          },
        ],
      },
    };
  }
}

function renderFault(ctx: Context, status: number): void {
  if (status === 429) return renderError(ctx, 429, { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests hit the API too quickly.' });
  if (status >= 500) return renderError(ctx, status, { type: 'api_error', message: 'An unknown error occurred' });
  renderError(ctx, status, { type: 'invalid_request_error', message: 'Bad request' });
}

/** Stripe's error envelope, and the request id every answer carries. */
function renderError(ctx: Context, status: number, error: { type: string; message: string; code?: string; [field: string]: unknown }): void {
  ctx.status = status;
  ctx.set('Request-Id', mixedId('req_'));
  ctx.body = { error };
}
