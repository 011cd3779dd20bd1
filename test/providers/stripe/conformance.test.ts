import { existsSync } from 'node:fs';
import path from 'node:path';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedGoToolPath } from '../../../src/go-tool';
import { createStripeActivities } from '../../../src/providers/stripe/api';
import { stripeBilling } from '../../../src/providers/stripe/billing';
import { stripeEventLog } from '../../../src/providers/stripe/event-log';
import { startProviderSandbox } from '../../../src/testing/sandbox/server';
import { findOrBuildStripeMock, startStripeMock, stripeMockTool, type RunningStripeMock } from '../../../src/testing/stripe-mock';
import { failureOf } from '../../support/failures';

/*
 * billflow's Stripe client against stripe-mock, Stripe's official mock, which checks every request
 * against Stripe's OpenAPI description and refuses what it does not allow: each call billflow makes
 * is made here and must pass. stripe-mock keeps no state (any id answers a fixture), so what is
 * checked is the requests and that billflow reads Stripe's answers, not business outcomes — those
 * are the sandbox's tests (api.test.ts). Built with Go once and cached (src/testing/stripe-mock.ts);
 * skipped only when there is neither Go nor a stripe-mock to run.
 */

const goOnPath = (process.env.PATH ?? '').split(path.delimiter).some((directory) => directory && existsSync(path.join(directory, 'go')));
const runnable = Boolean(process.env.STRIPE_MOCK) || goOnPath || existsSync(cachedGoToolPath(stripeMockTool));
if (!runnable) console.warn('Skipping the stripe-mock conformance tests: no Go on PATH to build stripe-mock with, none cached, STRIPE_MOCK unset.');

describe.skipIf(!runnable)('Stripe client against stripe-mock (Stripe\'s OpenAPI description)', () => {
  let mock: RunningStripeMock;
  let stripe: ReturnType<typeof createStripeActivities>;

  beforeAll(async () => {
    const binary = await findOrBuildStripeMock({ log: (line) => console.log(`[stripe-mock] ${line}`) });
    mock = await startStripeMock(binary);
    stripe = createStripeActivities({ apiUrl: mock.url, apiKey: 'sk_test_123', timeoutMs: 10_000 });
  });

  afterAll(async () => {
    await mock?.stop();
  });

  /** Each activity billflow's Stripe client has, with the calls it makes; a new one fails until it is added here. */
  const calls: Record<keyof ReturnType<typeof createStripeActivities>, () => Promise<unknown>> = {
    getStripeInvoice: () => stripe.getStripeInvoice('in_1MtHbELkdIwHu7ixl4OzzPMv'),
    getStripeSubscription: () => stripe.getStripeSubscription('sub_1MowQVLkdIwHu7ixeRlqHVzs'),
    payStripeInvoice: () => stripe.payStripeInvoice({ invoiceId: 'in_1MtHbELkdIwHu7ixl4OzzPMv', idempotencyKey: 'stripe:subscription:sub_1MowQVLkdIwHu7ixeRlqHVzs:dunning:in_1MtHbELkdIwHu7ixl4OzzPMv:1' }),
    getStripeDispute: () => stripe.getStripeDispute('du_1MtJUT2eZvKYlo2CNaw2HvEv'),
    getStripeCharge: () => stripe.getStripeCharge('ch_3MmlLrLkdIwHu7ix0snN0B15'),
    getStripeCustomer: () => stripe.getStripeCustomer('cus_NffrFeUfNV2Hib'),
    findStripeInvoiceOfPayment: () => stripe.findStripeInvoiceOfPayment('pi_3MtwBwLkdIwHu7ix28a3tqPa'),
    cancelStripeSubscription: async () => [
      await stripe.cancelStripeSubscription({ subscriptionId: 'sub_1MowQVLkdIwHu7ixeRlqHVzs', idempotencyKey: 'cancel-at-period-end', atPeriodEnd: true }),
      await stripe.cancelStripeSubscription({ subscriptionId: 'sub_1MowQVLkdIwHu7ixeRlqHVzs', idempotencyKey: 'cancel-now' }),
    ],
  };

  it('has a case for every call of the client', () => {
    expect(Object.keys(calls).sort()).toEqual(Object.keys(stripe).sort());
  });

  it.each(Object.keys(calls))('%s: every request passes stripe-mock\'s validation and its answer reads', async (name) => {
    const answers = [await calls[name as keyof typeof calls]()].flat();
    for (const answer of answers) {
      // The invoice a payment paid is an id (stripe-mock's fixture names it `invoice`).
      if (typeof answer === 'string') continue;
      expect(answer).toMatchObject({ id: expect.stringMatching(/^(in|sub|du|ch|cus)_/) });
    }
  });

  it('reads the invoice\'s subscription and the subscription\'s period as this API version shapes them', async () => {
    const invoice = await stripe.getStripeInvoice('in_1MtHbELkdIwHu7ixl4OzzPMv');
    expect(invoice).toMatchObject({ customerId: expect.stringMatching(/^cus_/), amountRemaining: expect.any(Number), attemptCount: expect.any(Number) });
    const subscription = await stripe.getStripeSubscription('sub_1MowQVLkdIwHu7ixeRlqHVzs');
    expect(subscription).toMatchObject({ customerId: expect.stringMatching(/^cus_/), cancelAtPeriodEnd: expect.any(Boolean) });
    expect(subscription.currentPeriodEnd).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it('the billing interface\'s Stripe calls pass as well (each reads before it acts)', async () => {
    const billing = stripeBilling(stripe);
    const invoiceId = 'in_1MtHbELkdIwHu7ixl4OzzPMv';
    // stripe-mock's fixture invoice is a draft: retryPayment reads it, then pays it under its key.
    expect(await billing.retryPayment({ invoiceId, idempotencyKey: 'retry-1' })).toMatchObject({ provider: 'stripe', outcome: expect.any(String) });
    expect(await billing.getPaymentStatus({ invoiceId })).toMatchObject({ paid: expect.any(Boolean) });
    expect(await billing.resolvePaymentSubject({ invoiceId })).toMatchObject({ customerId: expect.stringMatching(/^cus_/) });
    expect(await billing.getSubscription('sub_1MowQVLkdIwHu7ixeRlqHVzs')).toMatchObject({ id: expect.stringMatching(/^sub_/), status: expect.any(String) });
    await billing.cancelSubscription({ subscriptionId: 'sub_1MowQVLkdIwHu7ixeRlqHVzs', idempotencyKey: 'cancel-1', atPeriodEnd: true }, undefined as never);
    // A dispute: its own status confirms it, and its payment intent (or charge) leads to the invoice.
    expect(await billing.getPaymentStatus({ disputeId: 'du_1MtJUT2eZvKYlo2CNaw2HvEv' })).toMatchObject({ providerStatus: expect.stringMatching(/^dispute /) });
    expect(await billing.resolvePaymentSubject({ paymentId: 'pi_3MtwBwLkdIwHu7ix28a3tqPa' })).toMatchObject({ invoiceId: expect.any(String) });
    expect(await billing.resolvePaymentSubject({ paymentId: 'ch_3MmlLrLkdIwHu7ix0snN0B15' })).toEqual(expect.any(Object));
  });

  it('is a real check: a request outside the spec is refused, and billflow reads Stripe\'s error body as final', async () => {
    // The same client the activities use, sending a parameter Stripe's spec does not have.
    const raw = new Stripe('sk_test_123', { ...hostOf(mock.url), maxNetworkRetries: 0 });
    const refused = await raw.invoices.pay('in_1MtHbELkdIwHu7ixl4OzzPMv', { not_a_parameter: true } as Stripe.InvoicePayParams).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect((refused as Stripe.errors.StripeError).statusCode).toBe(400);

    const unknownRoute = createStripeActivities({ apiUrl: mock.url, apiKey: 'sk_test_123' });
    // An id stripe-mock cannot route (a path segment with a slash encoded) is its 404 in Stripe's envelope.
    const missing = await failureOf(unknownRoute.getStripeInvoice('in_x/also'));
    expect(missing).toMatchObject({ nonRetryable: true });
    expect(missing.message).toMatch(/^Stripe GET \/v1\/invoices\/in_x\/also answered HTTP 404/);
  });

  it('the sandbox answers the fields billflow reads with the types Stripe\'s spec gives them', async () => {
    const sandbox = await startProviderSandbox();
    try {
      sandbox.state.stripe.seedSubscription({ id: 'sub_1MowQVLkdIwHu7ixeRlqHVzs', customerId: 'cus_NffrFeUfNV2Hib' });
      sandbox.state.stripe.seedInvoice({ id: 'in_1MtHbELkdIwHu7ixl4OzzPMv', customerId: 'cus_NffrFeUfNV2Hib', subscriptionId: 'sub_1MowQVLkdIwHu7ixeRlqHVzs' });
      const read = async (base: string, key: string, path: string) => {
        const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}`, 'stripe-version': '2026-10-28.endive' } });
        expect(response.status, `${base}${path}`).toBe(200);
        return (await response.json()) as Record<string, unknown>;
      };
      const invoicePath = '/v1/invoices/in_1MtHbELkdIwHu7ixl4OzzPMv';
      const subscriptionPath = '/v1/subscriptions/sub_1MowQVLkdIwHu7ixeRlqHVzs';
      const fromMock = { invoice: await read(mock.url, 'sk_test_123', invoicePath), subscription: await read(mock.url, 'sk_test_123', subscriptionPath) };
      const fromSandbox = { invoice: await read(sandbox.url, sandbox.accessToken, invoicePath), subscription: await read(sandbox.url, sandbox.accessToken, subscriptionPath) };
      // What src/providers/stripe/api.ts reads of each (toInvoice, toSubscription).
      const invoiceFields = ['id', 'object', 'status', 'customer', 'amount_remaining', 'attempt_count', 'parent'];
      const subscriptionFields = ['id', 'object', 'status', 'customer', 'cancel_at_period_end', 'items'];
      for (const [name, fields] of [['invoice', invoiceFields], ['subscription', subscriptionFields]] as const) {
        for (const field of fields) {
          expect(typeOf(fromSandbox[name][field]), `${name}.${field}`).toBe(typeOf(fromMock[name][field]));
        }
      }
      const itemOf = (subscription: Record<string, unknown>) => (subscription.items as { data: Record<string, unknown>[] }).data[0] ?? {};
      expect(typeOf(itemOf(fromSandbox.subscription).current_period_end)).toBe(typeOf(itemOf(fromMock.subscription).current_period_end));
    } finally {
      await sandbox.close();
    }
  });

  it('the sandbox answers disputes, charges, invoice payments and customers with the fields billflow reads typed as Stripe\'s spec types them', async () => {
    const sandbox = await startProviderSandbox();
    try {
      const stripeState = sandbox.state.stripe;
      stripeState.seedSubscription({ id: 'sub_1', customerId: 'cus_1' });
      stripeState.seedInvoice({ id: 'in_1', customerId: 'cus_1', subscriptionId: 'sub_1', status: 'paid' });
      stripeState.disputes.seedCharge({ id: 'ch_1', customerId: 'cus_1', paymentIntentId: 'pi_1', invoiceId: 'in_1' });
      stripeState.disputes.seedDispute({ id: 'du_1', chargeId: 'ch_1' });
      stripeState.seedCustomer({ id: 'cus_1' });
      const read = async (base: string, key: string, path: string) => {
        const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}`, 'stripe-version': '2026-10-28.endive' } });
        expect(response.status, `${base}${path}`).toBe(200);
        return (await response.json()) as Record<string, unknown>;
      };
      const reads: [string, string, string[]][] = [
        ['dispute', '/v1/disputes/du_1', ['id', 'object', 'status', 'charge', 'amount', 'created']],
        ['charge', '/v1/charges/ch_1', ['id', 'object', 'status', 'disputed']],
        ['invoice payments', '/v1/invoice_payments?payment[type]=payment_intent&payment[payment_intent]=pi_1&limit=1', ['object', 'url', 'has_more', 'data']],
        ['customer', '/v1/customers/cus_1', ['id', 'object']],
      ];
      const nullableIds: Record<string, string[]> = { dispute: ['payment_intent'], charge: ['customer', 'payment_intent'] };
      for (const [name, path, fields] of reads) {
        const [fromMock, fromSandbox] = [await read(mock.url, 'sk_test_123', path), await read(sandbox.url, sandbox.accessToken, path)];
        for (const field of fields) expect(typeOf(fromSandbox[field]), `${name}.${field}`).toBe(typeOf(fromMock[field]));
        // Ids the spec makes nullable (`string | null` in the SDK's types), null in stripe-mock's fixtures.
        for (const field of nullableIds[name] ?? []) {
          expect(['string', 'null'], `${name}.${field}`).toContain(typeOf(fromSandbox[field]));
          expect(['string', 'null'], `${name}.${field}`).toContain(typeOf(fromMock[field]));
        }
        if (name === 'invoice payments') {
          const [mockPayment, sandboxPayment] = [(fromMock.data as Record<string, unknown>[])[0] ?? {}, (fromSandbox.data as Record<string, unknown>[])[0] ?? {}];
          for (const field of ['id', 'object', 'invoice', 'payment', 'status']) expect(typeOf(sandboxPayment[field]), `invoice_payment.${field}`).toBe(typeOf(mockPayment[field]));
        }
      }
      // What both refuse: an invoice payment filter without its type, and a parameter Stripe does not have.
      for (const path of ['/v1/invoice_payments?payment[payment_intent]=pi_1', '/v1/invoice_payments?not_a_parameter=1']) {
        for (const [base, key] of [[mock.url, 'sk_test_123'], [sandbox.url, sandbox.accessToken]] as const) {
          const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } });
          expect(response.status, `${base}${path}`).toBe(400);
          expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
        }
      }
    } finally {
      await sandbox.close();
    }
  });

  it("catch-up's read of GET /v1/events (created[gte], types[], limit, starting_after) passes, and its events read", async () => {
    const log = stripeEventLog({ apiUrl: mock.url, apiKey: 'sk_test_123' });
    const events = await log.since(new Date('2026-01-01T00:00:00Z'));
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) {
      expect(event.id).toMatch(/^evt_/);
      expect(JSON.parse(event.body)).toMatchObject({ id: event.id, object: 'event', type: expect.any(String), data: { object: expect.any(Object) } });
    }
    // The same parameters with a cursor, as the second page asks: stripe-mock checks them against the spec.
    const raw = new Stripe('sk_test_123', { ...hostOf(mock.url), maxNetworkRetries: 0 });
    const page = await raw.events.list({ created: { gte: 1_767_225_600 }, limit: 100, types: ['invoice.paid', 'invoice.payment_failed'], starting_after: events[0]?.id ?? 'evt_1' });
    expect(page.object).toBe('list');
    // And a parameter the spec does not have is refused, as the sandbox refuses it.
    const refused = await raw.events.list({ not_a_parameter: 1 } as Stripe.EventListParams).catch((error: unknown) => error);
    expect((refused as Stripe.errors.StripeError).statusCode).toBe(400);
  });

  it('the sandbox lists events with the fields catch-up reads typed as Stripe\'s spec types them', async () => {
    const sandbox = await startProviderSandbox();
    try {
      sandbox.state.stripe.recordEvent({ id: 'evt_1', type: 'invoice.paid', created: Math.floor(Date.now() / 1000), data: { object: { id: 'in_1', object: 'invoice' } } });
      const read = async (base: string, key: string) => {
        const response = await fetch(`${base}/v1/events?limit=3`, { headers: { authorization: `Bearer ${key}` } });
        expect(response.status).toBe(200);
        return (await response.json()) as { object: string; has_more: unknown; url: unknown; data: Record<string, unknown>[] };
      };
      const [fromMock, fromSandbox] = [await read(mock.url, 'sk_test_123'), await read(sandbox.url, sandbox.accessToken)];
      for (const field of ['object', 'has_more', 'url'] as const) expect(typeOf(fromSandbox[field]), field).toBe(typeOf(fromMock[field]));
      for (const field of ['id', 'object', 'type', 'created', 'data']) expect(typeOf(fromSandbox.data[0]?.[field]), `data[].${field}`).toBe(typeOf(fromMock.data[0]?.[field]));
    } finally {
      await sandbox.close();
    }
  });

  it('refuses a missing or malformed key the way Stripe does, and billflow fails for good', async () => {
    const response = await fetch(`${mock.url}/v1/invoices/in_1MtHbELkdIwHu7ixl4OzzPMv`);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
  });
});

/** A JSON value's kind, `null` apart from `object`. */
function typeOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

function hostOf(url: string): { host: string; port: number; protocol: 'http' } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port), protocol: 'http' };
}
