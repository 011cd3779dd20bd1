import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRecurlyActivities } from '../../../src/providers/recurly/api';
import { startProviderSandbox, type ProviderSandbox } from '../../../src/testing/sandbox/server';
import { failureOf } from '../../support/failures';

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

  it('reads a subscription by uuid with the headers Recurly v3 requires', async () => {
    const seeded = sandbox.state.recurly.seedSubscription({ id: 'sub1', uuid: 'abc123', accountCode: 'customer-1' });

    const subscription = await recurly.getRecurlySubscription('uuid-abc123');
    expect(subscription).toEqual({
      id: 'sub1',
      uuid: 'abc123',
      state: 'active',
      accountId: expect.any(String),
      accountCode: 'customer-1',
      currentPeriodEndsAt: seeded.periodEndsAt,
    });
    const [request] = recurlyRequests();
    expect(request).toMatchObject({ method: 'GET', path: '/recurly/subscriptions/uuid-abc123', status: 200 });
    expect(request?.headers).toMatchObject({
      accept: 'application/vnd.recurly.v2021-02-25',
      authorization: `Basic ${Buffer.from(`${sandbox.accessToken}:`).toString('base64')}`,
    });
    expect(request?.headers['idempotency-key']).toBeUndefined();
  });

  it('reads accounts, invoices and transactions by their natural keys', async () => {
    sandbox.state.recurly.seedSubscription({ id: 'sub2', accountCode: 'customer-2' });
    sandbox.state.recurly.seedInvoice({ id: 'inv2', number: '2002', accountCode: 'customer-2', subscriptionId: 'sub2', state: 'past_due' });

    expect(await recurly.getRecurlyAccount('code-customer-2')).toMatchObject({ code: 'customer-2', state: 'active' });
    expect(await recurly.getRecurlyInvoice('number-2002')).toEqual({
      id: 'inv2',
      number: '2002',
      state: 'past_due',
      accountId: expect.any(String),
      accountCode: 'customer-2',
      subscriptionIds: ['sub2'],
      balance: 15,
    });

    await recurly.collectRecurlyInvoice({ invoiceId: 'inv2', idempotencyKey: 'collect-inv2' });
    const [transaction] = sandbox.state.recurly.transactions.values();
    expect(await recurly.getRecurlyTransaction(`uuid-${transaction?.uuid}`)).toEqual({
      id: transaction?.id,
      uuid: transaction?.uuid,
      status: 'success',
      accountCode: 'customer-2',
      invoiceId: 'inv2',
      subscriptionIds: ['sub2'],
    });
  });

  it('collects an invoice once however often the same step is retried', async () => {
    sandbox.state.recurly.seedInvoice({ id: 'inv3', accountCode: 'customer-3', state: 'past_due' });
    const collect = { invoiceId: 'inv3', idempotencyKey: 'recurly:subscription:sub3:dunning-1:collect' };

    const first = await recurly.collectRecurlyInvoice(collect);
    const second = await recurly.collectRecurlyInvoice(collect);

    expect(first).toMatchObject({ id: 'inv3', state: 'paid', balance: 0 });
    expect(second).toEqual(first);
    expect(sandbox.state.recurly.transactions.size).toBe(1);
    const puts = recurlyRequests().filter((request) => request.method === 'PUT');
    expect(puts.map((request) => [request.path, request.headers['idempotency-key']])).toEqual([
      ['/recurly/invoices/inv3/collect', collect.idempotencyKey],
      ['/recurly/invoices/inv3/collect', collect.idempotencyKey],
    ]);
  });

  it('reports a declined collection as payment_declined, not as a broken request', async () => {
    sandbox.state.recurly.seedInvoice({ id: 'inv4', accountCode: 'customer-4', nextOutcome: 'decline' });

    const failure = await failureOf(recurly.collectRecurlyInvoice({ invoiceId: 'inv4', idempotencyKey: 'collect-inv4' }));
    expect(failure).toMatchObject({ nonRetryable: true, type: 'payment_declined' });
    expect(failure.details).toEqual([expect.objectContaining({ provider: 'Recurly', declineCode: 'insufficient_funds', transactionId: expect.any(String) })]);
    expect(sandbox.state.recurly.invoices.get('inv4')?.state).toBe('past_due');

    // On command the card works again: a new dunning step (a new key) collects.
    sandbox.state.recurly.invoices.get('inv4')!.nextOutcome = 'succeed';
    expect(await recurly.collectRecurlyInvoice({ invoiceId: 'inv4', idempotencyKey: 'collect-inv4-second' })).toMatchObject({ state: 'paid' });
  });

  it('cancels, pauses and terminates subscriptions as Recurly moves them', async () => {
    sandbox.state.recurly.seedSubscription({ id: 'sub5', accountCode: 'customer-5' });
    sandbox.state.recurly.seedSubscription({ id: 'sub6', accountCode: 'customer-6' });

    expect((await recurly.cancelRecurlySubscription({ subscriptionId: 'sub5', idempotencyKey: 'cancel-5' })).state).toBe('canceled');
    expect((await recurly.terminateRecurlySubscription({ subscriptionId: 'sub5', idempotencyKey: 'terminate-5' })).state).toBe('expired');
    expect(recurlyRequests().at(-1)).toMatchObject({ method: 'DELETE', path: '/recurly/subscriptions/sub5' });

    const paused = await recurly.pauseRecurlySubscription({ subscriptionId: 'sub6', remainingPauseCycles: 2, idempotencyKey: 'pause-6' });
    expect(paused.state).toBe('paused');
    expect(recurlyRequests().at(-1)?.body).toEqual({ remaining_pause_cycles: 2 });
  });

  it('fails for good on 404 and on a wrong key, typed by Recurly\'s error type', async () => {
    const missing = await failureOf(recurly.getRecurlyInvoice('nope'));
    expect(missing).toMatchObject({ nonRetryable: true, type: 'not_found' });
    expect(missing.message).toBe("Recurly GET /invoices/nope answered HTTP 404: Couldn't find Invoice with id = nope");

    const impostor = createRecurlyActivities({ apiUrl: sandbox.urls.recurly, apiKey: 'wrong' });
    expect(await failureOf(impostor.getRecurlyInvoice('nope'))).toMatchObject({ nonRetryable: true, type: 'unauthorized' });
  });

  it('fails for good on an invalid transition (cancelling an expired subscription)', async () => {
    sandbox.state.recurly.seedSubscription({ id: 'sub7', accountCode: 'customer-7', state: 'expired' });
    const failure = await failureOf(recurly.cancelRecurlySubscription({ subscriptionId: 'sub7', idempotencyKey: 'cancel-7' }));
    expect(failure).toMatchObject({ nonRetryable: true, type: 'invalid_transition' });
  });

  it('fails for good without calling out when no API key is configured', async () => {
    const unconfigured = createRecurlyActivities({ apiUrl: sandbox.urls.recurly, apiKey: '' });
    expect(await failureOf(unconfigured.getRecurlyAccount('code-x'))).toMatchObject({ nonRetryable: true, type: 'missing_configuration' });
    expect(sandbox.requests).toHaveLength(0);
  });

  it('retries a 429 after the delay Retry-After asks for, then succeeds', async () => {
    sandbox.state.recurly.seedSubscription({ id: 'sub8', accountCode: 'customer-8' });
    sandbox.failNext({ provider: 'recurly', status: 429, retryAfterSeconds: 5 });

    expect(await failureOf(recurly.getRecurlySubscription('sub8'))).toMatchObject({ nonRetryable: false, type: 'rate_limited', nextRetryDelay: 5000 });
    expect((await recurly.getRecurlySubscription('sub8')).state).toBe('active');
  });

  it('retries a 5xx on the retry policy schedule; the retried collection charges once', async () => {
    sandbox.state.recurly.seedInvoice({ id: 'inv9', accountCode: 'customer-9' });
    sandbox.failNext({ provider: 'recurly', status: 503 });
    const collect = { invoiceId: 'inv9', idempotencyKey: 'collect-inv9' };

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
    const failure = await failureOf(impatient.getRecurlyAccount('code-slow'));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(failure).toMatchObject({ nonRetryable: false, type: 'timeout' });
    expect(failure.message).toBe('Recurly GET /accounts/code-slow got no answer within 150 ms');
  });

  it('refuses actions without an idempotency key, before sending anything', async () => {
    const failure = await failureOf(recurly.collectRecurlyInvoice({ invoiceId: 'inv10', idempotencyKey: '' }));
    expect(failure).toMatchObject({ nonRetryable: true, type: 'invalid_input' });
    expect(sandbox.requests).toHaveLength(0);
  });
});
