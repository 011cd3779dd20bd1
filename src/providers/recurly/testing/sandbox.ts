import { randomUUID } from 'node:crypto';
import { Router } from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { attemptOutcomes, DAY_MS, KeptAnswers, newId, jsonBodyOf, type AttemptOutcome } from '../../../testing/sandbox/common';
import { addCollectionRoutes, addRenewRoute } from '../../../testing/sandbox/control-routes';
import { onRecord, providerApi, type RecordFinder, type SandboxPlumbing } from '../../../testing/sandbox/provider-api';
import { recurlyTime, serveList } from './lists';

/*
 * A stand-in for the parts of the Recurly v3 API billflow calls: accounts, subscriptions that
 * cancel, terminate, pause and renew, invoices whose collection succeeds or is declined as told,
 * the transactions those attempts leave, Recurly's error envelope, and replay by Idempotency-Key.
 */

export const RECURLY_ACCEPT = 'application/vnd.recurly.v2021-02-25';

export const subscriptionStates = ['active', 'canceled', 'expired', 'failed', 'future', 'paused'] as const;
export const invoiceStates = ['pending', 'processing', 'past_due', 'paid', 'failed', 'voided'] as const;

export interface RecurlyAccountRecord {
  id: string;
  code: string;
  state: 'active' | 'inactive';
}

export const recurlyAccountSeed = z.object({ code: z.string().min(1), state: z.enum(['active', 'inactive']).default('active') });

export interface RecurlySubscriptionRecord {
  id: string;
  uuid: string;
  accountCode: string;
  state: (typeof subscriptionStates)[number];
  periodStartedAt: string;
  periodEndsAt: string;
  remainingPauseCycles: number | null;
  createdAt: string;
  /** Every change moves it: what `sort=updated_at` lists by. */
  updatedAt: string;
  /** When it entered its current state: its `canceled_at`, `paused_at`, or expiry. */
  stateChangedAt: string;
}

export interface RecurlyInvoiceRecord {
  id: string;
  number: string;
  accountCode: string;
  subscriptionId?: string;
  state: (typeof invoiceStates)[number];
  total: number;
  balance: number;
  /** What the next collection does. */
  nextOutcome: AttemptOutcome;
  createdAt: string;
  updatedAt: string;
  /** When it entered its current state: its `closed_at` once paid, failed or voided. */
  stateChangedAt: string;
}

export interface RecurlyTransactionRecord {
  id: string;
  uuid: string;
  accountCode: string;
  invoiceId?: string;
  subscriptionId?: string;
  status: 'success' | 'declined';
}

/** Recurly's own ids: 12 lower-case base-36 characters (`e28zov4fw0v2`). */
const recurlyId = z.string().regex(/^[a-z0-9]{12}$/, 'a Recurly id is 12 lower-case letters and digits');
/** Subscription and transaction uuids: 32 lower-case hexadecimal characters. */
const recurlyUuid = z.string().regex(/^[0-9a-f]{32}$/, 'a Recurly uuid is 32 lower-case hexadecimal characters');

export const recurlySubscriptionSeed = z.object({
  id: recurlyId.optional(),
  uuid: recurlyUuid.optional(),
  accountCode: z.string().min(1),
  state: z.enum(subscriptionStates).default('active'),
  periodEndsAt: z.string().datetime().optional(),
});
export const recurlyInvoiceSeed = z.object({
  id: recurlyId.optional(),
  number: z.string().regex(/^\d+$/, 'an invoice number is digits').optional(),
  accountCode: z.string().min(1),
  /** The Recurly id of its subscription, as invoices list them in `subscription_ids`. */
  subscriptionId: recurlyId.optional(),
  state: z.enum(invoiceStates).default('past_due'),
  total: z.number().positive().default(15),
  nextOutcome: z.enum(attemptOutcomes).default('succeed'),
});
export const recurlyTransactionSeed = z.object({
  uuid: recurlyUuid.optional(),
  accountCode: z.string().min(1),
  /** The uuid of a seeded subscription the charge was for, as a webhook names it. */
  subscriptionUuid: recurlyUuid.optional(),
  invoiceId: recurlyId.optional(),
  status: z.enum(['success', 'declined']).default('declined'),
});
export type RecurlySubscriptionSeed = z.input<typeof recurlySubscriptionSeed>;
export type RecurlyTransactionSeed = z.input<typeof recurlyTransactionSeed>;
export type RecurlyInvoiceSeed = z.input<typeof recurlyInvoiceSeed>;

const collectable = new Set(['pending', 'past_due', 'failed']);

export class RecurlySandbox {
  /** @param apiKey the private API key its API accepts */
  constructor(private readonly apiKey: string) {}

  readonly accounts = new Map<string, RecurlyAccountRecord>();
  readonly subscriptions = new Map<string, RecurlySubscriptionRecord>();
  readonly invoices = new Map<string, RecurlyInvoiceRecord>();
  readonly transactions = new Map<string, RecurlyTransactionRecord>();
  private readonly kept = new KeptAnswers();
  private invoiceNumber = 1000;

  /** Creates the subscription (and its account if new), or replaces the one with the same id or uuid. */
  seedSubscription(seed: RecurlySubscriptionSeed): RecurlySubscriptionRecord {
    const fields = recurlySubscriptionSeed.parse(seed);
    this.ensureAccount(fields.accountCode);
    const existing = (fields.id && this.subscriptions.get(fields.id)) || (fields.uuid && this.subscriptionBy(`uuid-${fields.uuid}`)) || undefined;
    const id = fields.id ?? existing?.id ?? newId('', 12);
    const now = Date.now();
    const at = new Date(now).toISOString();
    const subscription: RecurlySubscriptionRecord = {
      id,
      uuid: fields.uuid ?? existing?.uuid ?? randomUUID().replace(/-/g, ''),
      accountCode: fields.accountCode,
      state: fields.state,
      periodStartedAt: new Date(now).toISOString(),
      periodEndsAt: fields.periodEndsAt ?? new Date(now + 30 * DAY_MS).toISOString(),
      remainingPauseCycles: null,
      createdAt: existing?.createdAt ?? at,
      updatedAt: at,
      stateChangedAt: existing?.state === fields.state ? existing.stateChangedAt : at,
    };
    this.subscriptions.set(id, subscription);
    return subscription;
  }

  /** Creates the invoice (and its account if new), or replaces the one with the same id. */
  seedInvoice(seed: RecurlyInvoiceSeed): RecurlyInvoiceRecord {
    const fields = recurlyInvoiceSeed.parse(seed);
    this.ensureAccount(fields.accountCode);
    const id = fields.id ?? newId('', 12);
    const at = new Date().toISOString();
    const invoice: RecurlyInvoiceRecord = {
      id,
      number: fields.number ?? String(++this.invoiceNumber),
      accountCode: fields.accountCode,
      subscriptionId: fields.subscriptionId,
      state: fields.state,
      total: fields.total,
      balance: fields.state === 'paid' ? 0 : fields.total,
      nextOutcome: fields.nextOutcome,
      createdAt: at,
      updatedAt: at,
      stateChangedAt: at,
    };
    this.invoices.set(id, invoice);
    return invoice;
  }

  /** Creates a transaction (a payment attempt), or replaces the one with the same uuid. */
  seedTransaction(seed: RecurlyTransactionSeed): RecurlyTransactionRecord {
    const fields = recurlyTransactionSeed.parse(seed);
    this.ensureAccount(fields.accountCode);
    const subscription = fields.subscriptionUuid === undefined ? undefined : this.subscriptionBy(`uuid-${fields.subscriptionUuid}`);
    if (fields.subscriptionUuid !== undefined && !subscription) throw new Error(`no sandbox Recurly subscription with uuid ${fields.subscriptionUuid}`);
    const existing = fields.uuid === undefined ? undefined : this.transactionBy(`uuid-${fields.uuid}`);
    const transaction: RecurlyTransactionRecord = {
      id: existing?.id ?? newId('', 12),
      uuid: fields.uuid ?? randomUUID().replace(/-/g, ''),
      accountCode: fields.accountCode,
      invoiceId: fields.invoiceId,
      subscriptionId: subscription?.id,
      status: fields.status,
    };
    this.transactions.set(transaction.id, transaction);
    return transaction;
  }

  /** The renewal Recurly runs at the end of a term: a canceled subscription expires instead. */
  renew(id: string, outcome: AttemptOutcome): { subscription: RecurlySubscriptionRecord; invoice?: RecurlyInvoiceRecord } {
    // By its id, or (what a webhook names) its uuid.
    const subscription = this.subscriptions.get(id) ?? this.subscriptionBy(`uuid-${id}`);
    if (!subscription) throw new Error(`no sandbox Recurly subscription ${id}`);
    if (subscription.state === 'canceled') {
      changed(subscription, 'expired');
      return { subscription };
    }
    if (subscription.state === 'paused') {
      const remaining = (subscription.remainingPauseCycles ?? 1) - 1;
      subscription.remainingPauseCycles = remaining > 0 ? remaining : null;
      if (remaining > 0) {
        changed(subscription);
        return { subscription };
      }
      changed(subscription, 'active');
    }
    if (subscription.state !== 'active') throw new Error(`a ${subscription.state} subscription does not renew`);
    const start = Date.parse(subscription.periodEndsAt);
    subscription.periodStartedAt = new Date(start).toISOString();
    subscription.periodEndsAt = new Date(start + 30 * DAY_MS).toISOString();
    changed(subscription);
    const invoice = this.seedInvoice({ accountCode: subscription.accountCode, subscriptionId: subscription.id, state: 'pending', nextOutcome: outcome });
    this.attempt(invoice);
    return { subscription, invoice };
  }

  reset(): void {
    this.accounts.clear();
    this.subscriptions.clear();
    this.invoices.clear();
    this.transactions.clear();
    this.kept.clear();
  }

  /** The API under `/recurly`: recorded, then faulted, authenticated, replayed, answered. */
  api(options: SandboxPlumbing): Router {
    const findAccount = finder('Account', (id) => this.accountBy(id));
    const findSubscription = finder('Subscription', (id) => this.subscriptionBy(id));
    const findInvoice = finder('Invoice', (id) => this.invoiceBy(id));
    const findTransaction = finder('Transaction', (id) => this.transactionBy(id));
    const replay = this.kept.middleware({
      methods: ['POST', 'PUT', 'DELETE'],
      refuseReuse: (ctx) => renderError(ctx, 422, 'invalid_idempotency_key', 'This Idempotency-Key was used for another request'),
      // Recurly answers it as a 422 (recurly-client-node: SimultaneousRequestError is an UnprocessableEntityError).
      refuseConcurrent: (ctx) => renderError(ctx, 422, 'simultaneous_request', 'A request with this Idempotency-Key is in progress'),
    });
    const admit = (ctx: Context) => authenticate(ctx, this.apiKey);
    const notFound = (ctx: Context) => renderError(ctx, 404, 'not_found', 'The requested resource was not found');
    return providerApi(options, { name: 'recurly', renderFault, admit, replay, notFound }, (router) => {
      router.get('/accounts/:id', onRecord(findAccount, (ctx, account) => {
        ctx.body = accountJson(account);
      }));
      router.get('/subscriptions', (ctx) => {
        serveList(ctx, 'subscriptions', [...this.subscriptions.values()], (subscription) => this.subscriptionJson(subscription));
      });
      router.get('/invoices', (ctx) => {
        serveList(ctx, 'invoices', [...this.invoices.values()], (invoice) => this.invoiceJson(invoice));
      });
      router.get('/subscriptions/:id', onRecord(findSubscription, (ctx, subscription) => {
        ctx.body = this.subscriptionJson(subscription);
      }));
      router.put('/subscriptions/:id/cancel', onRecord(findSubscription, (ctx, subscription) => {
        if (subscription.state !== 'active') return invalidTransition(ctx, `Subscription is ${subscription.state} and cannot be canceled`);
        changed(subscription, 'canceled');
        ctx.body = this.subscriptionJson(subscription);
      }));
      router.put('/subscriptions/:id/pause', onRecord(findSubscription, (ctx, subscription) => {
        const body = z.object({ remaining_pause_cycles: z.number().int().positive() }).safeParse(jsonBodyOf(ctx));
        if (!body.success) return renderError(ctx, 422, 'validation', 'remaining_pause_cycles must be a positive integer');
        if (subscription.state !== 'active') return invalidTransition(ctx, `Subscription is ${subscription.state} and cannot be paused`);
        changed(subscription, 'paused');
        subscription.remainingPauseCycles = body.data.remaining_pause_cycles;
        ctx.body = this.subscriptionJson(subscription);
      }));
      router.delete('/subscriptions/:id', onRecord(findSubscription, (ctx, subscription) => {
        if (subscription.state === 'expired') return invalidTransition(ctx, 'Subscription is already expired');
        changed(subscription, 'expired');
        subscription.periodEndsAt = new Date().toISOString();
        ctx.body = this.subscriptionJson(subscription);
      }));
      router.get('/invoices/:id', onRecord(findInvoice, (ctx, invoice) => {
        ctx.body = this.invoiceJson(invoice);
      }));
      router.put('/invoices/:id/collect', onRecord(findInvoice, (ctx, invoice) => {
        if (!collectable.has(invoice.state)) return invalidTransition(ctx, `Invoice is ${invoice.state} and cannot be collected`);
        const transaction = this.attempt(invoice);
        if (transaction.status === 'success') {
          ctx.body = this.invoiceJson(invoice);
          return;
        }
        renderError(ctx, 422, 'transaction', 'Your card was declined. Please contact your bank.', {
          transaction_error: {
            object: 'transaction_error',
            transaction_id: transaction.id,
            category: 'soft',
            code: 'insufficient_funds',
            message: 'The transaction was declined due to insufficient funds in the account.',
            merchant_advice: 'Ask the customer to use another card or retry later.',
          },
        });
      }));
      router.get('/transactions/:id', onRecord(findTransaction, (ctx, transaction) => {
        ctx.body = this.transactionJson(transaction);
      }));
    });
  }

  /** Seeding and inspection under `/_sandbox/recurly`. */
  control(): Router {
    const router = new Router({ prefix: '/recurly' });
    addCollectionRoutes(router, 'accounts', {
      records: this.accounts,
      seed: { schema: recurlyAccountSeed, create: (fields) => this.seedAccount(fields) },
    });
    addCollectionRoutes(router, 'subscriptions', {
      records: this.subscriptions,
      seed: { schema: recurlySubscriptionSeed, create: (fields) => this.seedSubscription(fields) },
      change: { schema: z.object({ state: z.enum(subscriptionStates) }).transform(changeOf), noun: 'Recurly subscription' },
    });
    addCollectionRoutes(router, 'invoices', {
      records: this.invoices,
      seed: { schema: recurlyInvoiceSeed, create: (fields) => this.seedInvoice(fields) },
      change: {
        schema: z.object({ state: z.enum(invoiceStates).optional(), nextOutcome: z.enum(attemptOutcomes).optional() }).transform(changeOf),
        noun: 'Recurly invoice',
      },
    });
    addCollectionRoutes(router, 'transactions', {
      records: this.transactions,
      seed: { schema: recurlyTransactionSeed, create: (fields) => this.seedTransaction(fields) },
    });
    addRenewRoute(router, (id, outcome) => this.renew(id, outcome));
    return router;
  }

  /** One charge of the invoice's balance, as its `nextOutcome` says. */
  private attempt(invoice: RecurlyInvoiceRecord): RecurlyTransactionRecord {
    const succeeded = invoice.nextOutcome === 'succeed';
    const transaction: RecurlyTransactionRecord = {
      id: newId('', 12),
      uuid: randomUUID().replace(/-/g, ''),
      accountCode: invoice.accountCode,
      invoiceId: invoice.id,
      subscriptionId: invoice.subscriptionId,
      status: succeeded ? 'success' : 'declined',
    };
    this.transactions.set(transaction.id, transaction);
    if (succeeded) {
      changed(invoice, 'paid');
      invoice.balance = 0;
    } else {
      changed(invoice, 'past_due');
    }
    return transaction;
  }

  /** The account with this code, made or moved to `state` (closed accounts are `inactive`; reopening makes them `active`). */
  seedAccount(seed: z.input<typeof recurlyAccountSeed>): RecurlyAccountRecord {
    const { code, state } = recurlyAccountSeed.parse(seed);
    this.ensureAccount(code);
    const account = [...this.accounts.values()].find((candidate) => candidate.code === code) as RecurlyAccountRecord;
    account.state = state;
    return account;
  }

  private ensureAccount(code: string): void {
    if (![...this.accounts.values()].some((account) => account.code === code)) {
      const account: RecurlyAccountRecord = { id: newId('', 12), code, state: 'active' };
      this.accounts.set(account.id, account);
    }
  }

  // As Recurly v3: a path names a record by its id or by a prefixed key; a bare uuid, number or code is no id.
  private accountBy(id: string): RecurlyAccountRecord | undefined {
    if (id.startsWith('code-')) return [...this.accounts.values()].find((account) => account.code === id.slice(5));
    return this.accounts.get(id);
  }

  private subscriptionBy(id: string): RecurlySubscriptionRecord | undefined {
    if (id.startsWith('uuid-')) return [...this.subscriptions.values()].find((subscription) => subscription.uuid === id.slice(5));
    return this.subscriptions.get(id);
  }

  private invoiceBy(id: string): RecurlyInvoiceRecord | undefined {
    if (id.startsWith('number-')) return [...this.invoices.values()].find((invoice) => invoice.number === id.slice(7));
    return this.invoices.get(id);
  }

  private transactionBy(id: string): RecurlyTransactionRecord | undefined {
    if (id.startsWith('uuid-')) return [...this.transactions.values()].find((transaction) => transaction.uuid === id.slice(5));
    return this.transactions.get(id);
  }

  private accountMini(code: string) {
    const account = [...this.accounts.values()].find((candidate) => candidate.code === code);
    return { id: account?.id ?? '', object: 'account_mini', code };
  }

  private subscriptionJson(subscription: RecurlySubscriptionRecord) {
    return {
      id: subscription.id,
      object: 'subscription',
      uuid: subscription.uuid,
      account: this.accountMini(subscription.accountCode),
      state: subscription.state,
      current_period_started_at: subscription.periodStartedAt,
      current_period_ends_at: subscription.periodEndsAt,
      remaining_pause_cycles: subscription.remainingPauseCycles,
      created_at: recurlyTime(subscription.createdAt),
      activated_at: recurlyTime(subscription.createdAt),
      updated_at: recurlyTime(subscription.updatedAt),
      canceled_at: subscription.state === 'canceled' ? recurlyTime(subscription.stateChangedAt) : null,
      // A canceled subscription expires at its term's end; an expired one did when it entered that state.
      expires_at: subscription.state === 'expired' || subscription.state === 'failed' ? recurlyTime(subscription.stateChangedAt) : subscription.state === 'canceled' ? subscription.periodEndsAt : null,
      paused_at: subscription.state === 'paused' ? recurlyTime(subscription.stateChangedAt) : null,
    };
  }

  private invoiceJson(invoice: RecurlyInvoiceRecord) {
    return {
      id: invoice.id,
      object: 'invoice',
      type: 'charge',
      number: invoice.number,
      state: invoice.state,
      account: this.accountMini(invoice.accountCode),
      subscription_ids: invoice.subscriptionId ? [invoice.subscriptionId] : [],
      collection_method: 'automatic',
      currency: 'USD',
      total: invoice.total,
      balance: invoice.balance,
      created_at: recurlyTime(invoice.createdAt),
      updated_at: recurlyTime(invoice.updatedAt),
      closed_at: closedStates.has(invoice.state) ? recurlyTime(invoice.stateChangedAt) : null,
    };
  }

  private transactionJson(transaction: RecurlyTransactionRecord) {
    const invoice = transaction.invoiceId ? this.invoices.get(transaction.invoiceId) : undefined;
    return {
      id: transaction.id,
      object: 'transaction',
      uuid: transaction.uuid,
      account: this.accountMini(transaction.accountCode),
      invoice: invoice ? { id: invoice.id, object: 'invoice_mini', number: invoice.number } : null,
      subscription_ids: transaction.subscriptionId ? [transaction.subscriptionId] : [],
      status: transaction.status,
    };
  }
}

const closedStates = new Set<string>(['paid', 'failed', 'voided']);

/** A change to a record: `updated_at` moves, and a new state starts its own time. */
function changed<State extends string>(record: { state: State; updatedAt: string; stateChangedAt: string }, state?: State): void {
  const at = new Date().toISOString();
  record.updatedAt = at;
  if (state !== undefined && state !== record.state) {
    record.state = state;
    record.stateChangedAt = at;
  }
}

/** What a control route's change assigns: the fields, and the times a change moves. */
function changeOf<Fields extends { state?: string }>(fields: Fields): Fields & { updatedAt: string; stateChangedAt?: string } {
  const at = new Date().toISOString();
  return { ...fields, updatedAt: at, ...(fields.state === undefined ? {} : { stateChangedAt: at }) };
}

function accountJson(account: RecurlyAccountRecord) {
  return { id: account.id, object: 'account', code: account.code, state: account.state };
}

/** Looks a record up by the id in the path (or `code-…`, `uuid-…`, `number-…`); a missing one is Recurly's 404. */
function finder<T>(kind: string, lookUp: (id: string) => T | undefined): RecordFinder<T> {
  return (ctx, id) => {
    const found = lookUp(id);
    if (found === undefined) {
      const [, key = 'id', value = id] = /^(code|uuid|number)-(.*)$/.exec(id) ?? [];
      renderError(ctx, 404, 'not_found', `Couldn't find ${kind} with ${key} = ${value}`, { params: [{ param: `${kind.toLowerCase()}_id` }] });
    }
    return found;
  };
}

function authenticate(ctx: Context, apiKey: string): boolean {
  const expected = `Basic ${Buffer.from(`${apiKey}:`).toString('base64')}`;
  if (ctx.get('Authorization') !== expected) {
    renderError(ctx, 401, 'unauthorized', 'Invalid API key');
    return false;
  }
  if (!ctx.get('Accept').startsWith(RECURLY_ACCEPT)) {
    renderError(ctx, 406, 'invalid_api_version', `Send Accept: ${RECURLY_ACCEPT}`);
    return false;
  }
  return true;
}

function invalidTransition(ctx: Context, message: string): void {
  renderError(ctx, 422, 'invalid_transition', message);
}

function renderFault(ctx: Context, status: number): void {
  if (status === 429) return renderError(ctx, 429, 'rate_limited', 'You have made too many API requests');
  if (status >= 500) return renderError(ctx, status, 'internal_server_error', 'An internal server error has occurred');
  renderError(ctx, status, 'bad_request', 'Bad request');
}

/** Recurly's error envelope: a `type`, a `message`, and per-error extras. */
function renderError(ctx: Context, status: number, type: string, message: string, extra: Record<string, unknown> = {}): void {
  ctx.status = status;
  ctx.set('X-Request-Id', randomUUID());
  ctx.body = { error: { type, message, ...extra } };
}
