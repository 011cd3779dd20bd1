import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createStripeActivities, STRIPE_API_VERSION, stripeEndpoint } from '../../../src/providers/stripe/api';
import { loadConfig } from '../../../src/config';
import { startProviderSandbox, type ProviderSandbox } from '../../../src/testing/sandbox/server';
import { failureOf } from '../../support/failures';

describe('Stripe client (official SDK) against the provider sandbox', () => {
  let sandbox: ProviderSandbox;
  let stripe: ReturnType<typeof createStripeActivities>;
  const stripeRequests = () => sandbox.requests.filter((request) => request.provider === 'stripe');

  beforeAll(async () => {
    sandbox = await startProviderSandbox();
    stripe = createStripeActivities({ apiUrl: sandbox.urls.stripe, apiKey: sandbox.accessToken, timeoutMs: 2000 });
  });

  afterAll(async () => {
    await sandbox?.close();
  });

  beforeEach(() => {
    sandbox.reset();
  });

  it('reads an invoice, finding its subscription under parent.subscription_details', async () => {
    sandbox.state.stripe.seedSubscription({ id: 'sub_1', customerId: 'cus_1' });
    sandbox.state.stripe.seedInvoice({ id: 'in_1', customerId: 'cus_1', subscriptionId: 'sub_1', amountDue: 2500 });

    expect(await stripe.getStripeInvoice('in_1')).toEqual({
      id: 'in_1',
      status: 'open',
      customerId: 'cus_1',
      subscriptionId: 'sub_1',
      amountRemaining: 2500,
      attemptCount: 0,
      nextPaymentAttempt: null,
    });
    const [request] = stripeRequests();
    expect(request).toMatchObject({ method: 'GET', path: '/stripe/v1/invoices/in_1', status: 200 });
    expect(request?.headers.authorization).toBe(`Bearer ${sandbox.accessToken}`);
    expect(request?.headers['stripe-version']).toBe(STRIPE_API_VERSION);
    expect(request?.headers['idempotency-key']).toBeUndefined();
  });

  it('reads a subscription with the period end of its item', async () => {
    const seeded = sandbox.state.stripe.seedSubscription({ id: 'sub_2', customerId: 'cus_2', cancelAtPeriodEnd: true });
    expect(await stripe.getStripeSubscription('sub_2')).toEqual({
      id: 'sub_2',
      status: 'active',
      customerId: 'cus_2',
      cancelAtPeriodEnd: true,
      currentPeriodEnd: new Date(seeded.periodEnd * 1000).toISOString(),
    });
  });

  it('reads a dispute and its charge, and finds the invoice its payment intent paid through the invoice payments', async () => {
    const { disputes } = sandbox.state.stripe;
    disputes.seedCharge({ id: 'ch_1', customerId: 'cus_1', paymentIntentId: 'pi_1', invoiceId: 'in_1' });
    disputes.seedCharge({ id: 'ch_2', customerId: 'cus_1', paymentIntentId: 'pi_2' });
    disputes.seedDispute({ id: 'du_1', chargeId: 'ch_1', status: 'under_review' });
    expect(await stripe.getStripeDispute('du_1')).toEqual({ id: 'du_1', status: 'under_review', chargeId: 'ch_1', paymentIntentId: 'pi_1' });
    expect(await stripe.getStripeCharge('ch_2')).toEqual({ id: 'ch_2', customerId: 'cus_1', paymentIntentId: 'pi_2' });
    expect(await stripe.findStripeInvoiceOfPayment('pi_1')).toBe('in_1');
    // A one-off charge paid no invoice.
    expect(await stripe.findStripeInvoiceOfPayment('pi_2')).toBeNull();
    expect(stripeRequests().at(-1)?.path).toBe('/stripe/v1/invoice_payments');
    const missing = await failureOf(stripe.getStripeDispute('du_missing'));
    expect(missing).toMatchObject({ nonRetryable: true });
    expect(missing.message).toMatch(/404.*No such dispute: 'du_missing'/);
    expect(() => disputes.seedDispute({ chargeId: 'ch_missing' })).toThrow(/no sandbox Stripe charge ch_missing/);
  });

  it('reads a customer, and a deleted one as deleted (Stripe still answers its id)', async () => {
    sandbox.state.stripe.seedCustomer({ id: 'cus_live' });
    sandbox.state.stripe.seedCustomer({ id: 'cus_gone', deleted: true });
    expect(await stripe.getStripeCustomer('cus_live')).toEqual({ id: 'cus_live', deleted: false });
    expect(await stripe.getStripeCustomer('cus_gone')).toEqual({ id: 'cus_gone', deleted: true });
    expect((await failureOf(stripe.getStripeCustomer('cus_none'))).message).toMatch(/No such customer/);
  });

  it('pays an invoice once however often the same step is retried, with a form body and the given key', async () => {
    sandbox.state.stripe.seedInvoice({ id: 'in_3', customerId: 'cus_3' });
    const pay = { invoiceId: 'in_3', idempotencyKey: 'stripe:subscription:sub_3:dunning-1:pay' };

    const first = await stripe.payStripeInvoice(pay);
    const second = await stripe.payStripeInvoice(pay);

    expect(first).toMatchObject({ id: 'in_3', status: 'paid', amountRemaining: 0, attemptCount: 1 });
    expect(second).toEqual(first);
    expect(sandbox.state.stripe.invoices.get('in_3')?.attemptCount).toBe(1);
    const posts = stripeRequests().filter((request) => request.method === 'POST');
    expect(posts.map((request) => [request.path, request.headers['idempotency-key']])).toEqual([
      ['/stripe/v1/invoices/in_3/pay', pay.idempotencyKey],
      ['/stripe/v1/invoices/in_3/pay', pay.idempotencyKey],
    ]);
    expect(posts[0]?.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('reports a card decline as payment_declined with the decline code', async () => {
    sandbox.state.stripe.seedInvoice({ id: 'in_4', customerId: 'cus_4', nextOutcome: 'decline' });

    const failure = await failureOf(stripe.payStripeInvoice({ invoiceId: 'in_4', idempotencyKey: 'pay-in_4' }));
    expect(failure).toMatchObject({ nonRetryable: true, type: 'payment_declined' });
    expect(failure.details).toEqual([expect.objectContaining({ provider: 'Stripe', declineCode: 'insufficient_funds', code: 'card_declined' })]);
    expect(sandbox.state.stripe.invoices.get('in_4')).toMatchObject({ status: 'open', attemptCount: 1 });
  });

  it('cancels at period end with cancel_at_period_end, and now with DELETE', async () => {
    sandbox.state.stripe.seedSubscription({ id: 'sub_5', customerId: 'cus_5' });

    const later = await stripe.cancelStripeSubscription({ subscriptionId: 'sub_5', idempotencyKey: 'cancel-later', atPeriodEnd: true });
    expect(later).toMatchObject({ status: 'active', cancelAtPeriodEnd: true });
    expect(stripeRequests().at(-1)).toMatchObject({ method: 'POST', path: '/stripe/v1/subscriptions/sub_5', body: 'cancel_at_period_end=true' });

    const now = await stripe.cancelStripeSubscription({ subscriptionId: 'sub_5', idempotencyKey: 'cancel-now' });
    expect(now.status).toBe('canceled');
    expect(stripeRequests().at(-1)).toMatchObject({ method: 'DELETE', path: '/stripe/v1/subscriptions/sub_5', headers: expect.objectContaining({ 'idempotency-key': 'cancel-now' }) });
  });

  it('fails for good on 404 and on a wrong key', async () => {
    const missing = await failureOf(stripe.getStripeInvoice('in_missing'));
    expect(missing).toMatchObject({ nonRetryable: true, type: 'resource_missing' });
    expect(missing.message).toBe("Stripe GET /v1/invoices/in_missing answered HTTP 404: No such invoice: 'in_missing'");

    const impostor = createStripeActivities({ apiUrl: sandbox.urls.stripe, apiKey: 'sk_test_wrong' });
    const failure = await failureOf(impostor.getStripeInvoice('in_missing'));
    expect(failure).toMatchObject({ nonRetryable: true });
    expect(failure.message).toContain('HTTP 401');
  });

  it('sandbox: takes the key as Basic auth too, answers without a version header, refuses a malformed one, as Stripe does', async () => {
    sandbox.state.stripe.seedInvoice({ id: 'in_10', customerId: 'cus_10' });
    const url = `${sandbox.urls.stripe}/v1/invoices/in_10`;
    const basic = `Basic ${Buffer.from(`${sandbox.accessToken}:`).toString('base64')}`;

    expect((await fetch(url, { headers: { authorization: basic } })).status).toBe(200);
    const malformed = await fetch(url, { headers: { authorization: basic, 'stripe-version': 'latest' } });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({ error: { type: 'invalid_request_error', message: 'Invalid Stripe API version: latest' } });
    expect((await fetch(url)).status).toBe(401);
  });

  it('fails for good without calling out when no API key is configured', async () => {
    const unconfigured = createStripeActivities({ apiUrl: sandbox.urls.stripe, apiKey: '' });
    expect(await failureOf(unconfigured.getStripeInvoice('in_x'))).toMatchObject({ nonRetryable: true, type: 'missing_configuration' });
    expect(sandbox.requests).toHaveLength(0);
  });

  it('retries a 429 after the delay Retry-After asks for, then succeeds', async () => {
    sandbox.state.stripe.seedInvoice({ id: 'in_6', customerId: 'cus_6' });
    sandbox.failNext({ provider: 'stripe', status: 429, retryAfterSeconds: 3 });

    expect(await failureOf(stripe.getStripeInvoice('in_6'))).toMatchObject({ nonRetryable: false, type: 'rate_limit', nextRetryDelay: 3000 });
    expect((await stripe.getStripeInvoice('in_6')).status).toBe('open');
  });

  it('retries a 5xx on a read, which carries no key', async () => {
    sandbox.state.stripe.seedInvoice({ id: 'in_7', customerId: 'cus_7' });
    sandbox.failNext({ provider: 'stripe', status: 500 });

    expect(await failureOf(stripe.getStripeInvoice('in_7'))).toMatchObject({ nonRetryable: false, type: 'api_error' });
    expect((await stripe.getStripeInvoice('in_7')).status).toBe('open');
  });

  it('gets a key\'s first 5xx again on every repeat, as Stripe replays it: that fails for good, and only a new key pays', async () => {
    sandbox.state.stripe.seedInvoice({ id: 'in_8', customerId: 'cus_8' });
    sandbox.failNext({ provider: 'stripe', status: 500 });
    const pay = { invoiceId: 'in_8', idempotencyKey: 'stripe:subscription:sub_8:dunning:in_8:1' };

    // The first answer: a 500 a retry may fix, under the same key for all Temporal knows.
    expect(await failureOf(stripe.payStripeInvoice(pay))).toMatchObject({ nonRetryable: false, type: 'api_error' });
    // The repeat: Stripe replays the 500 for the key; sending it again cannot help.
    const replayed = await failureOf(stripe.payStripeInvoice(pay));
    expect(replayed).toMatchObject({ nonRetryable: true, type: 'idempotency_key_spent' });
    expect(replayed.message).toMatch(/^Stripe POST \/v1\/invoices\/in_8\/pay replayed the HTTP 500 its idempotency key first got/);
    expect(sandbox.state.stripe.invoices.get('in_8')).toMatchObject({ status: 'open', attemptCount: 0 });

    const paid = await stripe.payStripeInvoice({ ...pay, idempotencyKey: `${pay.idempotencyKey}:2` });
    expect(paid).toMatchObject({ status: 'paid', attemptCount: 1 });
    // maxNetworkRetries is 0: the SDK itself sent one request per call.
    expect(stripeRequests().map((request) => [request.method, request.status, request.headers['idempotency-key'] ?? null])).toEqual([
      ['POST', 500, pay.idempotencyKey],
      ['POST', 500, pay.idempotencyKey],
      ['POST', 200, `${pay.idempotencyKey}:2`],
    ]);
  });

  it('a key still in flight is a conflict to retry (409); a key reused for another request is final (400 idempotency_error)', async () => {
    sandbox.state.stripe.seedInvoice({ id: 'in_11', customerId: 'cus_11' });
    sandbox.state.stripe.seedSubscription({ id: 'sub_11', customerId: 'cus_11' });
    sandbox.failNext({ provider: 'stripe', method: 'POST', hang: true });
    const impatient = createStripeActivities({ apiUrl: sandbox.urls.stripe, apiKey: sandbox.accessToken, timeoutMs: 300 });
    const pay = { invoiceId: 'in_11', idempotencyKey: 'pay-in_11' };

    const held = failureOf(impatient.payStripeInvoice(pay));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await failureOf(stripe.payStripeInvoice(pay))).toMatchObject({ nonRetryable: false, type: 'idempotency_key_in_use' });
    expect(await held).toMatchObject({ nonRetryable: false, type: 'timeout' });

    const reused = await failureOf(stripe.cancelStripeSubscription({ subscriptionId: 'sub_11', idempotencyKey: 'pay-in_11' }));
    expect(reused).toMatchObject({ nonRetryable: true, type: 'idempotency_error' });
  });

  it('leaves a key unused after a 429, which Stripe refuses before running the request', async () => {
    sandbox.state.stripe.seedInvoice({ id: 'in_9', customerId: 'cus_9' });
    sandbox.failNext({ provider: 'stripe', status: 429 });
    const pay = { invoiceId: 'in_9', idempotencyKey: 'pay-in_9' };

    expect(await failureOf(stripe.payStripeInvoice(pay))).toMatchObject({ nonRetryable: false, type: 'rate_limit' });
    expect((await stripe.payStripeInvoice(pay)).status).toBe('paid');
  });

  it('retries a call that gets no answer in time', async () => {
    sandbox.failNext({ provider: 'stripe', hang: true });
    const impatient = createStripeActivities({ apiUrl: sandbox.urls.stripe, apiKey: sandbox.accessToken, timeoutMs: 200 });

    const started = Date.now();
    const failure = await failureOf(impatient.getStripeSubscription('sub_slow'));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(failure).toMatchObject({ nonRetryable: false, type: 'timeout' });
    expect(failure.message).toBe('Stripe GET /v1/subscriptions/sub_slow got no answer within 200 ms');
  });

  it('takes only an origin as its URL, in the client and in the config', () => {
    expect(stripeEndpoint('https://api.stripe.com')).toEqual({ host: 'api.stripe.com', port: 443, protocol: 'https' });
    expect(stripeEndpoint('http://127.0.0.1:4242/')).toEqual({ host: '127.0.0.1', port: 4242, protocol: 'http' });
    expect(() => stripeEndpoint('http://127.0.0.1:4242/stripe')).toThrow(/origin without a path/);
    expect(() => loadConfig({ STRIPE_API_URL: 'http://127.0.0.1:4242/stripe' })).toThrow(/STRIPE_API_URL: must be an origin/);
  });
});
