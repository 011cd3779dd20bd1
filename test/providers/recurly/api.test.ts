import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { reachableSandbox } from '../../../src/cli/trigger';
import { createRecurlyActivities } from '../../../src/providers/recurly/api';
import { recurlyBilling } from '../../../src/providers/recurly/billing';
import { recurlyWebhooks } from '../../../src/providers/recurly/testing/webhooks';
import { recurly } from '../../../src/providers/recurly/webhook';
import type { TriggerReferences } from '../../../src/testing/webhooks/types';
import { startProviderSandbox, type ProviderSandbox } from '../../../src/testing/sandbox/server';
import { failureOf } from '../../support/failures';
import { recurlyUuid } from '../../support/recurly';

describe('Recurly client against the provider sandbox', () => {
  let sandbox: ProviderSandbox;
  let recurly: ReturnType<typeof createRecurlyActivities>;
  const recurlyRequests = () => sandbox.requests.filter((request) => request.provider === 'recurly');

  beforeAll(async () => {
    sandbox = await startProviderSandbox();
    recurly = createRecurlyActivities({ apiUrl: sandbox.urls.recurly, apiKey: sandbox.accessToken, timeoutMs: 2000 });
  });

  afterAll(async () => {
    await sandbox?.close();
  });

  beforeEach(() => {
    sandbox.reset();
  });

  it('looks records up by the keys webhooks name them by, prefixed as Recurly v3 takes them', async () => {
    const subscription = sandbox.state.recurly.seedSubscription({ uuid: recurlyUuid(), accountCode: 'customer-w' });
    const invoice = sandbox.state.recurly.seedInvoice({ number: '2003', accountCode: 'customer-w', subscriptionId: subscription.id, state: 'past_due' });
    await recurly.collectRecurlyInvoice({ invoiceId: invoice.number, idempotencyKey: 'collect-2003' });
    const [transaction] = sandbox.state.recurly.transactions.values();

    // What a JSON notification carries: the subscription's or transaction's uuid, the invoice number, the account code.
    expect((await recurly.getRecurlySubscription(subscription.uuid)).uuid).toBe(subscription.uuid);
    expect((await recurly.getRecurlyInvoice('2003')).number).toBe('2003');
    expect((await recurly.getRecurlyTransaction(transaction!.uuid)).uuid).toBe(transaction!.uuid);
    expect((await recurly.getRecurlyAccount('customer-w')).code).toBe('customer-w');

    expect(recurlyRequests().map((request) => `${request.method} ${request.path} ${request.status}`)).toEqual([
      'PUT /recurly/invoices/number-2003/collect 200',
      `GET /recurly/subscriptions/uuid-${subscription.uuid} 200`,
      'GET /recurly/invoices/number-2003 200',
      `GET /recurly/transactions/uuid-${transaction!.uuid} 200`,
      'GET /recurly/accounts/code-customer-w 200',
    ]);

    // As at Recurly, a bare uuid, number or code names nothing.
    const headers = { accept: 'application/vnd.recurly.v2021-02-25', authorization: `Basic ${Buffer.from(`${sandbox.accessToken}:`).toString('base64')}` };
    for (const path of [`/subscriptions/${subscription.uuid}`, '/invoices/2003', `/transactions/${transaction!.uuid}`, '/accounts/customer-w']) {
      const answer = await fetch(`${sandbox.urls.recurly}${path}`, { headers });
      expect({ path, status: answer.status, body: (await answer.json()) as unknown }).toMatchObject({ path, status: 404, body: { error: { type: 'not_found' } } });
    }
  });

  it('reads a subscription by uuid with the headers Recurly v3 requires', async () => {
    const uuid = recurlyUuid();
    const seeded = sandbox.state.recurly.seedSubscription({ id: 'e28zov4fw0v2', uuid, accountCode: 'customer-1' });

    const subscription = await recurly.getRecurlySubscription(`uuid-${uuid}`);
    expect(subscription).toEqual({
      id: 'e28zov4fw0v2',
      uuid,
      state: 'active',
      accountId: expect.any(String),
      accountCode: 'customer-1',
      currentPeriodEndsAt: seeded.periodEndsAt,
    });
    const [request] = recurlyRequests();
    expect(request).toMatchObject({ method: 'GET', path: `/recurly/subscriptions/uuid-${uuid}`, status: 200 });
    expect(request?.headers).toMatchObject({
      accept: 'application/vnd.recurly.v2021-02-25',
      authorization: `Basic ${Buffer.from(`${sandbox.accessToken}:`).toString('base64')}`,
    });
    expect(request?.headers['idempotency-key']).toBeUndefined();
  });

  it('reads accounts, invoices and transactions by their natural keys', async () => {
    sandbox.state.recurly.seedSubscription({ id: 'sub2sub2sub2', accountCode: 'customer-2' });
    sandbox.state.recurly.seedInvoice({ id: 'inv2inv2inv2', number: '2002', accountCode: 'customer-2', subscriptionId: 'sub2sub2sub2', state: 'past_due' });

    expect(await recurly.getRecurlyAccount('code-customer-2')).toMatchObject({ code: 'customer-2', state: 'active' });
    expect(await recurly.getRecurlyInvoice('number-2002')).toEqual({
      id: 'inv2inv2inv2',
      number: '2002',
      state: 'past_due',
      accountId: expect.any(String),
      accountCode: 'customer-2',
      subscriptionIds: ['sub2sub2sub2'],
      balance: 15,
    });

    await recurly.collectRecurlyInvoice({ invoiceId: 'inv2inv2inv2', idempotencyKey: 'collect-inv2' });
    const [transaction] = sandbox.state.recurly.transactions.values();
    expect(await recurly.getRecurlyTransaction(`uuid-${transaction?.uuid}`)).toEqual({
      id: transaction?.id,
      uuid: transaction?.uuid,
      status: 'success',
      accountCode: 'customer-2',
      invoiceId: 'inv2inv2inv2',
      invoiceNumber: '2002',
      subscriptionIds: ['sub2sub2sub2'],
    });
  });

  it('collects an invoice once however often the same step is retried', async () => {
    sandbox.state.recurly.seedInvoice({ number: '3003', accountCode: 'customer-3', state: 'past_due' });
    const collect = { invoiceId: '3003', idempotencyKey: 'recurly:subscription:sub3:dunning-1:collect' };

    const first = await recurly.collectRecurlyInvoice(collect);
    const second = await recurly.collectRecurlyInvoice(collect);

    expect(first).toMatchObject({ number: '3003', state: 'paid', balance: 0 });
    expect(second).toEqual(first);
    expect(sandbox.state.recurly.transactions.size).toBe(1);
    const puts = recurlyRequests().filter((request) => request.method === 'PUT');
    expect(puts.map((request) => [request.path, request.headers['idempotency-key']])).toEqual([
      ['/recurly/invoices/number-3003/collect', collect.idempotencyKey],
      ['/recurly/invoices/number-3003/collect', collect.idempotencyKey],
    ]);
  });

  it('reports a declined collection as payment_declined, not as a broken request', async () => {
    const invoice = sandbox.state.recurly.seedInvoice({ number: '4004', accountCode: 'customer-4', nextOutcome: 'decline' });

    const failure = await failureOf(recurly.collectRecurlyInvoice({ invoiceId: '4004', idempotencyKey: 'collect-inv4' }));
    expect(failure).toMatchObject({ nonRetryable: true, type: 'payment_declined' });
    expect(failure.details).toEqual([expect.objectContaining({ provider: 'Recurly', declineCode: 'insufficient_funds', transactionId: expect.any(String) })]);
    expect(invoice.state).toBe('past_due');

    // On command the card works again: a new dunning step (a new key) collects.
    invoice.nextOutcome = 'succeed';
    expect(await recurly.collectRecurlyInvoice({ invoiceId: '4004', idempotencyKey: 'collect-inv4-second' })).toMatchObject({ state: 'paid' });
  });

  it('cancels, pauses and terminates subscriptions as Recurly moves them', async () => {
    const five = sandbox.state.recurly.seedSubscription({ uuid: recurlyUuid(), accountCode: 'customer-5' });
    const six = sandbox.state.recurly.seedSubscription({ uuid: recurlyUuid(), accountCode: 'customer-6' });

    expect((await recurly.cancelRecurlySubscription({ subscriptionId: five.uuid, idempotencyKey: 'cancel-5' })).state).toBe('canceled');
    expect((await recurly.terminateRecurlySubscription({ subscriptionId: five.uuid, idempotencyKey: 'terminate-5' })).state).toBe('expired');
    expect(recurlyRequests().at(-1)).toMatchObject({ method: 'DELETE', path: `/recurly/subscriptions/uuid-${five.uuid}` });
    // Recurly's own id works as well, without a prefix.
    expect((await recurly.getRecurlySubscription(five.id)).state).toBe('expired');

    const paused = await recurly.pauseRecurlySubscription({ subscriptionId: six.uuid, remainingPauseCycles: 2, idempotencyKey: 'pause-6' });
    expect(paused.state).toBe('paused');
    expect(recurlyRequests().at(-1)?.body).toEqual({ remaining_pause_cycles: 2 });
  });

  it('fails for good on 404 and on a wrong key, typed by Recurly\'s error type', async () => {
    const missing = await failureOf(recurly.getRecurlyInvoice('404'));
    expect(missing).toMatchObject({ nonRetryable: true, type: 'not_found' });
    expect(missing.message).toBe("Recurly GET /invoices/number-404 answered HTTP 404: Couldn't find Invoice with number = 404");

    const impostor = createRecurlyActivities({ apiUrl: sandbox.urls.recurly, apiKey: 'wrong' });
    expect(await failureOf(impostor.getRecurlyInvoice('404'))).toMatchObject({ nonRetryable: true, type: 'unauthorized' });
  });

  it('fails for good on an invalid transition (cancelling an expired subscription)', async () => {
    const { uuid } = sandbox.state.recurly.seedSubscription({ uuid: recurlyUuid(), accountCode: 'customer-7', state: 'expired' });
    const failure = await failureOf(recurly.cancelRecurlySubscription({ subscriptionId: uuid, idempotencyKey: 'cancel-7' }));
    expect(failure).toMatchObject({ nonRetryable: true, type: 'invalid_transition' });
  });

  it('fails for good without calling out when no API key is configured', async () => {
    const unconfigured = createRecurlyActivities({ apiUrl: sandbox.urls.recurly, apiKey: '' });
    expect(await failureOf(unconfigured.getRecurlyAccount('code-x'))).toMatchObject({ nonRetryable: true, type: 'missing_configuration' });
    expect(sandbox.requests).toHaveLength(0);
  });

  it('retries a 429 after the delay Retry-After asks for, then succeeds', async () => {
    const { uuid } = sandbox.state.recurly.seedSubscription({ uuid: recurlyUuid(), accountCode: 'customer-8' });
    sandbox.failNext({ provider: 'recurly', status: 429, retryAfterSeconds: 5 });

    expect(await failureOf(recurly.getRecurlySubscription(uuid))).toMatchObject({ nonRetryable: false, type: 'rate_limited', nextRetryDelay: 5000 });
    expect((await recurly.getRecurlySubscription(uuid)).state).toBe('active');
  });

  it('retries a 5xx on the retry policy schedule; the retried collection charges once', async () => {
    sandbox.state.recurly.seedInvoice({ number: '9009', accountCode: 'customer-9' });
    sandbox.failNext({ provider: 'recurly', status: 503 });
    const collect = { invoiceId: '9009', idempotencyKey: 'collect-inv9' };

    const failure = await failureOf(recurly.collectRecurlyInvoice(collect));
    expect(failure).toMatchObject({ nonRetryable: false, type: 'internal_server_error' });
    expect(failure.nextRetryDelay).toBeUndefined();
    expect((await recurly.collectRecurlyInvoice(collect)).state).toBe('paid');
    expect(sandbox.state.recurly.transactions.size).toBe(1);
    expect(recurlyRequests().map((request) => [request.status, request.headers['idempotency-key']])).toEqual([
      [503, 'collect-inv9'],
      [200, 'collect-inv9'],
    ]);
  });

  it('retries a call that gets no answer in time', async () => {
    sandbox.failNext({ provider: 'recurly', hang: true });
    const impatient = createRecurlyActivities({ apiUrl: sandbox.urls.recurly, apiKey: sandbox.accessToken, timeoutMs: 150 });

    const started = Date.now();
    const failure = await failureOf(impatient.getRecurlyAccount('slow'));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(failure).toMatchObject({ nonRetryable: false, type: 'timeout' });
    expect(failure.message).toBe('Recurly GET /accounts/code-slow got no answer within 150 ms');
  });

  it('retries a 422 simultaneous_request, Recurly\'s answer to a request racing another on the same record or key', async () => {
    const stub = createServer((_request, response) => {
      response.writeHead(422, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { type: 'simultaneous_request', message: 'A request for this resource is already in progress' } }));
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = stub.address() as AddressInfo;
      const client = createRecurlyActivities({ apiUrl: `http://127.0.0.1:${port}`, apiKey: 'key' });
      expect(await failureOf(client.collectRecurlyInvoice({ invoiceId: '1011', idempotencyKey: 'k' }))).toMatchObject({
        nonRetryable: false,
        type: 'simultaneous_request',
      });
    } finally {
      await new Promise((resolve) => stub.close(resolve));
    }
  });

  it('refuses actions without an idempotency key, before sending anything', async () => {
    const failure = await failureOf(recurly.collectRecurlyInvoice({ invoiceId: '1010', idempotencyKey: '' }));
    expect(failure).toMatchObject({ nonRetryable: true, type: 'invalid_input' });
    expect(sandbox.requests).toHaveLength(0);
  });
});

describe('what `trigger` seeds for Recurly, looked up by the ids its webhook carries', () => {
  let sandbox: ProviderSandbox;
  let billing: ReturnType<typeof recurlyBilling>;

  beforeAll(async () => {
    sandbox = await startProviderSandbox();
    billing = recurlyBilling(createRecurlyActivities({ apiUrl: sandbox.urls.recurly, apiKey: sandbox.accessToken, timeoutMs: 2000 }));
  });

  afterAll(async () => {
    await sandbox?.close();
  });

  const triggered = async (event: string, references: TriggerReferences = {}) => {
    const complete = recurlyWebhooks.complete(event, references);
    const control = await reachableSandbox(sandbox.url);
    await recurlyWebhooks.seed?.(event, complete, control!);
    const webhook = recurlyWebhooks.build(event, complete, 'secret', new Date());
    const [parsed] = recurly.parse({ rawBody: Buffer.from(webhook.body), headers: webhook.headers, query: {}, ip: '127.0.0.1' });
    return parsed!;
  };

  it('a payment event resolves to the uuid its subscription events name, so both reach one workflow', async () => {
    const failed = await triggered('payment.failed');
    expect(failed.references.payment).toMatch(/^[0-9a-f]{32}$/);
    expect(failed.references.subscription).toBeUndefined();

    const subject = await billing.resolvePaymentSubject({ paymentId: failed.references.payment });
    const canceled = await triggered('subscription.canceled', { subscription: subject.subscriptionId, customer: subject.customerId });
    expect(canceled.references.subscription).toBe(subject.subscriptionId);
    expect(await billing.getSubscription(canceled.references.subscription!)).toMatchObject({ id: subject.subscriptionId, providerStatus: 'canceled' });

    // One record, named by its uuid, with a Recurly id of its own.
    const [record, ...others] = sandbox.state.recurly.subscriptions.values();
    expect(others).toEqual([]);
    expect(record).toMatchObject({ uuid: subject.subscriptionId, id: expect.stringMatching(/^[a-z0-9]{12}$/) });
  });
});
