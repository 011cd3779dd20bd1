import { randomUUID } from 'node:crypto';
import { Router } from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { attemptOutcomes, DAY_MS, newId, jsonBodyOf, type AttemptOutcome } from '../../../testing/sandbox/common';
import { addCollectionRoutes, addRenewRoute } from '../../../testing/sandbox/control-routes';
import { bearerTokenOnly, onRecord, providerApi, type RecordFinder, type SandboxPlumbing } from '../../../testing/sandbox/provider-api';
import { listNotifications } from './notifications';

/*
 * A stand-in for the parts of the BillForward API billflow calls: notifications to confirm
 * webhooks by, invoices whose execution pays or not as told, subscriptions that cancel (now or
 * at period end), freeze, resume and renew on command. Every answer is BillForward's page
 * (`{ executionTime, results: […] }`), every error its `{ errorType, errorMessage }`. Like
 * BillForward, it takes no idempotency key: a second request acts a second time. Invoices are
 * versioned as BillForward's are: `/invoices/{id}` takes the invoice's id only (a version's id is
 * its 404), `/invoices/version/{id}` a version's; each execution that changes an invoice's state
 * makes a new version, and notifications about an invoice name its version in `entityID`.
 */

export const subscriptionStates = ['Trial', 'Provisioned', 'Paid', 'AwaitingPayment', 'Cancelled', 'Failed', 'Expired'] as const;
export const invoiceStates = ['Pending', 'Unpaid', 'Paid', 'Voided'] as const;

export interface BillForwardSubscriptionRecord {
  id: string;
  accountId: string;
  state: (typeof subscriptionStates)[number];
  frozen: boolean;
  /** Set by a cancellation at period end: the next renewal cancels instead. */
  cancelsAtPeriodEnd: boolean;
  currentPeriodStart: string;
  currentPeriodEnd: string;
}

export interface BillForwardInvoiceRecord {
  id: string;
  /** The current version's id; `versions` holds every version's, oldest first. */
  versionId: string;
  versions: string[];
  accountId: string;
  subscriptionId?: string;
  state: (typeof invoiceStates)[number];
  cost: number;
  /** Executions so far; each one is a payment attempt. */
  executions: number;
  nextOutcome: AttemptOutcome;
}

export interface BillForwardNotificationRecord {
  id: string;
  domain: string;
  action: string;
  entityId: string;
  entity: unknown;
  changes: unknown;
  created: string;
}

export const billForwardSubscriptionSeed = z.object({
  id: z.string().min(1).optional(),
  accountId: z.string().min(1),
  state: z.enum(subscriptionStates).default('Paid'),
  frozen: z.boolean().default(false),
});
export const billForwardInvoiceSeed = z.object({
  id: z.string().min(1).optional(),
  /** The id of its first version; a fresh one when absent. */
  versionId: z.string().min(1).optional(),
  accountId: z.string().min(1),
  subscriptionId: z.string().min(1).optional(),
  state: z.enum(invoiceStates).default('Unpaid'),
  cost: z.number().positive().default(15),
  nextOutcome: z.enum(attemptOutcomes).default('succeed'),
});
export const billForwardNotificationSeed = z.object({
  id: z.string().min(1).optional(),
  domain: z.string().min(1),
  action: z.string().min(1),
  entityId: z.string().min(1),
  entity: z.unknown().optional(),
  changes: z.unknown().optional(),
});
export type BillForwardSubscriptionSeed = z.input<typeof billForwardSubscriptionSeed>;
export type BillForwardInvoiceSeed = z.input<typeof billForwardInvoiceSeed>;
export type BillForwardNotificationSeed = z.input<typeof billForwardNotificationSeed>;

const ended = new Set(['Cancelled', 'Expired', 'Failed']);

export class BillForwardSandbox {
  /** @param accessToken the bearer token its API accepts */
  constructor(private readonly accessToken: string) {}

  /** Accounts billflow reads on `Account.Deleted`; a deleted one is still answered, marked deleted. */
  readonly accounts = new Map<string, { id: string; deleted: boolean }>();
  readonly subscriptions = new Map<string, BillForwardSubscriptionRecord>();
  readonly invoices = new Map<string, BillForwardInvoiceRecord>();
  readonly notifications = new Map<string, BillForwardNotificationRecord>();

  seedSubscription(seed: BillForwardSubscriptionSeed): BillForwardSubscriptionRecord {
    const fields = billForwardSubscriptionSeed.parse(seed);
    const id = fields.id ?? newId('SUB-', 12).toUpperCase();
    const start = Date.now();
    const subscription: BillForwardSubscriptionRecord = {
      id,
      accountId: fields.accountId,
      state: fields.state,
      frozen: fields.frozen,
      cancelsAtPeriodEnd: false,
      currentPeriodStart: new Date(start).toISOString(),
      currentPeriodEnd: new Date(start + 30 * DAY_MS).toISOString(),
    };
    this.subscriptions.set(id, subscription);
    return subscription;
  }

  seedInvoice(seed: BillForwardInvoiceSeed): BillForwardInvoiceRecord {
    const fields = billForwardInvoiceSeed.parse(seed);
    const id = fields.id ?? newId('INV-', 12).toUpperCase();
    const versionId = fields.versionId ?? newVersionId();
    const invoice: BillForwardInvoiceRecord = { ...fields, id, versionId, versions: [versionId], executions: 0 };
    this.invoices.set(id, invoice);
    return invoice;
  }

  seedNotification(seed: BillForwardNotificationSeed): BillForwardNotificationRecord {
    const fields = billForwardNotificationSeed.parse(seed);
    const notification: BillForwardNotificationRecord = {
      id: fields.id ?? newId('NOT-', 12).toUpperCase(),
      domain: fields.domain,
      action: fields.action,
      entityId: fields.entityId,
      entity: fields.entity ?? {},
      changes: fields.changes ?? {},
      created: new Date().toISOString(),
    };
    this.notifications.set(notification.id, notification);
    return notification;
  }

  renew(id: string, outcome: AttemptOutcome): { subscription: BillForwardSubscriptionRecord; invoice?: BillForwardInvoiceRecord } {
    const subscription = this.subscriptions.get(id);
    if (!subscription) throw new Error(`no sandbox BillForward subscription ${id}`);
    if (subscription.cancelsAtPeriodEnd) {
      subscription.state = 'Cancelled';
      return { subscription };
    }
    if (ended.has(subscription.state) || subscription.frozen) throw new Error(`a ${subscription.frozen ? 'frozen' : subscription.state} subscription does not renew`);
    const start = Date.parse(subscription.currentPeriodEnd);
    subscription.currentPeriodStart = new Date(start).toISOString();
    subscription.currentPeriodEnd = new Date(start + 30 * DAY_MS).toISOString();
    const invoice = this.seedInvoice({ accountId: subscription.accountId, subscriptionId: subscription.id, nextOutcome: outcome });
    this.execute(invoice);
    return { subscription, invoice };
  }

  seedAccount(seed: { id: string; deleted?: boolean }): { id: string; deleted: boolean } {
    const account = { id: seed.id, deleted: seed.deleted ?? false };
    this.accounts.set(account.id, account);
    return account;
  }

  reset(): void {
    this.accounts.clear();
    this.subscriptions.clear();
    this.invoices.clear();
    this.notifications.clear();
  }

  /** The API under `/billforward`: recorded, then faulted, authenticated, answered. */
  api(options: SandboxPlumbing): Router {
    const findNotification = finder('Notification', this.notifications);
    const findInvoice = finder('Invoice', this.invoices);
    const findInvoiceVersion: RecordFinder<{ invoice: BillForwardInvoiceRecord; versionId: string }> = (ctx, versionId) => {
      const invoice = [...this.invoices.values()].find((candidate) => candidate.versions.includes(versionId));
      if (!invoice) renderError(ctx, 404, 'NotFound', `No Invoice found with version ID ${versionId}`, ['versionID']);
      return invoice && { invoice, versionId };
    };
    const findSubscription = finder('Subscription', this.subscriptions);
    const findAccount = finder('Account', this.accounts);
    const admit = bearerTokenOnly(this.accessToken, (ctx) => renderError(ctx, 401, 'Oauth', 'Access is denied: the bearer token is missing or invalid'));
    const notFound = (ctx: Context) => renderError(ctx, 404, 'NotFound', 'No such resource');
    return providerApi(options, { name: 'billforward', renderFault, admit, notFound }, (router) => {
      router.get('/notifications/:lower/:upper', (ctx) => {
        const answer = listNotifications(this.notifications.values(), { lower: ctx.params.lower ?? '', upper: ctx.params.upper ?? '' }, ctx.querystring);
        if ('message' in answer) return renderError(ctx, 400, 'ValidationError', answer.message, [answer.parameter]);
        ctx.body = { executionTime: 1, ...answer, results: answer.results.map(notificationJson) };
      });
      router.get('/notifications/:id', onRecord(findNotification, (ctx, notification) => {
        page(ctx, notificationJson(notification));
      }));
      router.get('/invoices/version/:id', onRecord(findInvoiceVersion, (ctx, { invoice, versionId }) => {
        // An older version is what it was when it was replaced: recalculated away, so voided.
        page(ctx, { ...invoiceJson(invoice), versionID: versionId, versionNumber: invoice.versions.indexOf(versionId) + 1, ...(versionId === invoice.versionId ? {} : { state: 'Voided' }) });
      }));
      router.get('/invoices/:id', onRecord(findInvoice, (ctx, invoice) => {
        page(ctx, invoiceJson(invoice));
      }));
      router.post('/invoices/:id/execute', onRecord(findInvoice, (ctx, invoice) => {
        if (invoice.state !== 'Unpaid' && invoice.state !== 'Pending') {
          return renderError(ctx, 400, 'ValidationError', `Invoice ${invoice.id} is ${invoice.state} and cannot be executed`);
        }
        this.execute(invoice);
        page(ctx, invoiceJson(invoice));
      }));
      router.get('/accounts/:id', onRecord(findAccount, (ctx, account) => {
        page(ctx, { '@type': 'account', id: account.id, deleted: account.deleted });
      }));
      router.get('/subscriptions/:id', onRecord(findSubscription, (ctx, subscription) => {
        page(ctx, subscriptionJson(subscription));
      }));
      router.post('/subscriptions/:id/cancel', onRecord(findSubscription, (ctx, subscription) => {
        const body = z.object({ serviceEnd: z.enum(['Immediate', 'AtPeriodEnd']).default('AtPeriodEnd') }).safeParse(jsonBodyOf(ctx));
        if (!body.success) return renderError(ctx, 400, 'ValidationError', 'serviceEnd must be Immediate or AtPeriodEnd', ['serviceEnd']);
        if (ended.has(subscription.state)) return renderError(ctx, 400, 'ValidationError', `Subscription ${subscription.id} is already ${subscription.state}`);
        const immediate = body.data.serviceEnd === 'Immediate';
        if (immediate) subscription.state = 'Cancelled';
        else subscription.cancelsAtPeriodEnd = true;
        page(ctx, {
          '@type': 'CancellationAmendment',
          id: newId('AMD-', 12).toUpperCase(),
          subscriptionID: subscription.id,
          serviceEnd: body.data.serviceEnd,
          actioningTime: immediate ? new Date().toISOString() : subscription.currentPeriodEnd,
          state: immediate ? 'Succeeded' : 'Pending',
        });
      }));
      router.post('/subscriptions/:id/freeze', onRecord(findSubscription, (ctx, subscription) => {
        if (subscription.frozen || ended.has(subscription.state)) {
          return renderError(ctx, 400, 'ValidationError', `Subscription ${subscription.id} cannot be frozen`);
        }
        subscription.frozen = true;
        page(ctx, subscriptionJson(subscription));
      }));
      router.post('/subscriptions/:id/resume', onRecord(findSubscription, (ctx, subscription) => {
        if (!subscription.frozen) return renderError(ctx, 400, 'ValidationError', `Subscription ${subscription.id} is not frozen`);
        subscription.frozen = false;
        page(ctx, subscriptionJson(subscription));
      }));
    });
  }

  /** Seeding and inspection under `/_sandbox/billforward`. */
  control(): Router {
    const router = new Router({ prefix: '/billforward' });
    addCollectionRoutes(router, 'accounts', {
      records: this.accounts,
      seed: { schema: z.object({ id: z.string().min(1), deleted: z.boolean().default(false) }), create: (fields) => this.seedAccount(fields) },
    });
    addCollectionRoutes(router, 'subscriptions', {
      records: this.subscriptions,
      seed: { schema: billForwardSubscriptionSeed, create: (fields) => this.seedSubscription(fields) },
      change: { schema: z.object({ state: z.enum(subscriptionStates).optional(), frozen: z.boolean().optional() }), noun: 'BillForward subscription' },
    });
    addCollectionRoutes(router, 'invoices', {
      records: this.invoices,
      seed: { schema: billForwardInvoiceSeed, create: (fields) => this.seedInvoice(fields) },
      change: { schema: z.object({ state: z.enum(invoiceStates).optional(), nextOutcome: z.enum(attemptOutcomes).optional() }), noun: 'BillForward invoice' },
    });
    addCollectionRoutes(router, 'notifications', {
      records: this.notifications,
      list: false,
      seed: { schema: billForwardNotificationSeed, create: (fields) => this.seedNotification(fields) },
    });
    addRenewRoute(router, (id, outcome) => this.renew(id, outcome));
    return router;
  }

  /** One payment attempt on the invoice; the subscription waits for payment while it fails. */
  private execute(invoice: BillForwardInvoiceRecord): void {
    invoice.executions += 1;
    const before = invoice.state;
    const subscription = invoice.subscriptionId ? this.subscriptions.get(invoice.subscriptionId) : undefined;
    if (invoice.nextOutcome === 'succeed') {
      invoice.state = 'Paid';
      if (subscription?.state === 'AwaitingPayment') subscription.state = 'Paid';
    } else {
      invoice.state = 'Unpaid';
      if (subscription?.state === 'Paid') subscription.state = 'AwaitingPayment';
    }
    if (invoice.state !== before) {
      invoice.versionId = newVersionId();
      invoice.versions.push(invoice.versionId);
    }
  }

}

/** Looks a record up by the id in the path; a missing one is BillForward's 404. */
function finder<T>(kind: string, records: Map<string, T>): RecordFinder<T> {
  return (ctx, id) => {
    const record = records.get(id);
    if (record === undefined) renderError(ctx, 404, 'NotFound', `No ${kind} found with ID ${id}`, ['id']);
    return record;
  };
}

function page(ctx: Context, result: unknown): void {
  ctx.body = { executionTime: 1, results: [result] };
}

function notificationJson(notification: BillForwardNotificationRecord) {
  return {
    id: notification.id,
    domain: notification.domain,
    action: notification.action,
    entityID: notification.entityId,
    // BillForward sends these two as JSON strings inside the JSON.
    entity: JSON.stringify(notification.entity),
    changes: JSON.stringify(notification.changes),
    created: notification.created,
    state: 'Sent',
  };
}

/** BillForward's ids are upper-case GUIDs. */
function newVersionId(): string {
  return randomUUID().toUpperCase();
}

function invoiceJson(invoice: BillForwardInvoiceRecord) {
  return {
    '@type': 'invoice',
    id: invoice.id,
    versionID: invoice.versionId,
    versionNumber: invoice.versions.length,
    accountID: invoice.accountId,
    subscriptionID: invoice.subscriptionId ?? null,
    state: invoice.state,
    type: 'Subscription',
    cost: invoice.cost,
    invoiceCost: invoice.cost,
    invoicePaid: invoice.state === 'Paid' ? invoice.cost : 0,
    currency: 'USD',
  };
}

function subscriptionJson(subscription: BillForwardSubscriptionRecord) {
  return {
    '@type': 'Subscription',
    id: subscription.id,
    accountID: subscription.accountId,
    state: subscription.state,
    frozen: subscription.frozen,
    currentPeriodStart: subscription.currentPeriodStart,
    currentPeriodEnd: subscription.currentPeriodEnd,
  };
}

function renderFault(ctx: Context, status: number): void {
  if (status === 429) return renderError(ctx, 429, 'RateLimit', 'Too many requests');
  if (status >= 500) return renderError(ctx, status, 'ServerError', 'An internal error occurred');
  renderError(ctx, status, 'ValidationError', 'Bad request');
}

function renderError(ctx: Context, status: number, errorType: string, errorMessage: string, errorParameters: string[] = []): void {
  ctx.status = status;
  ctx.body = { errorType, errorMessage, errorParameters };
}
